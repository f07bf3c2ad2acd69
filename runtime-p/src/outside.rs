//! A goroutine that waits for a plain thread (no Go twin: Go's runtime is
//! never entered from a thread it did not make, except through cgo
//! callbacks). `gort::Runtime` hands work to its runtime through one: the
//! runtime's main goroutine waits on an [`OutsideWake`], and `block_on` or
//! `spawn` called on any thread wakes it.
//!
//! The protocol is the poller's (`netpollblock` / `netpollunblock`, one
//! word, no lock): the waiter announces itself (`NIL → WAIT`), and its
//! park's commit publishes the G (`WAIT → G`) unless a wake-up came first
//! (`READY`); a waker swaps in `READY` and readies the G it took out.

use core::sync::atomic::{AtomicUsize, Ordering};

use runtime_g::{G, WaitReason, getg};

const NIL: usize = 0;
const READY: usize = 1;
const WAIT: usize = 2;

/// A wake-up that a plain thread may give and one goroutine waits for.
#[derive(Default)]
pub struct OutsideWake {
    state: AtomicUsize,
}

impl OutsideWake {
    /// A word with no wake-up pending.
    pub const fn new() -> OutsideWake {
        OutsideWake {
            state: AtomicUsize::new(NIL),
        }
    }

    /// Parks the calling goroutine until [`OutsideWake::wake`] was called
    /// since the last `wait` returned (at once if it was). One goroutine
    /// at a time may wait. The shutdown of an ending runtime ends the
    /// waiter here (kill.rs).
    ///
    /// # Panics
    /// Outside a goroutine.
    pub fn wait(&self) {
        let (gp, _rt) = crate::proc::runtime_entry("OutsideWake::wait");
        loop {
            if self
                .state
                .compare_exchange(READY, NIL, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return;
            }
            // SAFETY: gp is the running goroutine.
            if unsafe { crate::kill::kill_point(gp) } {
                crate::kill::goexit();
            }
            if self
                .state
                .compare_exchange(NIL, WAIT, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                break;
            }
            if self.state.load(Ordering::Acquire) > WAIT {
                runtime_g::throw("OutsideWake: two goroutines wait");
            }
        }
        // SAFETY: on a goroutine inside its entered section; the waker
        // learns of us only through the commit's CAS.
        unsafe {
            crate::kill::set_cancel(
                gp,
                cancel_wait,
                &self.state as *const AtomicUsize as *mut (),
            );
            crate::proc::gopark(
                Some(commit),
                &self.state as *const AtomicUsize as *mut (),
                WaitReason::Select,
            );
            if crate::kill::park_killed(gp) {
                self.state.store(NIL, Ordering::Release);
                crate::kill::goexit();
            }
        }
        // Consume the wake-up (READY), or undo the announcement (WAIT) if
        // the commit saw READY and did not park.
        self.state.swap(NIL, Ordering::AcqRel);
    }

    /// Wakes the waiter, or leaves the wake-up for the next `wait`. Any
    /// thread: a goroutine of any runtime, or a plain thread.
    pub fn wake(&self) {
        loop {
            let old = self.state.load(Ordering::Acquire);
            if old == READY {
                return;
            }
            if self
                .state
                .compare_exchange(old, READY, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                if old > WAIT {
                    // SAFETY: we took the G out of the word: we are its one
                    // waker, and it is parked (the commit published it).
                    unsafe { ready_anywhere(old as *mut G) };
                }
                return;
            }
        }
    }
}

/// The park's commit: publishes the G unless a wake-up came first.
unsafe fn commit(gp: *mut G, word: *mut ()) -> bool {
    // SAFETY: word is the state of the OutsideWake its waiter holds.
    let word = unsafe { &*(word as *const AtomicUsize) };
    word.compare_exchange(WAIT, gp as usize, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
}

/// The shutdown's cancel function (kill.rs): takes the G back out of the
/// word, unless a waker took it first.
///
/// # Safety
/// With the world stopped, for a G parked in [`OutsideWake::wait`] on the
/// word `arg` (its frame keeps it alive).
unsafe fn cancel_wait(gp: *mut G, arg: *mut ()) -> bool {
    // SAFETY: per the contract.
    let word = unsafe { &*(arg as *const AtomicUsize) };
    word.compare_exchange(gp as usize, NIL, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
}

/// Readies `gp` from whatever thread this is: a goroutine (of its runtime
/// or another) through `goready`; a plain thread by putting it on its
/// runtime's global queue and starting an idle P for it, as `injectglist`
/// does without a P (safe mode: home to its M).
///
/// # Safety
/// `gp` is `_Gwaiting` and the caller is its one waker.
unsafe fn ready_anywhere(gp: *mut G) {
    let me = getg();
    // SAFETY: a non-null G in the slot is live; goid 0 marks a g0.
    if !me.is_null() && unsafe { (*me).goid } != 0 {
        // SAFETY: forwarded contract.
        unsafe { crate::proc::goready(gp) };
        return;
    }
    if !me.is_null() {
        runtime_g::throw("OutsideWake::wake on g0");
    }
    // SAFETY: forwarded contract; a plain thread.
    unsafe { crate::proc::ready_plain(gp) }
}
