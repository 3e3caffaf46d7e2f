//! Generates the gRPC code for the `grpc` feature from the .proto files under `proto/`,
//! with protox (a pure-Rust protobuf compiler) so building needs no `protoc`.
//!
//! - `proto/umadb/`: the UmaDB client (product code, `src/source/grpc/umadb.rs`).
//! - `proto/kurrent/`: the server side of the KurrentDB emulator, a test peer used only by
//!   `tests/it/kurrent_emulator/` (written to `$OUT_DIR/kurrent_emulator/`).
//!
//! It also sets `EVENTSCOPE_VERSION` for `eventscope --version`: the package version and
//! the git revision it was built from (`0.1.0 (abc1234)`), or the package version alone
//! outside a git checkout (a source tarball). `EVENTSCOPE_GIT_REV` overrides the revision.

fn main() {
    println!("cargo::rerun-if-changed=proto");
    println!("cargo::rerun-if-changed=build.rs");
    version::emit();
    #[cfg(feature = "grpc")]
    if let Err(err) = grpc::generate() {
        println!("cargo::error=gRPC code generation failed: {err}");
    }
}

mod version {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// Prints `EVENTSCOPE_VERSION`, and the files whose change means a new revision:
    /// HEAD and its reflog, the branch it names and packed-refs. Never the index or the work tree, so
    /// editing files does not rerun this script (only a commit or a checkout does).
    pub fn emit() {
        println!("cargo::rerun-if-env-changed=EVENTSCOPE_GIT_REV");
        let package_version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
        let revision = std::env::var("EVENTSCOPE_GIT_REV")
            .ok()
            .filter(|rev| !rev.trim().is_empty())
            .or_else(git_revision);
        let version = match revision {
            Some(rev) => format!("{package_version} ({})", rev.trim()),
            None => package_version,
        };
        println!("cargo::rustc-env=EVENTSCOPE_VERSION={version}");
    }

    fn git(args: &[&str]) -> Option<String> {
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
        let output = Command::new("git")
            .args(args)
            .current_dir(manifest_dir)
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        let text = String::from_utf8(output.stdout).ok()?;
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }

    fn git_revision() -> Option<String> {
        let revision = git(&["rev-parse", "--short=7", "HEAD"])?;
        // The git dir (HEAD lives there), the common dir (branches and packed-refs live
        // there; the same dir except in a worktree) and the branch HEAD names (`HEAD`
        // itself when detached).
        if let Some(answer) = git(&[
            "rev-parse",
            "--path-format=absolute",
            "--git-dir",
            "--git-common-dir",
            "--symbolic-full-name",
            "HEAD",
        ]) && let [git_dir, common_dir, head_ref] = answer.lines().collect::<Vec<_>>()[..]
        {
            // HEAD's reflog moves with every commit and checkout, even when the branch was
            // packed and its loose ref file did not exist yet.
            let mut watched = vec![
                Path::new(git_dir).join("HEAD"),
                Path::new(git_dir).join("logs").join("HEAD"),
            ];
            if head_ref.starts_with("refs/") {
                watched.push(Path::new(common_dir).join(head_ref));
            }
            watched.push(PathBuf::from(common_dir).join("packed-refs"));
            // A path that does not exist would rerun the script on every build.
            for path in watched.iter().filter(|path| path.exists()) {
                println!("cargo::rerun-if-changed={}", path.display());
            }
        }
        Some(revision)
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
