//! The scheduler core: ports of proc.go's `newproc`, `newproc1`, `schedule`,
//! `findRunnable`, `execute`, `gopark`, `goready`, `ready`, `park_m`,
//! `gosched_m`/`goschedImpl`, `goexit1`, `goexit0`, `gdestroy`, `dropg`,
//! `mput`, `checkdead`, and of the start-up sequence of `rt0_go` and
//! `runtime.main`.
//!
//! ## Where code runs
//! - On a user G: `newproc`, `gopark`, `goready`, `gosched`, `goexit1`. They
//!   switch to g0 with `mcall` (never to return on that frame) or
//!   `systemstack` (returning).
//! - On g0: everything named `*_m`, `schedule`, `findRunnable`, `execute`.
//!   g0 code never owns values with destructors when it calls `execute`,
//!   whose `gogo` abandons the g0 frames.
//!
//! ## The park protocol (gopark → park_m)
//! 1. On the G: record `waitunlockf`/`waitlock` in the M and the wait reason
//!    in the G, then `mcall(park_m)`.
//! 2. On g0: `_Grunning → _Gwaiting`, `dropg`. From here a waker may `ready`
//!    the G, but only after it can see it (in a wait list the caller still
//!    guards with the lock).
//! 3. Run `waitunlockf(gp, waitlock)`: typically it releases the lock that
//!    guards the wait list, which publishes the G to wakers. If it returns
//!    false, the park is cancelled and the G runs again at once.
//! 4. `schedule`.
//!
//! Because the lock is released only after the G's context is saved and its
//! status is `_Gwaiting`, a waker can never resume a G that is still running
//! (checked by `park_wake_100k` in runtime-p/tests/sched.rs).

use core::ptr::null_mut;
use core::sync::atomic::Ordering;
use std::panic::{AssertUnwindSafe, catch_unwind};

use runtime_g::gobuf::{gogo, gostartcall};
use runtime_g::status::{
    _Gdead, _Gpreempted, _Grunnable, _Grunning, _Gsyscall, _Gwaiting, gstatus_name,
};
use runtime_g::throw::{DYING, fatal_error, print};
use runtime_g::{G, STACK_GUARD, WaitReason, casgstatus, getg, readgstatus, setg, throw};
use runtime_m::{RawMutex, allocm, getm, mcall, mcall_g, mreturn, mstart, notewakeup, systemstack};

use crate::mp::{
    acquirep, become_spinning, check_runqs_no_p, pidleget, pidleput, releasep, resetspinning,
    steal_work, stopm, take_global_batch, wakep,
};
use crate::p::{_Prunning, P, runqempty, runqget, runqput};
use crate::retake::{Entered, enter};
use crate::sched::{
    Config, GOID_CACHE_BATCH, MainReturn, Sched, SchedLocked, for_each_g, gfput, gget_or_malg,
    globrunqget, globrunqput, sched,
};
use crate::trace::{EvKind, Hook, ev_p, hook};

/// Payload of the unwind started by [`goexit`]; recognised at the base of
/// the goroutine, where it ends the goroutine instead of the program.
pub struct GoexitUnwind;

/// The P of the current M.
///
/// # Safety
/// Must run on an M that holds a P.
#[inline]
pub unsafe fn curp() -> &'static P {
    // SAFETY: forwarded contract.
    unsafe { p_of(getm()) }
}

/// The P that `mp` holds. The scheduler's hot paths read the g slot once
/// and reach the P and the instance through the M, instead of paying a
/// call into the thread-local slot for each (`getg` is out of line, see
/// runtime-g's `tls`).
///
/// # Safety
/// `mp` must be the running M, and it must hold a P.
#[inline]
pub(crate) unsafe fn p_of(mp: *mut runtime_m::M) -> &'static P {
    // A P is used only inside the runtime (retake.rs): a runtime call
    // that forgot its entry is caught here in debug builds.
    // SAFETY: mp is the running M; in_rt is atomic.
    if cfg!(debug_assertions) && unsafe { (*mp).in_rt.load(Ordering::Relaxed) } == 0 {
        throw("P used outside the runtime (a runtime call without an entry)");
    }
    // SAFETY: per the contract mp.p is a live P: an instance's Ps are
    // freed only once its Ms left (teardown.rs).
    unsafe { &*((*mp).p as *const P) }
}

/// The runtime instance `mp` belongs to (what [`sched`] finds through the
/// g slot).
///
/// # Safety
/// `mp` must be a live M of a running instance.
#[inline]
pub(crate) unsafe fn sched_of(mp: *mut runtime_m::M) -> &'static Sched {
    // SAFETY: allocm sets an M's sched pointer to its instance, which
    // outlives the M's time on it (mfree clears the pointer).
    unsafe { &*((*mp).sched.load(Ordering::Relaxed) as *const Sched) }
}

/// Whether `gp` is a user goroutine (not null, not a g0).
pub(crate) fn is_user_g(gp: *mut G) -> bool {
    // SAFETY: a non-null G pointer is live; goid is 0 exactly on g0s.
    !gp.is_null() && unsafe { (*gp).goid != 0 }
}

/// Ends the process with a clear message when a runtime API is used from a
/// thread that is not running a goroutine, or from inside
/// `syscall::blocking` (which runs without a P).
#[track_caller]
pub fn require_goroutine(what: &str) -> *mut G {
    let gp = getg();
    if !is_user_g(gp) && crate::syscall::on_blocking_helper() {
        panic!(
            "gort: {what} called inside gort::syscall::blocking; the closure runs on a helper \
             thread and must not call the runtime"
        );
    }
    if !is_user_g(gp) {
        panic!(
            "gort: {what} called outside a goroutine: start a runtime with gort::Builder (or \
             #[gort::main] / #[gort::test]) and call it from code running inside"
        );
    }
    // SAFETY: gp is the running goroutine.
    if unsafe { readgstatus(gp) } == _Gsyscall {
        panic!(
            "gort: {what} called inside gort::syscall::blocking; the closure runs without a P and must not call the runtime"
        );
    }
    gp
}

/// Honours a preemption request from sysmon (Go checks it in function
/// prologues; gort at runtime calls): the goroutine yields as `Gosched`
/// would (Go's `gopreempt_m`).
#[inline]
pub fn preempt_check() {
    let gp = getg();
    let requested = is_user_g(gp) && {
        // SAFETY: a user G's preempt flag is atomic. A plain load first
        // keeps the common case free of a read-modify-write.
        unsafe {
            (*gp).preempt.load(Ordering::Relaxed) && (*gp).preempt.swap(false, Ordering::AcqRel)
        }
    };
    if requested && !std::thread::panicking() {
        // SAFETY: gp is the running goroutine.
        if unsafe { readgstatus(gp) } == _Grunning {
            // A goroutine of an ending runtime ends at a preemption point,
            // so that one busy with runtime calls that never park does not
            // keep its runtime from ending (kill.rs).
            // SAFETY: as above.
            if unsafe { crate::kill::kill_point(gp) } {
                crate::kill::goexit();
            }
            gosched();
        }
    }
}

/// The common entry of runtime calls made by user code: the running
/// goroutine, after the checks of [`require_goroutine`] and a preemption
/// point ([`preempt_check`]), with a single read of the g slot on the fast
/// path.
///
/// `blocking` is false for the non-blocking operations (`try_send`,
/// `try_recv`, a `select` with `default`). In the migrating mode they never
/// switch goroutines: a switch there could resume the caller on another
/// thread inside code that holds thread state (std's stdout lock, say).
/// In the safe mode they honour sysmon's request to yield, since a switch
/// keeps the thread (sound, like a call into other code), and it is the
/// only way a loop spinning on them lets the goroutines pinned to its
/// thread run.
///
/// The second value is the entered section of the retake protocol
/// (retake.rs): the goroutine keeps its P until it is dropped, so callers
/// hold it to the end of the call.
#[track_caller]
#[inline(always)]
pub(crate) fn enter_runtime(what: &str, blocking: bool) -> (*mut G, Entered) {
    match enter_running(blocking) {
        Some(e) => e,
        None => enter_runtime_checked(what),
    }
}

/// [`enter_runtime`] for the operations that plain threads may make too
/// (a channel operation, a `select`, a semaphore): on a plain thread,
/// the thread's outside G (waiter.rs) and no section.
#[inline(always)]
pub(crate) fn enter_runtime_any(what: &str, blocking: bool) -> (*mut G, Option<Entered>) {
    match enter_running(blocking) {
        Some((gp, rt)) => (gp, Some(rt)),
        None => enter_runtime_plain(what),
    }
}

/// The fast path of [`enter_runtime`] and [`enter_runtime_any`]: on a
/// running user goroutine (not inside `blocking`), its section and the
/// preemption point; otherwise `None`, for the caller's slow path.
#[inline(always)]
fn enter_running(blocking: bool) -> Option<(*mut G, Entered)> {
    let gp = getg();
    // SAFETY: a user G is live; its status and preempt flag are atomic.
    let ok = is_user_g(gp) && unsafe { readgstatus(gp) } != _Gsyscall;
    if !ok {
        return None;
    }
    // SAFETY: gp is the running user G; no runtime lock is held at a
    // runtime call's entry.
    let rt = unsafe { enter(gp) };
    // SAFETY: as above.
    if unsafe { (*gp).preempt.load(Ordering::Relaxed) } {
        enter_runtime_preempt(gp, blocking);
    }
    Some((gp, rt))
}

/// [`runtime_entry`] for a call that plain threads may make too (`close`):
/// no section on a plain thread; g0 and `syscall::blocking` panic.
#[track_caller]
#[inline(always)]
pub(crate) fn runtime_entry_any(what: &str) -> Option<Entered> {
    if on_plain_thread() {
        crate::waiter::note_outside();
        return None;
    }
    Some(runtime_entry(what).1)
}

/// [`runtime_entry`] for a wait that plain threads may make too (a
/// semaphore or notify-list wait with no preemption point): on a plain
/// thread, its outside G (waiter.rs) and no section.
#[track_caller]
#[inline(always)]
pub(crate) fn runtime_entry_any_g(what: &str) -> (*mut G, Option<Entered>) {
    if on_plain_thread() {
        return (crate::waiter::thread_g(), None);
    }
    let (gp, rt) = runtime_entry(what);
    (gp, Some(rt))
}

/// [`require_entered`] that also lets plain threads through: there, the
/// thread's outside G (waiter.rs), whose parks block the thread, and no
/// section.
///
/// # Safety
/// As for [`require_entered`].
#[track_caller]
pub unsafe fn require_entered_any(what: &str) -> (*mut G, Option<Entered>) {
    runtime_entry_any_g(what)
}

/// A goroutine kept on its P (from [`proc_pin`] until this is dropped).
/// Not `Send`: it must end on the goroutine that made it.
#[must_use = "the goroutine is pinned until this is dropped"]
pub struct Pinned {
    slot: usize,
    _rt: Entered,
}

impl Pinned {
    /// The P's pin slot: unique among the live Ps of every runtime in the
    /// process, and small (the lowest free number when the P was made).
    #[inline]
    pub fn slot(&self) -> usize {
        self.slot
    }
}

/// procPin: port of runtime.procPin (proc.go): keeps the running goroutine
/// on its P and returns the P's number, for per-P data such as
/// `sync.Pool`'s. Go raises `m.locks` so that nothing preempts the
/// goroutine; here the goroutine is inside a runtime section (retake.rs),
/// so sysmon does not take the P, and the caller must not park, yield or
/// run code that might (user code) until the [`Pinned`] is dropped
/// (procUnpin). `None` on a plain thread, in `syscall::blocking` and on
/// g0: there is no P to pin.
#[inline]
pub fn proc_pin() -> Option<Pinned> {
    let gp = getg();
    // SAFETY: a user G is live; its status is atomic.
    if !is_user_g(gp) || unsafe { readgstatus(gp) } == _Gsyscall {
        return None;
    }
    // SAFETY: gp is the running user G and, at a call from user code,
    // holds no runtime lock.
    let rt = unsafe { enter(gp) };
    // SAFETY: inside the section the M holds its P (retake.rs).
    let slot = unsafe { p_of((*gp).m.cast()) }.pin_slot;
    Some(Pinned { slot, _rt: rt })
}

/// Whether the calling thread is a plain thread: none of a runtime's, and
/// not inside `syscall::blocking`. Channels, `select`, locks and timer
/// channels work there, blocking the thread (waiter.rs).
pub fn on_plain_thread() -> bool {
    getg().is_null() && !crate::syscall::on_blocking_helper()
}

