//! The network poller, runtime half: port of `netpoll.go` (`pollDesc`,
//! `poll_runtime_pollOpen`/`Close`/`Reset`/`Wait`/`SetDeadline`/`Unblock`,
//! `netpollblock`, `netpollunblock`, `netpollready`, the deadline timers,
//! `netpollGenericInit`) and of `injectglist` (proc.go).
//!
//! The platform half is runtime-m's [`Netpoller`] (epoll on Linux, in
//! os-linux). An OS layer without one (Plan 9, as Go's `netpoll_stub.go`)
//! leaves the instance with the stub: network I/O then blocks in system
//! calls inside `entersyscall`, and the "poll" an idle M blocks in is a
//! sleep on a note until the next timer (`time::poll_sleep`).
//!
//! ## The `rg`/`wg` protocol
//! Each direction of a descriptor has a word that is `PD_NIL`, `PD_READY`
//! (an I/O notification not yet consumed), `PD_WAIT` (a goroutine is about
//! to park) or the parked G. A reader CASes `PD_NIL → PD_WAIT`, parks, and
//! its park commit (on g0, after the G is `_Gwaiting`) CASes `PD_WAIT → G`;
//! the poller, a deadline or a close swaps the word and readies any G it
//! finds. A notification that arrives between the two CASes leaves
//! `PD_READY`, which the commit's failed CAS sees: the park is cancelled
//! and no wake-up is lost.
//!
//! ## Lifetime
//! A closed `PollDesc` goes to the instance's cache and is reused (the
//! cache is freed with the instance, which each open one keeps alive), and its `fdseq` changes, so that a stale epoll event (its
//! cookie carries the `fdseq` it was registered with) or a stale deadline
//! timer (they carry `rseq`/`wseq`) is recognised and dropped, as in Go.

use core::cell::UnsafeCell;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use runtime_g::status::{_Grunnable, _Gwaiting};
use runtime_g::throw::print;
use runtime_g::{G, WaitReason, casgstatus, throw};
use runtime_m::os::Netpoller;
use runtime_m::{RawMutex, getm, os};

use crate::gqueue::GQueue;
use crate::mp::{pidleget_spinning, startm, wakep};
use crate::p::{P, runqput};
use crate::sched::{Sched, globrunqputbatch, sched};
use crate::time::{Timer, TimerFn};

/// `rg`/`wg` states (`pdNil`, `pdReady`, `pdWait`); any other value is a
/// parked `*mut G`.
pub const PD_NIL: usize = 0;
pub const PD_READY: usize = 1;
pub const PD_WAIT: usize = 2;

/// Results of the poll functions (`pollNoError`, `pollErrClosing`,
/// `pollErrTimeout`, `pollErrNotPollable`).
pub const POLL_NO_ERROR: i32 = 0;
pub const POLL_ERR_CLOSING: i32 = 1;
pub const POLL_ERR_TIMEOUT: i32 = 2;
pub const POLL_ERR_NOT_POLLABLE: i32 = 3;

/// `pollInfo` bits, published for lock-free checks.
const INFO_CLOSING: u32 = 1;
const INFO_EVENT_ERR: u32 = 2;
const INFO_EXPIRED_READ: u32 = 4;
const INFO_EXPIRED_WRITE: u32 = 8;

/// Bits of an epoll cookie that carry the `fdseq` tag (Go's
/// `taggedPointer`): the top 16; the pointer is in the low 48.
const TAG_SHIFT: u32 = 48;
const TAG_MASK: usize = 0xffff;

/// An instance's poller state (`netpollInited`, `netpollWaiters`, the
/// `pollcache`).
pub struct NetpollState {
    /// `None` inside: the OS has no poller (the stub).
    poller: OnceLock<Option<Box<dyn Netpoller>>>,
    inited: AtomicBool,
    /// Goroutines parked on a descriptor (`netpollWaiters`).
    pub waiters: AtomicU32,
    /// Free `PollDesc`s (`pollcache`).
    cache: runtime_m::Mutex<Vec<usize>>,
}

impl Drop for NetpollState {
    fn drop(&mut self) {
        // The instance is being freed: every descriptor was closed (an open
        // one holds a reference to the instance), so all are in the cache.
        for a in self.cache.lock().drain(..) {
            // SAFETY: cached PollDescs are Boxes leaked by poll_open, unused.
            drop(unsafe { Box::from_raw(a as *mut PollDesc) });
        }
    }
}

