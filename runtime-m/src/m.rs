//! The M: port of `m` (runtime2.go) and of `allocm`/`mcommoninit` (proc.go).

use core::sync::atomic::{AtomicI64, AtomicPtr, AtomicU32, Ordering};

use runtime_g::{G, Gobuf, malg};

use crate::note::Note;

/// An OS thread that runs goroutines: port of `m` (runtime2.go).
///
/// Ms are never freed. Fields other than atomics are owned by the thread the
/// M represents; other threads touch them only under the protocols noted on
/// each field. Aligned to 1024 bytes so that the runtime mutex can keep a
/// whole M pointer in the upper bits of its key (`lock_spinbit.go`).
#[repr(C, align(1024))]
pub struct M {
    /// The scheduler's G: runs on this thread's system stack.
    pub g0: *mut G,
    /// The user G running now, or null while g0 runs the scheduler. Written
    /// only by this M; atomic (relaxed) because sysmon (`preemptone`,
    /// schedtrace), thieves (`runqgrab`) and dumps read it from other
    /// threads.
    pub curg: core::sync::atomic::AtomicPtr<G>,
    /// Attached P (`puintptr`, an `*mut P` of runtime-p), or null.
    pub p: *mut (),
    /// P to attach when this M is woken (`nextp`).
    pub nextp: *mut (),
    /// The runtime instance (Go's `sched` and friends, an `*const Sched` of
    /// runtime-p) this M belongs to.
    pub sched: AtomicPtr<()>,
    /// M id, from `mcommoninit`.
    pub id: i64,
    /// OS thread id (`gettid`).
    pub procid: u64,
    /// The host (Linux) thread id, whatever the OS layer (the Plan 9
    /// layer's `procid` is its own pid); set at the M's start, 0 before.
    pub host_tid: core::sync::atomic::AtomicI32,
    /// Count of runtime locks held; `schedule` throws if non-zero.
    pub locks: i32,
    /// Whether this M is looking for work without a G (`spinning`).
    pub spinning: bool,
    /// The G locked to this M (`lockedg`), or null.
    pub lockedg: *mut G,
    /// `LockOSThread` nesting count (`lockedExt`).
    pub lockedext: u32,
    /// Internal lock count (`lockedInt`; unused so far, kept for parity).
    pub lockedint: u32,
    /// Callback run by `park_m` on g0 after the G has left the CPU; returns
    /// false to abort the park (`waitunlockf`).
    pub waitunlockf: Option<unsafe fn(*mut G, *mut ()) -> bool>,
    /// Argument of `waitunlockf` (`waitlock`).
    pub waitlock: *mut (),
    /// Where `mstart`'s caller resumes when this M leaves the scheduler
    /// (used when a runtime started by `block_on` finishes). Go has no twin:
    /// its m0 never returns.
    pub exitbuf: Gobuf,
    /// Function run by `mstart1` before `schedule` (`mstartfn`).
    pub mstartfn: Option<fn()>,
    /// Next M on the list of all Ms (`alllink`).
    pub alllink: *mut M,
    /// Next M on an idle list (`schedlink`), under `sched.lock`.
    pub schedlink: *mut M,
    /// Semaphore count for `semasleep`/`semawakeup` on futex systems
    /// (`waitsema`) and Plan 9 (`waitsemacount`).
    pub waitsema: AtomicU32,
    /// Where an idle M sleeps until `startm` hands it a P (`park`).
    pub park: Note,
    /// Next M in a runtime mutex's stack of sleepers (`mWaitList.next`);
    /// written by this M before it pushes itself, then by unlockers holding
    /// the stack lock.
    pub mwaitlist_next: core::sync::atomic::AtomicUsize,
    /// Whether the M is blocked on a note (`blocked`), for dumps.
    pub blocked: core::sync::atomic::AtomicBool,
    /// State of `cheaprand` (`cheaprand`).
    pub cheaprand: u64,
    /// OS-layer handle of the thread (a `pthread_t` on Linux), for joining.
    pub thread: usize,
    /// The P this M held when it entered a system call (`oldp`).
    pub oldp: *mut (),
    /// `p.syscalltick` when the M entered its system call (`syscalltick`).
    pub syscalltick: u32,
    /// The P this M is bound to in the safe scheduler mode (an `*mut P` of
    /// runtime-p), or null. No Go twin: there, the M that runs a P is
    /// always the same one, so a goroutine pinned to an M is found on the
    /// M's P. Written under `sched.lock`.
    pub boundp: *mut (),
    /// Safe mode: whether `nextp` was set by a waker that has not yet been
    /// seen by this M (set under `sched.lock` before the note is woken;
    /// read by the M before it blocks in the network poller).
    pub handoff: core::sync::atomic::AtomicBool,
    /// Safe mode: start spinning when woken with `nextp` (the waker cannot
    /// write `spinning` itself: the M may still be running).
    pub nextspinning: bool,
    /// Safe mode: goroutines pinned to this M that have not exited.
    pub npinned: u32,
    /// Safe mode: the goroutine that parked while unwinding a panic; the M
    /// runs nothing else until it is readied (std's panic count is per
    /// thread). Claimed (swapped to null) by exactly one of the waker and
    /// the M.
    pub unwind_parked: core::sync::atomic::AtomicPtr<G>,
    /// Safe mode: set by `gopark` when the parking goroutine is unwinding,
    /// read and cleared by `park_m`. Written only by this M, so `park_m`
    /// decides to wait from it, not from `unwind_parked`, which a waker
    /// may already have claimed once the goroutine is published.
    pub unwind_wait: bool,
    /// Set when this M's locked goroutine exited and the thread goes with
    /// it: the thread may be in a state of the goroutine's making, so Ms
    /// it starts on the way out come from the template thread.
    pub exiting_locked: bool,
    /// Whether this M is inside the runtime (1) or its goroutine runs user
    /// code (0): the goroutine's half of the retake protocol (no Go twin;
    /// Go takes a running goroutine's P by preempting it with a signal).
    /// Written only by this M: 0 when its goroutine goes back to user code
    /// (release), 1 when the goroutine enters the runtime, followed by a
    /// compiler fence and a load of [`M::retake`]. Starts at 1: g0 and the
    /// scheduler are the runtime. Read by sysmon after a process-wide
    /// barrier (`runtime-p/src/retake.rs` has the argument).
    pub in_rt: AtomicU32,
    /// sysmon's half of the retake protocol: [`RETAKE_NONE`],
    /// [`RETAKE_PENDING`] while sysmon decides whether to take this M's P
    /// away from a goroutine stuck in user code, [`RETAKE_DONE`] once it
    /// has (then `p` is null). Written by sysmon; the M resets it to
    /// `RETAKE_NONE` after it has seen `RETAKE_DONE`.
    pub retake: AtomicU32,
    /// Set while this M's goroutine is locked to it only to wait for a P
    /// after a retake (so that it resumes on the same thread).
    pub retake_locked: bool,
    /// The g0 stack size `allocm` was asked for (-1: none of its own), to
    /// reuse the M for the same kind of request ([`mfree`]).
    pub g0_stack: isize,
}