/// [`enter_runtime_any`] off its fast path: a plain thread gets its
/// outside G; g0 and `syscall::blocking` get [`require_goroutine`]'s
/// panic.
#[track_caller]
#[cold]
#[inline(never)]
fn enter_runtime_plain(what: &str) -> (*mut G, Option<Entered>) {
    if on_plain_thread() {
        return (crate::waiter::thread_g(), None);
    }
    let (gp, rt) = enter_runtime_checked(what);
    (gp, Some(rt))
}

/// [`enter_runtime`] off its fast path: not on a running user goroutine
/// (panics with the reason), or inside `blocking`.
#[track_caller]
#[cold]
#[inline(never)]
fn enter_runtime_checked(what: &str) -> (*mut G, Entered) {
    let gp = require_goroutine(what);
    // SAFETY: require_goroutine returns only on a running user G; no
    // runtime lock is held at a runtime call's entry.
    (gp, unsafe { enter(gp) })
}

/// [`enter_runtime`]'s preemption point, off its fast path.
#[cold]
#[inline(never)]
fn enter_runtime_preempt(gp: *mut G, blocking: bool) {
    // The end of an ending runtime's goroutine (kill.rs) unwinds it where
    // it is, on its own thread, so that is sound in both modes, also in a
    // non-blocking call.
    // SAFETY: gp is the running goroutine.
    if blocking || safe_instance(gp) || unsafe { crate::kill::kill_point(gp) } {
        preempt_check();
    }
}

/// [`require_entered`] for the runtime's own calls, which bind the
/// section to a local of the calling frame before taking any lock.
#[track_caller]
#[inline(always)]
pub(crate) fn runtime_entry(what: &str) -> (*mut G, Entered) {
    // SAFETY: crate-internal callers keep the section in their frame and
    // take it before any runtime lock.
    unsafe { require_entered(what) }
}

/// The retake protocol's entry ([`enter`]) for a runtime call that plain
/// threads may make too (a release, a wake-up, a timer change): entered
/// on a user goroutine, nothing elsewhere.
#[inline]
pub(crate) fn enter_if_user() -> Option<Entered> {
    let gp = getg();
    if is_user_g(gp) {
        // SAFETY: gp is the running user G; a runtime call's entry holds
        // no runtime lock.
        Some(unsafe { enter(gp) })
    } else {
        None
    }
}

/// [`require_goroutine`] and the retake protocol's entry ([`enter`]), for
/// runtime calls that may use the P: the goroutine keeps its P until the
/// second value is dropped.
///
/// # Safety
/// The caller holds no runtime lock, and drops the section in the same
/// frame, on the same goroutine (a section dropped by another goroutine
/// would mark that goroutine's M as out of the runtime while it uses its
/// P). Within gort's own calls this is the case by construction.
#[track_caller]
#[inline(always)]
pub unsafe fn require_entered(what: &str) -> (*mut G, Entered) {
    let gp = getg();
    // SAFETY: a user G is live; its status is atomic.
    if !is_user_g(gp) || unsafe { readgstatus(gp) } == _Gsyscall {
        return enter_runtime_checked(what);
    }
    // SAFETY: gp is the running user G; a runtime call's entry holds no
    // runtime lock.
    (gp, unsafe { enter(gp) })
}

/// Whether `gp`'s runtime is in the safe mode (off the fast path of
/// [`enter_runtime`]).
#[cold]
fn safe_instance(gp: *mut G) -> bool {
    // SAFETY: gp is the running user goroutine; its instance outlives it.
    unsafe { (*((*gp).instance as *const Sched)).safe }
}

/// newproc: port of runtime.newproc (proc.go). Creates a goroutine running
/// `f`, puts it in the current P's `runnext`, and returns it. The creator's
/// PC is not recorded; [`newproc_at_caller`] records it.
pub fn newproc(f: Box<dyn FnOnce() + Send + 'static>) -> *mut G {
    newproc_pc_sized(f, 0, None, 0)
}

/// What a goroutine entry takes: the new goroutine's function, taken from
/// the slot, and where the `go` statement is.
pub struct NewprocSlot {
    /// The goroutine's function.
    pub f: Option<Box<dyn FnOnce() + Send + 'static>>,
    /// The `go` statement's location (`#[track_caller]`), printed in
    /// `created by` lines.
    pub at: Option<&'static core::panic::Location<'static>>,
}

/// [`newproc_at_caller`] for a goroutine with a stack of `stack_size`
/// usable bytes instead of the runtime's default (gort's
/// `spawn_with_stack_size`; no Go twin: Go's stacks grow).
///
/// # Safety
/// As for [`newproc_at_caller`].
#[unsafe(naked)]
pub unsafe extern "C-unwind" fn newproc_sized_at_caller(
    slot: *mut NewprocSlot,
    stack_size: usize,
) -> *mut G {
    // As newproc_at_caller: a tail call passing the return address on.
    #[cfg(target_arch = "x86_64")]
    core::arch::naked_asm!("mov rdx, [rsp]", "jmp {0}", sym newproc_sized_from);
    #[cfg(target_arch = "aarch64")]
    core::arch::naked_asm!("mov x2, x30", "b {0}", sym newproc_sized_from);
}

/// The body of [`newproc_sized_at_caller`].
unsafe extern "C-unwind" fn newproc_sized_from(
    slot: *mut NewprocSlot,
    stack_size: usize,
    pc: usize,
) -> *mut G {
    // SAFETY: the shim's contract: slot holds the function.
    let (f, at) = unsafe { ((*slot).f.take(), (*slot).at) };
    let f = f.unwrap_or_else(|| throw("newproc: no function"));
    newproc_pc_sized(f, pc, at, stack_size)
}

/// newproc with Go's `callerpc` (`getcallerpc()` in runtime.newproc): this
/// entry reads its own return address and passes it on, so that the
/// goroutine's `gopc` lies in the function that called it. gort's `go` and
/// `spawn` are always inlined into their caller, so that function is the
/// one containing the `go` statement, which dumps name in `created by`.
///
/// # Safety
/// `slot` must point at a [`NewprocSlot`] whose function is there for the
/// callee to take.
#[unsafe(naked)]
pub unsafe extern "C-unwind" fn newproc_at_caller(slot: *mut NewprocSlot) -> *mut G {
    // A tail call: no frame of its own, so nothing to describe to an
    // unwinder; newproc_from returns straight to our caller. The return
    // address is on the stack (x86_64) or in the link register (aarch64).
    #[cfg(target_arch = "x86_64")]
    core::arch::naked_asm!("mov rsi, [rsp]", "jmp {0}", sym newproc_from);
    #[cfg(target_arch = "aarch64")]
    core::arch::naked_asm!("mov x1, x30", "b {0}", sym newproc_from);
}

/// The body of [`newproc_at_caller`]: `pc` is its caller's return address.
unsafe extern "C-unwind" fn newproc_from(slot: *mut NewprocSlot, pc: usize) -> *mut G {
    // SAFETY: the shim's contract: slot holds the function.
    let (f, at) = unsafe { ((*slot).f.take(), (*slot).at) };
    let f = f.unwrap_or_else(|| throw("newproc: no function"));
    newproc_pc_sized(f, pc, at, 0)
}

/// newproc with the creator's PC and the `go` statement's location given,
/// and a stack size request (0: the runtime's default).
fn newproc_pc_sized(
    f: Box<dyn FnOnce() + Send + 'static>,
    gopc: usize,
    at: Option<&'static core::panic::Location<'static>>,
    stack_size: usize,
) -> *mut G {
    let (gp, _rt) = runtime_entry("go/spawn");
    preempt_check();
    // SAFETY: gp is the running user goroutine (runtime_entry checked).
    let ancestors = unsafe { crate::panic::save_ancestors(gp) };
    systemstack(move || {
        let s = sched();
        // SAFETY: on g0 of an M that holds a P.
        let newg = unsafe {
            let pp = curp();
            let origin = Origin {
                gopc,
                at,
                stack_request: stack_size,
                ancestors,
            };
            let newg = newproc1(s, pp, f, gp, origin);
            runqput(pp, newg, true);
            newg
        };
        if s.main_started.load(Ordering::Relaxed) {
            wakep();
        }
        newg
    })
}

/// A runtime helper goroutine (Go's system goroutines): created like any
/// other, but hidden from `num_goroutine`, dumps and deadlock detection
/// (`G.system`, counted in `ngsys`). gort's timer reaper is one.
pub fn newproc_system(f: Box<dyn FnOnce() + Send + 'static>) -> *mut G {
    let (gp, _rt) = runtime_entry("newproc_system");
    systemstack(move || {
        let s = sched();
        // SAFETY: on g0 of an M that holds a P; newg is unpublished until
        // runqput.
        let newg = unsafe {
            let pp = curp();
            let newg = newproc1(s, pp, f, gp, Origin::default());
            (*newg).system = true;
            s.ngsys.fetch_add(1, Ordering::Relaxed);
            runqput(pp, newg, true);
            newg
        };
        if s.main_started.load(Ordering::Relaxed) {
            wakep();
        }
        newg
    })
}

/// Safe mode: creates a goroutine running `f`, which need not be `Send`,
/// pinned to the calling goroutine's M before anyone can see it (gort's
/// `spawn_local`; no Go twin). It never runs on another thread, so `f`
/// and what it captures never leave this thread.
///
/// # Panics
/// In the migrating mode, and on a goroutine locked to its thread.
pub fn newproc_local(
    f: Box<dyn FnOnce() + 'static>,
    at: Option<&'static core::panic::Location<'static>>,
) -> *mut G {
    let (gp, _rt) = runtime_entry("spawn_local");
    let s = sched();
    if !s.safe {
        panic!(
            "gort: spawn_local needs the safe scheduler mode (in the migrating mode a goroutine \
             may move between threads, so a !Send closure cannot be given one)"
        );
    }
    // SAFETY: gp is the running goroutine.
    if unsafe { !crate::p::pinned(gp) } {
        panic!("gort: spawn_local from a goroutine locked to its thread (lock_os_thread)");
    }
    // SAFETY: only the auto trait is added. The goroutine made from `f` is
    // pinned to this M below, before it is published, and a pinned
    // goroutine runs on its M only (`execute` enforces it), so `f` is
    // created, run and dropped on this thread: it never crosses to another.
    let f: Box<dyn FnOnce() + Send + 'static> = unsafe { core::mem::transmute(f) };
    preempt_check();
    systemstack(move || {
        let mp = getm();
        // SAFETY: on g0 of a pinned goroutine's M, which holds its own P.
        unsafe {
            let pp = curp();
            let origin = Origin {
                at,
                ..Origin::default()
            };
            let newg = newproc1(s, pp, f, gp, origin);
            (*newg).homem.store(mp.cast(), Ordering::Relaxed);
            (*mp).npinned += 1;
            runqput(pp, newg, true);
            newg
        }
    })
}

/// newproc from the scheduler's own stack (a timer's `AfterFunc` firing):
/// the new goroutine has no parent goroutine.
///
/// Must run on g0 of an M that holds a P.
pub fn newproc_g0(f: Box<dyn FnOnce() + Send + 'static>) {
    if !on_g0() {
        throw("newproc_g0: not on g0");
    }
    let s = sched();
    if s.shutting_down.load(Ordering::Acquire) {
        // Its last goroutine has ended: a goroutine made now would never
        // run. (What a timer starts is an Arc clone of its function, which
        // the timer keeps: this drop is not the function's last.)
        drop(f);
        return;
    }
    // SAFETY: on g0 of an M that holds a P (the caller's contract).
    unsafe {
        let pp = curp();
        let newg = newproc1(s, pp, f, null_mut(), Origin::default());
        runqput(pp, newg, true);
    }
    if s.main_started.load(Ordering::Relaxed) {
        wakep();
    }
}

/// Where a goroutine comes from, for its `created by` line, and the stack
/// it asks for (set by [`newproc1`] before the G is published, since dumps
/// read them from other threads).
#[derive(Default)]
pub struct Origin {
    /// The creator's PC (Go's `callerpc`), or 0.
    pub gopc: usize,
    /// The `go` statement's location (`#[track_caller]`).
    pub at: Option<&'static core::panic::Location<'static>>,
    /// The usable stack size asked for, or 0 for the default.
    pub stack_request: usize,
    /// Its ancestry (`GODEBUG=tracebackancestors`), set before the G is
    /// published as Go's newproc1 sets it.
    pub ancestors: Option<Box<Vec<runtime_g::Ancestor>>>,
}

