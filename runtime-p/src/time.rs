//! Timers: port of go1.27 `runtime/time.go` — the `timer` with its state
//! bits, per-P 4-ary heaps (`timers`), `modify`/`stop`/`reset`,
//! `maybeAdd`, `cleanHead`, `adjust`, `check`/`run`/`unlockAndRun`,
//! `timeSleep`, and Go 1.23's synchronous channel timers (`maybeRunChan`,
//! `blockTimerChan`, `unblockTimerChan`, `timerchandrain`).
//!
//! ## Design (Go's, in short)
//! - A timer lives in at most one P's heap; `ts` says which. Its fields are
//!   guarded by `t.mu`; the heap by `ts.mu` (lock order: `ts.mu`, then
//!   `t.mu`). `astate` mirrors the state bits at the last unlock, so the
//!   heap code can skip timers without locking them.
//! - Changing a heaped timer does not move it: it is marked `modified`
//!   (new `when`) or `zombie` (stopped), and the heap is fixed lazily by
//!   `cleanHead`, `adjust` and `run`. So `stop` and `reset` are O(1) and
//!   never touch another P's heap.
//! - A channel timer (`time.NewTimer`, `After`, `Ticker`) is in a heap only
//!   while some goroutine is blocked on its channel (`blocked > 0`); a
//!   receive that finds it expired runs it on the spot (`maybeRunChan`).
//!   Together with draining the channel on `stop`/`reset` this gives Go
//!   1.23's semantics: no stale values after `stop`/`reset`, and a timer
//!   nobody waits on costs no heap space and does not keep a program that
//!   is otherwise deadlocked alive.
//! - Ps run their timers in `findRunnable` (`check`), steal-check other
//!   Ps' timers while looking for work, and an idle M sleeps until the
//!   earliest timer of all Ps instead of forever: in the network poller
//!   (`netpoll(delay)`, `netpoll.rs`), or, on an OS layer without one, on
//!   a note (`poll_sleep`, Go's `netpoll_stub.go`).
//!
//! ## Memory (Go has a GC; gort counts references)
//! A timer is an `Arc<Timer>`. A heap holds one reference per heaped timer,
//! released after the heap lock (`Timers::unlock`). Heaps are unlocked on
//! g0 (the scheduler runs timers) and under other runtime locks, so when
//! the heap held a timer's last reference and the timer's `after_func`
//! closure has a destructor (user code), the timer goes to a process-wide
//! graveyard instead of being dropped there (other timers are dropped
//! there: freeing memory runs no user code); a system goroutine empties it,
//! started by the next call of the timer API ([`reap_graveyard`]), and
//! `block_on` when its runtime has ended. A
//! channel holds a reference to its timer; the timer points back at the
//! channel without one, and the channel stops and detaches its timer
//! before it is freed (`detach_chan`), under `send_lock`, which a firing
//! timer holds while it sends.

use core::cell::UnsafeCell;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicI32, AtomicI64, AtomicU8, AtomicU32, Ordering};
use std::sync::Arc;

use runtime_g::{G, WaitReason, throw};
use runtime_m::{RawMutex, os, systemstack};

use crate::chan::{HChan, SendResult, chansend_nb};
use crate::p::P;
use crate::proc::{curp, gopark};
use crate::sched::Sched;

/// Largest `when` (`maxWhen`).
pub const MAX_WHEN: i64 = i64::MAX;

/// Arity of the timer heap (`timerHeapN`).
const TIMER_HEAP_N: usize = 4;

/// State bits (`timerHeaped`, `timerModified`, `timerZombie`).
const TIMER_HEAPED: u8 = 1;
const TIMER_MODIFIED: u8 = 2;
const TIMER_ZOMBIE: u8 = 4;

/// nanotime: port of runtime.nanotime, from the OS layer.
pub fn nanotime() -> i64 {
    os().nanotime()
}

/// What a timer does when it fires (Go's `f` and `arg`).
pub enum TimerFn {
    /// Make a goroutine runnable (`goroutineReady`; `time.Sleep`).
    Ready(*mut G),
    /// Send the current time on a channel without blocking (`sendTime`).
    /// The channel owns the timer; this pointer is cleared before the
    /// channel goes away.
    SendTime(*mut HChan),
    /// Run a function in a new goroutine (`goFunc`; `time.AfterFunc`).
    Go {
        f: Arc<dyn Fn() + Send + Sync>,
        /// Whether dropping `f` may run user code (its type has a
        /// destructor: `core::mem::needs_drop`). Only then does a timer
        /// that a heap releases last go through the graveyard.
        user_drop: bool,
    },
    /// A network deadline (`netpollReadDeadline`, `netpollWriteDeadline`,
    /// `netpollDeadline`): the `PollDesc` address and the sequence number
    /// it had when the timer was set.
    Netpoll {
        pd: usize,
        seq: usize,
        read: bool,
        write: bool,
    },
    /// Nothing (a detached channel timer).
    None,
}

/// Fields of a timer guarded by its `mu`.
struct TimerLocked {
    state: u8,
    /// Goroutines blocked on the timer's channel (`blocked`).
    blocked: u32,
    when: i64,
    period: i64,
    f: TimerFn,
    seq: usize,
    /// The heap the timer is in (`ts`), or null.
    ts: *const Timers,
}

/// A timer: port of `timer` (time.go).
pub struct Timer {
    mu: RawMutex,
    /// Copy of the state bits at the last unlock (`astate`).
    astate: AtomicU8,
    /// Whether the timer feeds a channel (`isChan`); immutable.
    is_chan: bool,
    locked: UnsafeCell<TimerLocked>,
    /// Held while a channel timer sends, and by `stop`/`modify`, so that a
    /// send of an old `seq` cannot land after a stop or reset (`sendLock`).
    send_lock: RawMutex,
    /// Number of one-shot channel sends in flight (`isSending`).
    is_sending: AtomicI32,
}

// SAFETY: every mutable field is guarded by `mu` (or is atomic); the raw
// pointers in `TimerFn` point at a G (never freed) or at the channel that
// owns the timer (cleared before the channel is freed).
unsafe impl Send for Timer {}
// SAFETY: as above.
unsafe impl Sync for Timer {}

/// One entry of a heap (`timerWhen`): the timer and its `when` as the heap
/// knows it (which lags behind a modified timer until the heap is fixed).
#[derive(Clone)]
struct TimerWhen {
    timer: *const Timer,
    when: i64,
}

