//! Ending the goroutines of a `block_on` runtime whose main goroutine
//! returned. No Go twin: a Go program's goroutines end with its process.
//!
//! A runtime that hands control back to its caller must not leave
//! goroutines behind: their stacks hold values whose destructors must run
//! (and may be pinned, so their memory cannot simply be reused), and the
//! runtime is to be freed. Each goroutine therefore ends as if it had
//! called `runtime.Goexit` at the point where it waits: its frames unwind,
//! running their destructors, and it exits.
//!
//! The protocol:
//! 1. The main goroutine sets `Sched::killing` and stops the world. Every
//!    goroutine of the runtime is then off the CPU, and a parked one is
//!    either still queued where it parked or already taken off by a waker
//!    (of another runtime, or a plain thread), which will ready it.
//! 2. For each parked goroutine that registered a cancel function before
//!    it parked ([`set_cancel`]), the function takes the goroutine off the
//!    queue it waits in, under that queue's own lock, if it is still
//!    there. When it was, nobody else can wake it: it is marked `killed`
//!    and readied once the world runs again.
//! 3. A goroutine that resumes finds `killed` ([`park_killed`]), tidies
//!    what its wait left (a sudog, a count) and calls [`goexit`].
//! 4. Any goroutine about to park later (woken by a waker, newly spawned,
//!    or running a destructor) meets [`kill_point`] first, under the same
//!    lock it would park with, and ends instead. There is no preemption
//!    point between that check and the park, so a goroutine either parked
//!    before the world stopped (step 2 finds it) or checks after (step 4).
//! 5. A goroutine that has not started is dropped without running, and
//!    one busy with runtime calls that never park (`try_recv` in a loop)
//!    ends at its next preemption point: the running ones are asked at
//!    once, the others by sysmon after a time slice.
//! 6. When the last goroutine is gone, the runtime shuts down
//!    ([`crate::proc::shutdown_locked`]).
//!
//! Not cancelled:
//! - a goroutine that parks while it unwinds (a destructor that waits):
//!   ending it would start a second unwind inside the first, which Rust
//!   turns into an abort;
//! - a wait whose caller counts its waiters (`sync.Mutex`, `RWMutex`:
//!   `sema::semacquire1_nocancel`), since the count would keep a waiter
//!   that is gone; the holders, ending, usually release them.
//!
//! If nothing wakes such a goroutine, the runtime finds itself with
//! nothing left to run (`checkdead_ending`), gives up, shuts down and is
//! leaked instead of freed. (In the safe mode a goroutine parked while it
//! unwinds keeps its M busy, so that check never fires and the end waits.)
//! A goroutine that never parks again (a loop without runtime calls) keeps
//! its runtime, and `block_on`, waiting, as a task that never yields keeps
//! a tokio runtime's shutdown waiting.

use core::sync::atomic::Ordering;

use runtime_g::G;
use runtime_g::status::_Gwaiting;

use crate::sched::{Sched, for_each_g};

/// What takes a parked goroutine off the object it waits on: called with
/// the world stopped, with the G and the argument given to [`set_cancel`].
/// Returns true if it took the G off (the G is then the canceller's to
/// ready), false if a waker got there first.
pub type CancelFn = unsafe fn(*mut G, *mut ()) -> bool;

/// Whether `gp`, the running goroutine, must end instead of parking: its
/// runtime is ending and it is not unwinding already. Call it under the
/// lock the park will release, after the last preemption point before the
/// park, and call [`goexit`] (after letting go of what is held) when it
/// says so.
///
/// # Safety
/// `gp` must be the running goroutine.
#[inline]
pub unsafe fn kill_point(gp: *mut G) -> bool {
    // A plain thread's wait belongs to no runtime (waiter.rs).
    // SAFETY: per the contract gp is live.
    if unsafe { crate::waiter::is_outside(gp) } {
        return false;
    }
    // SAFETY: per the contract gp runs, so its instance is live.
    let s = unsafe { &*((*gp).instance as *const Sched) };
    s.killing.load(Ordering::Relaxed) && kill_point_slow(s, gp)
}

#[cold]
#[inline(never)]
fn kill_point_slow(s: &Sched, gp: *mut G) -> bool {
    // The main goroutine is the one ending the others, outside its
    // function. std's panic count is per thread; read before the park
    // only (this frame ends first).
    gp != s.main_g.load(Ordering::Relaxed) && cfg!(panic = "unwind") && !std::thread::panicking()
}

/// Registers how the shutdown may cancel the park that follows.
///
/// # Safety
/// `gp` must be the running goroutine, about to park with no preemption
/// point in between; `f(gp, arg)` must be sound to call while `gp` is
/// parked there, with the world stopped.
#[inline]
pub unsafe fn set_cancel(gp: *mut G, f: CancelFn, arg: *mut ()) {
    // SAFETY: per the contract; the words are read only while gp is
    // parked with the world stopped, after park_m's status change.
    unsafe {
        (*gp).cancel.store(f as usize, Ordering::Relaxed);
        (*gp).cancel_arg.store(arg, Ordering::Relaxed);
    }
}

