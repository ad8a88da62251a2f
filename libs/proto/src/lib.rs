//! Generated gRPC code for the tandem.v1 contract.