impl TimerWhen {
    fn less(&self, other: &TimerWhen) -> bool {
        self.when < other.when
    }
}

/// A P's timer heap: port of `timers` (time.go).
pub struct Timers {
    mu: RawMutex,
    heap: UnsafeCell<Vec<TimerWhen>>,
    /// `len(heap)`, readable without the lock.
    len: AtomicU32,
    /// Zombies in the heap.
    zombies: AtomicI32,
    /// `when` of the heap's first timer, or 0 (`minWhenHeap`).
    min_when_heap: AtomicI64,
    /// Earliest `when` of a modified timer, or 0 (`minWhenModified`).
    min_when_modified: AtomicI64,
    /// References of timers that left the heap, dropped after unlock.
    released: UnsafeCell<Vec<Arc<Timer>>>,
}

// SAFETY: the UnsafeCells are guarded by `mu`.
unsafe impl Sync for Timers {}
// SAFETY: as above.
unsafe impl Send for Timers {}

impl Default for Timers {
    fn default() -> Self {
        Timers::new()
    }
}

impl Timers {
    pub const fn new() -> Timers {
        Timers {
            mu: RawMutex::new(),
            heap: UnsafeCell::new(Vec::new()),
            len: AtomicU32::new(0),
            zombies: AtomicI32::new(0),
            min_when_heap: AtomicI64::new(0),
            min_when_modified: AtomicI64::new(0),
            released: UnsafeCell::new(Vec::new()),
        }
    }

    fn lock(&self) {
        self.mu.lock();
    }

    /// Unlocks, publishing `len`, then drops the references of timers that
    /// left the heap meanwhile (their destructors may run user code).
    fn unlock(&self) {
        // SAFETY: the lock is held.
        let (n, released) = unsafe {
            (
                (*self.heap.get()).len(),
                core::mem::take(&mut *self.released.get()),
            )
        };
        self.len.store(n as u32, Ordering::Release);
        self.mu.unlock();
        for t in released {
            // Only the last reference runs the timer's destructor, which may
            // be user code: never here (see the module docs). Most timers'
            // destructors free memory and nothing else, and are run here.
            if let Some(mut t) = Arc::into_inner(t)
                && t.drop_runs_user_code()
            {
                bury(t);
            }
        }
    }

    /// # Safety
    /// `mu` is held.
    #[allow(clippy::mut_from_ref)]
    unsafe fn heap(&self) -> &mut Vec<TimerWhen> {
        // SAFETY: guarded by the lock, which the caller holds.
        unsafe { &mut *self.heap.get() }
    }

    /// A timer left the heap: release the heap's reference later.
    ///
    /// # Safety
    /// `mu` is held; `t` came from the heap, whose reference it carried.
    unsafe fn release_ref(&self, t: *const Timer) {
        // SAFETY: addHeap leaked one strong count for the heap.
        unsafe { (*self.released.get()).push(Arc::from_raw(t)) };
    }

    /// Number of timers in the heap, without the lock.
    pub fn len(&self) -> u32 {
        self.len.load(Ordering::Acquire)
    }

    /// Whether the heap is empty, without the lock.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// wakeTime: port (time.go): when this heap next needs attention, or 0.
    pub fn wake_time(&self) -> i64 {
        let next_when = self.min_when_modified.load(Ordering::Acquire);
        let mut when = self.min_when_heap.load(Ordering::Acquire);
        if when == 0 || (next_when != 0 && next_when < when) {
            when = next_when;
        }
        when
    }

    /// updateMinWhenHeap: port (time.go).
    ///
    /// # Safety
    /// `mu` is held.
    unsafe fn update_min_when_heap(&self) {
        // SAFETY: the caller holds the lock.
        let heap = unsafe { self.heap() };
        let v = heap.first().map_or(0, |tw| tw.when);
        self.min_when_heap.store(v, Ordering::Release);
    }

    /// updateMinWhenModified: port (time.go): lowers minWhenModified to
    /// `when` if that is earlier.
    fn update_min_when_modified(&self, when: i64) {
        let mut old = self.min_when_modified.load(Ordering::Acquire);
        loop {
            if old != 0 && old < when {
                return;
            }
            match self.min_when_modified.compare_exchange_weak(
                old,
                when,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(x) => old = x,
            }
        }
    }

    /// addHeap: port (time.go). Takes one reference for the heap.
    ///
    /// # Safety
    /// `mu` and `t.mu` are held; `t` is in no heap.
    unsafe fn add_heap(&self, t: &Arc<Timer>, tl: &mut TimerLocked) {
        if !tl.ts.is_null() {
            throw("ts set in timer");
        }
        tl.ts = self;
        let p = Arc::into_raw(t.clone());
        // SAFETY: the caller holds the lock.
        let heap = unsafe { self.heap() };
        heap.push(TimerWhen {
            timer: p,
            when: tl.when,
        });
        // SAFETY: as above.
        unsafe { self.sift_up(heap.len() - 1) };
        if core::ptr::eq(heap[0].timer, p) {
            // SAFETY: as above.
            unsafe { self.update_min_when_heap() };
        }
    }

    /// deleteMin: port (time.go).
    ///
    /// # Safety
    /// `mu` and the first timer's `mu` are held; its `ts` is `self`.
    unsafe fn delete_min(&self, tl: &mut TimerLocked) {
        // SAFETY: the caller holds the lock.
        let heap = unsafe { self.heap() };
        let t = heap[0].timer;
        if !core::ptr::eq(tl.ts, self) {
            throw("wrong timers");
        }
        tl.ts = core::ptr::null();
        let last = heap.len() - 1;
        heap.swap(0, last);
        heap.pop();
        if last > 0 {
            // SAFETY: as above.
            unsafe { self.sift_down(0) };
        }
        // SAFETY: as above.
        unsafe {
            self.update_min_when_heap();
            if last == 0 {
                self.min_when_modified.store(0, Ordering::Release);
            }
            self.release_ref(t);
        }
    }

    /// siftUp: port (time.go), 4-ary.
    ///
    /// # Safety
    /// `mu` is held.
    unsafe fn sift_up(&self, mut i: usize) {
        // SAFETY: the caller holds the lock.
        let heap = unsafe { self.heap() };
        if i >= heap.len() {
            bad_timer();
        }
        let tw = heap[i].clone();
        if tw.when <= 0 {
            bad_timer();
        }
        while i > 0 {
            let p = (i - 1) / TIMER_HEAP_N;
            if !tw.less(&heap[p]) {
                break;
            }
            heap[i] = heap[p].clone();
            i = p;
        }
        heap[i] = tw;
    }

