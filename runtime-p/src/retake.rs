//! Progress without cooperation: sysmon takes the P from a goroutine that
//! keeps it without entering the runtime (a CPU loop, a raw blocking
//! call), the way `retake` (proc.go) takes it from one in a system call.
//! No Go twin for the mechanism: Go preempts such a goroutine with a
//! signal (`preemptM`), which is unsound for Rust code. The goroutine is
//! not interrupted; it goes on running on its thread without a P, and at
//! its next runtime entry it waits for a P on that same thread.
//!
//! ## Protocol
//! Each M has two words (runtime-m's `M::in_rt` and `M::retake`):
//! - the goroutine's side, on every runtime entry that may touch the P
//!   ([`enter`]): store `in_rt = 1`, a compiler fence, load `retake`; and
//!   on the way back to user code ([`Entered`]'s drop): store `in_rt = 0`
//!   (release). No read-modify-write and no hardware fence: a few
//!   instructions.
//! - sysmon's side ([`retake_running`]): store `retake = PENDING`, run a
//!   process-wide barrier (`Os::process_barrier`, Linux `membarrier`), then
//!   load `in_rt`. If it reads 0, the goroutine is in user code and will
//!   see `PENDING` at its next entry, so the P is sysmon's: it detaches
//!   the P, stores `retake = DONE` and hands the P off (`handoffp`). If it
//!   reads 1, it gives up and stores `retake = NONE`. A goroutine that
//!   finds `PENDING` at an outermost entry steps back out (`in_rt = 0`)
//!   until sysmon has decided, then enters again: one that enters every
//!   few nanoseconds would otherwise always be found inside.
//!
//! Why it is right: the two sides are a store-buffering pair (store
//! `in_rt`, load `retake` / store `retake`, load `in_rt`). The barrier
//! makes every running thread execute a full fence at some point between
//! sysmon's store and its load. If that fence falls after the goroutine's
//! store of `in_rt = 1`, sysmon's load sees 1; if before, the goroutine's
//! later load of `retake` (kept after its store by the compiler fence,
//! and after the fence by program order) sees `PENDING`. A thread that
//! was not running executed the barrier of its last context switch. So
//! sysmon never takes a P that its M is using, and a goroutine that saw
//! `NONE` keeps its P until it leaves the runtime. A goroutine that sees
//! `PENDING` touches nothing until the decision (an outermost entry steps
//! out meanwhile, and going back in is a fresh entry). The M's and the P's fields sysmon
//! writes at `DONE` are not touched by the M meanwhile: it is in user
//! code, or waiting in [`exitretake`], which reads them only after an
//! acquire load of `DONE`. loom model: `tests/loom_retake.rs` (the
//! barrier modelled as a SeqCst fence on both sides, and a broken twin
//! without it that loom catches).
//!
//! Nesting: each entry remembers `in_rt` as it found it and puts that
//! back, so an entry inside an entered section (a runtime call made by a
//! destructor the runtime runs) leaves it 1. A goroutine switch happens
//! only inside the runtime, so every M's `in_rt` is 1 whenever it is in
//! the scheduler, and each goroutine's outermost entry puts back 0 on
//! whichever M it runs on when it returns. In the safe mode `in_rt` is
//! never set to 0 ([`begin_user`]): nothing retakes there.
//!
//! ## After a retake
//! At its next entry the goroutine takes an idle P if there is one (as
//! `exitsyscallfast` does); otherwise it queues itself on the global run
//! queue locked to its M for the moment, and the M sleeps until a
//! scheduler that picks the goroutine hands it a P (`startlockedm`). So a
//! retaken goroutine always resumes on its own thread, even in a
//! non-blocking call (`try_send`), which in the migrating mode otherwise
//! never switches threads.
//!
//! ## The modes
//! Only the migrating mode retakes (and only where the OS layer has the
//! barrier). In the safe mode a goroutine's P holds goroutines pinned to
//! its thread, which no other M may run: taking the P away would strand
//! them, and they cannot run anyway while their thread loops. In both
//! modes sysmon's stall detector (`sysmon::Stall`) names a goroutine that
//! runs for a second without a runtime call on stderr, with its frames;
//! in the safe mode,
//! goroutines that have not started are stolen by other Ps, and the
//! stuck P's timers are run by other Ps' `steal_work`, as before.

use core::ptr::null_mut;
use core::sync::atomic::{Ordering, compiler_fence};

use runtime_g::G;
use runtime_g::status::{_Grunnable, _Grunning};
use runtime_m::m::{RETAKE_DONE, RETAKE_NONE, RETAKE_PENDING};
use runtime_m::{M, mcall, os};

use crate::mp::handoffp;
use crate::p::{_Pidle, _Prunning, P};
use crate::proc::sched_of;
use crate::sched::Sched;

