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

use runtime_g::status::{_Grunnable, _Grunning, _Gsyscall, _Gwaiting};
use runtime_g::throw::print;
use runtime_g::{G, WaitReason, casgstatus, throw};
use runtime_m::{getm, mcall};

use crate::mp::{acquirep, handoffp, pidleget, releasep, stopm};
use crate::p::{_Pidle, _Psyscall, P};
use crate::proc::{dropg, execute, schedule};
use crate::sched::{globrunqput, sched};
use crate::trace::{EvKind, ev_p};

/// Safe mode, a pinned goroutine: its P cannot go to another M (the P's
/// other pinned goroutines run on this M only), so a system call keeps
/// the P: the goroutine is only marked `_Gsyscall`. `syscall::blocking`
/// avoids this by running the call on a helper thread; what still comes
/// here (`notetsleepg`, direct callers) blocks this M's pinned
/// goroutines for the call's length, and the P's unstarted ones are
/// stolen by other Ps as usual.
fn safe_keeps_p(gp: *mut runtime_g::G) -> bool {
    // SAFETY: gp is the running goroutine; pinned reads its own fields.
    sched().safe && unsafe { crate::p::pinned(gp) }
}

/// entersyscall: port of runtime.entersyscall (proc.go): the goroutine is
/// about to block its thread in the OS.
pub fn entersyscall() {
    let (gp, _rt) = crate::proc::runtime_entry("entersyscall");
    let mp = getm();
    if safe_keeps_p(gp) {
        // SAFETY: gp is the running goroutine.
        unsafe { casgstatus(gp, _Grunning, _Gsyscall) };
        return;
    }
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
        // A store-buffering pair with stop_the_world, which stores
        // gcwaiting and then looks at (CASes) each P's status: with a
        // SeqCst fence on both sides, either the stop-the-world takes this
        // _Psyscall P or this load sees gcwaiting (Go's atomics are
        // sequentially consistent). loom model: tests/loom_stw.rs.
        core::sync::atomic::fence(Ordering::SeqCst);
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
    let (gp, _rt) = crate::proc::runtime_entry("entersyscallblock");
    let mp = getm();
    if safe_keeps_p(gp) {
        // SAFETY: gp is the running goroutine.
        unsafe { casgstatus(gp, _Grunning, _Gsyscall) };
        return;
    }
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
        // A direct caller left the runtime after entersyscall.
        let _rt = crate::retake::enter(gp);
        if safe_keeps_p(gp) {
            casgstatus(gp, _Gsyscall, _Grunning);
            // The P stayed _Prunning, so sysmon may have asked this
            // goroutine to yield; Go's exitsyscall honours that request
            // on the way out (it re-arms the stack guard), and so does
            // this return into Rust code.
            crate::proc::preempt_check();
            return;
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
/// On the M that entered the syscall, holding no P (`oldp` null: no old P
/// to try, as after a retake).
pub(crate) unsafe fn exitsyscallfast(oldp: *mut P) -> bool {
    // SAFETY: an instance's Ps live until its teardown, after its last M
    // left; the CAS decides ownership.
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
        let pp = {
            let mut l = s.lock.lock();
            let pp = pidleget(s, &mut l);
            // A P starts running again: sysmon, asleep while all were idle,
            // must watch it (Go's exitsyscallfast does the same). Without
            // this, a goroutine that sysmon had taken the P from, and that
            // then took the idle P back, could keep it for as long as sysmon
            // slept, up to a minute (TestPingPongHog saw the light pair
            // starve that way).
            if !pp.is_null() && s.sysmonwait.swap(false, Ordering::AcqRel) {
                runtime_m::notewakeup(&s.sysmonnote);
            }
            pp
        };
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
    // SAFETY: as above; gp is now runnable and ours.
    unsafe { run_here_or_queue(s, gp) };
    // SAFETY: on g0 of this M; its own field.
    if unsafe { !(*getm()).lockedg.is_null() } {
        // gp is locked to this M: wait until another thread schedules it
        // and so this M again (stoplockedm counts the M as idle-locked, as
        // checkdead needs; it is not an idle M that stopm may hand work).
        crate::lockosthread::stoplockedm();
        // SAFETY: stoplockedm returns once gp was handed to us with a P.
        unsafe { crate::proc::execute(gp, false) };
    }
    if !stopm() {
        crate::proc::mexit_shutdown();
    }
    schedule()
}

/// The shared middle of `exitsyscall0` and `retake0`, on g0: `gp` left the
/// CPU without a P and is runnable; it runs at once on an idle P (this
/// does not return), or goes to the global run queue (this returns, and
/// the M goes idle its own way).
///
/// # Safety
/// On g0 of the M `gp` just left, which holds no P; `gp` is `_Grunnable`
/// and on no queue.
pub(crate) unsafe fn run_here_or_queue(s: &crate::sched::Sched, gp: *mut G) {
    dropg();
    let pp = {
        let mut l = s.lock.lock();
        let pp = pidleget(s, &mut l);
        if pp.is_null() {
            // SAFETY: gp is ours (runnable, on no queue).
            unsafe { globrunqput(s, &mut l, gp) };
        } else if s.sysmonwait.swap(false, Ordering::AcqRel) {
            // As in exitsyscallfast: a P runs again, sysmon watches it
            // (Go's exitsyscall0).
            runtime_m::notewakeup(&s.sysmonnote);
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
}

/// Runs `f`, which may block its OS thread (file I/O, `thread::sleep`, a
/// blocking C call), without stalling the other goroutines.
///
/// - Migrating mode (and a goroutine locked to its thread): Go's way, inside
///   `entersyscall`/`exitsyscall`: while `f` blocks, sysmon hands this
///   goroutine's P to another M.
/// - Safe mode: this M's P cannot go to another M (the goroutines pinned to
///   it run nowhere else), so `f` runs on a helper thread while the
///   goroutine parks (wait reason `syscall`); the helper readies it when
///   `f` returns, and a panic of `f` is resumed on the goroutine. `f` may
///   borrow from the caller's frame, as with `std::thread::scope`: the
///   goroutine stays parked until the helper is done with it.
///
/// `f` must not call into the runtime (spawn, park, yield).
pub fn blocking<R: Send, F: FnOnce() -> R + Send>(f: F) -> R {
    let (gp, _rt) = crate::proc::runtime_entry("syscall::blocking");
    if safe_keeps_p(gp) {
        return blocking_on_helper(gp, f);
    }
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

/// A blocking call handed to a helper thread: the closure to run (its
/// lifetime erased; see `blocking_on_helper`) and the goroutine to ready
/// afterwards.
struct Job {
    run: *mut (dyn FnMut() + Send + 'static),
    gp: *mut runtime_g::G,
}

// SAFETY: the closure is Send; gp is handed to exactly one helper, which
// readies it once.
unsafe impl Send for Job {}

/// The helper threads of safe-mode `blocking` (process-wide: a helper
/// readies a goroutine through the goroutine's own instance).
struct Helpers {
    jobs: std::collections::VecDeque<Job>,
    idle: usize,
}

static HELPERS: std::sync::Mutex<Helpers> = std::sync::Mutex::new(Helpers {
    jobs: std::collections::VecDeque::new(),
    idle: 0,
});
static HELPERS_CV: std::sync::Condvar = std::sync::Condvar::new();

/// How long an idle helper waits for work before its thread ends.
const HELPER_IDLE: std::time::Duration = std::time::Duration::from_secs(10);

/// Safe-mode `blocking` for `gp`, the running (pinned) goroutine.
fn blocking_on_helper<R: Send, F: FnOnce() -> R + Send>(gp: *mut G, f: F) -> R {
    let s = sched();
    let mut f = Some(f);
    let mut out: Option<std::thread::Result<R>> = None;
    let mut run = || {
        if let Some(f) = f.take() {
            out = Some(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
        }
    };
    let run_dyn: &mut (dyn FnMut() + Send + '_) = &mut run;
    // SAFETY: only the lifetime is erased. The goroutine whose frame holds
    // `run`, `f` and `out` stays parked until the helper has returned from
    // the call and readied it (the job is submitted by the park's commit
    // function, after the goroutine is `_Gwaiting`, and nothing else wakes
    // a goroutine parked with a private reason), so every borrow outlives
    // its use, as `std::thread::scope` guarantees for its threads.
    let run_static: *mut (dyn FnMut() + Send + 'static) =
        unsafe { core::mem::transmute(run_dyn as *mut (dyn FnMut() + Send + '_)) };
    let job = Job {
        run: run_static,
        gp,
    };
    s.nblocking.fetch_add(1, Ordering::AcqRel);
    // SAFETY: on a user goroutine; the commit function publishes the job,
    // whose helper is the one party that readies us.
    unsafe {
        crate::proc::gopark(
            Some(submit_job),
            &job as *const Job as *mut (),
            WaitReason::Syscall,
        )
    };
    s.nblocking.fetch_sub(1, Ordering::AcqRel);
    match out.take() {
        Some(Ok(r)) => r,
        Some(Err(p)) => std::panic::resume_unwind(p),
        None => throw("syscall::blocking: helper returned without running the call"),
    }
}

/// The park's commit function: on g0, the goroutine is `_Gwaiting`; hand
/// the job to an idle helper or start one.
unsafe fn submit_job(_gp: *mut runtime_g::G, job: *mut ()) -> bool {
    // SAFETY: blocking_on_helper passes its Job, alive while it is parked.
    let job = unsafe { core::ptr::read(job as *const Job) };
    let mut h = HELPERS.lock().unwrap_or_else(|e| e.into_inner());
    h.jobs.push_back(job);
    if h.idle >= h.jobs.len() {
        drop(h);
        HELPERS_CV.notify_one();
        return true;
    }
    drop(h);
    if let Err(e) = runtime_m::os::spawn_runtime_thread("gort-blocking", helper_main) {
        print(&format!(
            "runtime: cannot start a thread for syscall::blocking: {e}\n\
             runtime: may need to increase max user processes (ulimit -u)\n"
        ));
        runtime_g::fatal_error("thread exhaustion");
    }
    true
}

std::thread_local! {
    static ON_HELPER: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Whether the calling thread is a helper of safe-mode `blocking` (for a
/// clear message when the closure calls the runtime).
pub fn on_blocking_helper() -> bool {
    ON_HELPER.with(|h| h.get())
}

/// A helper thread: runs blocking calls and readies their goroutines.
/// `idle` counts helpers waiting on the condition variable; each queued
/// job is matched by one of them (notified) or by a new thread, so no call
/// waits behind another that blocks.
fn helper_main() {
    ON_HELPER.with(|h| h.set(true));
    let mut h = HELPERS.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(job) = h.jobs.pop_front() {
            drop(h);
            let gp = job.gp;
            // SAFETY: the goroutine that owns the closure is parked until we
            // ready it (see blocking_on_helper).
            unsafe { (*job.run)() };
            // SAFETY: gp parked with a private wait reason: we are its one
            // waker; it is pinned (blocking only comes here for pinned Gs).
            unsafe {
                casgstatus(gp, _Gwaiting, _Grunnable);
                crate::proc::ready_remote(gp);
            }
            h = HELPERS.lock().unwrap_or_else(|e| e.into_inner());
            continue;
        }
        h.idle += 1;
        let (g, t) = HELPERS_CV
            .wait_timeout(h, HELPER_IDLE)
            .unwrap_or_else(|e| e.into_inner());
        h = g;
        h.idle -= 1;
        if t.timed_out() && h.jobs.is_empty() {
            return;
        }
    }
}

/// notetsleepg: port of runtime.notetsleepg (lock_futex.go, lock_sema.go):
/// [`runtime_m::notetsleep`] from a user goroutine, which gives up its P
/// for the sleep (`entersyscallblock`/`exitsyscall`), so that other
/// goroutines run meanwhile. Returns whether the note was woken.
///
/// In the safe mode a pinned goroutine keeps its P for the sleep (see
/// `safe_keeps_p`): only the P's goroutines that never ran, which other Ps
/// steal, go on meanwhile.
pub fn notetsleepg(n: &runtime_m::Note, ns: i64) -> bool {
    let (_, _rt) = crate::proc::runtime_entry("notetsleepg");
    entersyscallblock();
    let ok = runtime_m::notetsleep(n, ns);
    exitsyscall();
    ok
}
