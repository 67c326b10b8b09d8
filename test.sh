#!/usr/bin/env bash
# Runs the whole test suite: with cargo-nextest when it is installed, with `cargo test` otherwise.
# PostgreSQL-backed tests run when EVENTFOLD_TEST_POSTGRES is set (CI always sets it).
set -euo pipefail
cd "$(dirname "$0")"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-targets --no-fail-fast "$@"
  cargo test --workspace --doc
else
  cargo test --workspace --no-fail-fast "$@"
fi