    /// siftDown: port (time.go), 4-ary.
    ///
    /// # Safety
    /// `mu` is held.
    unsafe fn sift_down(&self, mut i: usize) {
        // SAFETY: the caller holds the lock.
        let heap = unsafe { self.heap() };
        let n = heap.len();
        if i >= n {
            bad_timer();
        }
        if i * TIMER_HEAP_N + 1 >= n {
            return;
        }
        let tw = heap[i].clone();
        if tw.when <= 0 {
            bad_timer();
        }
        loop {
            let left = i * TIMER_HEAP_N + 1;
            if left >= n {
                break;
            }
            let mut w = tw.clone();
            let mut c = usize::MAX;
            for (j, x) in heap[left..(left + TIMER_HEAP_N).min(n)].iter().enumerate() {
                if x.less(&w) {
                    w = x.clone();
                    c = left + j;
                }
            }
            if c == usize::MAX {
                break;
            }
            heap[i] = heap[c].clone();
            i = c;
        }
        heap[i] = tw;
    }

    /// initHeap: port (time.go).
    ///
    /// # Safety
    /// `mu` is held.
    unsafe fn init_heap(&self) {
        // SAFETY: the caller holds the lock.
        let n = unsafe { self.heap() }.len();
        if n <= 1 {
            return;
        }
        let mut i = (n - 2) / TIMER_HEAP_N;
        loop {
            // SAFETY: as above.
            unsafe { self.sift_down(i) };
            if i == 0 {
                break;
            }
            i -= 1;
        }
    }

    /// cleanHead: port (time.go): removes zombies and fixes modified timers
    /// at the head (and zombies at the tail, which are cheap to drop).
    ///
    /// # Safety
    /// `mu` is held.
    unsafe fn clean_head(&self) {
        loop {
            // SAFETY: the caller holds the lock.
            let heap = unsafe { self.heap() };
            let n = heap.len();
            if n == 0 {
                return;
            }
            let last = heap[n - 1].timer;
            // SAFETY: heaped timers are alive (the heap holds a reference).
            let tl_last = unsafe { &*last };
            if tl_last.astate.load(Ordering::Acquire) & TIMER_ZOMBIE != 0 {
                tl_last.lock();
                // SAFETY: t.mu is held.
                let st = unsafe { tl_last.locked() };
                if st.state & TIMER_ZOMBIE != 0 {
                    st.state &= !(TIMER_HEAPED | TIMER_ZOMBIE | TIMER_MODIFIED);
                    st.ts = core::ptr::null();
                    self.zombies.fetch_sub(1, Ordering::AcqRel);
                    heap.pop();
                    // SAFETY: the entry carried the heap's reference.
                    unsafe { self.release_ref(last) };
                }
                tl_last.unlock();
                continue;
            }
            let t = heap[0].timer;
            // SAFETY: as above.
            let tr = unsafe { &*t };
            if tr.astate.load(Ordering::Acquire) & (TIMER_MODIFIED | TIMER_ZOMBIE) == 0 {
                return;
            }
            tr.lock();
            // SAFETY: both locks are held; t is heap[0].
            let updated = unsafe { tr.update_heap(self) };
            tr.unlock();
            if !updated {
                return;
            }
        }
    }

    /// take: port of (*timers).take (time.go): moves `src`'s timers here
    /// (when a P is destroyed).
    ///
    /// # Safety
    /// The world is stopped; nobody else touches either heap.
    pub unsafe fn take(&self, src: &Timers) {
        self.lock();
        src.lock();
        // SAFETY: both locks are held.
        let moved = core::mem::take(unsafe { src.heap() });
        for tw in moved {
            // SAFETY: heaped timers are alive; we hold the reference.
            let t = unsafe { &*tw.timer };
            t.lock();
            // SAFETY: t.mu is held.
            let st = unsafe { t.locked() };
            st.ts = core::ptr::null();
            if st.state & TIMER_ZOMBIE != 0 {
                st.state &= !(TIMER_HEAPED | TIMER_ZOMBIE | TIMER_MODIFIED);
                // SAFETY: the entry carried the heap's reference.
                unsafe { src.release_ref(tw.timer) };
            } else {
                st.state &= !TIMER_MODIFIED;
                // Re-add with the reference the entry carried.
                // SAFETY: self.mu is held; the Arc is rebuilt from the
                // heap's own count and leaked again by add_heap's clone,
                // so drop the rebuilt one afterwards.
                unsafe {
                    let arc = Arc::from_raw(tw.timer);
                    self.add_heap(&arc, st);
                    drop(arc);
                }
            }
            t.unlock();
        }
        src.zombies.store(0, Ordering::Release);
        src.min_when_heap.store(0, Ordering::Release);
        src.min_when_modified.store(0, Ordering::Release);
        src.unlock();
        self.unlock();
    }

    /// Empties the heap of an instance being freed (no Go twin: Go's
    /// heaps live as long as the process): each timer is marked as in no
    /// heap, so that a later `stop` or `reset` (a user may keep a `Timer`)
    /// does not reach this heap, and the heap's references are dropped
    /// (the last one of a timer drops its function: call this where user
    /// code may run). Timers left here never fire.
    ///
    /// # Safety
    /// No M of the instance runs any more.
    pub unsafe fn detach_all(&self) {
        self.lock();
        // SAFETY: the lock is held.
        let (moved, released) = unsafe {
            (
                core::mem::take(self.heap()),
                core::mem::take(&mut *self.released.get()),
            )
        };
        self.len.store(0, Ordering::Release);
        self.zombies.store(0, Ordering::Release);
        self.min_when_heap.store(0, Ordering::Release);
        self.min_when_modified.store(0, Ordering::Release);
        self.unlock();
        drop(released);
        for tw in moved {
            // SAFETY: the entry carried the heap's strong count, which we
            // take over; a timer op elsewhere that saw this heap holds t.mu
            // until it is done with the heap, so once we hold t.mu nobody
            // will reach the heap through t again.
            unsafe {
                let t = Arc::from_raw(tw.timer);
                t.lock();
                let st = t.locked();
                st.ts = core::ptr::null();
                st.state &= !(TIMER_HEAPED | TIMER_ZOMBIE | TIMER_MODIFIED);
                // A channel timer others still wait on (goroutines of
                // another runtime, threads, tasks) goes on firing from the
                // gort-timers thread (waiter.rs).
                let orphaned = t.is_chan && st.blocked > 0 && st.when > 0;
                t.unlock();
                if orphaned {
                    crate::waiter::watch_timer(&t);
                }
                drop(t);
            }
        }
    }

