//! Goroutine statuses and `casgstatus`: port of the `_G*` constants of
//! `runtime/runtime2.go` and of `casgstatus`/`readgstatus` (`runtime/proc.go`).
//!
//! Each status is a contract about who owns the goroutine (its stack and its
//! `sched` buffer) and where it may be found:
//!
//! | status       | owner of the stack            | on a run queue | `g.m` valid |
//! |--------------|-------------------------------|----------------|-------------|
//! | `_Gidle`     | the allocator (just `malg`ed) | no             | no          |
//! | `_Grunnable` | the run queue that holds it   | yes            | no          |
//! | `_Grunning`  | the M in `g.m`, running it    | no             | yes         |
//! | `_Gsyscall`  | the M in `g.m`, in a syscall  | no             | yes         |
//! | `_Gwaiting`  | whoever will `ready` it       | no             | no          |
//! | `_Gdead`     | the free list (`gfput`)       | no             | no          |
//!
//! gort has no garbage collector; the `_Gscan` bit is set only by a stack
//! walk of a parked goroutine (`runtime.Stack(all)` and the dumps of fatal
//! errors), which holds the goroutine where it is while it reads its
//! stack: [`castogscanstatus`] sets the bit on a `_Gwaiting` or
//! `_Grunnable` G and [`casfrom_gscanstatus`] clears it. As in Go, a
//! `casgstatus` that finds the bit set waits for it to clear; any other
//! failed transition is a runtime bug and throws.
#![allow(non_upper_case_globals)]

use core::sync::atomic::Ordering;

use crate::G;
use crate::throw::{print, throw};

/// Just allocated, not yet initialised.
pub const _Gidle: u32 = 0;
/// On a run queue; not executing user code; the stack is not owned.
pub const _Grunnable: u32 = 1;
/// May execute user code; the stack is owned by this goroutine; it has an M
/// (and a P) and is on no run queue.
pub const _Grunning: u32 = 2;
/// Executing a blocking system call on behalf of user code; owns its stack,
/// has an M, is on no run queue.
pub const _Gsyscall: u32 = 3;
/// Blocked in the runtime; recorded somewhere (a channel wait queue, a
/// semaphore root, a waiter list) so that it can be `ready`ed.
pub const _Gwaiting: u32 = 4;
/// Unused: just exited, on a free list, or just being initialised.
pub const _Gdead: u32 = 6;
/// Stopped itself for a preemption request (kept for parity; unused so far).
pub const _Gpreempted: u32 = 9;
/// GC scan bit, combined with one of the above. Never set by gort.
pub const _Gscan: u32 = 0x1000;

/// Name of a status as Go's `gStatusStrings` spells it.
pub fn gstatus_name(s: u32) -> &'static str {
    match s & !_Gscan {
        _Gidle => "idle",
        _Grunnable => "runnable",
        _Grunning => "running",
        _Gsyscall => "syscall",
        _Gwaiting => "waiting",
        _Gdead => "dead",
        _Gpreempted => "preempted",
        _ => "???",
    }
}

/// Transitions the runtime performs. Anything else is a bug; it is checked in
/// debug builds (cheap) and always rejected when the CAS fails.
fn legal(old: u32, new: u32) -> bool {
    matches!(
        (old, new),
        (_Gidle, _Gdead)
            | (_Gdead, _Grunnable)
            | (_Gdead, _Gwaiting)
            | (_Grunnable, _Grunning)
            | (_Grunning, _Grunnable)
            | (_Grunning, _Gwaiting)
            | (_Grunning, _Gsyscall)
            | (_Grunning, _Gdead)
            | (_Grunning, _Gpreempted)
            | (_Gsyscall, _Grunning)
            | (_Gsyscall, _Grunnable)
            | (_Gwaiting, _Grunnable)
            | (_Gwaiting, _Grunning)
            | (_Gpreempted, _Gwaiting)
    )
}

