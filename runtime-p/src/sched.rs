//! One runtime instance: port of `schedt` (runtime2.go) together with the
//! globals that Go keeps beside it (`allp`, `allgs`, `gomaxprocs`), and of
//! the functions that work on them: `globrunqput`, `globrunqget`,
//! `globrunqgetbatch`, `gfput`, `gfget`, `allgadd`, `forEachG`, `gcount`.
//!
//! Go has exactly one of these per process. gort allows several (each test
//! of a test binary starts its own), so each M and P points at its instance,
//! and [`sched`] finds the current one through the running M.

use core::ptr::null_mut;
use core::sync::atomic::{
    AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};

use runtime_g::stack::{round_stack_size, stackalloc};

/// The process's default goroutine stack size, computed once; when a
/// limit on the address space made it smaller than usual, the first
/// runtime says so on standard error.
fn default_stack_size() -> usize {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SIZE.get_or_init(|| {
        let (size, note) = runtime_g::stack::default_stack_size();
        if let Some(note) = note {
            runtime_g::throw::print(&note);
        }
        size
    })
}
use runtime_g::status::{_Gdead, _Gidle};
use runtime_g::{G, casgstatus, malg, readgstatus, throw};
use runtime_m::{M, Mutex, Note, Os, getm, notewakeup};

use crate::gqueue::GQueue;
use crate::mp::RandomOrder;
use crate::p::{_Pidle, P};

/// Go's `_MaxGomaxprocs`: the most Ps an instance can have.
pub const MAX_PROCS: usize = 1024;

/// Goroutine ids are handed to Ps in batches of this size
/// (`_GoidCacheBatch`).
pub const GOID_CACHE_BATCH: u64 = 16;

/// What happens when the main goroutine returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MainReturn {
    /// Exit the process with status 0, as Go does.
    ExitProcess,
    /// Return to the thread that started the runtime (`block_on`).
    ReturnToCaller,
}

/// Fields protected by `sched.lock`.
pub struct SchedLocked {
    /// Global run queue (`runq`).
    pub runq: GQueue,
    /// Number of idle Ms (`nmidle`).
    pub nmidle: i32,
    /// Number of idle Ms locked to a G (`nmidlelocked`).
    pub nmidlelocked: i32,
    /// Number of system Ms that do not count for deadlock (`nmsys`).
    pub nmsys: i32,
    /// Number of Ms created for this instance (`mnext` − `nmfreed`).
    pub mcount: i32,
    /// Idle Ms (`midle`), linked through `m.schedlink`.
    pub midle: *mut M,
    /// Idle Ps (`pidle`), linked through `p.link`.
    pub pidle: *mut P,
    /// Ps still to stop in a stop-the-world (`stopwait`).
    pub stopwait: i32,
}

// SAFETY: the raw pointers are list heads of Ms and Ps, which are never
// freed; they are only touched with sched.lock held.
unsafe impl Send for SchedLocked {}

impl Default for SchedLocked {
    fn default() -> Self {
        SchedLocked {
            runq: GQueue::default(),
            nmidle: 0,
            nmidlelocked: 0,
            nmsys: 0,
            mcount: 0,
            midle: null_mut(),
            pidle: null_mut(),
            stopwait: 0,
        }
    }
}

/// Global free Gs (`sched.gFree`), under their own lock.
#[derive(Default)]
pub struct GFreeGlobal {
    /// Gs that still own a stack.
    pub stack: GQueue,
    /// Gs whose stack was freed.
    pub nostack: GQueue,
}

/// How the scheduler may move goroutines between OS threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SchedMode {
    /// A goroutine that has started runs only on the M (OS thread) it
    /// started on, until it exits; goroutines that have not started move
    /// freely. Thread-locals and `!Send` values are sound across parks.
    #[default]
    Safe,
    /// Go's exact semantics: any P, on any M, may run any runnable
    /// goroutine. Code that touches a thread-local in a function that may
    /// park is undefined behaviour; see `gort::Builder::migrating`.
    Migrating,
}