    /// adjust: port (time.go): fixes every modified timer and drops zombies,
    /// when a modified timer is due (or `force`).
    ///
    /// # Safety
    /// `mu` is held.
    unsafe fn adjust(&self, now: i64, force: bool) {
        if !force {
            let first = self.min_when_modified.load(Ordering::Acquire);
            if first == 0 || first > now {
                return;
            }
        }
        self.min_when_heap
            .store(self.wake_time(), Ordering::Release);
        self.min_when_modified.store(0, Ordering::Release);
        let mut changed = false;
        // SAFETY: the caller holds the lock.
        let heap = unsafe { self.heap() };
        let mut i = 0;
        while i < heap.len() {
            let t = heap[i].timer;
            // SAFETY: heaped timers are alive.
            let tr = unsafe { &*t };
            if tr.astate.load(Ordering::Acquire) & (TIMER_MODIFIED | TIMER_ZOMBIE) == 0 {
                i += 1;
                continue;
            }
            tr.lock();
            // SAFETY: t.mu is held.
            let st = unsafe { tr.locked() };
            if st.state & TIMER_HEAPED == 0 {
                bad_timer();
            } else if st.state & TIMER_ZOMBIE != 0 {
                self.zombies.fetch_sub(1, Ordering::AcqRel);
                st.state &= !(TIMER_HEAPED | TIMER_ZOMBIE | TIMER_MODIFIED);
                st.ts = core::ptr::null();
                heap.swap_remove(i);
                // SAFETY: the entry carried the heap's reference.
                unsafe { self.release_ref(t) };
                changed = true;
                tr.unlock();
                continue;
            } else if st.state & TIMER_MODIFIED != 0 {
                heap[i].when = st.when;
                st.state &= !TIMER_MODIFIED;
                changed = true;
            }
            tr.unlock();
            i += 1;
        }
        // SAFETY: the caller holds the lock.
        unsafe {
            if changed {
                self.init_heap();
            }
            self.update_min_when_heap();
        }
    }

    /// check: port of (*timers).check (time.go): runs the timers that are
    /// due. Returns the time used, the next time this heap needs attention
    /// (0: none) and whether any timer ran.
    ///
    /// Must run on g0 of an M (timers run on the system stack).
    #[inline]
    pub fn check(&self, now: i64, mine: bool) -> (i64, i64, bool) {
        // The common case, an empty heap, costs one load and no frame.
        let next = self.wake_time();
        if next == 0 {
            return (now, 0, false);
        }
        self.check_slow(now, next, mine)
    }

    /// `check` with at least one timer in the heap.
    #[inline(never)]
    fn check_slow(&self, mut now: i64, next: i64, mine: bool) -> (i64, i64, bool) {
        if now == 0 {
            now = nanotime();
        }
        let zombies = self.zombies.load(Ordering::Acquire);
        if zombies < 0 {
            bad_timer();
        }
        // Clean up a heap that is a quarter zombies, if it is our own.
        let mut force = mine && zombies as u32 > self.len() / 4;
        if now < next && !force {
            return (now, next, false);
        }
        let mut poll_until = 0;
        let mut ran = false;
        self.lock();
        // SAFETY: the lock is held (and reacquired by run after a timer).
        unsafe {
            if !self.heap().is_empty() {
                self.adjust(now, false);
                while !self.heap().is_empty() {
                    let tw = self.run(now);
                    if tw != 0 {
                        if tw > 0 {
                            poll_until = tw;
                        }
                        break;
                    }
                    ran = true;
                }
                force = mine && self.zombies.load(Ordering::Acquire) as u32 > self.len() / 4;
                if force {
                    self.adjust(now, true);
                }
            }
        }
        self.unlock();
        (now, poll_until, ran)
    }

    /// run: port of (*timers).run (time.go): runs the first timer if it is
    /// due and returns 0; otherwise returns when it is due (-1: empty).
    ///
    /// # Safety
    /// `mu` is held (and is held again on return).
    unsafe fn run(&self, now: i64) -> i64 {
        loop {
            // SAFETY: the caller holds the lock.
            let heap = unsafe { self.heap() };
            if heap.is_empty() {
                return -1;
            }
            let tw = heap[0].clone();
            // SAFETY: heaped timers are alive.
            let t = unsafe { &*tw.timer };
            if t.astate.load(Ordering::Acquire) & (TIMER_MODIFIED | TIMER_ZOMBIE) == 0
                && tw.when > now
            {
                return tw.when;
            }
            t.lock();
            // SAFETY: both locks held, t is heap[0].
            if unsafe { t.update_heap(self) } {
                t.unlock();
                continue;
            }
            // SAFETY: t.mu is held.
            let st = unsafe { t.locked() };
            if st.state & TIMER_HEAPED == 0 || st.state & TIMER_MODIFIED != 0 {
                bad_timer();
            }
            if st.when > now {
                let w = st.when;
                t.unlock();
                return w;
            }
            // Keep the timer alive across the unlock in unlock_and_run.
            // SAFETY: the heap holds a reference.
            let keep = unsafe {
                Arc::increment_strong_count(tw.timer);
                Arc::from_raw(tw.timer)
            };
            // SAFETY: t.mu and self.mu are held.
            unsafe { keep.unlock_and_run(now, Some(self)) };
            // `keep` may be the last reference now (a one-shot after_func
            // timer left the heap during the run, and the goroutine it
            // started may already have dropped its copy of the closure), and
            // the heap lock is held again: it goes to `released`, which
            // `unlock` hands to the graveyard.
            // SAFETY: self.mu is held.
            unsafe { (*self.released.get()).push(keep) };
            return 0;
        }
    }
}

/// Timers whose last reference a heap released (see the module docs),
/// waiting for the reaper goroutine to drop them. Process-wide: the values are
/// `Send`, and any runtime's goroutines may drop them.
static GRAVEYARD: std::sync::Mutex<Vec<Timer>> = std::sync::Mutex::new(Vec::new());
/// Whether [`GRAVEYARD`] may be non-empty: the fast path of
/// [`drain_graveyard`] is one relaxed load.
static GRAVEYARD_USED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

