#!/bin/sh
# Cargo's runner for aarch64-unknown-linux-gnu (.cargo/config.toml): runs
# the binary under qemu-user with Debian's aarch64 libraries. Test binaries
# that run their own tests as child processes (test-child) start those
# under the same emulator, through GORT_TEST_WRAPPER.
export GORT_TEST_WRAPPER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
exec qemu-aarch64 -L /usr/aarch64-linux-gnu "$@"