/// Start-up parameters of an instance.
#[derive(Clone)]
pub struct Config {
    /// Number of Ps (GOMAXPROCS).
    pub gomaxprocs: usize,
    /// Usable stack size of each goroutine (Go's `startingStackSize`);
    /// 0 for the process default
    /// ([`runtime_g::stack::default_stack_size`]).
    pub stack_size: usize,
    /// What the end of the main goroutine does.
    pub main_return: MainReturn,
    /// The OS layer to run on.
    pub os: &'static dyn Os,
    /// Whether started goroutines stay on their thread.
    pub mode: SchedMode,
    /// Which process-wide signal handlers the first runtime installs.
    pub signals: Signals,
}

/// The process-wide signal handlers a runtime may install (the first
/// runtime of a process decides; see `gort::Builder::sigquit_dump` and
/// `gort::Builder::fault_handler`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signals {
    /// Go's SIGQUIT dump, installed only if SIGQUIT still has its default
    /// action (a host's own handler is kept).
    pub sigquit_dump: bool,
    /// The SIGSEGV/SIGBUS handler that reports stack overflows and faults
    /// on goroutines as Go does, and passes every other fault to the
    /// handler that was installed before it.
    pub fault_handler: bool,
    /// Go's disposition of the signals its table marks notify-only
    /// (`initsig`, signal_unix.go): SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU,
    /// SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO, SIGPWR and the real-time
    /// signals 35-64 do not end the program (their default action would);
    /// a system call they interrupt restarts. Installed only over a
    /// signal's default action.
    pub notify_signals: bool,
}

impl Default for Signals {
    fn default() -> Self {
        Signals {
            sigquit_dump: true,
            fault_handler: true,
            notify_signals: true,
        }
    }
}