/// An entered runtime section of the running goroutine; dropping it puts
/// back the M's `in_rt` as it was at the entry (0: back to user code) on
/// the M the goroutine runs on by then.
#[must_use = "the section ends when this is dropped"]
pub struct Entered {
    gp: *mut G,
    /// `in_rt` at the entry: 0 for an outermost entry from user code, 1
    /// for one nested in another section (and always in the safe mode).
    prev: u32,
}

impl Drop for Entered {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: gp is the running goroutine (an entered section does not
        // outlive its goroutine's frame); its `m` is the M it runs on now,
        // which may differ from the one it entered on.
        unsafe {
            let mp: *mut M = (*self.gp).m.cast();
            (*mp).in_rt.store(self.prev, Ordering::Release);
        }
    }
}

/// The goroutine's runtime entry: marks the M as inside the runtime and,
/// if sysmon has taken or is taking its P, waits for a P ([`exitretake`]).
/// Until the result is dropped, the M's P stays with it. Nested entries
/// cost the same and change nothing (`in_rt` stays 1).
///
/// # Safety
/// `gp` must be the running user goroutine, holding no runtime lock.
#[inline(always)]
pub unsafe fn enter(gp: *mut G) -> Entered {
    // SAFETY: per the contract; the M's words are atomics it owns.
    unsafe {
        let mp: *mut M = (*gp).m.cast();
        let prev = (*mp).in_rt.load(Ordering::Relaxed);
        (*mp).in_rt.store(1, Ordering::Relaxed);
        // Keeps the load below after the store in the instruction stream;
        // sysmon's process-wide barrier does the rest (module docs).
        compiler_fence(Ordering::SeqCst);
        // Acquire: free on x86, and orders the P's uses below after it on
        // weaker machines.
        if (*mp).retake.load(Ordering::Acquire) != RETAKE_NONE {
            exitretake(gp, mp, prev);
        }
        Entered { gp, prev }
    }
}

/// Whether the running goroutine `gp` is inside an entered section.
///
/// # Safety
/// `gp` is the running user goroutine.
#[inline]
pub(crate) unsafe fn entered(gp: *mut G) -> bool {
    // SAFETY: per the contract.
    unsafe { (*((*gp).m as *mut M)).in_rt.load(Ordering::Relaxed) != 0 }
}

/// Throws unless the running goroutine `gp` is inside an entered section:
/// for runtime functions called with a lock held (`gopark`), which cannot
/// wait for a P themselves.
///
/// # Safety
/// `gp` is the running user goroutine.
#[inline]
pub(crate) unsafe fn assert_entered(gp: *mut G) {
    // SAFETY: per the contract.
    if unsafe { !entered(gp) } {
        runtime_g::throw("runtime call without an entry (retake protocol)");
    }
}

/// The goroutine starts running user code (its function, the destructors
/// of its locals); [`enter`] ends it. In the safe mode, which never
/// retakes, `in_rt` stays 1 for good, so that entries cost the least.
///
/// # Safety
/// `gp` is the running goroutine, outside any entered section, holding no
/// runtime lock.
#[inline]
pub unsafe fn begin_user(gp: *mut G) {
    // SAFETY: per the contract; the instance outlives its goroutines.
    unsafe {
        let mp: *mut M = (*gp).m.cast();
        if !sched_of(mp).safe {
            (*mp).in_rt.store(0, Ordering::Release);
        }
    }
}