impl Default for NetpollState {
    fn default() -> Self {
        NetpollState {
            poller: OnceLock::new(),
            inited: AtomicBool::new(false),
            waiters: AtomicU32::new(0),
            cache: runtime_m::Mutex::new(Vec::new()),
        }
    }
}

/// Fields guarded by `PollDesc::lock`.
struct PdLocked {
    closing: bool,
    /// Whether the read (write) deadline timer is running (`rrun`, `wrun`).
    rrun: bool,
    wrun: bool,
    /// Sequence numbers that invalidate stale deadline timers.
    rseq: usize,
    wseq: usize,
    rt: Option<Arc<Timer>>,
    wt: Option<Arc<Timer>>,
    /// Deadlines: 0 none, > 0 a nanotime, < 0 expired (`rd`, `wd`).
    rd: i64,
    wd: i64,
    /// An epoll error was reported (`eventErr`).
    event_err: bool,
}

/// A descriptor registered with the poller: port of `pollDesc`.
pub struct PollDesc {
    /// The descriptor (constant while open).
    fd: AtomicI32,
    /// Changes at every reuse, so that stale events are dropped (`fdseq`).
    fdseq: AtomicUsize,
    /// The published `pollInfo`.
    info: AtomicU32,
    pub rg: AtomicUsize,
    pub wg: AtomicUsize,
    lock: RawMutex,
    locked: UnsafeCell<PdLocked>,
    /// The instance whose poller it is registered with.
    sched: *const Sched,
}

// SAFETY: `locked` is guarded by `lock`; the rest is atomic or immutable.
unsafe impl Sync for PollDesc {}
// SAFETY: as above.
unsafe impl Send for PollDesc {}

impl PollDesc {
    fn new(s: &Sched) -> PollDesc {
        PollDesc {
            fd: AtomicI32::new(-1),
            fdseq: AtomicUsize::new(0),
            info: AtomicU32::new(0),
            rg: AtomicUsize::new(PD_NIL),
            wg: AtomicUsize::new(PD_NIL),
            lock: RawMutex::new(),
            locked: UnsafeCell::new(PdLocked {
                closing: false,
                rrun: false,
                wrun: false,
                rseq: 0,
                wseq: 0,
                rt: None,
                wt: None,
                rd: 0,
                wd: 0,
                event_err: false,
            }),
            sched: s,
        }
    }

    /// # Safety
    /// `lock` is held, and no other reference into `locked` is alive.
    #[allow(clippy::mut_from_ref)]
    unsafe fn locked(&self) -> &mut PdLocked {
        // SAFETY: the caller's contract.
        unsafe { &mut *self.locked.get() }
    }

    /// The descriptor.
    pub fn fd(&self) -> i32 {
        self.fd.load(Ordering::Relaxed)
    }

    /// publishInfo: recomputes the lock-free summary. Lock held.
    ///
    /// # Safety
    /// `lock` is held.
    unsafe fn publish_info(&self) {
        // SAFETY: the caller holds the lock.
        let l = unsafe { self.locked() };
        let mut info = 0;
        if l.closing {
            info |= INFO_CLOSING;
        }
        if l.event_err {
            info |= INFO_EVENT_ERR;
        }
        if l.rd < 0 {
            info |= INFO_EXPIRED_READ;
        }
        if l.wd < 0 {
            info |= INFO_EXPIRED_WRITE;
        }
        self.info.store(info, Ordering::SeqCst);
        // The store-buffering pair with netpollblock: every caller goes on
        // to look at rg/wg (netpollunblock), as the waiter announces itself
        // in rg/wg and then looks at info. A SeqCst fence on each side
        // between the store and the load (Go's atomics are sequentially
        // consistent) means at least one sees the other: the waiter sees
        // the close or deadline, or the closer finds the waiter. loom model:
        // tests/loom_netpoll.rs.
        core::sync::atomic::fence(Ordering::SeqCst);
    }

    fn gpp(&self, mode: u8) -> &AtomicUsize {
        if mode == b'w' { &self.wg } else { &self.rg }
    }
}

