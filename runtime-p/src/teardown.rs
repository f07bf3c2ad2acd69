//! Freeing a `block_on` runtime once it has ended (no Go twin: Go's
//! runtime lives as long as its process).
//!
//! When m0 is back on the caller's thread, every goroutine of the instance
//! has ended (kill.rs) unless the instance was given up as `leaked`. What
//! it still holds is freed here, on that thread, which is an ordinary
//! thread again (timer functions dropped here are user code):
//! - it first waits until no other M can touch the instance
//!   (`Sched::mrefs`: each M's last act before its thread leaves) and no
//!   wake-up from outside is in progress (`Sched::ext_refs`);
//! - the timers left in the Ps' heaps are detached (a user may still hold
//!   one, and `stop` or `reset` it later), and the heaps' references
//!   dropped;
//! - every goroutine stack goes back to the process's stack pool, its
//!   pages released; the Gs, the cached sudogs and the Ps are freed.
//!
//! What this leaves: the Ms go to the process-wide pool (`mp::m_release`,
//! `runtime_m::m::mfree`; m0 in `proc::start`), and the `Sched` itself,
//! with its cached `PollDesc`s, is freed by its last reference
//! (`Sched::release`: the runtime's own, given back by `proc::start`
//! after this, or a handle or an open descriptor a user still holds).
//! The poller's own descriptors were closed when its last M left.

use core::ptr::null_mut;
use core::sync::atomic::Ordering;

use runtime_g::G;
use runtime_g::status::_Gdead;

use crate::sched::Sched;

/// Frees what `s` holds, once it may (see the module docs). Returns false,
/// freeing nothing, if the instance was given up as leaked or some
/// goroutine did not end.
pub(crate) fn free_instance(s: &Sched) -> bool {
    if s.leaked.load(Ordering::Relaxed) {
        return false;
    }
    // Ms leave quickly once the shutdown is set: wait for their last act.
    // `ext_refs` first: a wake-up in progress may still start an M (raising
    // mrefs) before it lets go, so only a zero read after it ended makes
    // the mrefs read that follows final.
    let mut spins = 0u32;
    while s.ext_refs.load(Ordering::SeqCst) != 0 || s.mrefs.load(Ordering::SeqCst) != 0 {
        spins += 1;
        if spins < 64 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(std::time::Duration::from_micros(100));
        }
    }
    // Every G must be dead; if one is not (a goroutine that could not be
    // ended), nothing is freed.
    let mut all = Vec::with_capacity(s.allglen.load(Ordering::Relaxed));
    crate::sched::for_each_g(s, |gp| all.push(gp));
    let alive = all.iter().any(|&gp| {
        // SAFETY: Gs on the list are live until freed below.
        unsafe { runtime_g::readgstatus(gp) != _Gdead }
    });
    if alive {
        s.leaked.store(true, Ordering::Relaxed);
        return false;
    }
    // A SIGQUIT dump must not walk what is freed below.
    crate::traceback::forget_sched(s);
    s.allg.store(null_mut(), Ordering::Release);
    s.allglen.store(0, Ordering::Release);
    s.ngfree.store(0, Ordering::Release);
    for pp in s.procs_all() {
        // SAFETY: no M of the instance runs (mrefs is 0).
        unsafe { pp.timers.detach_all() };
    }
    for gp in all {
        // SAFETY: every G is dead, on no queue of a live party, and no M of
        // the instance runs: we own it. Its timer is an Arc leaked into it.
        unsafe { free_g(gp) };
    }
    {
        let mut gl = s.gfree.lock();
        gl.stack = Default::default();
        gl.nostack = Default::default();
    }
    {
        let mut c = s.sudoglock.lock();
        let mut sg = c.head;
        c.head = null_mut();
        while !sg.is_null() {
            // SAFETY: sudogs on the central list are free Boxes; ours now.
            unsafe {
                let next = (*sg).next;
                drop(Box::from_raw(sg));
                sg = next;
            }
        }
    }
    {
        let mut l = s.lock.lock();
        l.pidle = null_mut();
        l.runq = Default::default();
    }
    for i in 0..crate::sched::MAX_PROCS {
        let pp = s.p_slot(i);
        if pp.is_null() {
            break;
        }
        s.set_p_slot(i, null_mut());
        // SAFETY: Ps are Boxes made by Sched::new or procresize; no M
        // holds this one, and the slot no longer publishes it.
        unsafe {
            let local = (*pp).local();
            for st in local.stackcache.drain(..) {
                runtime_g::stack::stackfree_lazy(st);
            }
            for sg in local.sudogcache.drain(..) {
                drop(Box::from_raw(sg));
            }
            local.gfree = Default::default();
            local.pinq = Default::default();
            drop(Box::from_raw(pp));
        }
    }
    // GOMAXPROCS stays as it was: a handle may still ask for it. Nothing
    // walks the Ps of an ended instance (their slots are empty, and `p`
    // throws on an empty one).
    // Release the stacks' pages now rather than at some sysmon's next pass.
    runtime_g::stack::scavenge();
    true
}

/// Frees a dead G: its stack (if it still has one) to the pool, its sleep
/// timer, and the G itself.
///
/// # Safety
/// `gp` is dead and owned by the caller; nothing refers to it any more.
unsafe fn free_g(gp: *mut G) {
    // SAFETY: per the contract.
    unsafe {
        let st = core::mem::take(&mut (*gp).stack);
        if st.lo != 0 {
            runtime_g::stack::stackfree_lazy(st);
        }
        let t = core::mem::replace(&mut (*gp).timer, null_mut());
        if !t.is_null() {
            drop(std::sync::Arc::from_raw(t as *const crate::time::Timer));
        }
        drop(Box::from_raw(gp));
    }
}
