//! Compiles Salesforce's Pub/Sub API contract (`proto/salesforce/pubsub_api.proto` at the workspace root, vendored once, unchanged)
//! into OUT_DIR: the client of the change event subscriber. protoc comes from the `PROTOC`
//! environment variable when set, otherwise from the protoc-bin-vendored crate.

use std::path::PathBuf;

#[allow(unsafe_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-env-changed=PROTOC");
    if std::env::var_os("PROTOC").is_none() {
        let protoc = protoc_bin_vendored::protoc_bin_path()?;
        // SAFETY of set_var: build scripts are single-threaded at this point.
        unsafe { std::env::set_var("PROTOC", protoc) };
    }
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto/salesforce");
    let file = dir.join("pubsub_api.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    tonic_prost_build::configure()
        .build_server(false)
        .compile_protos(&[file], &[dir])?;
    Ok(())
}
