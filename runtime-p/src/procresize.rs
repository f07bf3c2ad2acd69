//! Stopping the world and changing GOMAXPROCS: ports of
//! `stopTheWorldWithSema`, `startTheWorldWithSema`, `gcstopm`,
//! `preemptall`, `procresize`, `(*p).destroy` and `runtime.GOMAXPROCS`
//! (proc.go).
//!
//! ## Protocol
//! 1. The stopping M sets `gcwaiting` and `stopwait = gomaxprocs` under
//!    `sched.lock`, stops its own P, CASes every `_Psyscall` P to
//!    `_Pgcstop`, and takes every idle P off the idle list.
//! 2. Every other M stops its P at its next scheduling point
//!    (`findRunnable` → `gcstopm`), `handoffp` stops a P it would hand off,
//!    and `entersyscall` stops its P if the stopper already looked at the
//!    syscall Ps. Each decrements `stopwait`; the last one wakes `stopnote`.
//! 3. The stopper waits on `stopnote`, asking running goroutines to yield
//!    (`preemptall`) every 100 µs. gort's preemption is cooperative: a
//!    goroutine that never calls into gort delays the stop until it does.
//! 4. `procresize` makes `n` Ps (a removed P's Gs go to the global queue),
//!    and `startTheWorld` hands the Ps that have work to idle or new Ms.

use core::ptr::null_mut;
use core::sync::atomic::Ordering;

use runtime_g::stack::stackfree;
use runtime_g::throw;
use runtime_m::{M, getm, noteclear, notetsleep, notewakeup, systemstack};

use crate::mp::{
    acquirep, mget, newm, pidleget, pidleput, pidleput_checked, releasep, stopm, wakep,
};
use crate::p::{_Pdead, _Pgcstop, _Pidle, _Prunning, _Psyscall, P, runqempty, runqget};
use crate::proc::mexit_shutdown;
use crate::sched::{MAX_PROCS, Sched, SchedLocked, globrunqputhead, sched};

/// preemptall: port of runtime.preemptall (proc.go).
pub(crate) fn preemptall(s: &Sched) {
    for pp in s.procs() {
        if pp.status.load(Ordering::Acquire) == _Prunning {
            crate::sysmon::preemptone(pp);
        }
    }
}

/// gcstopm: port of runtime.gcstopm (proc.go): stops the current M's P
/// for a stop-the-world and parks the M.
pub fn gcstopm() {
    let s = sched();
    let mp = getm();
    if !s.gcwaiting.load(Ordering::Acquire) {
        throw("gcstopm: not waiting for gc");
    }
    // SAFETY: the running M owns its flags.
    unsafe {
        if (*mp).spinning {
            (*mp).spinning = false;
            if s.nmspinning.fetch_sub(1, Ordering::AcqRel) - 1 < 0 {
                throw("gcstopm: negative nmspinning");
            }
        }
    }
    let pp = releasep();
    {
        let mut l = s.lock.lock();
        // SAFETY: we just released pp; it is ours to stop.
        unsafe { (*pp).status.store(_Pgcstop, Ordering::Release) };
        l.stopwait -= 1;
        if l.stopwait == 0 {
            notewakeup(&s.stopnote);
        }
    }
    if !stopm() {
        mexit_shutdown();
    }
}