/// A runtime instance: port of `schedt` plus `allp`/`allgs`.
pub struct Sched {
    /// `sched.lock` and what it protects.
    pub lock: Mutex<SchedLocked>,
    /// `sched.gFree.lock` and the global free lists.
    pub gfree: Mutex<GFreeGlobal>,
    /// Last goroutine id handed out (`goidgen`).
    pub goidgen: AtomicU64,
    /// All Ps (`allp`): `MAX_PROCS` slots, filled on demand and never
    /// emptied (a P beyond GOMAXPROCS is `_Pdead` and may come back), so that
    /// readers never see a P vanish. Only the first `gomaxprocs` count.
    allp: Box<[AtomicPtr<P>]>,
    /// GOMAXPROCS (`gomaxprocs`); changes only with the world stopped.
    ngomaxprocs: AtomicUsize,
    /// Head of the list of all Gs, newest first (`allgs`).
    pub allg: AtomicPtr<G>,
    /// Number of Gs on that list (`allglen`).
    pub allglen: AtomicUsize,
    /// Number of system goroutines (`ngsys`).
    pub ngsys: AtomicI32,
    /// Number of dead Gs on all free lists, local and global. Go sums the
    /// list sizes, reading other Ps' lists racily; one atomic avoids that.
    pub ngfree: AtomicI32,
    /// Usable stack size of goroutines (`startingStackSize`).
    pub stack_size: usize,
    /// Whether the main goroutine has started (`mainStarted`).
    pub main_started: AtomicBool,
    /// The main goroutine (goid 1).
    pub main_g: AtomicPtr<G>,
    /// Set when the main goroutine called `goexit`.
    pub main_goexited: AtomicBool,
    /// The M that started the instance.
    pub m0: AtomicPtr<M>,
    /// What the end of the main goroutine does.
    pub main_return: MainReturn,
    /// The thread that started the runtime: the deadlock check tells it
    /// from the program's other threads, which may feed its goroutines
    /// (`checkdead`).
    pub caller_tid: i32,
    /// The main function, taken by m0's `mstartfn`.
    pub main_fn: Mutex<Option<Box<dyn FnOnce() + Send + 'static>>>,
    /// Size of the global run queue, mirrored for lock-free peeks (Go reads
    /// `sched.runq.size` without the lock).
    pub runqsize: AtomicI32,
    /// Number of idle Ps (`npidle`).
    pub npidle: AtomicI32,
    /// Number of spinning Ms (`nmspinning`).
    pub nmspinning: AtomicI32,
    /// Set when work was found with no idle P to run it (`needspinning`).
    pub needspinning: AtomicU32,
    /// Go's thread limit (`maxmcount`, `debug.SetMaxThreads`).
    pub maxmcount: AtomicI32,
    /// Enumeration order for stealing (`stealOrder`); rewritten only by
    /// `procresize`, with the world stopped.
    steal_order: core::cell::UnsafeCell<RandomOrder>,
    /// A stop-the-world is in progress (`gcwaiting`).
    pub gcwaiting: AtomicBool,
    /// Where the stopping M waits for the last P to stop (`stopnote`).
    pub stopnote: Note,
    /// Set when the main goroutine of a `block_on` runtime returned: every
    /// M leaves the scheduler at its next opportunity.
    pub shutting_down: AtomicBool,
    /// Set when the main goroutine of a `block_on` runtime returned: every
    /// other goroutine is ended as `runtime.Goexit` ends one, at its park
    /// (see `proc::kill_parked`); the runtime shuts down once none is left.
    pub killing: AtomicBool,
    /// Goroutines created and not yet ended (system ones included): one
    /// counter, so that exactly one ending goroutine sees it reach zero
    /// (kill.rs); counted in `newproc1`, `gdestroy` and `main_return_m`.
    pub nlive: core::sync::atomic::AtomicI64,
    /// Ms of this instance other than m0 that may still touch it: counted
    /// when allocated, uncounted by the M's last act before its thread
    /// leaves (`mp::m_release`). The instance is freed at zero.
    pub mrefs: AtomicI32,
    /// Threads of other runtimes (or helper threads) inside a wake-up of
    /// one of this instance's goroutines (`proc::ready_foreign`,
    /// `ready_remote`); the instance is freed only at zero.
    pub ext_refs: AtomicI32,
    /// References to this struct itself (the runtime's own, one per
    /// `gort::Handle`, one per open `PollDesc`): it is freed by the last
    /// [`Sched::release`], after `teardown` freed what it held.
    refs: AtomicUsize,
    /// A runtime that outside callers feed (`gort::Runtime`): like Go built
    /// as a library, it reports no deadlock, since a call from outside may
    /// come at any time.
    pub library: AtomicBool,
    /// Some goroutines could not be ended (parked where nothing can wake
    /// them, or in a call that never returned): the instance is leaked
    /// rather than freed under them.
    pub leaked: AtomicBool,
    /// sysmon sleeps on `sysmonnote` while every P is idle (`sysmonwait`).
    pub sysmonwait: AtomicBool,
    pub sysmonnote: Note,
    /// Goroutines whose panic may still be unwinding (Go's
    /// `runningPanicDefers`; see `panic::end_panic`).
    pub running_panic_defers: AtomicU32,
    /// Ms asleep in `stoplockedm` (or parked for good after a locked
    /// goroutine exited on m0), so that a `block_on` shutdown can wake them.
    /// Whoever wakes one takes it off this list first, under the lock.
    pub locked_sleepers: Mutex<Vec<usize>>,
    /// The central sudog list (`sudoglock` and `sudogcache`).
    pub sudoglock: Mutex<crate::sudog::SudogCentral>,
    /// When an M last finished sleeping for timers, or 0 while one sleeps
    /// there (`lastpoll`; see `time::poll_sleep`).
    pub lastpoll: core::sync::atomic::AtomicI64,
    /// Until when the sleeping M sleeps (`pollUntil`), or 0.
    pub poll_until: core::sync::atomic::AtomicI64,
    /// What an M sleeps on until the next timer when the OS layer has no
    /// network poller (Go's `netpoll_stub.go` note).
    pub pollnote: Note,
    /// The scheduler trace (`trace` module), off unless started.
    pub trace: crate::trace::TraceState,
    /// The network poller (`netpoll` module), started on first use.
    pub netpoll: crate::netpoll::NetpollState,
    /// Held while the world is stopped (`worldsema`): one stop at a time.
    pub worldsema: AtomicU32,
    /// The safe scheduler mode ([`SchedMode::Safe`]): started goroutines
    /// are pinned to their M, each P is run by one M only.
    pub safe: bool,
    /// Goroutines parked while a helper thread runs their blocking call
    /// (safe mode's `syscall::blocking`): they will be readied, so
    /// `checkdead` must not report a deadlock while any are out.
    pub nblocking: AtomicI32,
    /// The M blocked in the network poller (or the stub's timer sleep),
    /// or null: the safe mode wakes a bound M there with `netpoll_break`.
    pub poll_m: AtomicPtr<M>,
}