/// The slow path of [`enter`]: wait for sysmon's decision, and after a
/// retake get a P back on this thread. No Go twin (the nearest is
/// `exitsyscall`).
///
/// While sysmon decides (`PENDING`), an outermost entry steps back out
/// (`in_rt` = 0, touching nothing) and enters again once it has decided:
/// a goroutine that enters the runtime every few nanoseconds would
/// otherwise always be caught waiting inside, and never lose its P.
///
/// # Safety
/// As for [`enter`], with `mp` the goroutine's M, `in_rt` just set, and
/// `prev` its value before.
#[cold]
#[inline(never)]
unsafe fn exitretake(gp: *mut G, mp: *mut M, prev: u32) {
    let mut spins = 0u32;
    // SAFETY: per the contract.
    unsafe {
        loop {
            match (*mp).retake.load(Ordering::Acquire) {
                RETAKE_NONE => return,
                RETAKE_DONE if (*mp).p.is_null() => break,
                RETAKE_DONE => runtime_g::throw("retake: P taken inside the runtime"),
                _ => {
                    if prev == 0 {
                        (*mp).in_rt.store(0, Ordering::Release);
                    }
                    // sysmon decides within one barrier.
                    while (*mp).retake.load(Ordering::Acquire) == RETAKE_PENDING {
                        spins += 1;
                        if spins < 64 {
                            core::hint::spin_loop();
                        } else {
                            os().osyield();
                        }
                    }
                    // Enter again, as `enter` does.
                    (*mp).in_rt.store(1, Ordering::Relaxed);
                    compiler_fence(Ordering::SeqCst);
                }
            }
        }
        (*mp).retake.store(RETAKE_NONE, Ordering::Relaxed);
        // The retake was this goroutine's preemption.
        (*gp).preempt.store(false, Ordering::Relaxed);
        // An idle P, as exitsyscallfast takes one (there is no old P).
        if crate::syscall::exitsyscallfast(null_mut()) {
            // A new turn on this P for sysmon's time slice.
            crate::proc::p_of(mp)
                .schedtick
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
        // Wait on this thread: lock the goroutine to it for the moment
        // (unless it is locked already), and let the scheduler hand us a P.
        if (*mp).lockedg.is_null() {
            (*mp).lockedg = gp;
            (*gp).lockedm.store(mp.cast(), Ordering::Relaxed);
            (*mp).retake_locked = true;
        }
        mcall(retake0);
        // Resumed on this M (it is locked to us), with a P.
        if (*mp).retake_locked {
            (*mp).retake_locked = false;
            (*mp).lockedg = null_mut();
            (*gp).lockedm.store(null_mut(), Ordering::Relaxed);
        }
    }
}

/// On g0: the retaken goroutine found no idle P; it becomes runnable on
/// the global queue, locked to this M, which waits for a P
/// (`stoplockedm`, by way of `schedule`).
unsafe extern "C" fn retake0(gp: *mut G) -> ! {
    let mp = runtime_m::getm();
    // SAFETY: gp left the CPU through mcall on this M.
    unsafe {
        runtime_g::casgstatus(gp, _Grunning, _Grunnable);
        crate::trace::hook(crate::trace::Hook::Stop, gp);
        crate::syscall::run_here_or_queue(sched_of(mp), gp);
        // Some scheduler will pick gp and hand us its P (startlockedm).
        crate::proc::schedule()
    }
}

/// Whether sysmon may take Ps from running goroutines in this instance:
/// the migrating mode, on an OS layer with a process-wide barrier.
pub fn retake_enabled(s: &Sched) -> bool {
    !s.safe && os().process_barrier_init()
}

/// sysmon: takes `pp` from the goroutine running on it if that goroutine
/// is in user code. Returns its M and goroutine id if it did. No Go twin
/// (module docs).
pub(crate) fn retake_running(pp: &P) -> Option<(*const M, u64)> {
    let mp = pp.m.load(Ordering::Acquire);
    if mp.is_null() {
        return None;
    }
    // SAFETY: Ms are never freed. The M's words are atomics; its other
    // fields are read only once the protocol says the M is in user code.
    unsafe {
        if (*mp).retake.load(Ordering::Relaxed) != RETAKE_NONE {
            // The M has not come back for its last retake yet (it cannot
            // hold a P meanwhile, so this P moved on).
            return None;
        }
        (*mp).retake.store(RETAKE_PENDING, Ordering::SeqCst);
        os().process_barrier();
        let in_user = (*mp).in_rt.load(Ordering::Acquire) == 0;
        // In user code, the M's P, status and goroutine cannot change.
        let pp_ptr = pp as *const P as *mut P;
        let gp = (*mp).curg.load(Ordering::Relaxed);
        if !in_user
            || (*mp).p != pp_ptr.cast()
            || pp.status.load(Ordering::Acquire) != _Prunning
            || gp.is_null()
        {
            (*mp).retake.store(RETAKE_NONE, Ordering::Release);
            return None;
        }
        let goid = (*gp).goid;
        // The P is ours: detach it as entersyscall would, then hand it off
        // as retake does a P in a system call.
        crate::trace::ev_p(
            pp,
            crate::trace::EvKind::ProcSteal,
            (*gp).goid,
            (*mp).id as u64,
            runtime_g::WaitReason::Zero,
        );
        pp.m.store(null_mut(), Ordering::Relaxed);
        (*mp).p = null_mut();
        pp.status.store(_Pidle, Ordering::Release);
        pp.stats.retakes.fetch_add(1, Ordering::Relaxed);
        // As Go's retake: while the P is in our hands and not yet on the
        // idle list or with an M, the retaken goroutine may already be
        // waiting in stoplockedm (counted idle-locked); without this,
        // checkdead could count no running M and call it a deadlock.
        let s = sched_of(mp);
        crate::lockosthread::incidlelocked(s, -1);
        (*mp).retake.store(RETAKE_DONE, Ordering::Release);
        handoffp(pp_ptr);
        crate::lockosthread::incidlelocked(s, 1);
        Some((mp as *const M, goid))
    }
}
