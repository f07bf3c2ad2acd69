//! The P and its local run queue: port of `p` (runtime2.go) and of
//! `runqput`, `runqputslow`, `runqputbatch`, `runqget`, `runqempty`,
//! `runqgrab`, `runqsteal` (proc.go).
//!
//! ## The local run queue protocol
//! `runq` is a ring of 256 G pointers with free-running `runqhead` and
//! `runqtail` indices, plus a one-G `runnext` slot.
//! 1. Only the owner P writes `runqtail` and the slots in `[tail, head+256)`;
//!    it publishes them with a release store of `runqtail`.
//! 2. Any P consumes from the head: it reads slots, then commits with a CAS
//!    (release) of `runqhead`. A failed CAS means someone else consumed
//!    first; the copied pointers are discarded and the read repeats.
//! 3. `runnext` is set only by the owner; anyone may take it by CAS to null.
//! 4. When the ring is full, the owner moves half of it plus the new G to
//!    the global queue in one batch (`runqputslow`), so that a spawning
//!    goroutine amortises the global lock.
//!
//! Checked by `TestSchedLocalQueue`, `TestSchedLocalQueueSteal` and
//! `TestSchedLocalQueueEmpty` (runtime-p/tests/runq.rs), and under loom by
//! the models in runtime-p/tests/loom_runq.rs (owner vs thief, runnext
//! included; runqempty never falsely empty).

use core::cell::UnsafeCell;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::loom::{AtomicPtr, AtomicU32};

use runtime_g::{G, throw};
use runtime_m::M;

use crate::gqueue::GQueue;
use crate::sched::Sched;

/// Capacity of the local run queue (Go's `len(p.runq)`).
#[cfg(not(loom))]
pub const RUNQ_SIZE: u32 = 256;
/// Capacity of the local run queue, shrunk for model checking.
#[cfg(loom)]
pub const RUNQ_SIZE: u32 = 4;

/// P statuses (runtime2.go).
pub const _Pidle: u32 = 0;
pub const _Prunning: u32 = 1;
pub const _Psyscall: u32 = 2;
pub const _Pgcstop: u32 = 3;
pub const _Pdead: u32 = 4;

/// Fields only the M that owns the P may touch (Go leaves this to comments;
/// here it is one `UnsafeCell` reached through [`P::local`]).
#[derive(Default)]
pub struct PLocal {
    /// Free Gs (`gFree`). They hold no stack: see `stackcache`.
    pub gfree: GQueue,
    /// Stacks of exited goroutines, handed to the next goroutine that starts
    /// on this P (most recent first: its pages are faulted in and warm).
    pub stackcache: Vec<runtime_g::Stack>,
    /// Cached batch of goroutine ids `[goidcache, goidcacheend)`.
    pub goidcache: u64,
    pub goidcacheend: u64,
    /// Free sudogs (`sudogcache`), at most `sudog::SUDOG_CACHE`.
    pub sudogcache: Vec<*mut crate::sudog::Sudog>,
    /// Trace events recorded on this P (`trace` module); taken by
    /// `stop_trace` with the world stopped.
    pub trace: crate::trace::TraceBuf,
    /// Safe mode: runnable goroutines pinned to this P's M, in order (no
    /// Go twin; see `pinned`). Never stolen.
    pub pinq: GQueue,
}