/// After a park registered with [`set_cancel`]: drops the registration and
/// says whether the shutdown woke the goroutine (then it must tidy up and
/// call [`goexit`]).
///
/// # Safety
/// `gp` must be the running goroutine.
#[inline]
pub unsafe fn park_killed(gp: *mut G) -> bool {
    // SAFETY: per the contract; `killed` was written before the G was
    // readied, which happens before it runs.
    unsafe {
        (*gp).cancel.store(0, Ordering::Relaxed);
        (*gp).killed.load(Ordering::Relaxed) && (*gp).killed.swap(false, Ordering::Relaxed)
    }
}

/// Ends the running goroutine as `runtime.Goexit` does (its frames'
/// destructors run); for a goroutine its runtime's end reached at a park.
pub fn goexit() -> ! {
    crate::proc::goexit()
}

/// A cancel function for parks that only the shutdown can end (a receive
/// from a nil channel, an empty `select`): always succeeds.
///
/// # Safety
/// Any arguments: nothing is touched.
pub unsafe fn cancel_always(_gp: *mut G, _arg: *mut ()) -> bool {
    true
}

/// Parks the running goroutine where only the shutdown can wake it (a nil
/// channel, `select {}`), and ends it when the shutdown does.
///
/// # Safety
/// `gp` is the running goroutine, inside its entered section, holding no
/// lock.
pub(crate) unsafe fn park_forever(gp: *mut G, reason: runtime_g::WaitReason) -> ! {
    // SAFETY: per the contract; nothing is queued, so the cancel function
    // has nothing to take off.
    unsafe {
        if kill_point(gp) {
            goexit();
        }
        set_cancel(gp, cancel_always, core::ptr::null_mut());
        // gp may be a plain thread's outside G (waiter.rs): it blocks for
        // good, as a goroutine parks for good.
        crate::proc::gopark_g(gp, None, core::ptr::null_mut(), reason);
        if !park_killed(gp) {
            runtime_g::throw("park_forever: woken");
        }
    }
    goexit()
}

/// Step 1 and 2 of the protocol, on the main goroutine of `s` once it
/// returned: marks the runtime as ending, stops the world, cancels every
/// parked goroutine that allows it, and readies them.
pub(crate) fn kill_parked(s: &Sched) {
    if cfg!(panic = "abort") {
        // Without unwinding no destructor can run; the goroutines are
        // abandoned with the runtime, which is then leaked.
        s.leaked.store(true, Ordering::Relaxed);
        return;
    }
    s.killing.store(true, Ordering::SeqCst);
    let main = s.main_g.load(Ordering::Relaxed);
    let killed = crate::procresize::with_world_stopped(s, || {
        let mut v: Vec<usize> = Vec::new();
        for_each_g(s, |gp| {
            // SAFETY: Gs on the list are live; with the world stopped no
            // goroutine of `s` runs, so a parked G's cancel words are the
            // ones it registered for this park (a foreign waker only readies
            // it, and the cancel function then finds it gone).
            unsafe {
                // The scan bit may be sysmon's, which is not stopped with
                // the world (mark_waitsince): the G is waiting all the same
                // (goready below waits for the bit to clear).
                let st = runtime_g::readgstatus(gp) & !runtime_g::status::_Gscan;
                if gp == main || st != _Gwaiting {
                    return;
                }
                let f = (*gp).cancel.load(Ordering::Relaxed);
                if f == 0 {
                    return;
                }
                // SAFETY: only set_cancel stores a non-zero word, a CancelFn.
                let f: CancelFn = core::mem::transmute::<usize, CancelFn>(f);
                if f(gp, (*gp).cancel_arg.load(Ordering::Relaxed)) {
                    (*gp).cancel.store(0, Ordering::Relaxed);
                    (*gp).killed.store(true, Ordering::Relaxed);
                    v.push(gp as usize);
                }
            }
        });
        v
    });
    for gp in killed {
        // SAFETY: each was taken off its wait queue by its cancel function
        // with the world stopped: we are its one waker, and it is parked.
        unsafe { crate::proc::goready(gp as *mut G) };
    }
    // Goroutines busy with runtime calls that never park end at their next
    // preemption point; sysmon asks the ones that start running later.
    crate::procresize::preemptall(s);
}

/// A goroutine of `s` ended: true for the one that ended last, once the
/// runtime is ending. A single counter's read-modify-writes are totally
/// ordered, so exactly one ending goroutine sees it reach zero (and none
/// is created after that: goroutines are created by goroutines of `s`,
/// and by its timers, which create none once it shuts down).
pub(crate) fn goroutine_ended(s: &Sched) -> bool {
    s.nlive.fetch_sub(1, Ordering::SeqCst) == 1 && s.killing.load(Ordering::SeqCst)
}
