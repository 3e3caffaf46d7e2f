//! Generates the gRPC code for the `grpc` feature from the .proto files under `proto/`,
//! with protox (a pure-Rust protobuf compiler) so building needs no `protoc`.
//!
//! - `proto/umadb/`: the UmaDB client (product code, `src/source/grpc/umadb.rs`).
//! - `proto/kurrent/`: the server side of the KurrentDB emulator, a test peer used only by
//!   `tests/it/kurrent_emulator/` (written to `$OUT_DIR/kurrent_emulator/`).

fn main() {
    println!("cargo::rerun-if-changed=proto");
    println!("cargo::rerun-if-changed=build.rs");
    #[cfg(feature = "grpc")]
    if let Err(err) = grpc::generate() {
        println!("cargo::error=gRPC code generation failed: {err}");
    }
}

#[cfg(feature = "grpc")]
mod grpc {
    use std::path::PathBuf;

    type Error = Box<dyn std::error::Error>;

    pub fn generate() -> Result<(), Error> {
        let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

        let umadb = protox::compile(["umadb/v1/umadb.proto"], ["proto"])?;
        tonic_prost_build::configure()
            .build_server(false)
            .out_dir(&out_dir)
            .compile_fds(umadb)?;

        let emulator_dir = out_dir.join("kurrent_emulator");
        std::fs::create_dir_all(&emulator_dir)?;
        let kurrent = protox::compile(
            [
                "shared.proto",
                "serverfeatures.proto",
                "gossip.proto",
                "streams.proto",
                "projections.proto",
                "persistent.proto",
            ],
            ["proto/kurrent"],
        )?;
        tonic_prost_build::configure()
            .build_client(false)
            .out_dir(&emulator_dir)
            .compile_fds(kurrent)?;
        Ok(())
    }
}