/// The instance's poller, initialising it on first use
/// (`netpollGenericInit`); `None` for the stub.
fn poller_init(s: &Sched) -> Option<&dyn Netpoller> {
    let p = s.netpoll.poller.get_or_init(|| match os().netpoll_new() {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            print(&format!("{e}\n"));
            throw("runtime: netpollinit failed")
        }
    });
    if !s.netpoll.inited.swap(true, Ordering::AcqRel) && p.is_some() {
        // An M may have found no poller a moment ago and be sleeping in
        // the stub until the next timer (an hour away, say): it must come
        // back and wait in the real poller, or the I/O of the descriptors
        // registered now is never seen. The note's wake-up is kept if it
        // has not gone to sleep yet.
        runtime_m::notewakeup_idempotent(&s.pollnote);
    }
    p.as_deref()
}

/// The instance's poller if one was started (`netpollinited()` and not the
/// stub).
pub fn poller(s: &Sched) -> Option<&dyn Netpoller> {
    if !s.netpoll.inited.load(Ordering::Acquire) {
        return None;
    }
    s.netpoll.poller.get().and_then(|p| p.as_deref())
}

/// Releases the poller's OS resources once the instance's last M has
/// exited during shutdown (see `mp::m_exited`).
pub(crate) fn shutdown(s: &Sched) {
    if let Some(p) = poller(s) {
        p.shutdown();
    }
}

/// Whether this instance has a real poller (so descriptors should be
/// non-blocking and polled) — false on an OS layer without one, which is
/// how `gort::net` chooses blocking system calls on Plan 9.
pub fn has_poller(s: &Sched) -> bool {
    poller_init(s).is_some()
}

/// netpollAnyWaiters.
pub fn any_waiters(s: &Sched) -> bool {
    s.netpoll.waiters.load(Ordering::Acquire) > 0
}

fn adjust_waiters(s: &Sched, delta: i32) {
    if delta != 0 {
        s.netpoll.waiters.fetch_add(delta as u32, Ordering::AcqRel);
    }
}

/// poll_runtime_pollOpen: registers `fd` (which must be non-blocking) with
/// the calling goroutine's instance. Returns the descriptor or an errno.
pub fn poll_open(fd: i32) -> Result<&'static PollDesc, i32> {
    let (_, _rt) = crate::proc::runtime_entry("netpoll open");
    let s = sched();
    let Some(p) = poller_init(s) else {
        throw("poll_open: no network poller on this OS layer");
    };
    let pd: &'static PollDesc = {
        let mut c = s.netpoll.cache.lock();
        match c.pop() {
            // SAFETY: cached descriptors are PollDescs of this instance,
            // unused, freed only with it.
            Some(a) => unsafe { &*(a as *const PollDesc) },
            None => Box::leak(Box::new(PollDesc::new(s))),
        }
    };
    pd.lock.lock();
    // SAFETY: lock held.
    unsafe {
        let l = pd.locked();
        let wg = pd.wg.load(Ordering::Acquire);
        if wg != PD_NIL && wg != PD_READY {
            throw("runtime: blocked write on free polldesc");
        }
        let rg = pd.rg.load(Ordering::Acquire);
        if rg != PD_NIL && rg != PD_READY {
            throw("runtime: blocked read on free polldesc");
        }
        pd.fd.store(fd, Ordering::Relaxed);
        let seq = (pd.fdseq.load(Ordering::Relaxed) + 1) & TAG_MASK;
        pd.fdseq.store(seq, Ordering::Release);
        l.closing = false;
        l.event_err = false;
        l.rseq = l.rseq.wrapping_add(1);
        pd.rg.store(PD_NIL, Ordering::Release);
        l.rd = 0;
        l.wseq = l.wseq.wrapping_add(1);
        pd.wg.store(PD_NIL, Ordering::Release);
        l.wd = 0;
        pd.publish_info();
    }
    pd.lock.unlock();
    let cookie = (pd as *const PollDesc as usize) | (pd.fdseq.load(Ordering::Relaxed) << TAG_SHIFT);
    let errno = p.open(fd, cookie as u64);
    if errno != 0 {
        s.netpoll.cache.lock().push(pd as *const PollDesc as usize);
        return Err(errno);
    }
    // An open descriptor keeps its instance's struct (and itself, in its
    // cache) alive until poll_close, which may come after the runtime
    // ended (a NetFd a user kept).
    s.retain();
    Ok(pd)
}