/// [`M::retake`]: no retake under way.
pub const RETAKE_NONE: u32 = 0;
/// [`M::retake`]: sysmon is deciding.
pub const RETAKE_PENDING: u32 = 1;
/// [`M::retake`]: sysmon took the P.
pub const RETAKE_DONE: u32 = 2;

/// Head of the list of all Ms ever created (`allm`), process-wide.
pub static ALLM: AtomicPtr<M> = AtomicPtr::new(core::ptr::null_mut());
static MNEXT: AtomicI64 = AtomicI64::new(0);

/// allocm: port of runtime.allocm (proc.go). Allocates an M for runtime
/// instance `sched` with a g0 that has a stack of `g0_stack` bytes, or none
/// (`g0_stack < 0`) when the OS supplies the thread stack (Go's
/// `mStackIsSystemAllocated`, and always for m0).
pub fn allocm(sched: *const (), g0_stack: isize) -> *mut M {
    if let Some(mp) = mfree_take(g0_stack) {
        // SAFETY: a freed M is ours alone once taken off the pool, and its
        // old thread (if any) has ended: mfree_take joined it.
        unsafe {
            reinit(mp);
            (*mp).sched.store(sched as *mut (), Ordering::Release);
        }
        return mp;
    }
    let g0 = malg(g0_stack);
    let mp = Box::into_raw(Box::new(M::new(g0, sched, g0_stack)));
    // SAFETY: g0 and mp were just allocated and are not shared yet.
    unsafe {
        (*g0).m = mp.cast();
        (*g0).sched.g = g0 as usize;
    }
    mcommoninit(mp);
    mp
}