fn bury(t: Timer) {
    // A poisoned lock only means a destructor panicked while draining; the
    // list itself is intact.
    let mut g = GRAVEYARD.lock().unwrap_or_else(|e| e.into_inner());
    g.push(t);
    // SeqCst: with the reaper's store to REAPER and load of this flag, a
    // store-buffering pair (see reap_graveyard).
    GRAVEYARD_USED.store(true, Ordering::SeqCst);
}

/// Whether a reaper goroutine is on its way (see [`reap_graveyard`]).
static REAPER: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Starts a system goroutine that drops the timers in the graveyard, if
/// any wait there and no such goroutine is on its way already. Called by
/// the timer API's entries, on user goroutines: the destructors run on the
/// reaper, holding nothing of anybody's, never inside the caller (which
/// may hold its own locks). The reaper is hidden from goroutine counts,
/// dumps and deadlock detection, as Go's runtime goroutines are.
pub fn reap_graveyard() {
    let _rt = crate::proc::enter_if_user();
    if !GRAVEYARD_USED.load(Ordering::Relaxed) || REAPER.swap(true, Ordering::SeqCst) {
        return;
    }
    crate::proc::newproc_system(Box::new(|| {
        loop {
            drain_graveyard();
            // SeqCst store and load: against bury's store of the flag and
            // the next caller's swap, a store-buffering pair, where
            // weaker orderings let each side miss the other's write.
            REAPER.store(false, Ordering::SeqCst);
            // A timer buried after the drain, before the store above,
            // would wait for the next timer call: look once more.
            if !GRAVEYARD_USED.load(Ordering::SeqCst) || REAPER.swap(true, Ordering::SeqCst) {
                break;
            }
        }
    }));
}

/// Drops the timers a heap released last (their `after_func` closures'
/// destructors are user code). Call only where user code may run: on the
/// reaper goroutine, or off the runtime's threads (`block_on`, after its
/// runtime ended).
pub fn drain_graveyard() {
    if !GRAVEYARD_USED.load(Ordering::Relaxed) {
        return;
    }
    let dead = {
        let mut g = GRAVEYARD.lock().unwrap_or_else(|e| e.into_inner());
        GRAVEYARD_USED.store(false, Ordering::Relaxed);
        core::mem::take(&mut *g)
    };
    drop(dead);
}

/// badTimer: port (time.go).
fn bad_timer() -> ! {
    throw("timer data corruption")
}

impl Timer {
    /// Whether dropping the timer may run user code: an `after_func`
    /// function with a destructor (whether a firing in flight still holds
    /// it, and drops it last, cannot be known without a race).
    fn drop_runs_user_code(&mut self) -> bool {
        matches!(
            self.locked.get_mut().f,
            TimerFn::Go {
                user_drop: true,
                ..
            }
        )
    }

    /// A new, inactive timer (`when == 0`).
    pub fn new(f: TimerFn, is_chan: bool) -> Arc<Timer> {
        Arc::new(Timer {
            mu: RawMutex::new(),
            astate: AtomicU8::new(0),
            is_chan,
            locked: UnsafeCell::new(TimerLocked {
                state: 0,
                blocked: 0,
                when: 0,
                period: 0,
                f,
                seq: 0,
                ts: core::ptr::null(),
            }),
            send_lock: RawMutex::new(),
            is_sending: AtomicI32::new(0),
        })
    }

    fn lock(&self) {
        self.mu.lock();
    }

    /// Unlocks, publishing the state bits (`unlock`).
    fn unlock(&self) {
        // SAFETY: the lock is held.
        let st = unsafe { (*self.locked.get()).state };
        self.astate.store(st, Ordering::Release);
        self.mu.unlock();
    }

    /// # Safety
    /// `mu` is held, and no other reference from `locked` is alive.
    #[allow(clippy::mut_from_ref)]
    unsafe fn locked(&self) -> &mut TimerLocked {
        // SAFETY: guarded by mu, held by the caller.
        unsafe { &mut *self.locked.get() }
    }

    /// updateHeap: port (time.go): fixes the heap for this timer, which is
    /// `ts`'s first; returns whether the heap changed.
    ///
    /// # Safety
    /// `ts.mu` and `self.mu` are held; `self` is `ts`'s heap[0].
    unsafe fn update_heap(&self, ts: &Timers) -> bool {
        // SAFETY: the caller's contract.
        let st = unsafe { self.locked() };
        if !core::ptr::eq(st.ts, ts) {
            bad_timer();
        }
        if st.state & TIMER_ZOMBIE != 0 {
            st.state &= !(TIMER_HEAPED | TIMER_ZOMBIE | TIMER_MODIFIED);
            ts.zombies.fetch_sub(1, Ordering::AcqRel);
            // SAFETY: the caller's contract.
            unsafe { ts.delete_min(st) };
            return true;
        }
        if st.state & TIMER_MODIFIED != 0 {
            st.state &= !TIMER_MODIFIED;
            // SAFETY: the caller's contract.
            unsafe {
                ts.heap()[0].when = st.when;
                ts.sift_down(0);
                ts.update_min_when_heap();
            }
            return true;
        }
        false
    }

    /// needsAdd: port (time.go): whether the timer should be in a heap but
    /// is not. A channel timer counts only while someone is blocked on it.
    ///
    /// # Safety
    /// `mu` is held.
    unsafe fn needs_add(&self) -> bool {
        // SAFETY: the caller holds mu.
        let st = unsafe { self.locked() };
        st.state & TIMER_HEAPED == 0 && st.when > 0 && (!self.is_chan || st.blocked > 0)
    }

    /// maybeAdd: port (time.go): adds the timer to the current P's heap if
    /// it needs to be there.
    fn maybe_add(self: &Arc<Self>) {
        if runtime_g::getg().is_null() {
            // A plain thread has no P, so no heap: a channel timer that
            // someone waits on is run by the `gort-timers` thread
            // (waiter.rs), which looks at it again now.
            if self.is_chan {
                crate::waiter::watch_timer(self);
                return;
            }
            panic!(
                "gort: a timer with a function (time::after_func) was started outside a \
                 goroutine; start it from code running on a gort runtime"
            );
        }
        // SAFETY: we run on an M with a P (a goroutine, or g0 in the
        // scheduler); the P cannot change during this call (nothing parks).
        let ts = unsafe { &curp().timers };
        ts.lock();
        // SAFETY: ts.mu is held.
        unsafe { ts.clean_head() };
        self.lock();
        let mut when = 0;
        let mut wake = false;
        // SAFETY: both locks are held.
        unsafe {
            if self.needs_add() {
                let st = self.locked();
                st.state |= TIMER_HEAPED;
                when = st.when;
                let wake_time = ts.wake_time();
                wake = wake_time == 0 || when < wake_time;
                ts.add_heap(self, st);
            }
        }
        self.unlock();
        ts.unlock();
        if wake {
            wake_net_poller(when);
        }
    }

