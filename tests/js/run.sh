#!/usr/bin/env bash
# Runs the JS conformance suite: the official @instantdb/admin and
# @instantdb/platform clients against a freshly started instant-local.
# Builds nothing: build the server first with `cargo build -p instant-local`.
#
#   tests/js/run.sh                     # all test files
#   tests/js/run.sh test/query.test.mjs # some files
#
# Env: INSTANT_LOCAL_BIN (default: <repo>/target/debug/instant-local),
#      INSTANT_LOCAL_DB (default: :memory:).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

bin="${INSTANT_LOCAL_BIN:-$here/../../target/debug/instant-local}"
if [[ ! -x "$bin" ]]; then
  echo "error: instant-local binary not found (or not executable) at: $bin" >&2
  echo "       build it with \`cargo build -p instant-local\` at the repo root," >&2
  echo "       or point INSTANT_LOCAL_BIN at an existing binary." >&2
  exit 2
fi
export INSTANT_LOCAL_BIN="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

command -v node >/dev/null || { echo "error: node (>= 20) is required" >&2; exit 2; }
command -v npm >/dev/null || { echo "error: npm is required" >&2; exit 2; }

# npm ci only when node_modules is missing or package-lock.json changed since the last install.
stamp="node_modules/.lock-sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ ! -d node_modules || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi

if [[ $# -gt 0 ]]; then
  exec node --test --test-concurrency=1 "$@"
else
  exec node --test --test-concurrency=1 test/
fi
