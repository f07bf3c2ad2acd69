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

/// Whether `sp` lies inside `gp`'s stack, `(lo, hi]`: the test of
/// [`stackcheck`].
///
/// # Safety
/// `gp` must be null or point to a live G.
pub unsafe fn sp_in_stack(gp: *const G, sp: usize) -> bool {
    // SAFETY: the caller's contract.
    !gp.is_null() && unsafe { (*gp).stack.lo < sp && sp <= (*gp).stack.hi }
}

/// stackcheck: port of runtime·stackcheck (asm_amd64.s): the stack pointer
/// must lie inside the stack of the G this thread's `g` slot names. Go's
/// Plan 9 `tstart_plan9` calls it right after it installs the new M's g0,
/// so a child that picked up another M (the pre-9f012e1 race) or carved
/// its g0 stack somewhere else aborts at once instead of running on.
/// Returns false where Go aborts; the caller throws.
#[inline(never)]
pub fn stackcheck() -> bool {
    let sp = crate::arch::current_sp();
    // SAFETY: the g slot holds null or a live G of this thread.
    unsafe { sp_in_stack(getg(), sp) }
}

#[cfg(test)]
mod tests {
    use super::*;

    // go-test: none; stackcheck is assembly in Go. Its test: SP inside the
    // slot's G's stack passes, outside (another G's stack, as a child that
    // took the wrong M would have) or with no G fails.
    #[test]
    fn stackcheck_reads_the_g_slot() {
        let local = 0u8;
        let sp = &local as *const u8 as usize;
        let mut here = G::new_detached();
        here.stack = crate::stack::Stack {
            lo: sp - (64 << 10),
            hi: sp + (64 << 10),
        };
        let mut elsewhere = G::new_detached();
        elsewhere.stack = crate::stack::Stack {
            lo: 0x1000,
            hi: 0x2000,
        };
        let saved = getg();
        setg(&mut here);
        assert!(stackcheck());
        setg(&mut elsewhere);
        assert!(!stackcheck());
        setg(core::ptr::null_mut());
        assert!(!stackcheck());
        setg(saved);
    }
}