/// A processor: the right to run Go code, with its own run queue. Port of
/// `p` (runtime2.go).
pub struct P {
    /// Index in `allp`.
    pub id: i32,
    /// One of the `_P*` statuses.
    pub status: AtomicU32,
    /// The M that owns this P, or null when idle.
    pub m: AtomicPtr<M>,
    /// The runtime instance this P belongs to.
    pub sched: *const Sched,
    /// Consumer index (any P, by CAS).
    pub runqhead: AtomicU32,
    /// Producer index (owner only).
    pub runqtail: AtomicU32,
    /// The ring; slots are atomics because stealers read them concurrently
    /// with the owner's writes to other slots.
    pub runq: [AtomicPtr<G>; RUNQ_SIZE as usize],
    /// The G to run next, sharing the current time slice (`runnext`).
    pub runnext: AtomicPtr<G>,
    /// Next P on the idle list (`link`), under `sched.lock`.
    pub link: AtomicPtr<P>,
    /// Incremented on every scheduler call that starts a new time slice
    /// (`schedtick`); written by the owner, read by sysmon.
    pub schedtick: AtomicU32,
    /// Incremented on every system call (`syscalltick`); read by sysmon.
    pub syscalltick: AtomicU32,
    /// Incremented each time the P goes idle (`pidleput`); read by sysmon,
    /// for which a P that was idle starts a new time slice when it runs
    /// again (no Go twin: see `sysmon::retake`).
    pub idletick: AtomicU32,
    /// The P's timer heap (`timers`); other Ps may run its due timers.
    pub timers: crate::time::Timers,
    /// Event counts for `metrics` (no Go twin: Go derives its
    /// `/sched/...` metrics elsewhere).
    pub stats: PStats,
    /// Safe mode: the one M that runs this P (null until first started).
    /// Written under `sched.lock`.
    pub boundm: AtomicPtr<M>,
    /// Safe mode: pinned goroutines made runnable by other threads, a
    /// lock-free stack linked through `schedlink` that the owner takes
    /// whole (`inbox_take`). See `ready_remote` in proc.rs.
    pub inbox: AtomicPtr<G>,
    /// This P's number among the live Ps of every runtime in the process
    /// ([`proc_pin`](crate::proc::proc_pin)); Go's `procPin` returns the P's
    /// `id`, which is unique there because Go has one runtime.
    pub pin_slot: usize,
    local: UnsafeCell<PLocal>,
}

/// The pin slots in use: bit `i` of word `i / 64` is set while a live P
/// has slot `i`. P creation and destruction only.
#[cfg(not(loom))]
static PIN_SLOTS: runtime_m::Mutex<Vec<u64>> = runtime_m::Mutex::new(Vec::new());

/// The lowest free pin slot, now taken.
#[cfg(not(loom))]
fn alloc_pin_slot() -> usize {
    let mut words = PIN_SLOTS.lock();
    for (w, bits) in words.iter_mut().enumerate() {
        if *bits != u64::MAX {
            let b = bits.trailing_ones() as usize;
            *bits |= 1 << b;
            return w * 64 + b;
        }
    }
    words.push(1);
    (words.len() - 1) * 64
}

/// Under loom each model makes its own Ps; slots are not used there.
#[cfg(loom)]
fn alloc_pin_slot() -> usize {
    0
}

impl Drop for P {
    fn drop(&mut self) {
        #[cfg(not(loom))]
        {
            let mut words = PIN_SLOTS.lock();
            words[self.pin_slot / 64] &= !(1 << (self.pin_slot % 64));
        }
    }
}

/// Counters of one P, written only by its owner (a relaxed load and store,
/// no read-modify-write: one owner at a time, and ownership passes through
/// `sched.lock` or a CAS that orders it) and read by anyone.
#[derive(Default)]
pub struct PStats {
    /// Goroutines started or resumed on this P (`execute` calls).
    pub switches: AtomicU64,
    /// Successful steals from other Ps' run queues by this P.
    pub steals: AtomicU64,
    /// Goroutines that parked while running on this P.
    pub parks: AtomicU64,
    /// Times sysmon took this P from a goroutine that kept it without
    /// entering the runtime (retake.rs).
    pub retakes: AtomicU64,
    /// Goroutines created on this P (`newproc1`; Go's
    /// `/sched/goroutines-created:goroutines`).
    pub created: AtomicU64,
}

impl PStats {
    /// Adds one to `c`. Owner of the P only.
    #[inline]
    pub fn bump(c: &AtomicU64) {
        c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }
}

// SAFETY: the shared fields are atomics; `local` is only reached through the
// unsafe `local()`, whose contract restricts it to the owning M.
unsafe impl Sync for P {}
// SAFETY: as above; a P may be handed between Ms.
unsafe impl Send for P {}