/// poll_runtime_pollClose: unregisters a descriptor that was unblocked
/// ([`poll_unblock`]) and returns it to the cache. The caller closes the
/// fd afterwards.
pub fn poll_close(pd: &'static PollDesc) {
    let _rt = crate::proc::enter_if_user();
    // SAFETY: `closing` is read under the descriptor's lock.
    let closing = unsafe {
        pd.lock.lock();
        let c = pd.locked().closing;
        pd.lock.unlock();
        c
    };
    if !closing {
        throw("runtime: close polldesc w/o unblock");
    }
    let wg = pd.wg.load(Ordering::Acquire);
    if wg != PD_NIL && wg != PD_READY {
        throw("runtime: blocked write on closing polldesc");
    }
    let rg = pd.rg.load(Ordering::Acquire);
    if rg != PD_NIL && rg != PD_READY {
        throw("runtime: blocked read on closing polldesc");
    }
    // SAFETY: an open PollDesc holds a reference to its instance.
    let s = unsafe { &*pd.sched };
    if let Some(p) = poller(s) {
        // After the runtime's end the poller is shut down: this is then a
        // no-op.
        p.close(pd.fd());
    }
    // A new fdseq makes any event still in flight stale.
    pd.fdseq.store(
        (pd.fdseq.load(Ordering::Relaxed) + 1) & TAG_MASK,
        Ordering::Release,
    );
    s.netpoll.cache.lock().push(pd as *const PollDesc as usize);
    // The last touch of the PollDesc and of its instance.
    // SAFETY: poll_open took this reference for the descriptor.
    unsafe { Sched::release(s) };
}

/// netpollcheckerr.
fn checkerr(pd: &PollDesc, mode: u8) -> i32 {
    let info = pd.info.load(Ordering::Acquire);
    if info & INFO_CLOSING != 0 {
        return POLL_ERR_CLOSING;
    }
    if (mode == b'r' && info & INFO_EXPIRED_READ != 0)
        || (mode == b'w' && info & INFO_EXPIRED_WRITE != 0)
    {
        return POLL_ERR_TIMEOUT;
    }
    // Only a read reports an event error: a write may still succeed.
    if mode == b'r' && info & INFO_EVENT_ERR != 0 {
        return POLL_ERR_NOT_POLLABLE;
    }
    POLL_NO_ERROR
}

/// poll_runtime_pollReset: prepares to wait for `mode` (`'r'` or `'w'`)
/// after an operation returned EAGAIN.
pub fn poll_reset(pd: &PollDesc, mode: u8) -> i32 {
    let _rt = crate::proc::enter_if_user();
    let e = checkerr(pd, mode);
    if e != POLL_NO_ERROR {
        return e;
    }
    pd.gpp(mode).store(PD_NIL, Ordering::Release);
    POLL_NO_ERROR
}

/// poll_runtime_pollWait: parks the calling goroutine until `pd` is ready
/// for `mode`, its deadline passes or it is closed.
pub fn poll_wait(pd: &PollDesc, mode: u8) -> i32 {
    let _rt = crate::proc::enter_if_user();
    if !core::ptr::eq(pd.sched, sched()) {
        // The poller that would wake us belongs to another instance, whose
        // Ms would run us: as with channels, a runtime error.
        print(
            "gort: a socket of one runtime instance was used by a goroutine of another; \
             sockets must not be shared between runtime instances\n",
        );
        throw("netpoll: descriptor of another runtime instance");
    }
    let mut e = checkerr(pd, mode);
    if e != POLL_NO_ERROR {
        return e;
    }
    while !netpollblock(pd, mode, false) {
        e = checkerr(pd, mode);
        if e != POLL_NO_ERROR {
            return e;
        }
        // A deadline fired and woke us, then was reset before we ran:
        // pretend it did not happen and wait again (as Go does).
    }
    POLL_NO_ERROR
}

/// netpollblockcommit: the park's commit, on g0 after the G is waiting.
unsafe fn netpollblockcommit(gp: *mut G, gpp: *mut ()) -> bool {
    // SAFETY: gpp is the rg/wg word of a live PollDesc (netpollblock's).
    let gpp = unsafe { &*(gpp as *const AtomicUsize) };
    let r = gpp
        .compare_exchange(PD_WAIT, gp as usize, Ordering::AcqRel, Ordering::Acquire)
        .is_ok();
    if r {
        // Counted before the G can be woken: a poller that finds it adjusts
        // the count down afterwards.
        adjust_waiters(sched(), 1);
    }
    r
}

