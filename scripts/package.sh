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
# cargo unpacks the .crate files it verifies against into an overlay of
# the registry in $CARGO_HOME, keyed by name and version only; a copy left
# by an earlier run of the same version would be used instead of this
# tree's. Remove those copies (only gort's own crates, only in overlays).
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/gort-*
# Likewise the verification builds treat those crates as registry crates,
# which never change, and would reuse stale builds of them: build in a
# target directory of its own, emptied first.
export CARGO_TARGET_DIR=target/package-check
rm -rf "$CARGO_TARGET_DIR"
# --allow-dirty: CI may run on a tree with generated files (.cache).
cargo package --workspace "${exclude[@]}" --allow-dirty
for leaf in gort-runtime-g gort-macros; do
    cargo publish --dry-run --allow-dirty -p "$leaf"
done