/// newproc1: port of runtime.newproc1 (proc.go). A new `_Grunnable` G that
/// will run `f`, created by the goroutine `parent` (Go's `callergp`; null
/// when g0 creates it) at `origin`, with the next goroutine id of `pp`'s
/// cache. The caller puts it on a run queue.
///
/// # Safety
/// Owner of `pp` only, on g0; `parent` is null or the user G that is
/// creating this one (it is not running meanwhile: it called us).
pub unsafe fn newproc1(
    s: &Sched,
    pp: &P,
    f: Box<dyn FnOnce() + Send + 'static>,
    parent: *mut G,
    origin: Origin,
) -> *mut G {
    // SAFETY: owner of pp, as our caller guarantees; parent is null or
    // waits for us.
    unsafe {
        let (parent_goid, creator_func) = if parent.is_null() {
            (0, "")
        } else {
            ((*parent).goid, (*parent).start_func)
        };
        let newg = gget_or_malg(s, pp);
        crate::p::PStats::bump(&pp.stats.created);
        if readgstatus(newg) != _Gdead {
            throw("newproc1: new g is not Gdead");
        }
        s.nlive.fetch_add(1, Ordering::SeqCst);
        // The stack and the start frame come at the first `execute`.
        (*newg).sched = Default::default();
        (*newg).startfn = Some(f);
        (*newg).parent_goid = parent_goid;
        (*newg).gopc = origin.gopc;
        (*newg).go_at = origin.at;
        (*newg).start_func = "";
        (*newg).creator_func = creator_func;
        (*newg).stack_request = origin.stack_request;
        // Before the status change below publishes the G to dumps (a
        // reused G's old ancestry goes here).
        (*newg).ancestors = origin.ancestors;
        // Go's newproc1: only user goroutines inherit their creator's
        // labels (a reused G's are gone since gdestroy).
        if !parent.is_null() {
            (*newg).labels.replace((*parent).labels.get());
        }
        (*newg).waitreason.store(WaitReason::Zero);
        let local = pp.local();
        if local.goidcache == local.goidcacheend {
            // goidgen is the last id handed out; this batch is
            // [goidgen+1, goidgen+BATCH]. The main goroutine gets 1.
            local.goidcache = s.goidgen.fetch_add(GOID_CACHE_BATCH, Ordering::Relaxed) + 1;
            local.goidcacheend = local.goidcache + GOID_CACHE_BATCH;
        }
        (*newg).goid = local.goidcache;
        local.goidcache += 1;
        casgstatus(newg, _Gdead, _Grunnable);
        ev_p(
            pp,
            EvKind::GoCreate,
            (*newg).goid,
            parent_goid,
            WaitReason::Zero,
        );
        hook(Hook::Create, newg);
        newg
    }
}

/// The frame a goroutine's own function runs in: gort's `go`, `spawn` and
/// `block_on` call the user's function through it. Never inlined, so that
/// a traceback can find it by name in any build, and it records the
/// function's name (`type_name`) in the G: when the compiler inlined the
/// function into this frame and the binary has no debug info to say so,
/// the traceback prints that name for this frame (Go always shows the
/// goroutine's function). No Go twin (Go's `startpc` is the function
/// itself).
#[inline(never)]
pub fn run_goroutine_fn<F: FnOnce() -> R, R>(f: F) -> R {
    let gp = getg();
    if is_user_g(gp) {
        // SAFETY: the running goroutine owns its start_func; the name is
        // recorded before `f` may park, so no thread state is read across
        // a park.
        unsafe { (*gp).start_func = core::any::type_name::<F>() };
        // SAFETY: as above; the trace names the goroutine's track after it.
        unsafe { crate::trace::name_goroutine(gp) };
    }
    let r = f();
    // Keeps the call to `f` from becoming a tail jump, which would take
    // this frame off the stack.
    core::hint::black_box(());
    r
}

/// The address of [`goroutine_entry`], where tracebacks stop (found by
/// address, so also in a binary without symbols).
pub(crate) fn goroutine_entry_addr() -> usize {
    goroutine_entry as *const () as usize
}

/// The function every goroutine starts in (called by `goexit`, the
/// outermost frame). Runs the G's function, catching any unwind so that it
/// never reaches the assembly frames, then ends the goroutine.
unsafe extern "C" fn goroutine_entry(gp: *mut G) -> ! {
    // SAFETY: gp is the G now running on this stack.
    let f = unsafe { (*gp).startfn.take() };
    // User code from here (the function, then the destructors of the
    // goroutine's locals) until the entry below, wherever it resumes.
    // SAFETY: gp runs here, in no entered section, holding no lock.
    unsafe { crate::retake::begin_user(gp) };
    let result = match f {
        // A goroutine first run after its runtime's main returned is
        // dropped without running (kill.rs), on its own stack: its
        // captures' destructors are user code.
        // SAFETY: gp runs here; its instance is live.
        Some(f) if unsafe { crate::kill::kill_point(gp) } => {
            catch_unwind(AssertUnwindSafe(move || drop(f)))
        }
        Some(f) => catch_unwind(AssertUnwindSafe(f)),
        None => throw("goroutine started without a function"),
    };
    // The tail of runtime.main, once the main function returned (here, not
    // in a closure around it: main_returned never returns, and a closure's
    // box would never be freed).
    // SAFETY: gp runs here, so its instance is live.
    let s = unsafe { &*((*gp).instance as *const Sched) };
    if result.is_ok() && gp == s.main_g.load(Ordering::Relaxed) {
        main_returned();
    }
    // A panic in a goroutine-local's destructor is the goroutine's panic
    // (unless it was already panicking: the first panic is reported).
    let result = match (result, drop_locals()) {
        (Ok(()), Some(p)) => Err(p),
        (r, _) => r,
    };
    // Back in the runtime for good: the section ends with the goroutine
    // (goexit1 switches away for the last time), so it is never dropped.
    // SAFETY: as above.
    core::mem::forget(unsafe { enter(gp) });
    if let Err(payload) = &result {
        if payload.is::<GoexitUnwind>() {
            // SAFETY: gp is the goroutine running here.
            unsafe { crate::panic::end_panic(gp) };
        }
    } else {
        // A panic it caught itself is over now, whatever it was.
        // SAFETY: as above.
        unsafe { crate::panic::end_panic(gp) };
    }
    if let Err(payload) = result {
        if !payload.is::<GoexitUnwind>() {
            // SAFETY: gp is the goroutine running here.
            unsafe { crate::panic::fatalpanic(gp, payload) };
        }
        if gp == sched().main_g.load(Ordering::Relaxed) {
            sched().main_goexited.store(true, Ordering::Relaxed);
        }
    }
    goexit1()
}

/// Drops the goroutine-local values of the running goroutine, on its own
/// stack. A value's destructor may create new locals; a few rounds catch
/// those, and what destructors still create after that is leaked, never
/// handed on to the next goroutine that reuses this G. A destructor that
/// panics does not stop the others; the first panic's payload is returned
/// for the caller to report as the goroutine's.
#[must_use = "a panic in a goroutine-local's destructor must be reported"]
pub fn drop_locals() -> Option<Box<dyn core::any::Any + Send>> {
    let gp = require_goroutine("drop_locals");
    let mut first = None;
    for _ in 0..8 {
        // SAFETY: gp is the running G, which owns its locals.
        let Some(l) = (unsafe { (*gp).locals.take() }) else {
            return first;
        };
        if let Err(p) = catch_unwind(AssertUnwindSafe(move || drop(l))) {
            first.get_or_insert(p);
        }
    }
    // SAFETY: as above.
    if let Some(l) = unsafe { (*gp).locals.take() } {
        core::mem::forget(l);
    }
    first
}

/// goexit: Go's `runtime.Goexit` (panic.go). Ends the calling goroutine
/// after running the destructors of its frames (Go runs its deferred calls),
/// by unwinding to the goroutine's base. Other goroutines are not affected.
/// If the main goroutine calls it, the program goes on until the other
/// goroutines end, then dies with Go's "no goroutines" deadlock error.
pub fn goexit() -> ! {
    let (gp, _rt) = runtime_entry("goexit");
    if cfg!(panic = "abort") {
        // No unwinding: destructors cannot run; end the goroutine directly
        // (a destructor's panic has aborted the process already).
        let _ = drop_locals();
        if gp == sched().main_g.load(Ordering::Relaxed) {
            sched().main_goexited.store(true, Ordering::Relaxed);
        }
        goexit1()
    }
    if crate::panic::unwinding_from_panic() {
        // A destructor run by a panic: Go's Goexit would end the panic
        // with the goroutine, but an unwind cannot leave a destructor that
        // a Rust unwind runs, so it could not end the panic either.
        // SAFETY: gp is the running goroutine.
        unsafe { crate::panic::fatal_goexit_in_panic(gp) }
    }
    // Not a panic: a panic caught earlier by user code stops counting as
    // one running its defers, and `unwinding_from_panic` reads false.
    // SAFETY: gp is the running goroutine.
    unsafe { crate::panic::end_panic(gp) };
    std::panic::resume_unwind(Box::new(GoexitUnwind))
}

/// goexit1: port of runtime.goexit1 (proc.go): finishes the current
/// goroutine on g0.
pub fn goexit1() -> ! {
    // SAFETY: on a user G; goexit0 never returns.
    unsafe { mcall(goexit0) };
    throw("goexit1: returned")
}

/// goexit0: port of runtime.goexit0 (proc.go), on g0.
unsafe extern "C" fn goexit0(gp: *mut G) -> ! {
    // SAFETY: gp just left the CPU through mcall; we are its M's g0.
    unsafe { gdestroy(gp) };
    schedule()
}

/// gdestroy: port of runtime.gdestroy (proc.go): `_Grunning → _Gdead`,
/// clears the G and puts it on the free list.
///
/// # Safety
/// On g0, for the G that was running on this M.
unsafe fn gdestroy(gp: *mut G) {
    let mp = getm();
    // SAFETY: per the contract, gp was this M's curg and is now ours.
    unsafe {
        casgstatus(gp, _Grunning, _Gdead);
        ev_p(curp(), EvKind::GoEnd, (*gp).goid, 0, WaitReason::Zero);
        hook(Hook::Stop, gp);
        hook(Hook::End, gp);
        let s = sched();
        if (*gp).system {
            s.ngsys.fetch_sub(1, Ordering::Relaxed);
            (*gp).system = false;
        }
        (*gp).m = null_mut();
        unpin(mp, gp);
        let locked = !(*gp).lockedm.load(Ordering::Relaxed).is_null();
        let thread_goes = locked && (s.safe || runtime_m::os().locked_exit_kills_thread());
        (*gp).lockedm.store(null_mut(), Ordering::Relaxed);
        (*mp).lockedg = null_mut();
        (*mp).lockedext = 0;
        // The Ms this thread starts on its way out (handoffp) come from
        // the template thread (newm_start).
        (*mp).exiting_locked = thread_goes;
        (*gp).preempt.store(false, Ordering::Relaxed);
        (*gp).waitreason.store(WaitReason::Zero);
        (*gp).param = null_mut();
        (*gp).cancel.store(0, Ordering::Relaxed);
        (*gp).killed.store(false, Ordering::Relaxed);
        (*gp).panic_location = None;
        (*gp).panic_trace = None;
        (*gp).panic_texts = [None, None];
        (*gp).recovered.clear();
        (*gp).panic_inflight = 0;
        // Go's gdestroy drops the labels too (strings only: no user code).
        drop((*gp).labels.replace(None));
        crate::panic::end_panic(gp);
        dropg();
        gfput(s, curp(), gp);
        // A runtime whose main returned shuts down with its last goroutine
        // (kill.rs).
        if crate::kill::goroutine_ended(s) {
            shutdown_locked(s, &mut s.lock.lock());
        }
        // Safe mode: a thread dedicated to a goroutine (locked once) has no
        // P of its own to go back to: it ends with its goroutine.
        if thread_goes {
            // The goroutine may have left its thread in an unusual state:
            // the thread goes with it (Go's gdestroy → mexit). On Plan 9 the
            // thread is kept (its lockedExt was cleared above).
            crate::lockosthread::mexit_locked();
        }
    }
}