/// netpollblock: waits for `mode`; true if I/O is ready, false on a
/// timeout or close (the caller checks which).
fn netpollblock(pd: &PollDesc, mode: u8, waitio: bool) -> bool {
    let gpp = pd.gpp(mode);
    let gp = runtime_g::getg();
    // The runtime is ending (kill.rs): the goroutine ends here.
    // SAFETY: on a goroutine (poll_wait's callers are).
    if unsafe { crate::kill::kill_point(gp) } {
        crate::kill::goexit();
    }
    loop {
        // A notification already there is consumed.
        if gpp
            .compare_exchange(PD_READY, PD_NIL, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return true;
        }
        if gpp
            .compare_exchange(PD_NIL, PD_WAIT, Ordering::SeqCst, Ordering::Acquire)
            .is_ok()
        {
            // The other half of publish_info's pair: the announcement
            // before the look at info (checkerr below).
            core::sync::atomic::fence(Ordering::SeqCst);
            break;
        }
        let v = gpp.load(Ordering::Acquire);
        if v != PD_READY && v != PD_NIL {
            throw("runtime: double wait");
        }
    }
    // Re-check the error states after announcing the wait: unblock,
    // deadline and close store those first and look at rg/wg second.
    if waitio || checkerr(pd, mode) == POLL_NO_ERROR {
        // SAFETY: on a goroutine; the waker learns of us only through the
        // commit's CAS.
        unsafe {
            crate::kill::set_cancel(
                gp,
                cancel_netpollblock,
                gpp as *const AtomicUsize as *mut (),
            );
            crate::proc::gopark(
                Some(netpollblockcommit),
                gpp as *const AtomicUsize as *mut (),
                WaitReason::IoWait,
            );
            if crate::kill::park_killed(gp) {
                gpp.swap(PD_NIL, Ordering::AcqRel);
                crate::kill::goexit();
            }
        };
    }
    let old = gpp.swap(PD_NIL, Ordering::AcqRel);
    if old > PD_WAIT {
        throw("runtime: corrupted polldesc");
    }
    old == PD_READY
}

/// The shutdown's cancel function for a goroutine parked in
/// [`netpollblock`] on the semaphore word `arg` (kill.rs): takes the word
/// back from the goroutine as `netpollunblock` would, unless a poller,
/// deadline or close took it first.
///
/// # Safety
/// With the world stopped, for a G parked in `netpollblock` on `arg`
/// (its frame keeps the pollDesc alive).
unsafe fn cancel_netpollblock(gp: *mut G, arg: *mut ()) -> bool {
    // SAFETY: per the contract.
    let gpp = unsafe { &*(arg as *const AtomicUsize) };
    let won = gpp
        .compare_exchange(gp as usize, PD_NIL, Ordering::AcqRel, Ordering::Acquire)
        .is_ok();
    if won {
        adjust_waiters(sched(), -1);
    }
    won
}

/// netpollunblock: takes the G waiting on `mode`, if any; with `ioready`
/// leaves a notification for the next waiter.
fn netpollunblock(pd: &PollDesc, mode: u8, ioready: bool, delta: &mut i32) -> *mut G {
    let gpp = pd.gpp(mode);
    loop {
        let old = gpp.load(Ordering::Acquire);
        if old == PD_READY {
            return null_mut();
        }
        if old == PD_NIL && !ioready {
            // Only I/O leaves PD_READY; a wait checks timeouts and closes
            // itself before parking.
            return null_mut();
        }
        let new = if ioready { PD_READY } else { PD_NIL };
        if gpp
            .compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            if old == PD_WAIT || old == PD_NIL {
                return null_mut();
            }
            *delta -= 1;
            return old as *mut G;
        }
    }
}

/// netpollready: the poller found `pd` ready for `mode`.
fn netpollready(list: &mut Vec<*mut G>, pd: &PollDesc, mode: u8) -> i32 {
    let mut delta = 0;
    if mode == b'r' || mode == b'r'.wrapping_add(b'w') {
        let g = netpollunblock(pd, b'r', true, &mut delta);
        if !g.is_null() {
            list.push(g);
        }
    }
    if mode == b'w' || mode == b'r'.wrapping_add(b'w') {
        let g = netpollunblock(pd, b'w', true, &mut delta);
        if !g.is_null() {
            list.push(g);
        }
    }
    delta
}