/// Ms that their runtime instance is done with, for [`allocm`] to reuse
/// with their g0 and its stack (no Go twin: Go frees an exiting M's g0
/// stack and keeps the M on `allm` for good). Ms stay on [`ALLM`] for good
/// as in Go, so a runtime that starts and ends again and again (`block_on`
/// in a loop) reuses its Ms instead of leaking one set per run.
static MFREE: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());

/// Gives `mp` back for reuse. The thread that ran it may still be on its
/// way out (on its g0 stack, with the M's `exitbuf`): the next user joins
/// it first (`Os::join_thread`, for an M whose thread `newosproc` made).
///
/// # Safety
/// Nothing of `mp`'s runtime instance refers to it any more, and its
/// thread touches nothing but the M, its g0 and its stack until it ends;
/// an M whose thread `newosproc` did not make (m0) must be off that thread
/// for good already.
pub unsafe fn mfree(mp: *mut M) {
    // SAFETY: per the contract.
    unsafe { (*mp).sched.store(core::ptr::null_mut(), Ordering::Release) };
    MFREE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(mp as usize);
}

/// A freed M whose g0 has a stack of `g0_stack` bytes (or none, for -1),
/// its old thread joined.
fn mfree_take(g0_stack: isize) -> Option<*mut M> {
    let mp = {
        let mut f = MFREE.lock().unwrap_or_else(|e| e.into_inner());
        let i = f.iter().rposition(|&m| {
            // SAFETY: freed Ms are live (never deallocated); the field is
            // fixed.
            unsafe { (*(m as *mut M)).g0_stack == g0_stack }
        })?;
        f.swap_remove(i) as *mut M
    };
    // SAFETY: the M is ours; its thread, if it had one of its own, was
    // started joinable by newosproc and is joined exactly once, here.
    unsafe {
        let t = core::mem::replace(&mut (*mp).thread, 0);
        if t != 0 {
            crate::os::os().join_thread(t);
        }
    }
    Some(mp)
}

/// Makes a freed M as `allocm` would make a new one (for no instance yet),
/// keeping its g0 (and the g0's stack, if it has its own) and its place on
/// `allm`.
///
/// # Safety
/// `mp` came from [`mfree_take`]: nothing else uses it.
unsafe fn reinit(mp: *mut M) {
    // SAFETY: per the contract.
    unsafe {
        let g0 = (*mp).g0;
        let alllink = (*mp).alllink;
        let g0_stack = (*mp).g0_stack;
        // The list link is never cleared, even for a moment: other threads
        // walk `allm` (racily reading a reused M's other fields, as Go's
        // dumps read Ms; `sched` is atomic and null until it is handed out).
        let mut fresh = M::new(g0, core::ptr::null(), g0_stack);
        fresh.alllink = alllink;
        core::ptr::drop_in_place(mp);
        core::ptr::write(mp, fresh);
        if g0_stack < 0 {
            // Set again from the next thread's stack (mstart0).
            (*g0).stack = Default::default();
            (*g0).stackguard0 = 0;
            (*g0).stackguard1 = usize::MAX;
        }
        (*g0).sched = Gobuf::default();
        (*g0).sched.g = g0 as usize;
        let id = MNEXT.fetch_add(1, Ordering::Relaxed);
        (*mp).id = id;
        (*mp).cheaprand = seed(id as u64 ^ (mp as u64));
    }
}