/// Ends `gp`'s pinning to `mp` (it exits).
///
/// # Safety
/// On `mp`'s g0, for the G that was running on it.
unsafe fn unpin(mp: *mut runtime_m::M, gp: *mut G) {
    // SAFETY: per the contract.
    unsafe {
        if !(*gp).homem.swap(null_mut(), Ordering::Relaxed).is_null() {
            (*mp).npinned -= 1;
        }
    }
}

/// dropg: port of runtime.dropg (proc.go): detaches the M from its curg.
pub fn dropg() {
    // SAFETY: getm is the running M.
    unsafe { dropg_of(getm()) }
}

/// [`dropg`] for the running M `mp`, already at hand.
///
/// # Safety
/// `mp` must be the running M, on its g0.
#[inline]
unsafe fn dropg_of(mp: *mut runtime_m::M) {
    // SAFETY: per the contract; curg, if any, is owned by this M.
    unsafe {
        let gp = (*mp).curg.load(Ordering::Relaxed);
        if !gp.is_null() {
            (*gp).m = null_mut();
        }
        (*mp).curg.store(null_mut(), Ordering::Relaxed);
    }
}

/// schedule: port of runtime.schedule (proc.go): one round of the
/// scheduler: find a runnable goroutine and execute it. Never returns.
pub fn schedule() -> ! {
    let mp = getm();
    // SAFETY: schedule runs on g0 of a running M.
    unsafe {
        if (*mp).locks != 0 {
            throw("schedule: holding locks");
        }
        if !(*mp).curg.load(Ordering::Relaxed).is_null() {
            throw("schedule: M still has a current goroutine");
        }
        if !(*mp).lockedg.is_null() {
            // This M runs only its locked G: wait until it is runnable.
            crate::lockosthread::stoplockedm();
            execute((*mp).lockedg, false);
        }
    }
    loop {
        // SAFETY: as above.
        unsafe {
            if (*mp).spinning && !runqempty(p_of(mp)) {
                throw("schedule: spinning with local work");
            }
        }
        // SAFETY: mp is this thread's M, on its g0.
        let (gp, inherit_time) = unsafe { find_runnable(mp) };
        // SAFETY: the running M owns its `spinning` flag.
        if unsafe { (*mp).spinning } {
            resetspinning();
        }
        // SAFETY: gp came off a run queue, so it is _Grunnable and ours.
        unsafe {
            if !(*gp).lockedm.load(Ordering::Relaxed).is_null() {
                // Hand our P to the M the G is locked to, then wait for a
                // new P.
                crate::lockosthread::startlockedm(gp);
                continue;
            }
            execute_m(mp, gp, inherit_time)
        }
    }
}

/// The scheduler hook every M enters from `mstart1`: an M started by
/// `newm` first takes the P it was given (`acquirep(nextp)` in Go's
/// `mstart1`).
pub fn mstart_schedule() -> ! {
    let mp = getm();
    // SAFETY: mp is this thread's M; nextp was set by newm before the
    // thread started.
    unsafe {
        crate::trace::ev_nop(sched(), EvKind::MStart, 0);
        let pp: *mut P = (*mp).nextp.cast();
        // A dedicated M (spawn_dedicated) starts with a locked G and no P;
        // a P in nextp is then startlockedm's hand-off, which stoplockedm
        // takes (after the note it was woken with).
        if !pp.is_null() && (*mp).lockedg.is_null() {
            (*mp).nextp = null_mut();
            acquirep(pp);
        }
    }
    schedule()
}

/// Leaves the scheduler because the runtime is shutting down: m0 returns
/// to `block_on`, any other M ends its thread. Go has no twin (its runtime
/// ends only with the process).
pub(crate) fn mexit_shutdown() -> ! {
    let s = sched();
    crate::trace::ev_nop(s, EvKind::MStop, 0);
    let mp = getm();
    // SAFETY: on g0 of this thread's M; nothing on the g0 stack owns
    // resources (it is abandoned).
    unsafe {
        if !(*mp).p.is_null() {
            let pp = releasep();
            let mut l = s.lock.lock();
            if runqempty(&*pp) {
                pidleput(s, &mut l, &*pp);
            }
        }
        if (*mp).spinning {
            (*mp).spinning = false;
            s.nmspinning.fetch_sub(1, Ordering::AcqRel);
        }
        // The M is gone (Go's nmfreed): keep checkdead's arithmetic true.
        crate::mp::m_exited(s, &mut s.lock.lock());
        if mp != s.m0.load(Ordering::Relaxed) {
            crate::mp::m_release(s, mp);
        }
        mreturn(mp)
    }
}

/// findRunnable: port of runtime.findRunnable (proc.go), without GC
/// workers and the network poller: due timers first, the global queue every
/// 61st tick, the local queue, a batch of the global queue, stealing (and
/// other Ps' due timers) while spinning, then giving up the P with Go's
/// re-check protocol (see `mp.rs`); an M that gives up while timers are
/// pending sleeps until the earliest one (`time::poll_sleep`, standing in
/// for `netpoll(delay)`), any other one in `stopm`.
///
/// # Safety
/// `mp` must be the running M, on its g0.
unsafe fn find_runnable(mp: *mut runtime_m::M) -> (*mut G, bool) {
    // SAFETY: per the contract; the M belongs to a running instance.
    let s = unsafe { sched_of(mp) };
    'top: loop {
        if s.shutting_down.load(Ordering::Acquire) {
            mexit_shutdown();
        }
        if s.gcwaiting.load(Ordering::Acquire) {
            crate::procresize::gcstopm();
            continue 'top;
        }
        // SAFETY: on g0 of an M that holds a P (acquired at the loop top or
        // before the call).
        let pp = unsafe { p_of(mp) };
        // Run due timers now, so that they see this P's run queue first
        // (Go's checkTimers in findRunnable).
        // SAFETY: on g0 of pp's M.
        let (mut now, mut poll_until, _) = unsafe { crate::time::check_timers(pp, 0) };
        let tick = pp.schedtick.load(Ordering::Relaxed);
        if tick % 61 == 0 && s.runq_nonempty() {
            let gp = globrunqget(s, &mut s.lock.lock());
            if !gp.is_null() {
                return (gp, false);
            }
        }
        // SAFETY: owner of pp.
        let (gp, inherit) = unsafe { runqget(pp) };
        if !gp.is_null() {
            return (gp, inherit);
        }
        if s.runq_nonempty() {
            // SAFETY: owner of pp.
            let gp = unsafe { take_global_batch(s, &mut s.lock.lock(), pp) };
            if !gp.is_null() {
                return (gp, false);
            }
        }
        // Poll the network without blocking, if anyone waits on it and no
        // M is blocked in the poller already (Go's netpoll(0) here, before
        // stealing: a ready connection is local work).
        if crate::netpoll::any_waiters(s)
            && s.lastpoll.load(Ordering::Acquire) != 0
            && crate::netpoll::poller(s).is_some()
        {
            let (list, delta) = crate::netpoll::netpoll(s, 0);
            // SAFETY: on g0 of the M that owns this P.
            if let Some(gp) = unsafe { crate::netpoll::take_first(s, list, delta) } {
                return (gp, false);
            }
        }
        // Spin and steal, if not too many Ms already do (half the busy Ps).
        // SAFETY: the running M owns its `spinning` flag.
        let spinning = unsafe { (*mp).spinning };
        let busy = s.gomaxprocs() as i32 - s.npidle.load(Ordering::Acquire);
        if spinning || 2 * s.nmspinning.load(Ordering::Acquire) < busy {
            if !spinning {
                become_spinning(s);
            }
            let (gp, inherit, tnow, w, new_work) = steal_work(s, pp, now);
            if !gp.is_null() {
                return (gp, inherit);
            }
            if new_work {
                // Running another P's timers may have made Gs ready, or
                // added a timer that needs looking at.
                continue 'top;
            }
            now = tnow;
            if w != 0 && (poll_until == 0 || w < poll_until) {
                poll_until = w;
            }
        }
        // Nothing to do: give up the P.
        let mut l = s.lock.lock();
        // A stop-the-world that began since the check at the top has
        // already collected the idle Ps: this one must stop through
        // gcstopm, not go idle behind its back (Go rechecks here too).
        if s.gcwaiting.load(Ordering::Acquire) {
            drop(l);
            continue 'top;
        }
        if !l.runq.empty() {
            // SAFETY: owner of pp.
            let gp = unsafe { take_global_batch(s, &mut l, pp) };
            if gp.is_null() {
                throw("global runq empty with non-zero runqsize");
            }
            return (gp, false);
        }
        // SAFETY: as above.
        if !unsafe { (*mp).spinning } && s.needspinning.load(Ordering::Acquire) == 1 {
            become_spinning(s);
            continue 'top;
        }
        // SAFETY: owner of pp.
        if s.safe && unsafe { crate::p::pinned_work(pp) } {
            drop(l);
            continue 'top;
        }
        if !core::ptr::eq(releasep(), pp) {
            throw("findRunnable: wrong p");
        }
        if !crate::mp::pidleput_checked(s, &mut l, pp) {
            // A pinned G arrived in the inbox as we let go: keep the P.
            drop(l);
            // SAFETY: pp was released by us and is on no list.
            unsafe { acquirep(pp as *const P as *mut P) };
            continue 'top;
        }
        drop(l);
        // Step 3 of the spinning protocol: drop the spinning count first,
        // then look again, so that no submitted G is left without an M.
        // SAFETY: as above.
        let was_spinning = unsafe { (*mp).spinning };
        if was_spinning {
            // SAFETY: as above.
            unsafe { (*mp).spinning = false };
            if s.nmspinning.fetch_sub(1, Ordering::AcqRel) - 1 < 0 {
                throw("findRunnable: negative nmspinning");
            }
            // The spinner's #StoreLoad barrier, paired with wakep's: a
            // submitter that still saw us spinning has published its work
            // where the checks below look.
            core::sync::atomic::fence(Ordering::SeqCst);
            let mut l = s.lock.lock();
            if !l.runq.empty() {
                let pp2 = crate::mp::pidleget_for(s, &mut l, mp, true);
                if !pp2.is_null() {
                    // SAFETY: pp2 came off the idle list; we take it.
                    unsafe {
                        let gp = take_global_batch(s, &mut l, &*pp2);
                        drop(l);
                        if gp.is_null() {
                            throw("global runq empty with non-zero runqsize");
                        }
                        acquirep(pp2);
                        become_spinning(s);
                        return (gp, false);
                    }
                }
            }
            drop(l);
            let pp2 = check_runqs_no_p(s, mp);
            if !pp2.is_null() {
                // SAFETY: pp2 came off the idle list.
                unsafe { acquirep(pp2) };
                become_spinning(s);
                continue 'top;
            }
            // Timers of any P, now that we have no P (checkTimersNoP).
            poll_until = crate::time::check_timers_no_p(s, poll_until);
        }
        // Block in the network poller until I/O or the next timer, if
        // someone waits for either and no other M blocks there (Go's
        // netpoll(delay); lastpoll == 0 while an M is in it). Without a
        // poller (the stub) this sleeps until the next timer.
        let netpoll_wait = crate::netpoll::any_waiters(s) && crate::netpoll::poller(s).is_some();
        if (netpoll_wait || poll_until != 0) && s.lastpoll.swap(0, Ordering::SeqCst) != 0 {
            // A shutdown may have begun since the check at the top, and its
            // netpoll_break may have been absorbed by the poller before us
            // (it consumes the wake-up and only then clears the flag that
            // keeps breaks from piling up): look again now that this M is
            // the poller. Either this load sees the flag, or the shutdown's
            // store comes after our swap and its break reaches us. (A
            // store-buffering pair with main_return_m: both SeqCst; model
            // in tests/loom_shutdown.rs, whose fences these are.)
            core::sync::atomic::fence(Ordering::SeqCst);
            if s.shutting_down.load(Ordering::SeqCst) {
                s.lastpoll.store(crate::time::nanotime(), Ordering::Release);
                mexit_shutdown();
            }
            s.poll_until.store(poll_until, Ordering::Release);
            if now == 0 {
                now = crate::time::nanotime();
            }
            let mut delay = if poll_until == 0 {
                -1
            } else {
                (poll_until - now).max(0)
            };
            if s.safe {
                // A waker that hands this M its P after this point sees
                // poll_m and breaks the poll; one that did so before is
                // seen here (a store-buffering pair: both sides SeqCst).
                s.poll_m.store(mp, Ordering::SeqCst);
                core::sync::atomic::fence(Ordering::SeqCst);
                // SAFETY: the running M's own flag.
                if unsafe { (*mp).handoff.load(Ordering::SeqCst) } {
                    delay = 0;
                }
            }
            let (list, delta) = crate::netpoll::netpoll(s, delay);
            if s.safe {
                s.poll_m.store(null_mut(), Ordering::SeqCst);
            }
            let now = crate::time::nanotime();
            s.poll_until.store(0, Ordering::Release);
            s.lastpoll.store(now, Ordering::Release);
            if s.safe {
                // Every G of the poll is pinned (it parked): each goes to
                // its own M. Then this M looks for its own P again.
                crate::netpoll::injectglist(s, list, delta);
                let pp2 = crate::mp::pidleget_for(s, &mut s.lock.lock(), mp, false);
                if !pp2.is_null() {
                    // SAFETY: pp2 (our own P) came off the idle list.
                    unsafe { acquirep(pp2) };
                    if was_spinning {
                        become_spinning(s);
                    }
                    continue 'top;
                }
                if !stopm() {
                    mexit_shutdown();
                }
                continue 'top;
            }
            let pp2 = pidleget(s, &mut s.lock.lock());
            if pp2.is_null() {
                crate::netpoll::injectglist(s, list, delta);
            } else {
                // SAFETY: pp2 came off the idle list.
                unsafe { acquirep(pp2) };
                // SAFETY: on g0 of the M that now owns pp2.
                if let Some(gp) = unsafe { crate::netpoll::take_first(s, list, delta) } {
                    return (gp, false);
                }
                if was_spinning {
                    become_spinning(s);
                }
                continue 'top;
            }
        } else if poll_until != 0 {
            // Someone sleeps for timers: make sure it wakes in time.
            let poller_until = s.poll_until.load(Ordering::Acquire);
            if poller_until == 0 || poller_until > poll_until {
                crate::time::netpoll_break(s);
            }
        }
        if !stopm() {
            mexit_shutdown();
        }
    }
}

