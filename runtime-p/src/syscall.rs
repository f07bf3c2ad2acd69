//! Blocking system calls: ports of `entersyscall`/`reentersyscall`,
//! `entersyscallblock`, `exitsyscall`, `exitsyscallfast` and
//! `exitsyscall0` in their classic form (go1.21–go1.25, where a P in a
//! system call is `_Psyscall`; go1.27 reworked the hand-off).
//!
//! ## Protocol
//! 1. `entersyscall`: the G becomes `_Gsyscall`; its M lets go of the P but
//!    remembers it (`m.oldp`), and the P becomes `_Psyscall`. The M may now
//!    block in the OS for as long as it likes.
//! 2. sysmon (`retake`) CASes a P that has stayed `_Psyscall` from
//!    `_Psyscall` to `_Pidle` and hands it off (`handoffp`), so that other
//!    goroutines run.
//! 3. `exitsyscall`: the M CASes its old P back from `_Psyscall` if nobody
//!    took it (the fast path: no scheduler round at all); else it takes any
//!    idle P; else the G goes to the global queue and the M goes idle.
//!
//! The CAS on the P status decides every race between 2 and 3.

use core::ptr::null_mut;
use core::sync::atomic::Ordering;

use runtime_g::status::{_Grunnable, _Grunning, _Gsyscall};
use runtime_g::{G, WaitReason, casgstatus, throw};
use runtime_m::{getm, mcall};

use crate::mp::{acquirep, handoffp, pidleget, releasep, stopm};
use crate::p::{_Pidle, _Psyscall, P};
use crate::proc::{dropg, execute, require_goroutine, schedule};
use crate::sched::{globrunqput, sched};
use crate::trace::{EvKind, ev_p};

