//! Compiles the tandem.v1 contract into OUT_DIR, with a descriptor set for reflection.
//! protoc comes from the `PROTOC` environment variable when set, otherwise from the
//! protoc-bin-vendored crate: never from a download at build time.

use std::path::PathBuf;

#[allow(unsafe_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-env-changed=PROTOC");
    if std::env::var_os("PROTOC").is_none() {
        let protoc = protoc_bin_vendored::protoc_bin_path()?;
        // SAFETY of set_var: build scripts are single-threaded at this point.
        unsafe { std::env::set_var("PROTOC", protoc) };
    }
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        "common.proto",
        "salesforce.proto",
        "monday.proto",
        "mapping_config.proto",
        "sync_orchestrator.proto",
        "run_history.proto",
    ]
    .map(|f| root.join("tandem/v1").join(f));
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let includes = [root, protoc_bin_vendored::include_path()?];
    tonic_prost_build::configure()
        // Unimplemented RPCs answer UNIMPLEMENTED until a service implements them.
        .generate_default_stubs(true)
        .file_descriptor_set_path(out.join("tandem_descriptor.bin"))
        .compile_protos(&files, &includes)?;
    Ok(())
}