/// execute: port of runtime.execute (proc.go): runs `gp` on the current M.
/// Unless `inherit_time`, a new time slice starts (`schedtick++`).
///
/// # Safety
/// On g0; gp must be `_Grunnable` and owned by the caller (just taken off a
/// run queue). The g0 frames are abandoned.
pub unsafe fn execute(gp: *mut G, inherit_time: bool) -> ! {
    // SAFETY: forwarded contract; getm is this thread's M.
    unsafe { execute_m(getm(), gp, inherit_time) }
}

/// [`execute`] with the running M at hand.
///
/// # Safety
/// As for [`execute`]; `mp` is the running M.
unsafe fn execute_m(mp: *mut runtime_m::M, gp: *mut G, inherit_time: bool) -> ! {
    // SAFETY: per the contract, we own gp and run on this M's g0.
    unsafe {
        let pp = p_of(mp);
        if pp.safe() {
            // The safe mode's one rule, enforced where every G starts
            // running: a G that has run before runs on the same M.
            let home = (*gp).homem.load(Ordering::Relaxed);
            if home.is_null() {
                (*gp).homem.store(mp.cast(), Ordering::Relaxed);
                (*mp).npinned += 1;
            } else if home != mp.cast() {
                throw("execute: goroutine pinned to another thread");
            }
        }
        // Release: what the M wrote before (its `procid`, at its start) is
        // visible to a dump that finds gp here (traceback::crash_relay).
        (*mp).curg.store(gp, Ordering::Release);
        (*gp).m = mp.cast();
        casgstatus(gp, _Grunnable, _Grunning);
        if (*gp).stack.lo == 0 {
            // First run: give the goroutine a stack and build the frame that
            // `gogo` starts it from (Go does both in newproc1). After the
            // status change, so that a stack walk (which holds runnable Gs
            // with the scan bit) never sees these words change.
            let st = crate::sched::stackget(sched_of(mp), pp, (*gp).stack_request);
            (*gp).stack = st;
            gostartcall(&mut (*gp).sched, st.hi, goroutine_entry, gp);
        }
        ev_p(pp, EvKind::GoStart, (*gp).goid, 0, WaitReason::Zero);
        crate::p::PStats::bump(&pp.stats.switches);
        (*gp).waitsince.store(0, Ordering::Relaxed);
        (*gp).preempt.store(false, Ordering::Relaxed);
        (*gp).stackguard0 = (*gp).stack.lo + STACK_GUARD;
        if !inherit_time {
            // Go's `pp.schedtick++`: only the owner writes it (sysmon reads
            // it), so a load and a store, not a read-modify-write.
            let t = &pp.schedtick;
            t.store(t.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        }
        hook(Hook::Run, gp);
        setg(gp);
        gogo(&raw const (*gp).sched)
    }
}

/// Signature of `gopark`'s unlock callback (`waitunlockf`): runs on g0 after
/// the G is `_Gwaiting`; returns false to cancel the park.
pub type UnlockFn = unsafe fn(gp: *mut G, lock: *mut ()) -> bool;

/// gopark: port of runtime.gopark (proc.go). Parks the current goroutine
/// until someone calls [`goready`] on it. `unlockf(gp, lock)` runs on g0
/// once the goroutine is off the CPU (see the park protocol in the module
/// docs).
///
/// # Safety
/// Must run on a user goroutine, inside a runtime call's entered section
/// ([`require_entered`], taken before any lock; a park without one is a
/// fatal error). Whoever will `goready` the G must learn of it only
/// through state published by `unlockf` (or later); `unlockf` must be
/// safe to call on g0 with `lock`.
pub unsafe fn gopark(unlockf: Option<UnlockFn>, lock: *mut (), reason: WaitReason) {
    let gp = require_goroutine("gopark");
    // SAFETY: gp is the running user goroutine.
    unsafe { crate::retake::assert_entered(gp) };
    // SAFETY: forwarded contract; gp is the running goroutine.
    unsafe { gopark_g(gp, unlockf, lock, reason) }
}

/// [`gopark`] for a caller that already checked it runs on goroutine `gp`
/// (the channel operations, through `enter_runtime`).
///
/// # Safety
/// As for [`gopark`]; `gp` must be the running user goroutine.
pub unsafe fn gopark_g(gp: *mut G, unlockf: Option<UnlockFn>, lock: *mut (), reason: WaitReason) {
    // SAFETY: gp is a live G.
    if unsafe { crate::waiter::is_outside(gp) } {
        // A plain thread's wait (waiter.rs).
        // SAFETY: gp is this thread's G; forwarded contract.
        return unsafe { crate::waiter::park(gp, unlockf, lock) };
    }
    // SAFETY: gp is the running G; its `m` is the M running it.
    unsafe {
        let mp: *mut runtime_m::M = (*gp).m.cast();
        if readgstatus(gp) != _Grunning {
            throw("gopark: bad g status");
        }
        if cfg!(debug_assertions) {
            crate::retake::assert_entered(gp);
        }
        // std's panic count is per thread and counts this unwind. A
        // goroutine locked to its thread needs nothing more: its thread runs
        // nothing else meanwhile and it resumes there (schedule →
        // stoplockedm), in either mode.
        if std::thread::panicking() {
            // Not cancellable by a shutdown (kill.rs): ending it would
            // start a second unwind.
            (*gp).cancel.store(0, Ordering::Relaxed);
            if (*gp).lockedm.load(Ordering::Relaxed).is_null() {
                if !sched_of(mp).safe {
                    fatal_error(
                        "gopark: goroutine parked while unwinding a panic (in the migrating mode \
                         it could resume on another thread, where std's panic count is wrong; \
                         see gort::Builder::migrating)",
                    );
                }
                // Safe mode: the M waits for this G alone (park_m).
                (*mp).unwind_parked.store(gp, Ordering::SeqCst);
                (*mp).unwind_wait = true;
            }
        }
        (*mp).waitlock = lock;
        (*mp).waitunlockf = unlockf;
        (*gp).waitreason.store(reason);
        mcall_g(gp, park_m);
    }
}

unsafe fn parkunlock_c(_gp: *mut G, lock: *mut ()) -> bool {
    // SAFETY: goparkunlock passes a RawMutex the parking G locked.
    unsafe { (*(lock as *const RawMutex)).unlock() };
    true
}

/// goparkunlock: port of runtime.goparkunlock (proc.go): parks and unlocks
/// `lock` once the goroutine is off the CPU.
///
/// # Safety
/// As for [`gopark`]; the caller must hold `lock`, and must not touch it
/// again after the park.
pub unsafe fn goparkunlock(lock: &RawMutex, reason: WaitReason) {
    let gp = require_goroutine("gopark");
    // SAFETY: gp is the running user goroutine.
    unsafe { crate::retake::assert_entered(gp) };
    // SAFETY: forwarded contract.
    unsafe { goparkunlock_g(gp, lock, reason) }
}

/// [`goparkunlock`] for a caller that already checked it runs on
/// goroutine `gp`.
///
/// # Safety
/// As for [`goparkunlock`]; `gp` must be the running user goroutine.
pub unsafe fn goparkunlock_g(gp: *mut G, lock: &RawMutex, reason: WaitReason) {
    // SAFETY: forwarded contract; the lock outlives the park (the caller
    // holds a reference to it).
    unsafe {
        gopark_g(
            gp,
            Some(parkunlock_c),
            lock as *const RawMutex as *mut (),
            reason,
        )
    }
}

/// park_m: port of runtime.park_m (proc.go): the g0 half of gopark.
unsafe extern "C" fn park_m(gp: *mut G) -> ! {
    let mp = getm();
    // SAFETY: gp just left the CPU through mcall on this M.
    unsafe {
        let pp = p_of(mp);
        casgstatus(gp, _Grunning, _Gwaiting);
        ev_p(pp, EvKind::GoPark, (*gp).goid, 0, (*gp).waitreason.load());
        hook(Hook::Stop, gp);
        crate::p::PStats::bump(&pp.stats.parks);
        dropg_of(mp);
        // Decided from the M's own flag: once unlockf has published gp, a
        // waker may claim unwind_parked at any moment, and a wait decided
        // from that word would be skipped, leaving the waker's note
        // wake-up behind (found by tests/loom_inbox.rs).
        let unwinding = core::mem::replace(&mut (*mp).unwind_wait, false);
        if let Some(f) = (*mp).waitunlockf.take() {
            let lock = core::mem::replace(&mut (*mp).waitlock, null_mut());
            if !f(gp, lock) {
                // Not published: no waker can have claimed the word.
                (*mp).unwind_parked.store(null_mut(), Ordering::SeqCst);
                casgstatus(gp, _Gwaiting, _Grunnable);
                execute(gp, true);
            }
        }
        if unwinding {
            park_unwinding_wait(mp, gp);
        }
    }
    schedule()
}

/// Safe mode: `gp` parked while unwinding a panic. std counts panics per
/// thread, so any other goroutine run on this thread now would see
/// `thread::panicking()` true, and `gp` itself must resume here. The M
/// therefore runs nothing else: it sleeps on its note until `gp` is
/// readied (`ready_remote` wakes it), running its own P's timers in
/// between, which may ready `gp` locally. Other Ps steal this P's
/// unstarted goroutines meanwhile; its pinned ones wait.
///
/// # Safety
/// On `mp`'s g0, holding its P; `gp` just parked on it.
unsafe fn park_unwinding_wait(mp: *mut runtime_m::M, gp: *mut G) -> ! {
    // SAFETY: per the contract.
    unsafe {
        let pp = p_of(mp);
        loop {
            let (now, until, _) = crate::time::check_timers(pp, 0);
            if crate::p::take_pinned(pp, gp) {
                if (*mp)
                    .unwind_parked
                    .swap(null_mut(), Ordering::SeqCst)
                    .is_null()
                {
                    // A waker claimed the wake-up: consume it, so that the
                    // note is clear for stopm.
                    runtime_m::notesleep(&(*mp).park);
                    runtime_m::noteclear(&(*mp).park);
                }
                execute(gp, true);
            }
            let ns = if until == 0 { -1 } else { (until - now).max(0) };
            if runtime_m::notetsleep(&(*mp).park, ns) {
                // Woken by the waker that claimed unwind_parked; the G is
                // in the inbox.
                runtime_m::noteclear(&(*mp).park);
                if !crate::p::take_pinned(pp, gp) {
                    throw("park_unwinding_wait: woken without the goroutine");
                }
                execute(gp, true);
            }
        }
    }
}

/// goready: port of runtime.goready (proc.go): makes a parked goroutine
/// runnable, to run next on the current P.
///
/// # Safety
/// `gp` must be `_Gwaiting` and the caller must be the one party entitled
/// to wake it (it took it off the wait list that published it).
///
/// Go runs `ready` on the system stack because Go stacks grow and `ready`
/// must not; gort's stacks are fixed, so `ready` runs where it is called,
/// and only the deep part — starting an M in `wakep` — moves to g0
/// (saving two stack switches per wake-up).
#[inline]
pub unsafe fn goready(gp: *mut G) {
    let me = getg();
    if is_user_g(me) {
        // No preemption point here (Go's goready has none): the
        // non-blocking channel operations reach goready, and in the
        // migrating mode they must never switch goroutines (see
        // enter_runtime). Blocking callers passed one on their way in.
        // SAFETY: me is the running user G; its status is atomic.
        unsafe {
            if readgstatus(me) == _Gsyscall {
                require_goroutine("goready");
            }
            // A direct call from user code enters the runtime first (the
            // runtime's own callers are inside their entered section).
            if !crate::retake::entered(me) {
                return goready_entering(me, gp);
            }
        }
    } else if me.is_null() && !on_plain_thread() {
        require_goroutine("goready");
    }
    // SAFETY: forwarded contract; the running M holds a P, or this is a
    // plain thread (ready_plain).
    unsafe { ready(gp, true) };
}

/// [`goready`] for the runtime's own callers, inside their entered
/// section (the channel operations): no checks.
///
/// # Safety
/// As for [`goready`], on a user goroutine inside an entered section.
#[inline]
pub(crate) unsafe fn goready_entered(gp: *mut G) {
    // SAFETY: forwarded contract; entered, so the M holds a P.
    unsafe { ready(gp, true) };
}

/// [`goready`] called from user code: enters the runtime around `ready`.
///
/// # Safety
/// As for [`goready`]; `me` is the running user goroutine, in user code.
#[cold]
#[inline(never)]
unsafe fn goready_entering(me: *mut G, gp: *mut G) {
    // SAFETY: me is the running user G; the caller holds no runtime lock
    // (goready's callers release theirs first, as in Go).
    let _rt = unsafe { enter(me) };
    // SAFETY: forwarded contract; entered, so the M holds a P.
    unsafe { ready(gp, true) };
}

/// ready: port of runtime.ready (proc.go).
///
/// # Safety
/// As for [`goready`], on an M with a P (on g0 or on the running G).
pub unsafe fn ready(gp: *mut G, next: bool) {
    // SAFETY: forwarded contract.
    unsafe {
        if crate::waiter::is_outside(gp) {
            crate::waiter::wake(gp);
            return;
        }
        let status = readgstatus(gp);
        if status & !runtime_g::status::_Gscan != _Gwaiting {
            print(&format!(
                "runtime: gp: gp={gp:p}, goid={}, gp->atomicstatus={status}\n",
                (*gp).goid
            ));
            throw("bad g->status in ready");
        }
        let mp = getm();
        if mp.is_null() {
            // A plain thread wakes it (waiter.rs).
            ready_plain(gp);
            return;
        }
        let s = sched_of(mp);
        if (*gp).instance != s as *const Sched as *const () {
            ready_foreign(gp);
            return;
        }
        casgstatus(gp, _Gwaiting, _Grunnable);
        let pp = p_of(mp);
        ev_p(
            pp,
            EvKind::GoUnpark,
            (*gp).goid,
            crate::trace::goid((*mp).curg.load(Ordering::Relaxed)),
            WaitReason::Zero,
        );
        let pinned = s.safe && crate::p::pinned(gp);
        if pinned && (*gp).homem.load(Ordering::Relaxed) != mp.cast() {
            ready_remote(gp);
            return;
        }
        // A pinned G of ours goes to runnext (or the pinned queue); nobody
        // else can run it, so no spinning M is woken for it.
        runqput(pp, gp, next);
        if !pinned {
            crate::mp::wakep_from(s, mp);
        }
    }
}

/// Whether `gp` belongs to a runtime instance that has ended (its main
/// returned): such a goroutine was abandoned with its runtime and will
/// never run again. The queues of values that runtimes share (channels,
/// semaphores) pass such waiters over, so that what a waker hands out
/// (a value, a semaphore's token) goes to one that runs. No Go twin (one
/// runtime per process).
///
/// # Safety
/// `gp` must point at a live G: one still on a wait queue is (an instance
/// frees its Gs only once every one ended, and an ended one was taken off
/// its queue; a leaked instance frees nothing).
pub(crate) unsafe fn of_ended_runtime(gp: *mut G) -> bool {
    // SAFETY: per the contract.
    unsafe {
        if crate::waiter::is_outside(gp) {
            // A plain thread's or a task's wait: of no runtime.
            return false;
        }
        let s = (*gp).instance as *const Sched;
        !s.is_null() && (*s).shutting_down.load(Ordering::Acquire)
    }
}

/// Readies `gp`, a goroutine of another runtime instance (no Go twin: Go
/// has one runtime per process). Two runtimes may share a channel or a
/// `static` lock, as parallel `#[gort::test]`s do; the woken goroutine
/// runs on its own runtime, never on the waker's: in the safe mode it
/// goes home to its M ([`ready_remote`]), otherwise onto its runtime's
/// global queue, with an idle P of that runtime started for it (the queue
/// and the idle list are read under that runtime's lock, as
/// `injectglist` does without a P). A goroutine whose runtime has ended
/// stays parked: it was abandoned with its runtime.
///
/// # Safety
/// As for [`ready`]: `gp` is `_Gwaiting` and the caller is its one waker.
unsafe fn ready_foreign(gp: *mut G) {
    // SAFETY: per the contract; the instance is not freed while this call
    // is counted in ext_refs (see ready_remote).
    unsafe {
        let s = &*((*gp).instance as *const Sched);
        let _x = ExtRef::new(s);
        if s.shutting_down.load(Ordering::Acquire) {
            return;
        }
        casgstatus(gp, _Gwaiting, _Grunnable);
        if s.safe && crate::p::pinned(gp) {
            ready_remote(gp);
            return;
        }
        let pp = {
            let mut l = s.lock.lock();
            crate::sched::globrunqput(s, &mut l, gp);
            crate::mp::pidleget(s, &mut l)
        };
        if pp.is_null() {
            // With every P busy, one of them takes it from the queue.
        } else if getg().is_null() {
            // A plain thread (ready_plain): its own stack will do.
            crate::mp::startm_in(s, pp, false);
        } else {
            let pp = pp as usize;
            // On g0: starting an M may create a thread.
            systemstack(move || crate::mp::startm_in(s, pp as *mut P, false));
        }
    }
}

/// [`ready`] on a plain thread (no M, no P): as for a goroutine of another
/// runtime ([`ready_foreign`]), `gp` goes to its runtime's global queue
/// with an idle P started for it (safe mode: home to its M).
///
/// # Safety
/// `gp` is `_Gwaiting` and the caller is its one waker; called on a
/// thread that runs no goroutine.
pub(crate) unsafe fn ready_plain(gp: *mut G) {
    crate::waiter::note_outside();
    // SAFETY: forwarded contract.
    unsafe { ready_foreign(gp) }
}

/// A wake-up of a goroutine of instance `s` from outside its Ms, counted
/// in `s.ext_refs` while it runs: the instance is freed only once none is
/// in progress (teardown.rs). The G cannot run, end and let its instance
/// end before the waker made it runnable, which comes after the count.
pub(crate) struct ExtRef<'a>(&'a Sched);