/// entersyscall: port of runtime.entersyscall (proc.go): the goroutine is
/// about to block its thread in the OS.
pub fn entersyscall() {
    let gp = require_goroutine("entersyscall");
    let mp = getm();
    // SAFETY: gp runs on mp, which holds a P.
    unsafe {
        (*mp).locks += 1;
        let pp: *mut P = (*mp).p.cast();
        (*mp).syscalltick = (*pp).syscalltick.load(Ordering::Relaxed);
        casgstatus(gp, _Grunning, _Gsyscall);
        ev_p(&*pp, EvKind::GoSysCall, (*gp).goid, 0, WaitReason::Zero);
        ev_p(&*pp, EvKind::ProcStop, 0, 0, WaitReason::Zero);
        (*pp).m.store(null_mut(), Ordering::Relaxed);
        (*mp).oldp = pp.cast();
        (*mp).p = null_mut();
        (*pp).status.store(_Psyscall, Ordering::Release);
        (*mp).locks -= 1;
        let s = sched();
        if s.gcwaiting.load(Ordering::Acquire) {
            // entersyscallHandleGCWait: a stop-the-world that already looked
            // at the syscall Ps waits for this one.
            let mut l = s.lock.lock();
            if l.stopwait > 0
                && (*pp)
                    .status
                    .compare_exchange(
                        _Psyscall,
                        crate::p::_Pgcstop,
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            {
                (*pp).syscalltick.fetch_add(1, Ordering::Relaxed);
                l.stopwait -= 1;
                if l.stopwait == 0 {
                    runtime_m::notewakeup(&s.stopnote);
                }
            }
        }
    }
    sched().wake_sysmon();
}

/// entersyscallblock: port of runtime.entersyscallblock (proc.go): like
/// entersyscall, for a call known to block: hands the P off at once.
pub fn entersyscallblock() {
    let gp = require_goroutine("entersyscallblock");
    let mp = getm();
    // SAFETY: gp runs on mp, which holds a P.
    unsafe {
        (*mp).locks += 1;
        let pp: *mut P = (*mp).p.cast();
        (*pp).syscalltick.fetch_add(1, Ordering::Relaxed);
        (*mp).syscalltick = (*pp).syscalltick.load(Ordering::Relaxed);
        ev_p(&*pp, EvKind::GoSysCall, (*gp).goid, 0, WaitReason::Zero);
    }
    runtime_m::systemstack(|| {
        let pp = releasep();
        // SAFETY: we just released pp; it is ours to hand off.
        unsafe { handoffp(pp) };
    });
    // SAFETY: as above.
    unsafe {
        casgstatus(gp, _Grunning, _Gsyscall);
        (*mp).locks -= 1;
    }
}

/// exitsyscall: port of runtime.exitsyscall (proc.go): the goroutine is
/// back from the OS and needs a P to go on.
pub fn exitsyscall() {
    let gp = runtime_g::getg();
    let mp = getm();
    // SAFETY: gp is the goroutine that entered the syscall on this M.
    unsafe {
        if runtime_g::readgstatus(gp) != _Gsyscall {
            throw("exitsyscall: not in a system call");
        }
        (*mp).locks += 1;
        let oldp: *mut P = (*mp).oldp.cast();
        (*mp).oldp = null_mut();
        if exitsyscallfast(oldp) {
            casgstatus(gp, _Gsyscall, _Grunning);
            let pp: *mut P = (*mp).p.cast();
            ev_p(&*pp, EvKind::GoSysExit, (*gp).goid, 0, WaitReason::Zero);
            (*pp).syscalltick.fetch_add(1, Ordering::Relaxed);
            (*mp).locks -= 1;
            return;
        }
        (*mp).locks -= 1;
        mcall(exitsyscall0);
        // Resumed, on some M with a P.
        let pp: *mut P = (*getm()).p.cast();
        (*pp).syscalltick.fetch_add(1, Ordering::Relaxed);
    }
}

/// exitsyscallfast: port of runtime.exitsyscallfast (proc.go): take the old
/// P back if sysmon has not, else any idle P.
///
/// # Safety
/// On the M that entered the syscall, holding no P.
unsafe fn exitsyscallfast(oldp: *mut P) -> bool {
    // SAFETY: Ps are never freed; the CAS decides ownership.
    unsafe {
        if !oldp.is_null()
            && (*oldp)
                .status
                .compare_exchange(_Psyscall, _Pidle, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            acquirep(oldp);
            return true;
        }
    }
    let s = sched();
    if s.npidle.load(Ordering::Acquire) > 0 {
        let pp = pidleget(s, &mut s.lock.lock());
        if !pp.is_null() {
            // SAFETY: pp came off the idle list.
            unsafe { acquirep(pp) };
            return true;
        }
    }
    false
}

/// exitsyscall0: port of runtime.exitsyscall0 (proc.go), on g0: no P was
/// free; queue the goroutine globally and idle this M.
unsafe extern "C" fn exitsyscall0(gp: *mut G) -> ! {
    let s = sched();
    // SAFETY: gp just left the CPU through mcall on this M.
    unsafe {
        casgstatus(gp, _Gsyscall, _Grunnable);
        crate::trace::hook(crate::trace::Hook::Stop, gp);
    }
    // SAFETY: gp is the live G that just left the CPU.
    crate::trace::ev_nop(s, EvKind::GoSysExit, unsafe { crate::trace::goid(gp) });
    dropg();
    let pp = {
        let mut l = s.lock.lock();
        let pp = pidleget(s, &mut l);
        if pp.is_null() {
            // SAFETY: gp is ours (runnable, on no queue).
            unsafe { globrunqput(s, &mut l, gp) };
        }
        pp
    };
    if !pp.is_null() {
        // SAFETY: pp came off the idle list; gp is runnable and ours.
        unsafe {
            acquirep(pp);
            execute(gp, false);
        }
    }
    if !stopm() {
        crate::proc::mexit_shutdown();
    }
    schedule()
}

/// Runs `f`, which may block its OS thread (file I/O, `thread::sleep`, a
/// blocking C call), inside `entersyscall`/`exitsyscall`: while it blocks,
/// sysmon hands this goroutine's P to another M, so other goroutines keep
/// running. `f` must not call into the runtime (spawn, park, yield): it runs
/// without a P.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    struct Exit;
    impl Drop for Exit {
        fn drop(&mut self) {
            exitsyscall();
        }
    }
    entersyscall();
    let _exit = Exit;
    f()
}

/// notetsleepg: port of runtime.notetsleepg (lock_futex.go, lock_sema.go):
/// [`runtime_m::notetsleep`] from a user goroutine, which gives up its P
/// for the sleep (`entersyscallblock`/`exitsyscall`), so that other
/// goroutines run meanwhile. Returns whether the note was woken.
pub fn notetsleepg(n: &runtime_m::Note, ns: i64) -> bool {
    require_goroutine("notetsleepg");
    entersyscallblock();
    let ok = runtime_m::notetsleep(n, ns);
    exitsyscall();
    ok
}
