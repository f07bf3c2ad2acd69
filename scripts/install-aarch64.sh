#!/usr/bin/env bash
# Installs what building and testing gort for aarch64 needs on an x86_64
# Debian host (issue 24): Rust's aarch64 standard library, Debian's cross
# linker and aarch64 C library, and qemu-user to run the binaries. Does
# nothing that is already there.
set -euo pipefail
if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    rustup target add aarch64-unknown-linux-gnu >&2
fi
need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y -q "${need[@]}" >&2 || { apt-get update -q >&2 && apt-get install -y -q "${need[@]}" >&2; }
    else
        sudo apt-get install -y -q "${need[@]}" >&2
    fi
fi