impl<'a> ExtRef<'a> {
    pub(crate) fn new(s: &'a Sched) -> ExtRef<'a> {
        s.ext_refs.fetch_add(1, Ordering::SeqCst);
        ExtRef(s)
    }
}

impl Drop for ExtRef<'_> {
    fn drop(&mut self) {
        self.0.ext_refs.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The safe mode's remote wake-up (no Go twin): `gp` is runnable and
/// pinned to an M other than the caller's (or the caller is not an M at
/// all: a helper thread, the network poller without a P). It goes on the
/// inbox of its M's P, and if that P is idle, the P is taken off the idle
/// list and handed to its M, which is woken.
///
/// The inbox push and the owner's going idle form a store-buffering pair:
/// here, push then read the P's status; in `pidleput_checked`, store
/// `_Pidle` then read the inbox. Both sides are sequentially consistent
/// (a SeqCst CAS and fence here, a fence there), so at least one side sees
/// the other: the owner keeps its P, or this call finds it idle.
///
/// # Safety
/// `gp` must be `_Grunnable`, pinned (`p::pinned`), and owned by the
/// caller (it took it off whatever published it).
pub unsafe fn ready_remote(gp: *mut G) {
    // SAFETY: per the contract; the instance is not freed while this call
    // is counted in ext_refs (taken before the G can run, end, and let its
    // instance end), and a pinned G's M stays bound to its P while the G
    // lives.
    unsafe {
        let s = &*((*gp).instance as *const Sched);
        let _x = ExtRef::new(s);
        let hm: *mut runtime_m::M = (*gp).homem.load(Ordering::Relaxed).cast();
        let hp: *const P = (*hm).boundp.cast();
        if hp.is_null() {
            throw("ready_remote: pinned goroutine's thread has no P");
        }
        let hp = &*hp;
        crate::p::inbox_push(hp, gp);
        core::sync::atomic::fence(Ordering::SeqCst);
        if (*hm).unwind_parked.load(Ordering::SeqCst) == gp
            && (*hm)
                .unwind_parked
                .compare_exchange(gp, null_mut(), Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            // Its M waits for this G alone (park_unwinding_wait).
            runtime_m::notewakeup(&(*hm).park);
            return;
        }
        if hp.status.load(Ordering::SeqCst) == crate::p::_Pidle {
            let mut l = s.lock.lock();
            if crate::mp::pidle_remove(s, &mut l, hp) {
                drop(l);
                crate::mp::startm_in(s, hp as *const P as *mut P, false);
            }
        }
    }
}

/// block: port of runtime.block (select.go), what `select {}` compiles to:
/// parks the calling goroutine forever (wait reason `select (no cases)`).
pub fn block() -> ! {
    let (gp, _rt) = runtime_entry("block");
    // SAFETY: on a goroutine, in its entered section, holding no lock;
    // nobody but a shutdown (kill.rs) can find us to wake us, which is the
    // point.
    unsafe { crate::kill::park_forever(gp, WaitReason::SelectNoCases) }
}

/// Gosched: port of runtime.Gosched (proc.go): yields the processor; the
/// goroutine goes to the global run queue and runs again later.
pub fn gosched() {
    let (gp, _rt) = runtime_entry("gosched");
    if std::thread::panicking() {
        // A yield is a hint; switching goroutines on this thread while it
        // unwinds would show them std's per-thread panic count.
        return;
    }
    // An ending runtime's goroutine ends at a yield as at a park: one that
    // spins on gosched waiting for something would keep its runtime from
    // ending (kill.rs).
    // SAFETY: gp is the running user goroutine.
    if unsafe { crate::kill::kill_point(gp) } {
        crate::kill::goexit();
    }
    // SAFETY: gp is the running user goroutine.
    unsafe { mcall_g(gp, gosched_m) };
}

/// goyield: port of runtime.goyield (proc.go): like [`gosched`], but the
/// goroutine goes to the back of the *local* run queue, not the global one
/// (used after a semaphore hand-off, so that the woken waiter in `runnext`
/// runs first and the yielder soon after, on the same P).
pub fn goyield() {
    let (_, _rt) = runtime_entry("goyield");
    // SAFETY: on a user goroutine.
    unsafe { mcall(goyield_m) };
}

/// goyield_m: port of runtime.goyield_m (proc.go), on g0.
unsafe extern "C" fn goyield_m(gp: *mut G) -> ! {
    // SAFETY: gp just left the CPU through mcall on this M, which holds a P.
    unsafe {
        let mp = getm();
        let pp = p_of(mp);
        casgstatus(gp, _Grunning, _Grunnable);
        ev_p(pp, EvKind::GoSched, (*gp).goid, 0, WaitReason::Zero);
        hook(Hook::Stop, gp);
        dropg_of(mp);
        runqput(pp, gp, false);
    }
    schedule()
}

/// Whether the thread is running a g0 (or no goroutine at all).
pub fn on_g0() -> bool {
    !is_user_g(getg())
}

/// gosched_m / goschedImpl: port of runtime.gosched_m (proc.go), on g0.
unsafe extern "C" fn gosched_m(gp: *mut G) -> ! {
    // SAFETY: gp just left the CPU through mcall on this M.
    unsafe {
        let status = readgstatus(gp);
        if status != _Grunning {
            throw("bad g status");
        }
        let mp = getm();
        let (pp, s) = (p_of(mp), sched_of(mp));
        casgstatus(gp, _Grunning, _Grunnable);
        ev_p(pp, EvKind::GoSched, (*gp).goid, 0, WaitReason::Zero);
        hook(Hook::Stop, gp);
        dropg_of(mp);
        if s.safe && crate::p::pinned(gp) {
            // Safe mode: only this thread can run gp, while the P's other
            // local work, if no pinned G waits (pinned queue, inbox, a
            // pinned runnext), is goroutines that have not started (the
            // ring holds no others), which any P may run. With Ps idle,
            // leave that work to them (a spinner is woken to take it) and
            // go on with gp: running one here could keep gp from its
            // thread for good, if it never yields (a main preempted at
            // `go` behind a goroutine that spins until main starts the
            // others: TestGoroutineParallelism).
            let next = pp.runnext.load(Ordering::Acquire);
            if s.npidle.load(Ordering::Acquire) > 0
                && pp.local().pinq.empty()
                && pp.inbox.load(Ordering::Acquire).is_null()
                && (next.is_null() || !crate::p::pinned(next))
                && !runqempty(pp)
            {
                crate::mp::wakep_from(s, mp);
                execute_m(mp, gp, false);
            }
            // A pinned G cannot go where any M takes it from: it goes to
            // the back of its own P's pinned queue.
            pp.local().pinq.push_back(gp);
            schedule()
        }
        globrunqput(s, &mut s.lock.lock(), gp);
        if s.main_started.load(Ordering::Relaxed) {
            crate::mp::wakep_from(s, mp);
        }
    }
    schedule()
}

/// checkdead: port of runtime.checkdead (proc.go). Called with `sched.lock`
/// held when an M goes idle: if no M is running and no goroutine can ever
/// become runnable, reports a deadlock with Go's words and exits 2.
pub(crate) fn checkdead(s: &Sched, l: &mut SchedLocked) {
    // A dying process, or a runtime whose main returned (block_on), is not
    // deadlocked.
    if DYING.load(Ordering::Relaxed) > 0 || s.shutting_down.load(Ordering::Acquire) {
        return;
    }
    // With several runtimes in the process, a goroutine parked here may be
    // woken by another runtime's (a shared channel or lock): no deadlock
    // can be told apart from a wait, as Go does not report one when it is
    // a library (`islibrary`). When the others end, the last one is
    // checked (`instance_ended`).
    if s.killing.load(Ordering::SeqCst) {
        checkdead_ending(s, l);
        return;
    }
    // Likewise once plain threads or async tasks use runtime objects
    // (waiter.rs): they may wake any goroutine.
    if LIVE_COUNT.load(Ordering::SeqCst) > 1
        || s.library.load(Ordering::Relaxed)
        || crate::waiter::outside_seen()
    {
        return;
    }
    // Once the program asked for signals, a goroutine waiting for one is
    // not deadlocked: in Go the os/signal goroutine then sits in
    // `signal_recv`, in a system call, for good, which counts as a running
    // M; gort's receiver is a plain thread (sigqueue.rs), counted here.
    if crate::sigqueue::in_use() {
        return;
    }
    // A runtime whose main goroutine has not started cannot be deadlocked
    // (instance_ended may look at one that is still starting).
    if !s.main_started.load(Ordering::Acquire) {
        return;
    }
    let run = l.mcount - l.nmidle - l.nmidlelocked - l.nmsys;
    if run > 0 {
        return;
    }
    // A helper thread still runs a goroutine's blocking call (safe mode):
    // it will ready that goroutine.
    if s.nblocking.load(Ordering::Acquire) > 0 {
        return;
    }
    if run < 0 {
        print(&format!(
            "runtime: checkdead: nmidle={} nmidlelocked={} mcount={} nmsys={}\n",
            l.nmidle, l.nmidlelocked, l.mcount, l.nmsys
        ));
        throw("checkdead: inconsistent counts");
    }
    let mut grunning = 0;
    for_each_g(s, |gp| {
        // SAFETY: Gs on the all-G list are live; status is atomic; system is
        // written only while the G is owned and read here with all Ms idle.
        unsafe {
            if (*gp).system {
                return;
            }
            let st = readgstatus(gp) & !runtime_g::status::_Gscan;
            match st {
                _Gwaiting | _Gpreempted => grunning += 1,
                _Grunnable | _Grunning | _Gsyscall => {
                    print(&format!(
                        "runtime: checkdead: find g {} in status {}\n",
                        (*gp).goid,
                        st
                    ));
                    throw("checkdead: runnable g");
                }
                _ => {}
            }
        }
    });
    if grunning == 0 {
        fatal_error("no goroutines (main called runtime.Goexit) - deadlock!");
    }
    // A timer in any heap will make a goroutine runnable (or start one):
    // not a deadlock. Channel timers are in a heap only while a goroutine
    // waits on them (Go 1.23).
    if crate::time::any_timers(s) {
        return;
    }
    // Likewise a channel timer that the gort-timers thread will run
    // (waiter.rs): one a plain thread reset, or one an ended runtime's
    // heap handed over.
    if crate::waiter::watched_pending() {
        return;
    }
    // A thread of the Rust program around the runtime (none of gort's, not
    // the one that started the runtime, not the main thread) may hand its
    // goroutines values at any time, even before it first touches a gort
    // object. Not a deadlock then, as for a library. (A Go program has no
    // such threads, and is reported as Go reports it.)
    if runtime_m::os::foreign_threads(s.caller_tid) {
        return;
    }
    if getm().is_null() {
        // Judged from the thread of a runtime that just ended
        // (`instance_ended`): the dump shows this runtime's goroutines.
        crate::traceback::set_fatal_sched(s);
    }
    fatal_error("all goroutines are asleep - deadlock!");
}

/// [`checkdead`] for a runtime whose main goroutine returned (kill.rs):
/// when nothing of its own runs, what is left waits where the shutdown
/// does not end it (a park while unwinding; a `sync.Mutex` wait, which
/// another runtime sharing the lock may end much later) for something that
/// may never come, or in a blocking call on a helper thread. Unless a timer
/// will ready one, the runtime gives up on those goroutines: it shuts down and is leaked
/// rather than freed under them. Other runtimes' queues pass the abandoned
/// goroutines over (`of_ended_runtime`).
fn checkdead_ending(s: &Sched, l: &mut SchedLocked) {
    // Goroutines inside `syscall::blocking` on a helper thread (the safe
    // mode) do not hold this back: such a call may never return (an
    // `accept` on the Plan 9 layer, which has no poller), and the end of a
    // runtime does not wait for it, as `block_on` never did.
    let run = l.mcount - l.nmidle - l.nmidlelocked - l.nmsys;
    if run > 0 || crate::time::any_timers(s) {
        return;
    }
    // Work queued for nobody yet (a wake-up from outside between its
    // queueing and the M it starts): not stuck.
    if !l.runq.empty() || s.procs().any(|pp| !crate::p::runqempty(pp)) {
        return;
    }
    s.leaked.store(true, Ordering::Relaxed);
    shutdown_locked(s, l);
}

/// The header Go prints for a goroutine in a dump: `goroutine N [state]:`.
///
/// # Safety
/// `gp` must point at a live G (a running instance's Gs are freed only
/// once it ended and its Ms left).
pub unsafe fn goroutine_header(gp: *mut G) -> String {
    // SAFETY: gp is a live G; we only read words for printing.
    unsafe {
        let st = readgstatus(gp) & !runtime_g::status::_Gscan;
        let what = if st == _Gwaiting && (*gp).waitreason.load() != WaitReason::Zero {
            (*gp).waitreason.load().as_str()
        } else {
            gstatus_name(st)
        };
        // About how long it has waited, in minutes (shown from one on).
        let since = (*gp).waitsince.load(Ordering::Relaxed);
        let minutes = if (st == _Gwaiting || st == _Gsyscall) && since != 0 {
            (crate::time::nanotime() - since) / 60_000_000_000
        } else {
            0
        };
        let waited = if minutes >= 1 {
            format!(", {minutes} minutes")
        } else {
            String::new()
        };
        let locked = if (*gp).lockedm.load(Ordering::Relaxed).is_null() {
            ""
        } else {
            ", locked to thread"
        };
        // GOTRACEBACK=system and crash show the G and its M, as Go does.
        let ids = if crate::panic::traceback_level() >= 2 {
            let mp = (*gp).m as *const runtime_m::M;
            if mp.is_null() {
                format!(" gp={gp:p} m=nil")
            } else {
                format!(" gp={gp:p} m={} mp={mp:p}", (*mp).id)
            }
        } else {
            String::new()
        };
        let labels = format_labels(gp);
        format!(
            "goroutine {}{ids} [{what}{waited}{locked}]{labels}:\n",
            (*gp).goid
        )
    }
}

/// The ` {key: value, ...}` a Go 1.27 goroutine header shows after the
/// status for a goroutine with pprof labels (`goroutineheader`,
/// traceback.go), or nothing: without labels, with `GODEBUG=tracebacklabels=0`,
/// or while the goroutine swaps its labels. Keys and values are quoted
/// only if they hold characters other than letters, digits, `.`, `/` and
/// `_`, as Go quotes them.
///
/// # Safety
/// `gp` is a G of a live instance.
pub unsafe fn format_labels(gp: *mut G) -> String {
    if !traceback_labels_on() {
        return String::new();
    }
    // SAFETY: the caller's contract; the slot may be read from any thread.
    let Some(set) = (unsafe { (*gp).labels.peek() }) else {
        return String::new();
    };
    if set.is_empty() {
        return String::new();
    }
    fn quote(s: &str) -> String {
        if s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '/' || c == '_')
        {
            s.to_string()
        } else {
            print_quoted(s)
        }
    }
    let body: Vec<String> = set
        .iter()
        .map(|(k, v)| format!("{}: {}", quote(k), quote(v)))
        .collect();
    format!(" {{{}}}", body.join(", "))
}

/// Go's `print(quoted(s))` (`printquoted`, print.go): printable ASCII
/// as is, `\n` `\r` `\t` `\\` `\"` escaped, other ASCII as `\xNN`, the
/// rest as `\uNNNN` or `\UNNNNNNNN` (lower-case hex).
pub fn print_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' | '"' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c if (c as u32) < 127 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x1_0000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// runtime_setProfLabel: port of runtime/pprof's `runtime_setProfLabel`
/// (proflabel.go): replaces the calling goroutine's labels, which the
/// goroutines it starts from now on inherit. The old set is dropped after
/// the slot is released.
pub fn set_prof_label(labels: Option<runtime_g::Labels>) {
    let gp = getg();
    if !is_user_g(gp) {
        throw("pprof labels set outside a goroutine");
    }
    // SAFETY: the running goroutine owns its label slot (others only
    // peek), and the trace naming reads its own G.
    unsafe {
        drop((*gp).labels.replace(labels));
        crate::trace::name_goroutine(gp);
    }
}

/// runtime_getProfLabel: port (proflabel.go): the calling goroutine's
/// labels.
pub fn get_prof_label() -> Option<runtime_g::Labels> {
    let gp = getg();
    if !is_user_g(gp) {
        return None;
    }
    // SAFETY: the running goroutine's own slot.
    unsafe { (*gp).labels.get() }
}

/// Go 1.27's `GODEBUG=tracebacklabels` (default 1).
fn traceback_labels_on() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        std::env::var("GODEBUG")
            .unwrap_or_default()
            .split(',')
            .filter_map(|kv| kv.trim().strip_prefix("tracebacklabels="))
            .next_back()
            // Go shows them only for 1 (the default); a malformed value
            // leaves the default.
            .is_none_or(|v| v.parse::<i32>().map_or(true, |n| n == 1))
    })
}