impl P {
    /// A new idle P with an empty run queue.
    pub fn new(id: i32, sched: *const Sched) -> P {
        P {
            id,
            status: AtomicU32::new(_Pidle),
            m: AtomicPtr::new(null_mut()),
            sched,
            runqhead: AtomicU32::new(0),
            runqtail: AtomicU32::new(0),
            runq: core::array::from_fn(|_| AtomicPtr::new(null_mut())),
            runnext: AtomicPtr::new(null_mut()),
            link: AtomicPtr::new(null_mut()),
            schedtick: AtomicU32::new(0),
            syscalltick: AtomicU32::new(0),
            idletick: AtomicU32::new(0),
            timers: crate::time::Timers::new(),
            stats: PStats::default(),
            boundm: AtomicPtr::new(null_mut()),
            inbox: AtomicPtr::new(null_mut()),
            pin_slot: alloc_pin_slot(),
            local: UnsafeCell::new(PLocal::default()),
        }
    }

    /// The owner-only fields.
    ///
    /// # Safety
    /// Only the M that owns this P may call it, and it must not hold two of
    /// the returned references at once.
    #[allow(clippy::mut_from_ref)]
    #[inline]
    pub unsafe fn local(&self) -> &mut PLocal {
        // SAFETY: the caller is the owner and keeps the reference unique.
        unsafe { &mut *self.local.get() }
    }

    /// Whether this P belongs to a safe-mode instance (see `pinned`).
    #[inline]
    pub fn safe(&self) -> bool {
        // SAFETY: a P's instance outlives it; P::new in unit tests passes
        // null.
        !self.sched.is_null() && unsafe { (*self.sched).safe }
    }

    fn slot(&self, i: u32) -> &AtomicPtr<G> {
        &self.runq[(i % RUNQ_SIZE) as usize]
    }
}

/// runqempty: port of runtime.runqempty (proc.go). Whether `pp` has no G in
/// `runq` or `runnext`, without false "empty" answers while the owner moves
/// `runnext` into `runq` concurrently.
pub fn runqempty(pp: &P) -> bool {
    loop {
        let head = pp.runqhead.load(Ordering::Acquire);
        let tail = pp.runqtail.load(Ordering::Acquire);
        let runnext = pp.runnext.load(Ordering::Acquire);
        if tail == pp.runqtail.load(Ordering::Acquire) {
            return head == tail && runnext.is_null();
        }
    }
}

/// runqput: port of runtime.runqput (proc.go). Puts `gp` on the local queue:
/// in `runnext` if `next` (kicking the old `runnext` to the tail), else at
/// the tail; overflows half the queue to the global queue when full.
///
/// # Safety
/// Only the owner of `pp` may call it; `gp` must be a `_Grunnable` G owned
/// by the caller.
pub unsafe fn runqput(pp: &P, gp: *mut G, next: bool) {
    let mut gp = gp;
    if next {
        let old = pp.runnext.swap(gp, Ordering::AcqRel);
        if old.is_null() {
            return;
        }
        gp = old;
    }
    // SAFETY: owner of pp; gp is ours.
    if pp.safe() && unsafe { pinned(gp) } {
        // A pinned G never enters the ring, which others steal from.
        // SAFETY: as above.
        unsafe { pp.local().pinq.push_back(gp) };
        return;
    }
    loop {
        let h = pp.runqhead.load(Ordering::Acquire);
        let t = pp.runqtail.load(Ordering::Relaxed);
        if t.wrapping_sub(h) < RUNQ_SIZE {
            pp.slot(t).store(gp, Ordering::Relaxed);
            pp.runqtail.store(t.wrapping_add(1), Ordering::Release);
            return;
        }
        // SAFETY: owner-only, as our caller guarantees.
        if unsafe { runqputslow(pp, gp, h, t) } {
            return;
        }
        // The queue is no longer full: the put above will succeed.
    }
}