/// readgstatus: port of runtime.readgstatus (proc.go). Atomic load of the
/// status word; any thread may call it.
///
/// # Safety
/// `gp` must point at a live `G` (Gs are never freed).
#[inline]
pub unsafe fn readgstatus(gp: *const G) -> u32 {
    // SAFETY: the caller guarantees gp is a live G; the status is atomic.
    unsafe { (*gp).atomicstatus.load(Ordering::Acquire) }
}

/// casgstatus: port of runtime.casgstatus (proc.go). Moves `gp` from `oldval`
/// to `newval`; throws on bad incoming values or if the goroutine was not in
/// `oldval` (an illegal transition).
///
/// # Safety
/// `gp` must point at a live `G`, and the caller must be the party the status
/// table above names as owner for `oldval`.
#[inline]
pub unsafe fn casgstatus(gp: *mut G, oldval: u32, newval: u32) {
    if (oldval & _Gscan) != 0 || (newval & _Gscan) != 0 || oldval == newval {
        bad_casgstatus("casgstatus: bad incoming values", oldval, newval, None);
    }
    if cfg!(debug_assertions) && !legal(oldval, newval) {
        bad_casgstatus("casgstatus: illegal transition", oldval, newval, None);
    }
    // SAFETY: the caller guarantees gp is a live G; the status is atomic.
    let st = unsafe { &(*gp).atomicstatus };
    if oldval == _Grunning && !cfg!(debug_assertions) {
        // Only the M running a G changes the status of a `_Grunning` G:
        // the scan bit is set only on runnable and waiting Gs
        // (castogscanstatus), and every other transition out of
        // `_Grunning` is the owner's. So a check and a release store do
        // what the compare-and-swap would, without a locked instruction on
        // every park and yield. (Debug builds keep the CAS, whose failure
        // would expose a second writer.)
        let cur = st.load(Ordering::Relaxed);
        if cur != _Grunning {
            bad_casgstatus("casgstatus: bad transition", oldval, newval, Some(cur));
        }
        st.store(newval, Ordering::Release);
        return;
    }
    if st
        .compare_exchange(oldval, newval, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        casgstatus_wait(st, oldval, newval);
    }
}

