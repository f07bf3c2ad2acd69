//! The atomics of the lock-free run queue, from `loom` when the crate is
//! built with `--cfg loom` (model checking, `scripts/test.sh` runs it) and
//! from `core` otherwise: tokio's shim. Under loom the ring shrinks to a few
//! slots so that every interleaving can be explored.

#[cfg(not(loom))]
pub use core::sync::atomic::{AtomicPtr, AtomicU32};
#[cfg(loom)]
pub use loom::sync::atomic::{AtomicPtr, AtomicU32};