/// runqputslow: port of runtime.runqputslow (proc.go). Moves half of the
/// full local queue, plus `gp`, to the global queue.
///
/// # Safety
/// Owner of `pp` only.
unsafe fn runqputslow(pp: &P, gp: *mut G, h: u32, t: u32) -> bool {
    const HALF: usize = (RUNQ_SIZE / 2) as usize;
    let mut batch = [null_mut::<G>(); HALF + 1];
    let n = t.wrapping_sub(h) / 2;
    if n != RUNQ_SIZE / 2 {
        throw("runqputslow: queue is not full");
    }
    for i in 0..n {
        batch[i as usize] = pp.slot(h.wrapping_add(i)).load(Ordering::Relaxed);
    }
    if pp
        .runqhead
        .compare_exchange(h, h.wrapping_add(n), Ordering::Release, Ordering::Relaxed)
        .is_err()
    {
        return false;
    }
    batch[n as usize] = gp;
    let mut q = GQueue::default();
    for &g in &batch[..=n as usize] {
        // SAFETY: the CAS above transferred these Gs to us.
        unsafe { q.push_back(g) };
    }
    // SAFETY: a P's sched pointer is valid for the P's life.
    let sched = unsafe { &*pp.sched };
    crate::sched::globrunqputbatch(sched, &mut sched.lock.lock(), q);
    true
}

/// runqputbatch: port of runtime.runqputbatch (proc.go). Moves Gs from `q`
/// to the local queue while it has room; what does not fit stays in `q`.
///
/// # Safety
/// Owner of `pp` only; the Gs on `q` are owned by the caller.
pub unsafe fn runqputbatch(pp: &P, q: &mut GQueue) {
    let h = pp.runqhead.load(Ordering::Acquire);
    let mut t = pp.runqtail.load(Ordering::Relaxed);
    while !q.empty() && t.wrapping_sub(h) < RUNQ_SIZE {
        pp.slot(t).store(q.pop(), Ordering::Relaxed);
        t = t.wrapping_add(1);
    }
    pp.runqtail.store(t, Ordering::Release);
}