// SAFETY: every field is an atomic, a runtime Mutex, or set before the
// instance is shared (allp, stack_size, main_return) and read-only after.
unsafe impl Sync for Sched {}
// SAFETY: as above.
unsafe impl Send for Sched {}

impl Sched {
    /// Builds an instance with `cfg.gomaxprocs` idle Ps, holding the
    /// runtime's own reference. Gs, Ps and Ms point at it as at Go's
    /// `sched` global; it lives until its runtime ended and was torn down
    /// and every other holder let go ([`Sched::release`]). An instance
    /// that could not be torn down is never released.
    pub fn new(cfg: &Config) -> &'static Sched {
        if cfg.gomaxprocs == 0 {
            throw("procresize: invalid arg");
        }
        let s: &'static mut Sched = Box::leak(Box::new(Sched {
            lock: Mutex::new_low_latency(SchedLocked::default()),
            gfree: Mutex::new(GFreeGlobal::default()),
            goidgen: AtomicU64::new(0),
            allp: (0..MAX_PROCS).map(|_| AtomicPtr::new(null_mut())).collect(),
            ngomaxprocs: AtomicUsize::new(0),
            allg: AtomicPtr::new(null_mut()),
            allglen: AtomicUsize::new(0),
            ngsys: AtomicI32::new(0),
            ngfree: AtomicI32::new(0),
            stack_size: round_stack_size(if cfg.stack_size == 0 {
                default_stack_size()
            } else {
                cfg.stack_size
            }),
            main_started: AtomicBool::new(false),
            main_g: AtomicPtr::new(null_mut()),
            main_goexited: AtomicBool::new(false),
            m0: AtomicPtr::new(null_mut()),
            main_return: cfg.main_return,
            caller_tid: runtime_m::os::thread_id(),
            main_fn: Mutex::new(None),
            runqsize: AtomicI32::new(0),
            npidle: AtomicI32::new(0),
            nmspinning: AtomicI32::new(0),
            needspinning: AtomicU32::new(0),
            maxmcount: AtomicI32::new(10000),
            steal_order: core::cell::UnsafeCell::new(RandomOrder::default()),
            gcwaiting: AtomicBool::new(false),
            stopnote: Note::new(),
            shutting_down: AtomicBool::new(false),
            killing: AtomicBool::new(false),
            library: AtomicBool::new(false),
            mrefs: AtomicI32::new(0),
            nlive: core::sync::atomic::AtomicI64::new(0),
            refs: AtomicUsize::new(1),
            ext_refs: AtomicI32::new(0),
            leaked: AtomicBool::new(false),
            sysmonwait: AtomicBool::new(false),
            sysmonnote: Note::new(),
            running_panic_defers: AtomicU32::new(0),
            locked_sleepers: Mutex::new(Vec::new()),
            sudoglock: Mutex::new(crate::sudog::SudogCentral::default()),
            lastpoll: core::sync::atomic::AtomicI64::new(1),
            poll_until: core::sync::atomic::AtomicI64::new(0),
            pollnote: Note::new(),
            trace: crate::trace::TraceState::default(),
            netpoll: crate::netpoll::NetpollState::default(),
            worldsema: AtomicU32::new(1),
            safe: cfg.mode == SchedMode::Safe,
            nblocking: AtomicI32::new(0),
            poll_m: AtomicPtr::new(null_mut()),
        }));
        let me: *const Sched = s;
        for i in 0..cfg.gomaxprocs {
            s.allp[i].store(
                Box::into_raw(Box::new(P::new(i as i32, me))),
                Ordering::Release,
            );
        }
        s.ngomaxprocs.store(cfg.gomaxprocs, Ordering::Release);
        s.steal_order.get_mut().reset(cfg.gomaxprocs as u32);
        s
    }

    /// Takes one more reference to the struct (a handle, an open
    /// descriptor), to give back with [`Sched::release`].
    pub fn retain(&self) {
        self.refs.fetch_add(1, Ordering::Relaxed);
    }

    /// Gives back a reference; the last one frees the struct.
    ///
    /// # Safety
    /// `this` came from [`Sched::new`] and the caller owns one reference
    /// (the runtime's own only once its instance was torn down); neither
    /// it nor anything reached through that reference is used afterwards.
    pub unsafe fn release(this: *const Sched) {
        // SAFETY: per the contract the reference keeps `this` alive.
        if unsafe { (*this).refs.fetch_sub(1, Ordering::Release) } == 1 {
            core::sync::atomic::fence(Ordering::Acquire);
            // SAFETY: the last reference: nobody else can reach it; it was
            // made by Box::leak in `new`.
            drop(unsafe { Box::from_raw(this as *mut Sched) });
        }
    }

    /// entersyscallWakeSysmon: port of runtime.entersyscallWakeSysmon
    /// (proc.go): wakes sysmon if it sleeps because every P was idle.
    pub fn wake_sysmon(&self) {
        if self.sysmonwait.load(Ordering::Acquire) {
            let _l = self.lock.lock();
            if self.sysmonwait.swap(false, Ordering::AcqRel) {
                notewakeup(&self.sysmonnote);
            }
        }
    }

    /// Whether the global run queue has work (a lock-free peek).
    pub fn runq_nonempty(&self) -> bool {
        self.runqsize.load(Ordering::Acquire) > 0
    }

    /// Puts every P except `allp[0]` on the idle list (the tail of
    /// `procresize` at start-up, where m0 keeps `allp[0]`).
    pub fn idle_all_but_p0(&self) {
        let mut l = self.lock.lock();
        for pp in (1..self.gomaxprocs()).rev().map(|i| self.p(i)) {
            pp.status.store(_Pidle, Ordering::Relaxed);
            crate::mp::pidleput(self, &mut l, pp);
        }
    }

    /// gomaxprocs: the number of Ps.
    pub fn gomaxprocs(&self) -> usize {
        self.ngomaxprocs.load(Ordering::Acquire)
    }

    /// `allp[i]`, which must exist.
    pub fn p(&self, i: usize) -> &P {
        let pp = self.allp[i].load(Ordering::Acquire);
        if pp.is_null() {
            throw("allp: no such P");
        }
        // SAFETY: Ps are boxes freed only by the instance's teardown,
        // which empties the slot first, once no M of it runs.
        unsafe { &*pp }
    }

    /// `allp[i]` if it was ever created (for procresize).
    pub(crate) fn p_slot(&self, i: usize) -> *mut P {
        self.allp[i].load(Ordering::Acquire)
    }

    /// Creates `allp[i]` (for procresize, with the world stopped).
    pub(crate) fn set_p_slot(&self, i: usize, pp: *mut P) {
        self.allp[i].store(pp, Ordering::Release);
    }

    /// The first `gomaxprocs` Ps.
    pub fn procs(&self) -> impl Iterator<Item = &P> {
        (0..self.gomaxprocs()).map(|i| self.p(i))
    }

    /// Every P ever made, including those beyond GOMAXPROCS (`_Pdead`).
    pub fn procs_all(&self) -> impl Iterator<Item = &P> {
        self.allp.iter().map_while(|a| {
            let pp = a.load(Ordering::Acquire);
            // SAFETY: as in `p`: a published P lives until teardown
            // empties its slot.
            (!pp.is_null()).then(|| unsafe { &*pp })
        })
    }

    /// Sets GOMAXPROCS (procresize, with the world stopped).
    pub(crate) fn set_gomaxprocs_count(&self, n: usize) {
        self.ngomaxprocs.store(n, Ordering::Release);
    }

    /// The stealing order.
    pub fn steal_order(&self) -> &RandomOrder {
        // SAFETY: rewritten only by procresize with the world stopped, when
        // no M that could be reading it holds a P.
        unsafe { &*self.steal_order.get() }
    }

    /// Rewrites the stealing order for `n` Ps.
    ///
    /// # Safety
    /// Only with the world stopped (procresize).
    pub(crate) unsafe fn reset_steal_order(&self, n: u32) {
        // SAFETY: per the contract, nobody reads it now.
        unsafe { (*self.steal_order.get()).reset(n) }
    }
}

