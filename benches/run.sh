#!/usr/bin/env bash
# The benchmark suite in one command: builds the instant-local release binary
# (so instant-rs and the official @instantdb/admin talk to the same server
# process), then runs `cargo bench --bench suite`, which also runs benches/js
# when Node.js is installed. The table goes to stdout and target/benchmarks/latest.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release -p instant-local
cargo bench --bench suite