/// netpoll: the Gs made runnable by I/O within `delay` ns (`< 0`: block
/// until something happens or a `netpoll_break`). With the stub (no
/// poller), sleeps for the delay and returns nothing. The Gs are still
/// `_Gwaiting`; [`injectglist`] (or the caller) makes them runnable.
pub fn netpoll(s: &Sched, delay: i64) -> (Vec<*mut G>, i32) {
    let Some(p) = poller(s) else {
        if delay != 0 {
            crate::time::poll_sleep(s, delay);
        }
        return (Vec::new(), 0);
    };
    let mut list = Vec::new();
    let mut delta = 0;
    p.poll(delay, &mut |cookie, mode, err| {
        let addr = (cookie as usize) & ((1usize << TAG_SHIFT) - 1);
        let tag = (cookie as usize) >> TAG_SHIFT;
        // SAFETY: cookies are tagged pointers of leaked PollDescs.
        let pd = unsafe { &*(addr as *const PollDesc) };
        if pd.fdseq.load(Ordering::Acquire) != tag {
            return; // a stale event for an earlier use of this PollDesc
        }
        pd.lock.lock();
        // SAFETY: lock held.
        unsafe {
            pd.locked().event_err = err;
            pd.publish_info();
        }
        pd.lock.unlock();
        delta += netpollready(&mut list, pd, mode);
    });
    (list, delta)
}

/// netpollBreak for the instance: wakes the M blocked in [`netpoll`] (or
/// sleeping in the stub).
pub fn netpoll_break(s: &Sched) {
    match poller(s) {
        Some(p) => p.wake(),
        None => runtime_m::notewakeup_idempotent(&s.pollnote),
    }
}

/// What `findRunnable` does with a poll's Gs when it holds a P: the first
/// to run now (made runnable here), the rest injected (`injectglist`). In
/// the safe mode the one to run now must be pinned to this M; the others
/// go to their own Ms.
///
/// # Safety
/// On g0 of an M that holds a P; `list` came from [`netpoll`].
pub unsafe fn take_first(s: &Sched, mut list: Vec<*mut G>, delta: i32) -> Option<*mut G> {
    let gp = if s.safe {
        let mp: *mut () = getm().cast();
        // SAFETY: the poller took each G off its descriptor: they are ours.
        let mine = list.iter().position(|&g| unsafe {
            crate::p::pinned(g) && (*g).homem.load(Ordering::Relaxed) == mp
        });
        mine.map(|i| list.swap_remove(i))
    } else {
        list.pop()
    };
    injectglist(s, list, delta);
    let gp = gp?;
    // SAFETY: the poller took gp off its descriptor: we are its one waker;
    // the caller's M owns its P.
    unsafe {
        casgstatus(gp, _Gwaiting, _Grunnable);
        crate::trace::ev_unpark_here(s, gp);
    }
    Some(gp)
}