/// The instance the calling thread's M belongs to, or `None` outside any
/// runtime.
pub fn try_sched() -> Option<&'static Sched> {
    let mp = getm();
    if mp.is_null() {
        return None;
    }
    // SAFETY: an M's sched pointer is set by allocm to its instance, which
    // outlives the M's time on it (Sched::release comes after every M
    // left; mfree clears the pointer).
    unsafe { ((*mp).sched.load(Ordering::Relaxed) as *const Sched).as_ref() }
}

/// The current instance; throws outside a runtime.
pub fn sched() -> &'static Sched {
    try_sched().unwrap_or_else(|| throw("no gort runtime on this thread"))
}

/// globrunqput: port of runtime.globrunqput (proc.go): gp at the tail of the
/// global queue. `sched.lock` must be held (the guard proves it).
///
/// # Safety
/// gp must be a `_Grunnable` G owned by the caller.
pub unsafe fn globrunqput(s: &Sched, locked: &mut SchedLocked, gp: *mut G) {
    // SAFETY: ownership of gp passes to the queue.
    unsafe { locked.runq.push_back(gp) };
    s.runqsize.store(locked.runq.size, Ordering::Release);
}

/// globrunqputhead: port of runtime.globrunqputhead (proc.go): gp at the
/// head of the global queue.
///
/// # Safety
/// gp must be a `_Grunnable` G owned by the caller.
pub unsafe fn globrunqputhead(s: &Sched, locked: &mut SchedLocked, gp: *mut G) {
    // SAFETY: ownership of gp passes to the queue.
    unsafe { locked.runq.push(gp) };
    s.runqsize.store(locked.runq.size, Ordering::Release);
}