/// runqget: port of runtime.runqget (proc.go). Takes `runnext` if set (the
/// G then inherits the time slice), else the head of the ring.
///
/// # Safety
/// Owner of `pp` only.
pub unsafe fn runqget(pp: &P) -> (*mut G, bool) {
    let next = pp.runnext.load(Ordering::Acquire);
    // Only the owner sets runnext non-null, so a failed CAS means a thief
    // took it; no retry is needed.
    if !next.is_null()
        && pp
            .runnext
            .compare_exchange(next, null_mut(), Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    {
        return (next, true);
    }
    if pp.safe() {
        // SAFETY: owner of pp.
        return unsafe { runqget_safe(pp) };
    }
    runqget_ring(pp)
}

/// The ring half of [`runqget`].
fn runqget_ring(pp: &P) -> (*mut G, bool) {
    loop {
        let h = pp.runqhead.load(Ordering::Acquire);
        let t = pp.runqtail.load(Ordering::Relaxed);
        if t == h {
            return (null_mut(), false);
        }
        let gp = pp.slot(h).load(Ordering::Relaxed);
        if pp
            .runqhead
            .compare_exchange(h, h.wrapping_add(1), Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            return (gp, false);
        }
    }
}

/// Whether `gp` is pinned to its M (safe mode): it has started, and it is
/// not handled by Go's own `lockedm` hand-off instead.
///
/// # Safety
/// `gp` must be a live G owned by the caller (on a queue the caller owns,
/// or just taken off one).
#[inline]
pub unsafe fn pinned(gp: *mut G) -> bool {
    // SAFETY: per the contract.
    unsafe {
        !(*gp).homem.load(Ordering::Relaxed).is_null()
            && (*gp).lockedm.load(Ordering::Relaxed).is_null()
    }
}

/// The safe mode's half of [`runqget`] after `runnext`: the ring, then
/// the pinned queue (with the inbox of remote wake-ups appended), except
/// on every 61st scheduler tick, when the pinned queue goes first. A
/// pinned G queued here is one that Go would have put on the global
/// queue (`Gosched`, preemption) or at the ring's tail behind the local
/// work (a G kicked out of `runnext`), so it takes the place and the
/// fairness rule of the global queue in `findRunnable`.
///
/// # Safety
/// Owner of `pp` only.
unsafe fn runqget_safe(pp: &P) -> (*mut G, bool) {
    // SAFETY: owner of pp.
    let local = unsafe { pp.local() };
    if !pp.inbox.load(Ordering::Relaxed).is_null() {
        // SAFETY: owner of pp; the taken Gs are ours.
        unsafe { inbox_take(pp, &mut local.pinq) };
    }
    let ring_first = !pp.schedtick.load(Ordering::Relaxed).is_multiple_of(61);
    if ring_first {
        let (gp, _) = runqget_ring(pp);
        if !gp.is_null() {
            return (gp, false);
        }
    }
    let gp = local.pinq.pop();
    if !gp.is_null() {
        return (gp, false);
    }
    if !ring_first {
        return runqget_ring(pp);
    }
    (null_mut(), false)
}

/// Appends every G of `pp`'s inbox to `q`, oldest first. The inbox is a
/// stack that many push to and only the owner empties, by swapping the
/// head for null, so no pop can meet a recycled node (no ABA).
///
/// # Safety
/// Owner of `pp` only (or with the world stopped).
pub unsafe fn inbox_take(pp: &P, q: &mut GQueue) {
    let mut head = pp.inbox.swap(null_mut(), Ordering::Acquire);
    // Newest first on the stack: reverse into a local list.
    let mut rev: *mut G = null_mut();
    while !head.is_null() {
        // SAFETY: the swap made every G on the stack ours.
        unsafe {
            let next = (*head).schedlink;
            (*head).schedlink = rev;
            rev = head;
            head = next;
        }
    }
    while !rev.is_null() {
        // SAFETY: as above.
        unsafe {
            let next = (*rev).schedlink;
            q.push_back(rev);
            rev = next;
        }
    }
}

/// Pushes `gp` on `pp`'s inbox (any thread). The caller then makes sure
/// `pp`'s M will look (see `ready_remote`).
///
/// # Safety
/// `gp` is runnable, pinned to `pp`'s M, and owned by the caller.
pub unsafe fn inbox_push(pp: &P, gp: *mut G) {
    let mut head = pp.inbox.load(Ordering::Relaxed);
    loop {
        // SAFETY: gp is ours until the CAS publishes it.
        unsafe { (*gp).schedlink = head };
        match pp
            .inbox
            .compare_exchange_weak(head, gp, Ordering::SeqCst, Ordering::Relaxed)
        {
            Ok(_) => return,
            Err(h) => head = h,
        }
    }
}

/// Takes `gp` off `pp`'s local queues (runnext, the pinned queue, the
/// inbox) if it is there, leaving the others in order.
///
/// # Safety
/// Owner of `pp` only.
pub unsafe fn take_pinned(pp: &P, gp: *mut G) -> bool {
    if pp.runnext.load(Ordering::Acquire) == gp
        && pp
            .runnext
            .compare_exchange(gp, null_mut(), Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    {
        return true;
    }
    // SAFETY: owner of pp.
    let local = unsafe { pp.local() };
    // SAFETY: as above.
    unsafe { inbox_take(pp, &mut local.pinq) };
    let mut rest = GQueue::default();
    let mut found = false;
    loop {
        let g = local.pinq.pop();
        if g.is_null() {
            break;
        }
        if g == gp {
            found = true;
        } else {
            // SAFETY: g came off our queue.
            unsafe { rest.push_back(g) };
        }
    }
    local.pinq = rest;
    found
}

/// Whether `pp` has pinned work: its pinned queue or its inbox is not
/// empty (the safe mode's addition to "has local work").
///
/// # Safety
/// Owner of `pp`, or with the world stopped (the pinned queue is
/// owner-only; the inbox is atomic).
pub unsafe fn pinned_work(pp: &P) -> bool {
    // SAFETY: per the contract.
    !pp.inbox.load(Ordering::SeqCst).is_null() || unsafe { !pp.local().pinq.empty() }
}

/// runqgrab: port of runtime.runqgrab (proc.go). Copies half of `pp`'s
/// queue into `batch` (a ring starting at `batch_head`) and returns how many
/// Gs it took; with `steal_runnext`, takes `runnext` when the ring is empty.
/// Any P may call it.
pub fn runqgrab(
    pp: &P,
    batch: &[AtomicPtr<G>; RUNQ_SIZE as usize],
    batch_head: u32,
    steal_runnext: bool,
) -> u32 {
    loop {
        let h = pp.runqhead.load(Ordering::Acquire);
        let t = pp.runqtail.load(Ordering::Acquire);
        let mut n = t.wrapping_sub(h);
        n -= n / 2;
        if n == 0 {
            if steal_runnext {
                let next = pp.runnext.load(Ordering::Acquire);
                // Safe mode: a G that has started is pinned to the owner's
                // M: never steal it (its homem is atomic: a peek is sound).
                // SAFETY: an instance's Gs live until its teardown, after its last M left.
                let started = pp.safe()
                    && !next.is_null()
                    && unsafe { !(*next).homem.load(Ordering::Relaxed).is_null() };
                if !next.is_null() && !started {
                    if pp.status.load(Ordering::Acquire) == _Prunning {
                        let mp = pp.m.load(Ordering::Acquire);
                        // SAFETY: Ms are never deallocated, and Gs live
                        // until their instance's teardown; curg is read
                        // racily, as in Go, only to choose whether to wait.
                        let in_syscall = !mp.is_null()
                            && unsafe {
                                let gp = (*mp).curg.load(Ordering::Relaxed);
                                !gp.is_null()
                                    && runtime_g::readgstatus(gp) == runtime_g::status::_Gsyscall
                            };
                        if !mp.is_null() && !in_syscall {
                            // The owner probably just readied this G and is
                            // about to run it: give it ~3 µs instead of
                            // bouncing the G between threads (Go's runqgrab).
                            runtime_m::os().usleep(3);
                        }
                    }
                    if pp
                        .runnext
                        .compare_exchange(next, null_mut(), Ordering::AcqRel, Ordering::Relaxed)
                        .is_err()
                    {
                        continue;
                    }
                    // SAFETY: the CAS made next ours.
                    if pp.safe() && unsafe { pinned(next) } {
                        // It started (and came back to runnext) between the
                        // peek and the CAS: send it home.
                        // SAFETY: next is runnable, pinned, and ours.
                        unsafe { crate::proc::ready_remote(next) };
                        return 0;
                    }
                    batch[(batch_head % RUNQ_SIZE) as usize].store(next, Ordering::Relaxed);
                    return 1;
                }
            }
            return 0;
        }
        if n > RUNQ_SIZE / 2 {
            continue; // inconsistent h and t
        }
        for i in 0..n {
            let g = pp.slot(h.wrapping_add(i)).load(Ordering::Relaxed);
            batch[(batch_head.wrapping_add(i) % RUNQ_SIZE) as usize].store(g, Ordering::Relaxed);
        }
        if pp
            .runqhead
            .compare_exchange(h, h.wrapping_add(n), Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            return n;
        }
    }
}

/// runqsteal: port of runtime.runqsteal (proc.go). Steals half of `p2`'s
/// queue into `pp`'s and returns one of the stolen Gs (or null).
///
/// # Safety
/// Only the owner of `pp` may call it.
pub unsafe fn runqsteal(pp: &P, p2: &P, steal_runnext: bool) -> *mut G {
    let t = pp.runqtail.load(Ordering::Relaxed);
    let mut n = runqgrab(p2, &pp.runq, t, steal_runnext);
    if n == 0 {
        return null_mut();
    }
    PStats::bump(&pp.stats.steals);
    n -= 1;
    let gp = pp.slot(t.wrapping_add(n)).load(Ordering::Relaxed);
    if n == 0 {
        return gp;
    }
    let h = pp.runqhead.load(Ordering::Acquire);
    if t.wrapping_sub(h).wrapping_add(n) >= RUNQ_SIZE {
        throw("runqsteal: runq overflow");
    }
    pp.runqtail.store(t.wrapping_add(n), Ordering::Release);
    gp
}