/// injectglist: port of runtime.injectglist (proc.go): makes the Gs of a
/// poll runnable. Without a P, all go to the global queue and idle Ps get
/// Ms; with one, as many as there are idle Ps go to the global queue (with
/// Ms started for them) and the rest to the local queue.
pub fn injectglist(s: &Sched, list: Vec<*mut G>, delta: i32) {
    adjust_waiters(s, delta);
    if list.is_empty() {
        return;
    }
    for &gp in &list {
        // SAFETY: the poller took each G off its descriptor: we are its one
        // waker.
        unsafe { casgstatus(gp, _Gwaiting, _Grunnable) };
        // SAFETY: gp is live; on g0 of this M.
        unsafe { crate::trace::ev_unpark_here(s, gp) };
    }
    if s.safe {
        // Safe mode: every G here has run (it parked), so it is pinned to
        // its M (or locked, for Go's hand-off): each goes home.
        let mp = getm();
        let mut q = GQueue::default();
        for gp in list {
            // SAFETY: runnable and ours.
            unsafe {
                if !crate::p::pinned(gp) {
                    q.push_back(gp);
                } else if (*gp).homem.load(Ordering::Relaxed) == mp.cast() && !(*mp).p.is_null() {
                    runqput(&*((*mp).p as *const P), gp, false);
                } else {
                    crate::proc::ready_remote(gp);
                }
            }
        }
        if q.empty() {
            return;
        }
        globrunqputbatch(s, &mut s.lock.lock(), q);
        wakep();
        return;
    }
    let start_idle = |n: usize| {
        for _ in 0..n {
            let pp = {
                let mut l = s.lock.lock();
                pidleget_spinning(s, &mut l)
            };
            if pp.is_null() {
                break;
            }
            startm(pp, false);
        }
    };
    let mp = getm();
    // SAFETY: mp is this thread's M.
    let pp = unsafe { (*mp).p } as *const P;
    if pp.is_null() {
        let n = list.len();
        let mut q = GQueue::default();
        for gp in list {
            // SAFETY: runnable and ours.
            unsafe { q.push_back(gp) };
        }
        globrunqputbatch(s, &mut s.lock.lock(), q);
        start_idle(n);
        return;
    }
    let npidle = s.npidle.load(Ordering::Acquire).max(0) as usize;
    let mut it = list.into_iter();
    let mut q = GQueue::default();
    let mut n = 0;
    while n < npidle {
        let Some(gp) = it.next() else { break };
        // SAFETY: runnable and ours.
        unsafe { q.push_back(gp) };
        n += 1;
    }
    if n > 0 {
        globrunqputbatch(s, &mut s.lock.lock(), q);
        start_idle(n);
    }
    for gp in it {
        // SAFETY: on g0 of the M that owns pp; gp is runnable and ours.
        unsafe { runqput(&*pp, gp, false) };
    }
    wakep();
}

/// poll_runtime_pollSetDeadline: `d` is relative (ns): `> 0` from now,
/// `< 0` already expired, `0` none; `mode` is `'r'`, `'w'` or `'r' + 'w'`.
pub fn poll_set_deadline(pd: &'static PollDesc, d: i64, mode: u8) {
    let _rt = crate::proc::enter_if_user();
    pd.lock.lock();
    // SAFETY: lock held; the reference ends before every unlock.
    let l = unsafe { pd.locked() };
    if l.closing {
        pd.lock.unlock();
        return;
    }
    let (rd0, wd0) = (l.rd, l.wd);
    let combo0 = rd0 > 0 && rd0 == wd0;
    let mut d = d;
    if d > 0 {
        d = d.saturating_add(crate::time::nanotime());
        if d <= 0 {
            d = i64::MAX;
        }
    }
    let rw = b'r'.wrapping_add(b'w');
    if mode == b'r' || mode == rw {
        l.rd = d;
    }
    if mode == b'w' || mode == rw {
        l.wd = d;
    }
    // SAFETY: lock held.
    unsafe { pd.publish_info() };
    let combo = l.rd > 0 && l.rd == l.wd;
    let arg = pd as *const PollDesc as usize;
    // The read timer also serves the write deadline when both are equal
    // (Go's `netpollDeadline`, "combo").
    let rf = |seq| TimerFn::Netpoll {
        pd: arg,
        seq,
        read: true,
        write: combo,
    };
    let wf = |seq| TimerFn::Netpoll {
        pd: arg,
        seq,
        read: false,
        write: true,
    };
    let (rd, wd) = (l.rd, l.wd);
    rearm(
        &mut l.rt,
        &mut l.rrun,
        &mut l.rseq,
        rd,
        rd != rd0 || combo != combo0,
        rf,
    );
    let wd_armed = if combo { 0 } else { wd };
    rearm(
        &mut l.wt,
        &mut l.wrun,
        &mut l.wseq,
        wd_armed,
        wd != wd0 || combo != combo0,
        wf,
    );
    // A deadline in the past unblocks pending I/O now.
    let mut delta = 0;
    let rg = if l.rd < 0 {
        netpollunblock(pd, b'r', false, &mut delta)
    } else {
        null_mut()
    };
    let wg = if l.wd < 0 {
        netpollunblock(pd, b'w', false, &mut delta)
    } else {
        null_mut()
    };
    pd.lock.unlock();
    // SAFETY: a deadline fires from a heap of the running instance.
    let s = unsafe { &*pd.sched };
    for g in [rg, wg] {
        if !g.is_null() {
            // SAFETY: netpollunblock took g off the descriptor: we are its
            // one waker.
            unsafe { crate::proc::goready(g) };
        }
    }
    adjust_waiters(s, delta);
}