/// globrunqputbatch: port of runtime.globrunqputbatch (proc.go).
pub fn globrunqputbatch(s: &Sched, locked: &mut SchedLocked, q: GQueue) {
    locked.runq.push_back_all(q);
    s.runqsize.store(locked.runq.size, Ordering::Release);
}

/// globrunqget: port of runtime.globrunqget (proc.go).
pub fn globrunqget(s: &Sched, locked: &mut SchedLocked) -> *mut G {
    let gp = locked.runq.pop();
    s.runqsize.store(locked.runq.size, Ordering::Release);
    gp
}

/// globrunqgetbatch: port of runtime.globrunqgetbatch (proc.go): one G to
/// run plus up to `n - 1` more (bounded by a fair share per P) for the local
/// queue.
pub fn globrunqgetbatch(
    s: &Sched,
    locked: &mut SchedLocked,
    n: i32,
    gomaxprocs: i32,
) -> (*mut G, GQueue) {
    let mut q = GQueue::default();
    let size = locked.runq.size;
    if size == 0 {
        return (null_mut(), q);
    }
    let mut n = n.min(size).min(size / gomaxprocs + 1);
    let gp = locked.runq.pop();
    n -= 1;
    while n > 0 {
        let g1 = locked.runq.pop();
        // SAFETY: g1 came off the global queue, which we hold.
        unsafe { q.push_back(g1) };
        n -= 1;
    }
    s.runqsize.store(locked.runq.size, Ordering::Release);
    (gp, q)
}