    /// modify: port of (*timer).modify (time.go): sets `when` and `period`
    /// (and the function, if given); returns whether the timer was pending.
    pub fn modify(self: &Arc<Self>, when: i64, period: i64, f: Option<TimerFn>) -> bool {
        let _rt = crate::proc::enter_if_user();
        if when <= 0 {
            throw("timer when must be positive");
        }
        if period < 0 {
            throw("timer period must be non-negative");
        }
        if self.is_chan {
            self.send_lock.lock();
        }
        self.lock();
        // SAFETY: mu is held.
        let st = unsafe { self.locked() };
        let old_period = st.period;
        st.period = period;
        if let Some(f) = f {
            st.f = f;
        }
        let mut wake = false;
        let mut pending = st.when > 0;
        st.when = when;
        if st.state & TIMER_HEAPED != 0 {
            st.state |= TIMER_MODIFIED;
            // SAFETY: a heaped timer's ts is alive: a heap is freed only
            // after `detach_all` cleared `ts` and the heaped bit under mu,
            // which we hold.
            let ts = unsafe { &*st.ts };
            if st.state & TIMER_ZOMBIE != 0 {
                ts.zombies.fetch_sub(1, Ordering::AcqRel);
                st.state &= !TIMER_ZOMBIE;
            }
            let min = ts.min_when_modified.load(Ordering::Acquire);
            if min == 0 || when < min {
                wake = true;
                // Publish the state before minWhenModified, so that whoever
                // sees the new minimum also sees the modified bit.
                self.astate.store(st.state, Ordering::Release);
                ts.update_min_when_modified(when);
            }
        }
        // SAFETY: mu is held.
        let add = unsafe { self.needs_add() };
        if self.is_chan {
            st.seq = st.seq.wrapping_add(1);
            if old_period == 0 && self.is_sending.load(Ordering::Acquire) > 0 {
                pending = true;
            }
        }
        self.unlock();
        if self.is_chan && self.drain_chan_and_unlock_send() {
            pending = true;
        }
        if add {
            self.maybe_add();
        }
        if wake {
            wake_net_poller(when);
        }
        pending
    }

    /// reset: port (time.go).
    pub fn reset(self: &Arc<Self>, when: i64, period: i64) -> bool {
        self.modify(when, period, None)
    }

    /// stop: port of (*timer).stop (time.go): deactivates the timer; returns
    /// whether it was pending (for a channel timer: whether a value was
    /// still to be delivered, which is now discarded).
    pub fn stop(&self) -> bool {
        let _rt = crate::proc::enter_if_user();
        if self.is_chan {
            self.send_lock.lock();
        }
        self.lock();
        // SAFETY: mu is held.
        let st = unsafe { self.locked() };
        if st.state & TIMER_HEAPED != 0 {
            st.state |= TIMER_MODIFIED;
            if st.state & TIMER_ZOMBIE == 0 {
                st.state |= TIMER_ZOMBIE;
                // SAFETY: a heaped timer's ts is alive.
                unsafe { (*st.ts).zombies.fetch_add(1, Ordering::AcqRel) };
            }
        }
        let mut pending = st.when > 0;
        st.when = 0;
        if self.is_chan {
            st.seq = st.seq.wrapping_add(1);
            if st.period == 0 && self.is_sending.load(Ordering::Acquire) > 0 {
                pending = true;
            }
        }
        self.unlock();
        if self.is_chan && self.drain_chan_and_unlock_send() {
            pending = true;
        }
        pending
    }

    /// The end of `modify` and `stop` for a channel timer (mu released,
    /// `send_lock` still held): drops a value sent before the change (Go
    /// 1.23: no stale values after Reset or Stop), then releases
    /// `send_lock`. Returns whether a value was dropped.
    fn drain_chan_and_unlock_send(&self) -> bool {
        let drained = match self.chan() {
            // SAFETY: the channel owns us, and detaches us under send_lock
            // (held) before it goes away.
            Some(c) => unsafe { timerchandrain(c) },
            None => false,
        };
        self.send_lock.unlock();
        drained
    }

    /// The channel of a channel timer, if still attached.
    fn chan(&self) -> Option<*mut HChan> {
        // The pointer is written only under send_lock (held by callers) or
        // at creation.
        // SAFETY: reading `f` races only with writers that hold mu; the
        // SendTime pointer itself changes only under send_lock.
        match unsafe { &(*self.locked.get()).f } {
            TimerFn::SendTime(c) => Some(*c),
            _ => None,
        }
    }

    /// Stops a channel timer for good and forgets its channel, which is
    /// being freed. A send in flight finishes first (it holds `send_lock`).
    pub fn detach_chan(&self) {
        self.send_lock.lock();
        self.lock();
        // SAFETY: mu is held.
        let st = unsafe { self.locked() };
        if st.state & TIMER_HEAPED != 0 && st.state & TIMER_ZOMBIE == 0 {
            st.state |= TIMER_MODIFIED | TIMER_ZOMBIE;
            // SAFETY: a heaped timer's ts is alive.
            unsafe { (*st.ts).zombies.fetch_add(1, Ordering::AcqRel) };
        }
        st.when = 0;
        st.seq = st.seq.wrapping_add(1);
        st.f = TimerFn::None;
        self.unlock();
        self.send_lock.unlock();
    }

