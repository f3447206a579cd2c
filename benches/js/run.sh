#!/usr/bin/env bash
# Runs the @instantdb/admin round-trip benchmark against instant-local and prints
# one JSON line on stdout (details on stderr). Builds nothing.
# Env: INSTANT_LOCAL_BIN (default: <repo>/target/release/instant-local if it exists,
#      else <repo>/target/debug/instant-local), BENCH_SECONDS (default 5, max 10),
#      BENCH_WARMUP_SECONDS (default 1).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
if [[ -n "${INSTANT_LOCAL_BIN:-}" ]]; then bin="$INSTANT_LOCAL_BIN"
elif [[ -x ../../target/release/instant-local ]]; then bin=../../target/release/instant-local
else bin=../../target/debug/instant-local; fi
if [[ ! -x "$bin" ]]; then
  echo "error: instant-local binary not found at: $bin" >&2
  echo "       build it with \`cargo build --release -p instant-local\` (or set INSTANT_LOCAL_BIN)." >&2
  exit 2
fi
export INSTANT_LOCAL_BIN="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
stamp="node_modules/.lock-sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ ! -d node_modules || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  npm ci --no-audit --no-fund >&2
  echo "$want" > "$stamp"
fi
exec node bench.mjs
