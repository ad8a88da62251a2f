//! Generated gRPC code for the `tandem.v1` contract (`proto/tandem/v1`), nothing else.

/// The `tandem.v1` package: messages, clients and servers.
pub mod v1 {
    tonic::include_proto!("tandem.v1");
}

/// The encoded file descriptor set of the contract, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tandem_descriptor");
