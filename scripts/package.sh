#!/usr/bin/env bash
# Builds the Debian package: <target dir>/debian/eventscope_<version>-1_<arch>.deb
# (target/debian/ unless CARGO_TARGET_DIR says otherwise), and prints its path last.
#
#   scripts/package.sh          release build, man pages and completions, cargo deb
#   scripts/package-check.sh    then checks it as a distribution would (lintian, install …)
#
# The man pages and completions are written by the release binary itself
# (`eventscope generate-assets DIR`, from the clap definition), so nothing is built twice.
# Needs the Rust toolchain, dpkg-dev (dpkg-shlibdeps for `$auto`) and binutils (strip):
# `scripts/setup.sh package` installs them; cargo-deb is installed at the pinned version.
set -euo pipefail
cd "$(dirname "$0")/.."

# cargo-deb, pinned: its output (paths, compression, generated copyright) is what
# scripts/package-check.sh and the lintian overrides were checked against.
cargo_deb_version=3.8.0

scripts/setup.sh package

start=$SECONDS
times=()
step() {
  local name=$1 step_start=$SECONDS
  shift
  "$@"
  times+=("$(printf '%5ds  %s' $((SECONDS - step_start)) "$name")")
}

install_cargo_deb() {
  # `cargo deb --version` prints `cargo-deb 3.7.0`.
  if [ "$(cargo deb --version 2>/dev/null | awk '{print $NF}')" != "$cargo_deb_version" ]; then
    echo "package.sh: installing cargo-deb $cargo_deb_version" >&2
    cargo install cargo-deb --version "$cargo_deb_version" --locked --quiet
  fi
}

target_dir=$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
assets_dir="$target_dir/release/assets"

generate_assets() {
  rm -rf "$assets_dir"
  "$target_dir/release/eventscope" generate-assets "$assets_dir" >/dev/null
  # Compressed as Debian policy wants (cargo-deb compresses the man pages it does not take
  # from target/release/ only); -n leaves out names and times, so the bytes are reproducible.
  gzip -9n "$assets_dir"/man/*.1
}

build_deb() {
  # --no-build: the binary above is the one packaged. --strip: the release profile keeps
  # line tables for backtraces, which a distribution package ships stripped.
  cargo deb --no-build --strip --locked --quiet >/dev/null
}

step "cargo-deb $cargo_deb_version" install_cargo_deb
step "cargo build --release" cargo build --release --locked
step "man pages and completions" generate_assets
step "cargo deb" build_deb

version=$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "eventscope"))')
deb=$(ls -t "$target_dir/debian/eventscope_${version}-"*.deb | head -n 1)
echo "package.sh: step times (total $((SECONDS - start))s)" >&2
printf '%s\n' "${times[@]}" >&2
echo "$deb"