/// allgadd: port of runtime.allgadd (proc.go): publishes `gp` on the list of
/// all Gs.
///
/// # Safety
/// `gp` must be a fresh `_Gdead` G from `malg`, owned by the caller and on no
/// all-G list yet.
pub unsafe fn allgadd(s: &Sched, gp: *mut G) {
    // SAFETY: gp is a fresh G from malg, in _Gdead, not yet shared.
    if unsafe { readgstatus(gp) } == _Gidle {
        throw("allgadd: bad status Gidle");
    }
    let mut head = s.allg.load(Ordering::Relaxed);
    loop {
        // SAFETY: as above; alllink is written before publication.
        unsafe { (*gp).alllink = head };
        match s
            .allg
            .compare_exchange_weak(head, gp, Ordering::Release, Ordering::Relaxed)
        {
            Ok(_) => break,
            Err(h) => head = h,
        }
    }
    s.allglen.fetch_add(1, Ordering::Relaxed);
}

/// forEachG: port of runtime.forEachG (proc.go): calls `f` on every G of
/// the instance, oldest first. Lock-free, so dumps can use it while broken.
pub fn for_each_g(s: &Sched, mut f: impl FnMut(*mut G)) {
    let mut all = Vec::with_capacity(s.allglen.load(Ordering::Relaxed));
    let mut gp = s.allg.load(Ordering::Acquire);
    while !gp.is_null() {
        all.push(gp);
        // SAFETY: Gs on the list live until teardown empties the list
        // (no M of the instance runs then); alllink never changes after
        // publication.
        gp = unsafe { (*gp).alllink };
    }
    for &gp in all.iter().rev() {
        f(gp);
    }
}

/// Calls `f` with each M of instance `s`, newest first (Go walks `allm`).
pub fn for_each_m(s: &Sched, mut f: impl FnMut(*mut runtime_m::M)) {
    let mut mp = runtime_m::m::ALLM.load(Ordering::Acquire);
    while !mp.is_null() {
        // SAFETY: Ms are never freed (a reused one keeps its place on
        // the list); `sched` is atomic and `alllink` fixed before an M is
        // published.
        unsafe {
            if core::ptr::eq((*mp).sched.load(Ordering::Relaxed) as *const Sched, s) {
                f(mp);
            }
            mp = (*mp).alllink;
        }
    }
}

/// Stacks a P keeps for the goroutines it will start (beyond this they go
/// back to the pool, their pages released).
pub const STACK_CACHE_MAX: usize = 32;