impl M {
    fn new(g0: *mut G, sched: *const (), g0_stack: isize) -> M {
        M {
            g0,
            curg: core::sync::atomic::AtomicPtr::new(core::ptr::null_mut()),
            p: core::ptr::null_mut(),
            nextp: core::ptr::null_mut(),
            sched: AtomicPtr::new(sched as *mut ()),
            id: 0,
            procid: 0,
            host_tid: core::sync::atomic::AtomicI32::new(0),
            locks: 0,
            spinning: false,
            lockedg: core::ptr::null_mut(),
            lockedext: 0,
            lockedint: 0,
            waitunlockf: None,
            waitlock: core::ptr::null_mut(),
            exitbuf: Gobuf::default(),
            mstartfn: None,
            alllink: core::ptr::null_mut(),
            schedlink: core::ptr::null_mut(),
            waitsema: AtomicU32::new(0),
            park: Note::new(),
            mwaitlist_next: core::sync::atomic::AtomicUsize::new(0),
            blocked: core::sync::atomic::AtomicBool::new(false),
            cheaprand: 0,
            thread: 0,
            oldp: core::ptr::null_mut(),
            syscalltick: 0,
            boundp: core::ptr::null_mut(),
            handoff: core::sync::atomic::AtomicBool::new(false),
            nextspinning: false,
            npinned: 0,
            unwind_parked: core::sync::atomic::AtomicPtr::new(core::ptr::null_mut()),
            unwind_wait: false,
            exiting_locked: false,
            in_rt: AtomicU32::new(1),
            retake: AtomicU32::new(RETAKE_NONE),
            retake_locked: false,
            g0_stack,
        }
    }
}

/// mcommoninit: port of runtime.mcommoninit (proc.go): assigns the id,
/// seeds `cheaprand` and links the M into `allm`.
fn mcommoninit(mp: *mut M) {
    let id = MNEXT.fetch_add(1, Ordering::Relaxed);
    // SAFETY: mp is not yet published; we own it.
    unsafe {
        (*mp).id = id;
        (*mp).cheaprand = seed(id as u64 ^ (mp as u64));
    }
    let mut head = ALLM.load(Ordering::Relaxed);
    loop {
        // SAFETY: as above.
        unsafe { (*mp).alllink = head };
        match ALLM.compare_exchange_weak(head, mp, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => break,
            Err(h) => head = h,
        }
    }
}

/// The M of the running thread, or null outside a runtime.
#[inline]
pub fn getm() -> *mut M {
    let gp = runtime_g::getg();
    if gp.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: a non-null g slot points at a live G whose `m` was set by
    // allocm (g0) or execute (user G) for the thread now running it.
    unsafe { (*gp).m.cast() }
}

fn seed(x: u64) -> u64 {
    // splitmix64 of the id, the address and the time: distinct per M.
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut z = x ^ t ^ 0x9e37_79b9_7f4a_7c15;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// cheaprand: port of runtime.cheaprand (rand.go): a fast, non-crypto
/// random number from the calling M's wyrand state (or a global state on a
/// thread outside the runtime).
pub fn cheaprand() -> u32 {
    static GLOBAL: core::sync::atomic::AtomicU64 =
        core::sync::atomic::AtomicU64::new(0x2545_f491_4f6c_dd1d);
    let mp = getm();
    let s = if mp.is_null() {
        GLOBAL
            .fetch_add(0xa076_1d64_78bd_642f, Ordering::Relaxed)
            .wrapping_add(0xa076_1d64_78bd_642f)
    } else {
        // SAFETY: cheaprand is owned by the running M.
        unsafe {
            (*mp).cheaprand = (*mp).cheaprand.wrapping_add(0xa076_1d64_78bd_642f);
            (*mp).cheaprand
        }
    };
    let r = (s as u128) * ((s ^ 0xe703_7ed1_a0b4_28db) as u128);
    ((r >> 64) as u64 ^ r as u64) as u32
}

/// cheaprandn: port of runtime.cheaprandn (rand.go): uniform in `[0, n)`.
pub fn cheaprandn(n: u32) -> u32 {
    ((cheaprand() as u64 * n as u64) >> 32) as u32
}
