#!/usr/bin/env bash
# Packaging check for crates.io (issue 18): every publishable crate
# packages, and `cargo package --workspace` verifies each .crate by
# building it against the others' .crate files (a local overlay of the
# registry), as crates.io would once they are published in dependency
# order: gort-runtime-g, gort-macros, gort-runtime-m, gort-runtime-p,
# gort-os-linux, gort-os-plan9, gort. Then `cargo publish --dry-run` for
# the crates with no gort dependency (the others need their dependencies
# on the registry first).
set -euo pipefail
cd "$(dirname "$0")/.."
# The crates that never publish (publish = false).
exclude=(--exclude conformance --exclude gort-bench --exclude plan9-model --exclude test-child)
# --allow-dirty: CI may run on a tree with generated files (.cache).
cargo package --workspace "${exclude[@]}" --allow-dirty
for leaf in gort-runtime-g gort-macros; do
    cargo publish --dry-run --allow-dirty -p "$leaf"
done