/// Start-up of an instance on the calling thread: the part of Go's `rt0_go`
/// and `schedinit` that makes m0, g0 and the Ps, then `newproc(runtime.main)`
/// and `mstart`. Returns only if `cfg.main_return` is `ReturnToCaller`, once
/// the main goroutine has returned.
///
/// # Safety
/// With `cfg.mode` [`crate::SchedMode::Migrating`], the caller accepts the
/// migrating mode's contract (`gort::Builder::migrating`): goroutines may
/// move between threads at any park. The safe mode has no contract.
pub unsafe fn start(cfg: Config, main: Box<dyn FnOnce() + Send + 'static>) {
    crate::init_once(cfg.signals);
    // Before the OS layer installs its start-up signal handlers.
    crate::sigqueue::register_os_hook();
    if let Err(e) = runtime_m::os::install(cfg.os) {
        panic!("gort: {e}");
    }
    static INITSIG: std::sync::Once = std::sync::Once::new();
    INITSIG.call_once(|| runtime_m::os().initsig());
    if !getg().is_null() {
        panic!(
            "gort: a runtime cannot be started on a thread that already runs one (block_on inside a goroutine?)"
        );
    }
    let s = Sched::new(&cfg);
    crate::traceback::set_last_sched(s);
    let m0 = allocm(s as *const Sched as *const (), -1);
    s.m0.store(m0, Ordering::Relaxed);
    s.lock.lock().mcount = 1;
    // Counted live once m0 counts as running: instance_ended may check it
    // for a deadlock from another thread at any moment after this.
    instance_started(s);
    let p0: &P = s.p(0);
    // In Go, runtime.main parks in gcenable until the bgsweep and
    // bgscavenge goroutines report in, and the second of them comes off the
    // local queue outside runnext, starting a time slice: main.main begins at
    // schedtick 1. gort has no GC goroutines; starting the count at 1 keeps
    // the every-61st-tick global-queue check where Go has it, so that
    // `go f(); Gosched()` runs f before main again, as in Go.
    p0.schedtick.store(1, Ordering::Relaxed);
    p0.status.store(_Prunning, Ordering::Relaxed);
    p0.m.store(m0, Ordering::Relaxed);
    if s.safe {
        // m0 is P0's one M.
        p0.boundm.store(m0, Ordering::Release);
        // SAFETY: m0 is fresh and ours.
        unsafe { (*m0).boundp = p0 as *const P as *mut () };
    }
    s.idle_all_but_p0();
    // After P0 is m0's, so that the trace starts with m0 holding it.
    crate::trace::start_from_env(s);
    *s.main_fn.lock() = Some(main);
    // SAFETY: m0 is fresh and ours; mstart runs the scheduler on this thread.
    unsafe {
        (*m0).p = p0 as *const P as *mut ();
        (*m0).mstartfn = Some(start_main);
        mstart(m0);
    }
    // The runtime ended (block_on): m0 is back on the caller's thread.
    instance_ended(s);
    if crate::teardown::free_instance(s) {
        // m0 is off the instance and back on its caller's thread for good.
        // SAFETY: nothing of the freed instance refers to m0 any more.
        unsafe { runtime_m::m::mfree(m0) };
        // The runtime's own reference; handles and open descriptors may
        // keep the struct a while longer.
        // SAFETY: the instance is torn down; `s` is not used below.
        unsafe { Sched::release(s) };
    }
}

