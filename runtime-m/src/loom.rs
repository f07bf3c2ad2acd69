//! The atomics of notes, from `loom` under `--cfg loom` (model checking)
//! and from `core` otherwise (tokio's shim; see runtime-p's `loom.rs`).

#[cfg(not(loom))]
pub use core::sync::atomic::AtomicUsize;
#[cfg(loom)]
pub use loom::sync::atomic::AtomicUsize;
