//! The thread-local `g` slot: port of `getg`/`setg` (a compiler intrinsic
//! and `runtime·setg` in asm_amd64.s).
//!
//! A goroutine may resume on another thread after any switch, and rustc may
//! compute a thread-local's address once and reuse it across calls in one
//! function (rust-lang/rust#136044). So the slot is read and written only
//! inside these two out-of-line functions: every call computes the address
//! afresh for the thread it runs on, and no caller ever holds the address.
//! Callers must not cache the returned G across a switch either when they
//! mean "the current goroutine's M" — re-read `getg()` after any park.

use core::cell::Cell;

use crate::G;

thread_local! {
    /// Const-initialised and without a destructor, so it needs no lazy
    /// registration and may be read from a signal handler.
    static G_SLOT: Cell<*mut G> = const { Cell::new(core::ptr::null_mut()) };
}

/// getg: returns the G running on this thread (a g0 while the scheduler
/// runs, null on a thread that is not part of a runtime).
#[inline(never)]
pub fn getg() -> *mut G {
    G_SLOT.with(|s| s.get())
}

/// setg: port of runtime·setg. Records `gp` as the G running on this thread.
#[inline(never)]
pub fn setg(gp: *mut G) {
    G_SLOT.with(|s| s.set(gp))
}