    /// unlockAndRun: port (time.go): runs the timer's function with its
    /// lock released (and the heap's, if any, released around the call).
    ///
    /// # Safety
    /// `self.mu` is held, and `ts.mu` if `ts` is given; on g0, or (for a
    /// channel timer, whose function is a send) on a plain thread.
    unsafe fn unlock_and_run(self: &Arc<Self>, now: i64, ts: Option<&Timers>) {
        // SAFETY: mu is held.
        let st = unsafe { self.locked() };
        if st.state & (TIMER_MODIFIED | TIMER_ZOMBIE) != 0 {
            bad_timer();
        }
        let seq = st.seq;
        let delay = now - st.when;
        let next = if st.period > 0 {
            let n = st
                .when
                .saturating_add(st.period.saturating_mul(1 + delay / st.period));
            if n < 0 { MAX_WHEN } else { n }
        } else {
            0
        };
        st.when = next;
        if st.state & TIMER_HEAPED != 0 {
            st.state |= TIMER_MODIFIED;
            if next == 0 {
                st.state |= TIMER_ZOMBIE;
                // SAFETY: a heaped timer's ts is alive.
                unsafe { (*st.ts).zombies.fetch_add(1, Ordering::AcqRel) };
            }
            let heap_ts = st.ts;
            // SAFETY: the caller holds heap_ts's lock (it is `ts`).
            unsafe { self.update_heap(&*heap_ts) };
        }
        let one_shot_chan = self.is_chan && st.period == 0;
        if one_shot_chan && self.is_sending.fetch_add(1, Ordering::AcqRel) + 1 < 0 {
            throw("too many concurrent timer firings");
        }
        // What to run, decided under the lock.
        enum Action {
            Ready(*mut G),
            Send(*mut HChan),
            Go(Arc<dyn Fn() + Send + Sync>),
            Netpoll(usize, usize, bool, bool),
            Nothing,
        }
        let action = match &st.f {
            TimerFn::Ready(g) => Action::Ready(*g),
            TimerFn::SendTime(c) => Action::Send(*c),
            TimerFn::Go { f, .. } => Action::Go(f.clone()),
            TimerFn::Netpoll {
                pd,
                seq,
                read,
                write,
            } => Action::Netpoll(*pd, *seq, *read, *write),
            TimerFn::None => Action::Nothing,
        };
        self.unlock();
        if let Some(ts) = ts {
            ts.unlock();
        }
        let mut action = action;
        // Task wake-ups of the send wait until send_lock is released (and
        // go through the gort-timers thread on g0): the executor's code
        // runs under no runtime lock (waiter.rs).
        let defer = self.is_chan.then(crate::waiter::DeferWakes::new);
        if self.is_chan {
            self.send_lock.lock();
            if one_shot_chan && self.is_sending.fetch_sub(1, Ordering::AcqRel) - 1 < 0 {
                throw("mismatched isSending updates");
            }
            // A stop or reset since we read seq: this send is stale.
            // SAFETY: seq is written under send_lock (held) and mu.
            if unsafe { (*self.locked.get()).seq } != seq {
                action = Action::Nothing;
            }
        }
        match action {
            // SAFETY: the timer of a sleeping G fires once per sleep and the
            // G waits for exactly this wake-up.
            Action::Ready(gp) => unsafe { crate::proc::ready(gp, true) },
            Action::Send(c) => {
                // sendTime: a non-blocking send of the (intended) fire time.
                let mut v = std::time::Instant::now()
                    .checked_sub(std::time::Duration::from_nanos(delay.max(0) as u64))
                    .unwrap_or_else(std::time::Instant::now);
                // SAFETY: the channel is alive (it detaches us under
                // send_lock, which we hold) and carries Instants.
                let r = unsafe { chansend_nb(c, (&raw mut v).cast()) };
                let _ = matches!(r, SendResult::Sent);
            }
            Action::Go(f) => {
                crate::proc::newproc_g0(Box::new(move || f()));
            }
            Action::Netpoll(pd, seq, read, write) => {
                crate::netpoll::deadline_fired(pd, seq, read, write);
            }
            Action::Nothing => {}
        }
        if self.is_chan {
            self.send_lock.unlock();
        }
        drop(defer);
        if let Some(ts) = ts {
            ts.lock();
        }
    }

    /// maybeRunChan: port (time.go): a receive on a channel timer that is
    /// not in a heap runs it here if it is due.
    pub fn maybe_run_chan(self: &Arc<Self>) {
        let _rt = crate::proc::enter_if_user();
        if self.astate.load(Ordering::Acquire) & TIMER_HEAPED != 0 {
            // The timer is in a heap; it will run from there.
            return;
        }
        self.lock();
        let now = nanotime();
        // SAFETY: mu is held.
        let st = unsafe { self.locked() };
        if st.state & TIMER_HEAPED != 0 || st.when == 0 || st.when > now {
            self.unlock();
            return;
        }
        if runtime_g::getg().is_null() {
            if !self.is_chan {
                self.unlock();
                bad_timer();
            }
            // A plain thread (a receiver, or the `gort-timers` thread,
            // waiter.rs) runs it on its own stack: like g0, it runs no
            // goroutine. A channel timer's function is a send.
            // SAFETY: mu is held, the timer is in no heap, we are on a
            // plain thread and the timer is a channel's.
            unsafe { self.unlock_and_run(now, None) };
            return;
        }
        let me = self.clone();
        // SAFETY: mu is held, the timer is in no heap; on g0.
        systemstack(move || unsafe { me.unlock_and_run(now, None) });
    }

    /// For the `gort-timers` thread (waiter.rs): `(when, heaped, blocked)`
    /// of a channel timer (`when` 0: stopped or fired).
    pub(crate) fn chan_state(&self) -> (i64, bool, u32) {
        self.lock();
        // SAFETY: mu is held.
        let st = unsafe { self.locked() };
        let r = (st.when, st.state & TIMER_HEAPED != 0, st.blocked);
        self.unlock();
        r
    }

    /// blockTimerChan: port (time.go): a goroutine is about to block on the
    /// timer's channel: the timer must be in a heap now.
    pub fn block_chan(self: &Arc<Self>) {
        let _rt = crate::proc::enter_if_user();
        self.lock();
        // SAFETY: mu is held.
        let st = unsafe { self.locked() };
        if !self.is_chan {
            bad_timer();
        }
        st.blocked += 1;
        if st.state & TIMER_HEAPED != 0 && st.state & TIMER_ZOMBIE != 0 && st.when > 0 {
            // Revive a zombie that is still in a heap.
            st.state &= !TIMER_ZOMBIE;
            // SAFETY: a heaped timer's ts is alive.
            unsafe { (*st.ts).zombies.fetch_sub(1, Ordering::AcqRel) };
        }
        // SAFETY: mu is held.
        let add = unsafe { self.needs_add() };
        self.unlock();
        if add {
            self.maybe_add();
        }
    }

    /// unblockTimerChan: port (time.go): the goroutine stopped waiting; the
    /// last one leaves the timer in its heap as a zombie.
    pub fn unblock_chan(&self) {
        let _rt = crate::proc::enter_if_user();
        self.lock();
        // SAFETY: mu is held.
        let st = unsafe { self.locked() };
        if !self.is_chan || st.blocked == 0 {
            bad_timer();
        }
        st.blocked -= 1;
        if st.blocked == 0 && st.state & TIMER_HEAPED != 0 && st.state & TIMER_ZOMBIE == 0 {
            st.state |= TIMER_ZOMBIE;
            // SAFETY: a heaped timer's ts is alive.
            unsafe { (*st.ts).zombies.fetch_add(1, Ordering::AcqRel) };
        }
        self.unlock();
    }
}

