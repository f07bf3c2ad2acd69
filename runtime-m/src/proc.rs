//! Starting an M and switching between a G and g0: port of `mstart`,
//! `mstart0`, `mstart1` (proc.go) and of the Go-side halves of `mcall` and
//! `systemstack` (asm_amd64.s, stubs.go).

use std::sync::OnceLock;

use runtime_g::gobuf::{getcallersp, gogo, mcall_switch, systemstack_switch};
use runtime_g::stack::current_thread_stack;
use runtime_g::{G, STACK_GUARD, getg, setg, throw};

use crate::m::M;
use crate::os::os;

/// The scheduler loop `mstart1` enters, installed by the P layer
/// (runtime-p's `schedule`). Dependencies point g ← m ← p, so the M layer
/// reaches the scheduler through this hook.
static SCHEDULE: OnceLock<fn() -> !> = OnceLock::new();

/// Installs the scheduler entry point. Idempotent for the same function.
pub fn set_schedule_hook(f: fn() -> !) {
    let _ = SCHEDULE.set(f);
}

/// mcall: port of runtime.mcall (asm_amd64.s, stubs.go). Switches from the
/// current user G to its M's g0 and calls `f(gp)` on g0's stack. `f` must
/// not return; the G continues after `mcall` once something `gogo`s it.
///
/// # Safety
/// Must be called on a user G of a running M. The caller's frames must be
/// prepared to resume on another thread: hold no thread-local references.
pub unsafe fn mcall(f: unsafe extern "C" fn(*mut G) -> !) {
    // SAFETY: forwarded contract; getg is the running G.
    unsafe { mcall_g(getg(), f) }
}

/// [`mcall`] for a caller that already read the g slot: `gp` must be the
/// G running on this thread (saves one out-of-line read of the slot on
/// the park and yield paths).
///
/// # Safety
/// As for [`mcall`], and `gp` must be the running G.
#[inline]
pub unsafe fn mcall_g(gp: *mut G, f: unsafe extern "C" fn(*mut G) -> !) {
    // SAFETY: per the contract gp is a running G (never null here), and
    // its `m` is the M running it (one read of the g slot, not two).
    let mp: *mut M = unsafe { (*gp).m.cast() };
    // SAFETY: on a user G the M pointer is valid; g0 belongs to that M.
    let g0 = unsafe { (*mp).g0 };
    if gp == g0 {
        throw("runtime: mcall called on m->g0 stack");
    }
    setg(g0);
    // SAFETY: 1. gp.sched is owned by gp, which is running here.
    // 2. g0's stack below g0.sched.sp is free: g0 is not running while a
    //    user G runs on this M.
    // 3. `f` has the ABI mcall_switch expects (one pointer argument) and
    //    never returns, as the caller guarantees.
    unsafe {
        let f: unsafe extern "C" fn(*mut u8) = core::mem::transmute(f);
        mcall_switch(&raw mut (*gp).sched, (*g0).sched.sp, f, gp.cast());
    }
}

/// systemstack: port of runtime.systemstack (asm_amd64.s, stubs.go). Runs
/// `f` on the M's g0 stack and returns its result; when already on g0, just
/// calls it. A panic inside `f` is a runtime bug and throws.
pub fn systemstack<F: FnOnce() -> R, R>(f: F) -> R {
    let gp = getg();
    if gp.is_null() {
        throw("systemstack called from a thread outside the runtime");
    }
    // SAFETY: a G in the slot is live, and its `m` is the M running it
    // (set by allocm for g0, by execute for a user G).
    let mp: *mut M = unsafe { (*gp).m.cast() };
    // SAFETY: the M of this thread is valid; g0 belongs to it.
    let g0 = unsafe { (*mp).g0 };
    if gp == g0 {
        return f();
    }
    struct Slot<F, R> {
        f: Option<F>,
        r: Option<R>,
    }
    unsafe extern "C" fn tramp<F: FnOnce() -> R, R>(arg: *mut u8) {
        // SAFETY: arg is the &mut Slot passed below, live for the call.
        let slot = unsafe { &mut *arg.cast::<Slot<F, R>>() };
        let f = slot.f.take().expect("systemstack: closure already taken");
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            Ok(r) => slot.r = Some(r),
            Err(_) => throw("panic on system stack"),
        }
    }
    let mut slot = Slot {
        f: Some(f),
        r: None,
    };
    setg(g0);
    // SAFETY: g0's stack below g0.sched.sp is unused while a user G runs on
    // this M; the trampoline matches the expected ABI and cannot unwind.
    unsafe { systemstack_switch((*g0).sched.sp, tramp::<F, R>, (&raw mut slot).cast()) };
    setg(gp);
    slot.r.expect("systemstack: no result")
}