/// One direction of `poll_runtime_pollSetDeadline`'s timer logic: start
/// the timer for deadline `when` (`> 0`) if it is not running; if it is and
/// the deadline `changed`, invalidate the pending expiry (`seq`) and move or
/// stop it.
fn rearm(
    t: &mut Option<Arc<Timer>>,
    run: &mut bool,
    seq: &mut usize,
    when: i64,
    changed: bool,
    f: impl Fn(usize) -> TimerFn,
) {
    if !*run {
        if when > 0 {
            t.get_or_insert_with(|| Timer::new(TimerFn::None, false))
                .modify(when, 0, Some(f(*seq)));
            *run = true;
        }
    } else if changed {
        *seq = seq.wrapping_add(1);
        match t {
            Some(t) if when > 0 => {
                t.modify(when, 0, Some(f(*seq)));
            }
            Some(t) => {
                t.stop();
                *run = false;
            }
            None => *run = false,
        }
    }
}

/// netpolldeadlineimpl: a deadline timer fired (on g0 of an M with a P).
pub(crate) fn deadline_fired(pd: usize, seq: usize, read: bool, write: bool) {
    // SAFETY: timers carry pointers of leaked PollDescs.
    let pd = unsafe { &*(pd as *const PollDesc) };
    pd.lock.lock();
    // SAFETY: lock held; the reference ends before the unlock.
    let l = unsafe { pd.locked() };
    let cur = if read { l.rseq } else { l.wseq };
    if seq != cur {
        // Set before a reset or close: stale.
        pd.lock.unlock();
        return;
    }
    let mut delta = 0;
    let mut rg = null_mut();
    let mut wg = null_mut();
    if read {
        if l.rd <= 0 || !l.rrun {
            throw("runtime: inconsistent read deadline");
        }
        l.rd = -1;
        // SAFETY: lock held.
        unsafe { pd.publish_info() };
        rg = netpollunblock(pd, b'r', false, &mut delta);
    }
    if write {
        if l.wd <= 0 || (!l.wrun && !read) {
            throw("runtime: inconsistent write deadline");
        }
        l.wd = -1;
        // SAFETY: lock held.
        unsafe { pd.publish_info() };
        wg = netpollunblock(pd, b'w', false, &mut delta);
    }
    pd.lock.unlock();
    for g in [rg, wg] {
        if !g.is_null() {
            // SAFETY: taken off the descriptor: we are its one waker; on
            // g0 of an M with a P (the timer runner).
            unsafe { crate::proc::ready(g, false) };
        }
    }
    // SAFETY: an open PollDesc holds a reference to its instance.
    adjust_waiters(unsafe { &*pd.sched }, delta);
}

/// poll_runtime_pollUnblock: marks the descriptor closing and wakes every
/// goroutine waiting on it (their waits return `POLL_ERR_CLOSING`).
pub fn poll_unblock(pd: &'static PollDesc) {
    let _rt = crate::proc::enter_if_user();
    pd.lock.lock();
    // SAFETY: lock held; the reference ends before the unlock.
    let l = unsafe { pd.locked() };
    if l.closing {
        throw("runtime: unblock on closing polldesc");
    }
    l.closing = true;
    l.rseq = l.rseq.wrapping_add(1);
    l.wseq = l.wseq.wrapping_add(1);
    // SAFETY: lock held.
    unsafe { pd.publish_info() };
    let mut delta = 0;
    let rg = netpollunblock(pd, b'r', false, &mut delta);
    let wg = netpollunblock(pd, b'w', false, &mut delta);
    if l.rrun {
        if let Some(t) = &l.rt {
            t.stop();
        }
        l.rrun = false;
    }
    if l.wrun {
        if let Some(t) = &l.wt {
            t.stop();
        }
        l.wrun = false;
    }
    pd.lock.unlock();
    for g in [rg, wg] {
        if !g.is_null() {
            // SAFETY: taken off the descriptor: we are its one waker.
            unsafe { crate::proc::goready(g) };
        }
    }
    // SAFETY: an open PollDesc holds a reference to its instance.
    adjust_waiters(unsafe { &*pd.sched }, delta);
}