/// stopTheWorldWithSema: port (proc.go), on g0 of an M holding a P.
fn stop_the_world(s: &Sched) {
    let mp = getm();
    let wait = {
        let mut l = s.lock.lock();
        l.stopwait = s.gomaxprocs() as i32;
        s.gcwaiting.store(true, Ordering::Release);
        // The other half of entersyscall's pair: the store before the looks
        // at the Ps' status below.
        core::sync::atomic::fence(Ordering::SeqCst);
        preemptall(s);
        // SAFETY: this M holds its P.
        unsafe {
            (*((*mp).p as *mut P))
                .status
                .store(_Pgcstop, Ordering::Release)
        };
        l.stopwait -= 1;
        for pp in s.procs() {
            if pp
                .status
                .compare_exchange(_Psyscall, _Pgcstop, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                pp.syscalltick.fetch_add(1, Ordering::Relaxed);
                l.stopwait -= 1;
            }
        }
        loop {
            let pp = pidleget(s, &mut l);
            if pp.is_null() {
                break;
            }
            // SAFETY: pp came off the idle list.
            unsafe { (*pp).status.store(_Pgcstop, Ordering::Release) };
            l.stopwait -= 1;
        }
        l.stopwait > 0
    };
    if wait {
        loop {
            if notetsleep(&s.stopnote, 100_000) {
                noteclear(&s.stopnote);
                break;
            }
            preemptall(s);
        }
    }
    let l = s.lock.lock();
    if l.stopwait != 0 {
        throw("stopTheWorld: not stopped");
    }
    for pp in s.procs() {
        if pp.status.load(Ordering::Acquire) != _Pgcstop {
            throw("stopTheWorld: not stopped");
        }
    }
}

/// (*p).destroy: port (proc.go): moves a removed P's work to the global
/// queues and marks it dead.
///
/// # Safety
/// With the world stopped; nobody else uses `pp`.
unsafe fn pdestroy(s: &Sched, l: &mut SchedLocked, pp: &P) {
    // SAFETY: the world is stopped: we are pp's only user.
    unsafe {
        // Keep the order: take them all, then push in reverse at the head.
        let mut gs = Vec::new();
        loop {
            let (gp, _) = runqget(pp);
            if gp.is_null() {
                break;
            }
            gs.push(gp);
        }
        for gp in gs.into_iter().rev() {
            globrunqputhead(s, l, gp);
        }
        let local = pp.local();
        let mut q = crate::gqueue::GQueue::default();
        while !local.gfree.empty() {
            q.push(local.gfree.pop());
        }
        s.gfree.lock().nostack.push_back_all(q);
        for st in local.stackcache.drain(..) {
            stackfree(st);
        }
        // Its timers move to the stopping M's P (Go's moveTimers).
        let here = crate::proc::curp();
        if !core::ptr::eq(here, pp) {
            here.timers.take(&pp.timers);
        }
        let mut central = s.sudoglock.lock();
        for sg in local.sudogcache.drain(..) {
            (*sg).next = central.head;
            central.head = sg;
        }
    }
    pp.status.store(_Pdead, Ordering::Release);
}

