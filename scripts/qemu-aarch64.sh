#!/bin/sh
# Cargo's runner for aarch64-unknown-linux-gnu (.cargo/config.toml): runs
# the binary under qemu-user with Debian's aarch64 libraries. Test binaries
# that run their own tests as child processes (test-child) start those
# under the same emulator, through GORT_TEST_WRAPPER.
export GORT_TEST_WRAPPER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
# qemu-user's own RCU thread lives in the process: gort's deadlock check
# must not take it for a thread of the program that may feed a channel.
export GORT_EMULATOR_THREADS=1
# qemu-user accepts madvise(MADV_GUARD_INSTALL) without installing a
# guard (an unknown advice is only a hint to it): guard pages by mprotect.
export GORT_STACK_GUARD=mprotect
exec qemu-aarch64 -L /usr/aarch64-linux-gnu "$@"