/// casgstatus's retry loop (Go's, in casgstatus itself): the G is being
/// scanned (`oldval | _Gscan`); wait until the scanner lets go, spinning
/// briefly and then yielding the thread. Anything else is a bug.
#[cold]
#[inline(never)]
fn casgstatus_wait(st: &core::sync::atomic::AtomicU32, oldval: u32, newval: u32) {
    let mut i = 0u32;
    loop {
        match st.compare_exchange(oldval, newval, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return,
            Err(actual) if actual == oldval | _Gscan => {
                if i < 64 {
                    core::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
                i = i.saturating_add(1);
            }
            Err(actual) => {
                if oldval == _Gwaiting && actual == _Grunnable {
                    throw("casgstatus: waiting for Gwaiting but is Grunnable");
                }
                bad_casgstatus("casgstatus: bad transition", oldval, newval, Some(actual));
            }
        }
    }
}

/// castogscanstatus: port of runtime.castogscanstatus (proc.go): sets the
/// scan bit on a G in `oldval` (`_Grunnable` or `_Gwaiting`), which then
/// stays in that state — nobody can run or ready it — until
/// [`casfrom_gscanstatus`]. Returns false if the G was not in `oldval`.
///
/// # Safety
/// `gp` must point at a G (Gs are never freed).
pub unsafe fn castogscanstatus(gp: *mut G, oldval: u32) -> bool {
    if oldval != _Grunnable && oldval != _Gwaiting {
        bad_casgstatus(
            "castogscanstatus: bad oldval",
            oldval,
            oldval | _Gscan,
            None,
        );
    }
    // SAFETY: the caller's contract; the status is atomic.
    let st = unsafe { &(*gp).atomicstatus };
    st.compare_exchange(oldval, oldval | _Gscan, Ordering::AcqRel, Ordering::Relaxed)
        .is_ok()
}

/// casfrom_Gscanstatus: port of runtime.casfrom_Gscanstatus (proc.go):
/// clears the scan bit that [`castogscanstatus`] set.
///
/// # Safety
/// The caller set the bit on `gp` and has not cleared it yet.
pub unsafe fn casfrom_gscanstatus(gp: *mut G, oldval: u32) {
    // SAFETY: the caller's contract; the status is atomic.
    let st = unsafe { &(*gp).atomicstatus };
    if st
        .compare_exchange(oldval | _Gscan, oldval, Ordering::AcqRel, Ordering::Relaxed)
        .is_err()
    {
        bad_casgstatus(
            "casfrom_Gscanstatus: gp->status is not in scan state",
            oldval | _Gscan,
            oldval,
            None,
        );
    }
}

/// casgstatus's failure path, out of line so that the fast path inlines
/// into the scheduler without a frame of its own.
#[cold]
#[inline(never)]
fn bad_casgstatus(why: &str, old: u32, new: u32, actual: Option<u32>) -> ! {
    print(&format_status(
        "runtime: casgstatus: oldval=",
        old,
        new,
        actual,
    ));
    throw(why)
}

fn format_status(prefix: &str, old: u32, new: u32, actual: Option<u32>) -> String {
    let mut s = format!("{prefix}{old:#x} newval={new:#x}");
    if let Some(a) = actual {
        s.push_str(&format!(" gp.status={a:#x} ({})", gstatus_name(a)));
    }
    s.push('\n');
    s
}

/// A goroutine's [`WaitReason`], written by the M that parks it and read
/// by other threads (dumps, sysmon's schedtrace, the tracer) without a
/// lock: an atomic byte. Relaxed: readers only print it, and what they
/// must see in order comes with the goroutine's status.
#[derive(Debug, Default)]
pub struct AtomicWaitReason(core::sync::atomic::AtomicU8);

impl AtomicWaitReason {
    pub const fn new(r: WaitReason) -> AtomicWaitReason {
        AtomicWaitReason(core::sync::atomic::AtomicU8::new(r as u8))
    }

    pub fn load(&self) -> WaitReason {
        let v = self.0.load(Ordering::Relaxed);
        // SAFETY: only `new` and `store` write the byte, each with the
        // discriminant of a WaitReason (a `repr(u8)` enum).
        unsafe { core::mem::transmute::<u8, WaitReason>(v) }
    }

    pub fn store(&self, r: WaitReason) {
        self.0.store(r as u8, Ordering::Relaxed);
    }
}

/// Why a goroutine is in `_Gwaiting`: port of `waitReason` (runtime2.go).
/// The strings are Go's, because deadlock dumps must read the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum WaitReason {
    #[default]
    Zero,
    GoroutineWaitingForStart,
    ChanReceiveNilChan,
    ChanSendNilChan,
    Select,
    SelectNoCases,
    ChanReceive,
    ChanSend,
    Sleep,
    Semacquire,
    SyncCondWait,
    SyncMutexLock,
    SyncRWMutexRLock,
    SyncRWMutexLock,
    SyncWaitGroupWait,
    IoWait,
    Preempted,
    Syscall,
}

impl WaitReason {
    /// The text Go prints between the brackets of a goroutine header.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::Zero => "",
            WaitReason::GoroutineWaitingForStart => "waiting to start",
            WaitReason::ChanReceiveNilChan => "chan receive (nil chan)",
            WaitReason::ChanSendNilChan => "chan send (nil chan)",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::Sleep => "sleep",
            WaitReason::Semacquire => "semacquire",
            WaitReason::SyncCondWait => "sync.Cond.Wait",
            WaitReason::SyncMutexLock => "sync.Mutex.Lock",
            WaitReason::SyncRWMutexRLock => "sync.RWMutex.RLock",
            WaitReason::SyncRWMutexLock => "sync.RWMutex.Lock",
            WaitReason::SyncWaitGroupWait => "sync.WaitGroup.Wait",
            WaitReason::IoWait => "IO wait",
            WaitReason::Preempted => "preempted",
            WaitReason::Syscall => "syscall",
        }
    }
}