/// gfput: port of runtime.gfput (proc.go): puts a dead G on `pp`'s free
/// list; moves a batch to the global list when the local one grows to 64.
///
/// Difference from Go: Go keeps the stack with the G. gort detaches it into
/// the P's stack cache, because gort gives a goroutine its stack when it
/// first *runs* (`execute`), not when it is created: a stream of short
/// goroutines then reuses a few warm stacks instead of faulting in a fresh
/// page for every goroutine created (gort's stacks are page-granular).
///
/// # Safety
/// Owner of `pp` only; gp must be a `_Gdead` G owned by the caller.
pub unsafe fn gfput(s: &Sched, pp: &P, gp: *mut G) {
    // SAFETY: the caller owns gp (dead) and pp.
    unsafe {
        if readgstatus(gp) != _Gdead {
            throw("gfput: bad status (not Gdead)");
        }
        let local = pp.local();
        let st = core::mem::take(&mut (*gp).stack);
        (*gp).stackguard0 = 0;
        (*gp).sched = Default::default();
        if st.lo != 0 {
            if st.size() == s.stack_size && local.stackcache.len() < STACK_CACHE_MAX {
                local.stackcache.push(st);
            } else {
                // Released later, in batches (see stackfree_lazy).
                runtime_g::stack::stackfree_lazy(st);
            }
        }
        local.gfree.push(gp);
        s.ngfree.fetch_add(1, Ordering::Relaxed);
        if local.gfree.size >= 64 {
            let mut q = GQueue::default();
            while local.gfree.size >= 32 {
                q.push(local.gfree.pop());
            }
            s.gfree.lock().nostack.push_back_all(q);
        }
    }
}

/// gfget: port of runtime.gfget (proc.go): a free G from `pp`'s list
/// (refilled from the global list). It has no stack yet (see `gfput`).
///
/// # Safety
/// Owner of `pp` only.
pub unsafe fn gfget(s: &Sched, pp: &P) -> *mut G {
    // SAFETY: the caller owns pp; Gs on free lists are owned by the list
    // holder, which we are once popped.
    unsafe {
        let local = pp.local();
        if local.gfree.empty() {
            let mut gl = s.gfree.lock();
            while local.gfree.size < 32 {
                let g = gl.nostack.pop();
                if g.is_null() {
                    break;
                }
                local.gfree.push(g);
            }
        }
        let gp = local.gfree.pop();
        if !gp.is_null() {
            s.ngfree.fetch_sub(1, Ordering::Relaxed);
        }
        gp
    }
}

/// stackget: a stack for a goroutine about to run for the first time: the
/// most recently freed one of this P, or a new one from the pool; or, if
/// the goroutine asked for a size of its own (`request`), one of that size.
///
/// # Safety
/// Owner of `pp` only.
pub unsafe fn stackget(s: &Sched, pp: &P, request: usize) -> runtime_g::Stack {
    if request != 0 && runtime_g::stack::round_stack_size(request) != s.stack_size {
        // A size of its own: from its size class (gfput gives such stacks
        // back to the pool, not to this P's cache of default ones).
        return stackalloc(request);
    }
    // SAFETY: forwarded contract.
    match unsafe { pp.local() }.stackcache.pop() {
        Some(st) => st,
        None => stackalloc(s.stack_size),
    }
}

/// A new G for `newproc1`: from the free list or freshly allocated (with no
/// stack) and published (the `gfget`/`malg`/`allgadd` step of newproc1).
///
/// # Safety
/// Owner of `pp` only.
pub unsafe fn gget_or_malg(s: &Sched, pp: &P) -> *mut G {
    // SAFETY: forwarded contract.
    let gp = unsafe { gfget(s, pp) };
    if !gp.is_null() {
        return gp;
    }
    let gp = malg(-1);
    // SAFETY: fresh G, owned by us.
    unsafe {
        (*gp).instance = s as *const Sched as *const ();
        casgstatus(gp, _Gidle, _Gdead);
        allgadd(s, gp);
    }
    gp
}

/// gcount: port of runtime.gcount (proc.go): live user goroutines.
pub fn gcount(s: &Sched) -> i32 {
    let n = s.allglen.load(Ordering::Relaxed) as i32
        - s.ngfree.load(Ordering::Relaxed)
        - s.ngsys.load(Ordering::Relaxed);
    // The counters move independently, so the sum can be briefly off; at
    // least the caller is running.
    n.max(1)
}