/// procresize: port of runtime.procresize (proc.go), with the world
/// stopped and `sched.lock` held. Returns the Ps with local work, each
/// with the idle M (or null) that should run it, for startTheWorld.
fn procresize(s: &Sched, l: &mut SchedLocked, nprocs: usize) -> Vec<(*mut P, *mut M)> {
    let old = s.gomaxprocs();
    if nprocs == 0 || nprocs > MAX_PROCS {
        throw("procresize: invalid arg");
    }
    // Safe mode: a P whose M still hosts started goroutines cannot go (they
    // can run on no other thread): keep every P up to the last such one.
    let nprocs = if s.safe && nprocs < old {
        let mut keep = nprocs;
        for i in nprocs..old {
            let m = s.p(i).boundm.load(Ordering::Acquire);
            // SAFETY: the world is stopped; Ms are never freed.
            if !m.is_null() && unsafe { (*m).npinned } > 0 {
                keep = i + 1;
            }
        }
        keep
    } else {
        nprocs
    };
    let me = s as *const Sched;
    for i in old..nprocs {
        let pp = s.p_slot(i);
        if pp.is_null() {
            s.set_p_slot(i, Box::into_raw(Box::new(P::new(i as i32, me))));
        }
        s.p(i).status.store(_Pgcstop, Ordering::Release);
    }
    let mp = getm();
    // SAFETY: on g0 of this M; the world is stopped.
    unsafe {
        let cur: *mut P = (*mp).p.cast();
        if !cur.is_null() && ((*cur).id as usize) < nprocs {
            (*cur).status.store(_Prunning, Ordering::Release);
        } else {
            if !cur.is_null() {
                (*cur).m.store(null_mut(), Ordering::Relaxed);
            }
            (*mp).p = null_mut();
            let p0 = s.p(0);
            p0.m.store(null_mut(), Ordering::Relaxed);
            p0.status.store(_Pidle, Ordering::Release);
            acquirep(p0 as *const P as *mut P);
        }
    }
    for i in nprocs..old {
        // SAFETY: with the world stopped, nobody uses the removed Ps.
        unsafe { pdestroy(s, l, s.p(i)) };
    }
    s.set_gomaxprocs_count(nprocs);
    let mut runnable = Vec::new();
    for i in (0..nprocs).rev() {
        let pp = s.p(i);
        // SAFETY: on this M.
        if core::ptr::eq(pp as *const P as *mut (), unsafe { (*mp).p }) {
            continue;
        }
        pp.status.store(_Pidle, Ordering::Release);
        if s.safe {
            // Its own M runs it (startm_in); pinned work counts.
            // SAFETY: the world is stopped: nobody else uses pp's queues.
            if runqempty(pp) && !unsafe { crate::p::pinned_work(pp) } && pidleput_checked(s, l, pp)
            {
                continue;
            }
            runnable.push((pp as *const P as *mut P, null_mut()));
            continue;
        }
        if runqempty(pp) {
            pidleput(s, l, pp);
        } else {
            runnable.push((pp as *const P as *mut P, mget(l)));
        }
    }
    // SAFETY: the world is stopped.
    unsafe { s.reset_steal_order(nprocs as u32) };
    runnable
}

/// startTheWorldWithSema: port (proc.go).
fn start_the_world(s: &Sched, nprocs: usize) {
    let runnable = {
        let mut l = s.lock.lock();
        let r = procresize(s, &mut l, nprocs);
        s.gcwaiting.store(false, Ordering::Release);
        r
    };
    for (pp, mp) in runnable {
        if s.safe {
            crate::mp::startm_in(s, pp, false);
            continue;
        }
        if mp.is_null() {
            newm(None, pp);
        } else {
            // SAFETY: mp came off the idle list under the lock: we are its
            // one waker.
            unsafe {
                (*mp).nextp = pp.cast();
                notewakeup(&(*mp).park);
            }
        }
    }
    wakep();
}

/// Runs `f` on the system stack with the world stopped: Go's
/// `stopTheWorld` (take `worldsema`, then `stopTheWorldWithSema`) …
/// `startTheWorld`. Called on a user goroutine; `f` must not park.
pub(crate) fn with_world_stopped<R>(s: &Sched, f: impl FnOnce() -> R) -> R {
    crate::sema::semacquire(&s.worldsema);
    let r = systemstack(|| {
        stop_the_world(s);
        let r = f();
        start_the_world(s, s.gomaxprocs());
        r
    });
    crate::sema::semrelease(&s.worldsema);
    r
}

/// GOMAXPROCS: port of runtime.GOMAXPROCS (debug.go): sets the number of Ps
/// (stopping the world to do so) and returns the previous number; `n == 0`
/// only reports it.
pub fn set_gomaxprocs(n: usize) -> usize {
    let (_, _rt) = crate::proc::runtime_entry("gomaxprocs");
    let s = sched();
    let ret = s.gomaxprocs();
    let n = n.min(MAX_PROCS);
    if n == 0 || n == ret {
        return ret;
    }
    // One stop-the-world at a time (Go's worldsema).
    crate::sema::semacquire(&s.worldsema);
    systemstack(|| {
        stop_the_world(s);
        start_the_world(s, n);
    });
    crate::sema::semrelease(&s.worldsema);
    ret
}