/// mstart: port of runtime.mstart (asm_amd64.s) and mstart0 (proc.go). Runs
/// the scheduler on the current OS thread as M `mp`. On m0 of a runtime that
/// must hand control back (`block_on`), it returns once [`mreturn`] is
/// called; otherwise it never returns.
///
/// # Safety
/// `mp` must be a fresh M from `allocm` belonging to this thread, and the
/// calling thread must not already be running an M.
pub unsafe fn mstart(mp: *mut M) {
    let prev = getg();
    if !prev.is_null() {
        throw("mstart: thread is already running an M");
    }
    unsafe extern "C" fn mstart0(arg: *mut u8) {
        let mp: *mut M = arg.cast();
        // SAFETY: mstart's caller handed us this thread's fresh M.
        unsafe {
            let g0 = (*mp).g0;
            if (*g0).stack.lo == 0 {
                // A g0 from malg(-1): it runs on the OS thread's stack,
                // whose bounds the OS knows.
                let s = current_thread_stack();
                (*g0).stack = s;
                (*g0).stackguard0 = s.lo + STACK_GUARD;
                (*g0).stackguard1 = (*g0).stackguard0;
            }
            mstart1(mp)
        }
    }
    // SAFETY: mstart0 never returns (it ends in schedule); the caller resumes
    // from exitbuf when mreturn gogo's there; newsp = 0 keeps this stack.
    unsafe { mcall_switch(&raw mut (*mp).exitbuf, 0, mstart0, mp.cast()) };
    setg(prev);
}

/// mstart1: port of runtime.mstart1 (proc.go). Records where g0's stack
/// begins for later `mcall`s, initialises the thread, runs `mstartfn` and
/// enters the scheduler.
///
/// # Safety
/// Called only from `mstart0` on the new M's thread.
unsafe fn mstart1(mp: *mut M) -> ! {
    // SAFETY: mp is this thread's M (see mstart).
    unsafe {
        let g0 = (*mp).g0;
        setg(g0);
        // Everything below this frame on the system stack is free once the
        // scheduler runs, so mcall and systemstack restart g0 from here.
        // Keep a margin below the caller's SP for the red zone.
        (*g0).sched.sp = getcallersp() - 256;
        (*g0).sched.pc = 0;
        (*g0).sched.bp = 0;
        (*mp).procid = os().gettid();
        // Atomic: stall reports read it from other threads, and an M
        // freed with its locked goroutine is reused by a new thread.
        (*mp)
            .host_tid
            .store(libc::gettid(), core::sync::atomic::Ordering::Relaxed);
        minit();
        if let Some(f) = (*mp).mstartfn {
            f();
        }
    }
    let schedule = SCHEDULE
        .get()
        .copied()
        .unwrap_or_else(|| throw("mstart1: no scheduler installed"));
    schedule()
}

/// minit: port of runtime.minit (os_linux.go): per-thread initialisation on
/// the new M — an alternate signal stack for the overflow handler, then the
/// OS layer's own.
fn minit() {
    runtime_g::signal::minit_signal_stack();
    os().minit();
}

/// The function an OS layer's new thread runs (Go's thread start calls
/// `mstart`): runs the scheduler as `mp` until the M exits.
///
/// # Safety
/// Called exactly once, on the new thread that `newosproc(mp)` started.
pub unsafe fn mstart_on_new_thread(mp: *mut M) {
    // SAFETY: forwarded contract; the thread runs no other M.
    unsafe { mstart(mp) };
    crate::os::m_thread_exiting();
}

/// Leaves the scheduler of M `mp` and resumes the caller of [`mstart`]
/// (for runtimes started by `block_on`). Go has no twin: its m0 never
/// returns, and other Ms leave through `mexit`.
///
/// # Safety
/// Must run on `mp`'s g0 of the current thread; no frame on the g0 stack may
/// own anything that needs dropping (they are abandoned).
pub unsafe fn mreturn(mp: *mut M) -> ! {
    // SAFETY: exitbuf was saved by mstart on this thread and not resumed.
    unsafe { gogo(&raw const (*mp).exitbuf) }
}
