#!/usr/bin/env bash
# Sets up and runs the test suite (unit, integration and UI tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
# The UmaDB server the gRPC integration tests start on loopback.
PATH="$(scripts/setup-umadb.sh):$PATH"
# The Kafka-compatible broker Tansu the Kafka integration tests start on loopback.
PATH="$(scripts/setup-tansu.sh):$PATH"
export PATH
cargo test --all-targets "$@"