/// The runtime instances running in this process (started, main not yet
/// returned), for [`checkdead`]; `LIVE_COUNT` is its length, read without
/// the lock.
static LIVE: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());
static LIVE_COUNT: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

fn instance_started(s: &Sched) {
    let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    live.push(s as *const Sched as usize);
    LIVE_COUNT.store(live.len(), Ordering::SeqCst);
}

/// `s` ended. If one runtime is left, its goroutines can no longer be
/// woken by another one's, so it is checked for a deadlock now (its Ms
/// may all be asleep already, and nothing else would check it).
fn instance_ended(s: &Sched) {
    // The ended runtime's other Ms may still be finishing a goroutine that
    // could wake one of the survivor's: give them up to a second to leave
    // before the survivor is judged.
    // (Only when one runtime will be left to judge: block_on pays
    // nothing otherwise.)
    let t = std::time::Instant::now();
    while LIVE_COUNT.load(Ordering::SeqCst) == 2
        && s.lock.lock().mcount > 0
        && t.elapsed() < std::time::Duration::from_secs(1)
    {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // Channel timers of ours that others wait on go on firing (and count
    // for the check below) from the gort-timers thread.
    crate::time::hand_over_blocked(s);
    let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    live.retain(|&x| x != s as *const Sched as usize);
    LIVE_COUNT.store(live.len(), Ordering::SeqCst);
    if live.len() == 1 {
        // Checked with LIVE held: the other instance takes itself off LIVE
        // before it is torn down, so it lives until we let go.
        // SAFETY: as said.
        let other = unsafe { &*(live[0] as *const Sched) };
        checkdead(other, &mut other.lock.lock());
    }
}

/// m0's `mstartfn`: creates the main goroutine (goid 1), as `rt0_go` does
/// with `newproc(runtime.main)`.
fn start_main() {
    let s = sched();
    let Some(f) = s.main_fn.lock().take() else {
        throw("start_main: no main function")
    };
    // SAFETY: on m0's g0, which holds allp[0].
    unsafe {
        let pp = curp();
        // goroutine_entry calls main_returned when it returns.
        let gp = newproc1(s, pp, f, null_mut(), Origin::default());
        s.main_g.store(gp, Ordering::Relaxed);
        s.main_started.store(true, Ordering::Relaxed);
        runqput(pp, gp, true);
    }
    // runtime.main starts sysmon on an M of its own, without a P.
    crate::mp::newm(Some(crate::sysmon::sysmon), null_mut());
}

/// Marks the calling goroutine's runtime as fed from outside
/// (`gort::Runtime`): it reports no deadlock (Go's `islibrary`).
///
/// # Panics
/// Outside a goroutine.
pub fn mark_library() {
    let _ = require_goroutine("mark_library");
    sched().library.store(true, Ordering::Relaxed);
}

/// Exits the process with `code` when the program's main goroutine is
/// done (Go's `exit` at the end of `runtime.main`, and `os.Exit`): flushes
/// std's stdout, then ends the process as `std::process::exit` does.
///
/// Off the process's main thread it does not call `std::process::exit`,
/// whose clean-up (up to Rust 1.95 at least: rust-lang/rust#161018) frees
/// the main thread's signal stack without unregistering it; a signal
/// delivered to the main thread before the process is gone then finds no
/// stack, and the kernel kills the process with SIGSEGV. The main
/// goroutine runs off the main thread whenever the runtime was started on
/// another thread, and in the migrating mode on any M. There it calls C's
/// `exit` itself (the clean-up's other part is the flush above).
///
/// Two threads in it at once: the second waits for the first to end the
/// process (as in `std::process::exit`, whose own guard does not see
/// this one's callers, nor this one std's). Called again on the exiting
/// thread (from an `atexit` handler), it ends the process at once.
///
/// Unlike std's clean-up, the flush waits for stdout's lock (std has no
/// public `try_lock`), so a thread that holds it for good (blocked
/// writing to a full pipe, say) holds up the exit; output printed after
/// the flush, by other threads or `atexit` handlers, stays in the buffer.
pub fn exit_process(code: i32) -> ! {
    use std::io::Write;
    // The exiting thread's id, or 0.
    static EXITING: core::sync::atomic::AtomicI32 = core::sync::atomic::AtomicI32::new(0);
    // SAFETY: gettid and getpid have no preconditions.
    let (tid, pid) = unsafe { (libc::gettid(), libc::getpid()) };
    if let Err(first) = EXITING.compare_exchange(0, tid, Ordering::SeqCst, Ordering::SeqCst) {
        if first == tid {
            // SAFETY: _exit has no preconditions (it runs nothing).
            unsafe { libc::_exit(code) };
        }
        loop {
            // SAFETY: pause has no preconditions.
            unsafe { libc::pause() };
        }
    }
    let _ = std::io::stdout().flush();
    if tid == pid {
        std::process::exit(code);
    }
    // SAFETY: exit has no preconditions; its hazard, two threads in it at
    // once, is excluded among this function's callers by the guard above.
    unsafe { libc::exit(code) }
}

/// The end of `runtime.main`: the main goroutine returned. Never returns.
fn main_returned() -> ! {
    // If another goroutine is panicking, let it finish printing its report
    // (which then exits 2) instead of exiting 0 under it (Go's runtime.main,
    // issues 3934 and 20018).
    // Go waits for 1000 Gosched calls; a Rust unwind (the first one in a
    // process loads the unwind tables) can take much longer, so gort waits
    // up to 250 ms of wall time, yielding.
    let defers = &sched().running_panic_defers;
    if defers.load(Ordering::Acquire) != 0 {
        let start = std::time::Instant::now();
        while defers.load(Ordering::Acquire) != 0
            && start.elapsed() < std::time::Duration::from_millis(250)
        {
            gosched();
        }
    }
    if DYING.load(Ordering::Acquire) != 0 {
        block();
    }
    crate::trace::stop_to_env_file();
    let s = sched();
    match s.main_return {
        MainReturn::ExitProcess => exit_process(0),
        MainReturn::ReturnToCaller => {
            if let Some(p) = drop_locals() {
                // SAFETY: on the main user goroutine.
                unsafe { crate::panic::fatalpanic(getg(), p) };
            }
            // Every other goroutine ends at its park (kill.rs).
            crate::kill::kill_parked(s);
            // Into the runtime for good (this goroutine ends here).
            // SAFETY: on the main user goroutine, holding no lock.
            core::mem::forget(unsafe { enter(getg()) });
            // SAFETY: on the main user goroutine.
            unsafe { mcall(main_return_m) };
            throw("main_returned: resumed");
        }
    }
}

/// On g0: retires the main goroutine. The runtime shuts down at once if no
/// other goroutine is left, or else when the last one ends (`gdestroy`);
/// meanwhile this M goes on running the ending goroutines (in the safe
/// mode some may be pinned to it).
unsafe extern "C" fn main_return_m(gp: *mut G) -> ! {
    let s = sched();
    let mp = getm();
    // SAFETY: gp is the main G that just left the CPU on this M.
    unsafe {
        crate::panic::end_panic(gp);
        casgstatus(gp, _Grunning, _Gdead);
        unpin(mp, gp);
        ev_p(curp(), EvKind::GoEnd, (*gp).goid, 0, WaitReason::Zero);
        hook(Hook::Stop, gp);
        hook(Hook::End, gp);
        // A main goroutine locked to its thread lets go of m0 here; m0 is
        // the caller's thread and stays.
        (*gp).lockedm.store(null_mut(), Ordering::Relaxed);
        (*mp).lockedg = null_mut();
        (*mp).lockedext = 0;
        (*mp).lockedint = 0;
        (*gp).preempt.store(false, Ordering::Relaxed);
        dropg();
        // The G goes back to the free list: the next goroutine made from it
        // must not pass for main (kill_point, goroutine_entry).
        s.main_g.store(null_mut(), Ordering::Relaxed);
        gfput(s, curp(), gp);
    }
    // The main goroutine was counted too; killing was set (or the instance
    // given up as leaked) before it got here.
    if crate::kill::goroutine_ended(s) || s.leaked.load(Ordering::Relaxed) {
        shutdown_locked(s, &mut s.lock.lock());
    }
    schedule()
}

/// Shuts a `block_on` runtime down: every M leaves the scheduler at its
/// next opportunity (idle ones are woken for it), and m0 returns to the
/// thread that started the runtime. Idempotent.
pub(crate) fn shutdown_locked(s: &Sched, l: &mut SchedLocked) {
    // Set under sched.lock, which stopm also takes to check it before
    // sleeping: no M can slip onto the idle list unseen.
    if s.shutting_down.load(Ordering::Relaxed) {
        return;
    }
    // SeqCst, and a fence before the poller break below: the poller's
    // re-check in find_runnable pairs with it (tests/loom_shutdown.rs).
    s.shutting_down.store(true, Ordering::SeqCst);
    core::sync::atomic::fence(Ordering::SeqCst);
    if s.sysmonwait.swap(false, Ordering::AcqRel) {
        notewakeup(&s.sysmonnote);
    }
    crate::lockosthread::wake_all_locked(s);
    // An M sleeping until the next timer, and goroutines that keep calling
    // the runtime without parking: both must come back to the scheduler,
    // which sees the shutdown (m0 may be one of them, and block_on waits
    // for m0).
    crate::time::netpoll_break(s);
    crate::procresize::preemptall(s);
    // Wake every idle M (with no P: stopm sees the shutdown).
    loop {
        let mp = crate::mp::mget(l);
        if mp.is_null() {
            break;
        }
        // SAFETY: mp was asleep in stopm; taking it off the idle list made
        // us the one party that may wake it.
        unsafe { notewakeup(&(*mp).park) };
    }
}