/// timerchandrain: port (chan.go): empties a timer's channel buffer;
/// returns whether it held a value.
///
/// # Safety
/// `c` is a live channel of `Instant`s.
unsafe fn timerchandrain(c: *mut HChan) -> bool {
    // SAFETY: the caller's contract.
    unsafe { (*c).drain_timer_values() }
}

/// wakeNetPoller: port (proc.go): a timer at `when` was added or moved
/// earlier; make sure some M will look at it in time. If an M blocks in the
/// poller past `when`, interrupt it; if none does, start one.
pub fn wake_net_poller(when: i64) {
    let Some(s) = crate::sched::try_sched() else {
        return;
    };
    if s.lastpoll.load(Ordering::Acquire) == 0 {
        let poller_until = s.poll_until.load(Ordering::Acquire);
        if poller_until == 0 || poller_until > when {
            netpoll_break(s);
        }
    } else {
        crate::mp::wakep();
    }
}

/// netpollBreak: interrupts the M blocked in the poller (or sleeping in
/// [`poll_sleep`]). A break with nobody there makes the next wait return
/// at once (a spurious wake-up, which callers tolerate).
pub fn netpoll_break(s: &Sched) {
    crate::netpoll::netpoll_break(s);
}

/// netpoll(delay) of Go's `netpoll_stub.go` (OS layers without a poller:
/// Plan 9): sleeps up to `delay` ns, or until [`netpoll_break`].
pub fn poll_sleep(s: &Sched, delay: i64) {
    runtime_m::notetsleep(&s.pollnote, delay);
    runtime_m::noteclear(&s.pollnote);
}

/// timeSleepUntil: port (proc.go): the earliest timer of all Ps.
pub fn time_sleep_until(s: &Sched) -> i64 {
    let mut next = MAX_WHEN;
    for pp in s.procs() {
        let w = pp.timers.wake_time();
        if w != 0 {
            next = next.min(w);
        }
    }
    next
}

/// timeSleep: port of runtime.timeSleep (time.go): `time.Sleep(ns)`.
/// The goroutine's own timer is armed by the park's commit function, once
/// the goroutine is off its stack, so the wake-up cannot come too early.
#[track_caller]
pub fn time_sleep(ns: i64) {
    let (gp, _rt) = crate::proc::enter_runtime("time.Sleep", true);
    reap_graveyard();
    if ns <= 0 {
        return;
    }
    // SAFETY: gp is the running goroutine, which owns its timer and
    // sleep_when fields.
    unsafe {
        if (*gp).timer.is_null() {
            let t = Timer::new(TimerFn::Ready(gp), false);
            (*gp).timer = Arc::into_raw(t) as *mut ();
        }
        let now = nanotime();
        let when = now.checked_add(ns).unwrap_or(MAX_WHEN);
        (*gp).sleep_when = when;
        // The runtime is ending (kill.rs): the goroutine ends here.
        if crate::kill::kill_point(gp) {
            crate::kill::goexit();
        }
        crate::kill::set_cancel(gp, cancel_sleep, null_mut());
        gopark(Some(reset_for_sleep), null_mut(), WaitReason::Sleep);
        if crate::kill::park_killed(gp) {
            crate::kill::goexit();
        }
    }
}

/// The shutdown's cancel function for a goroutine parked in
/// [`time_sleep`] (kill.rs): stops its timer, if it has not fired.
///
/// # Safety
/// With the world stopped, for a G parked in `time_sleep` (its timer was
/// set by `reset_for_sleep`).
unsafe fn cancel_sleep(gp: *mut G, _: *mut ()) -> bool {
    // SAFETY: per the contract the G's timer is a live Arc it owns.
    unsafe { (*((*gp).timer as *const Timer)).stop() }
}

/// resetForSleep: port (time.go): gopark's commit for `time_sleep`.
unsafe fn reset_for_sleep(gp: *mut G, _: *mut ()) -> bool {
    // SAFETY: the parked G's timer and sleep_when are set; the timer (an
    // Arc leaked into the G, which is never freed) is alive.
    unsafe {
        let t = (*gp).timer as *const Timer;
        Arc::increment_strong_count(t);
        let t = Arc::from_raw(t);
        t.reset((*gp).sleep_when, 0);
    }
    true
}

/// checkTimers for a P owned by the caller: runs what is due.
///
/// # Safety
/// On g0 of the M owning `pp`.
pub unsafe fn check_timers(pp: &P, now: i64) -> (i64, i64, bool) {
    pp.timers.check(now, true)
}

/// Sched helper: the earliest timer of every P, or 0 (`checkTimersNoP`).
pub fn check_timers_no_p(s: &Sched, mut poll_until: i64) -> i64 {
    for pp in s.procs() {
        let w = pp.timers.wake_time();
        if w != 0 && (poll_until == 0 || w < poll_until) {
            poll_until = w;
        }
    }
    poll_until
}

/// Whether any P has a timer in its heap (checkdead's test).
pub fn any_timers(s: &Sched) -> bool {
    s.procs().any(|pp| !pp.timers.is_empty())
}

/// Hands the channel timers of `s`'s heaps that someone still waits on
/// (goroutines of other runtimes, threads, tasks) to the `gort-timers`
/// thread, as `s` ends (waiter.rs): it runs them once the heaps let go of
/// them, and a deadlock check of another runtime counts them meanwhile.
pub(crate) fn hand_over_blocked(s: &Sched) {
    for pp in s.procs_all() {
        let ts = &pp.timers;
        let mut blocked: Vec<Arc<Timer>> = Vec::new();
        ts.lock();
        // SAFETY: ts.mu is held; heap entries are live timers.
        unsafe {
            for tw in ts.heap().iter() {
                let t = &*tw.timer;
                if t.is_chan {
                    t.lock();
                    let b = t.locked().blocked > 0 && t.locked().when > 0;
                    t.unlock();
                    if b {
                        Arc::increment_strong_count(tw.timer);
                        blocked.push(Arc::from_raw(tw.timer));
                    }
                }
            }
        }
        ts.unlock();
        for t in &blocked {
            crate::waiter::watch_timer(t);
        }
    }
}
