//! Runtime semaphores and notify lists: port of go1.27 `runtime/sema.go`
//! (`semacquire1`, `semrelease1`, `cansemacquire`, the `semaRoot` treap,
//! `notifyListAdd`/`Wait`/`NotifyOne`/`NotifyAll`) and of the spinning
//! helpers `sync_runtime_canSpin`/`doSpin` (proc.go).
//!
//! A semaphore is a `u32` in the user's memory (inside a `sync::Mutex`, an
//! `RwLock`, a `WaitGroup`): `semrelease` adds one, `semacquire` waits until
//! it can take one. Waiters are kept by address in a table of 251 roots
//! (`semtable`), each a treap of distinct addresses (ordered by address,
//! heap-ordered by a random ticket); the waiters for one address hang off
//! its treap node in a FIFO list (`waitlink`/`waittail`), or LIFO for a
//! `sync.Mutex` waiter that has waited before (it goes back to the front).
//! Waiters park their goroutine, never their thread.
//!
//! ## Protocol
//! 1. `semrelease1` increments the count first, then looks for a waiter
//!    only if the root's `nwait` says there is one. A waiter raises `nwait`
//!    under the root lock *before* its final `cansemacquire` and enqueue, so
//!    a release either sees it counted or the waiter sees the increment: no
//!    wake-up is lost. All four accesses are `SeqCst` (see
//!    [`cansemacquire`]).
//! 2. With `handoff`, the releaser takes the count back on the waiter's
//!    behalf (`ticket = 1`) and yields its P to it (`goyield`), so a
//!    starving `sync.Mutex` waiter gets the lock directly.
//!
//! Checked by TestSemaHandoff{,1,2} (conformance/tests/sema_test.rs).

use core::cell::UnsafeCell;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::{Context, Poll};

use runtime_g::{G, WaitReason, throw};
use runtime_m::{
    MUTEX_ACTIVE_SPIN_COUNT, MUTEX_ACTIVE_SPIN_SIZE, RawMutex, cheaprand, getm, ncpu, procyield,
};

use crate::proc::{enter_runtime_any, goparkunlock_g, goready, goyield};
use crate::sched::sched;
use crate::sudog::{Sudog, acquire_sudog_g, release_sudog_g};

/// Number of roots in the table (`semTabSize`).
const SEM_TAB_SIZE: usize = 251;

/// One root of the table: port of `semaRoot`, padded to a cache line.
#[repr(align(64))]
struct SemaRoot {
    lock: RawMutex,
    /// Root of the treap of distinct waiting addresses; under `lock`.
    treap: UnsafeCell<*mut Sudog>,
    /// Number of waiters, read without the lock.
    nwait: AtomicU32,
}

// SAFETY: `treap` is only touched with `lock` held.
unsafe impl Sync for SemaRoot {}

#[allow(clippy::declare_interior_mutable_const)]
const ROOT: SemaRoot = SemaRoot {
    lock: RawMutex::new(),
    treap: UnsafeCell::new(null_mut()),
    nwait: AtomicU32::new(0),
};

/// `semtable`: process-wide, as in Go.
static SEMTABLE: [SemaRoot; SEM_TAB_SIZE] = [ROOT; SEM_TAB_SIZE];

fn root_for(addr: &AtomicU32) -> &'static SemaRoot {
    let a = addr as *const AtomicU32 as usize;
    &SEMTABLE[(a >> 3) % SEM_TAB_SIZE]
}

fn key(addr: &AtomicU32) -> *mut u8 {
    addr as *const AtomicU32 as *mut u8
}

/// cansemacquire: port of runtime.cansemacquire (sema.go): takes one from
/// the count if it is not zero.
///
/// The first load is `SeqCst`: it is the waiter's half of protocol step 1
/// (raise `nwait`, then read the count; the releaser raises the count, then
/// reads `nwait`), a store-buffering pattern that needs all four accesses
/// in the single sequentially consistent order — with an acquire load here,
/// both sides could read the old value and the wake-up would be lost. Go's
/// atomics are all sequentially consistent. (Free on x86 and ARMv8, where
/// a SeqCst load is the same instruction as an acquire load.)
pub fn cansemacquire(addr: &AtomicU32) -> bool {
    let mut v = addr.load(Ordering::SeqCst);
    loop {
        if v == 0 {
            return false;
        }
        match addr.compare_exchange_weak(v, v - 1, Ordering::Acquire, Ordering::Acquire) {
            Ok(_) => return true,
            Err(x) => v = x,
        }
    }
}

/// semacquire1: port of runtime.semacquire1 (sema.go): waits until the
/// count at `addr` is positive and decrements it. `lifo` puts the waiter at
/// the head of the queue (a `sync.Mutex` waiter that was woken before and
/// lost the race). `reason` is the wait reason shown in dumps.
#[track_caller]
pub fn semacquire1(addr: &AtomicU32, lifo: bool, reason: WaitReason) {
    semacquire_impl(addr, lifo, reason, true)
}

/// [`semacquire1`] for a waiter its caller keeps books about (a
/// `sync.Mutex` or `RWMutex` counts its waiters in its state word): the
/// shutdown of an ending runtime does not cancel it (kill.rs), since the
/// books would then count a waiter that is gone. It waits for a release
/// instead, which the ending goroutines' unwinding usually brings (a lock
/// guard dropped).
#[track_caller]
pub fn semacquire1_nocancel(addr: &AtomicU32, lifo: bool, reason: WaitReason) {
    semacquire_impl(addr, lifo, reason, false)
}

#[track_caller]
fn semacquire_impl(addr: &AtomicU32, lifo: bool, reason: WaitReason, cancellable: bool) {
    // A waiter its caller already counted gets no preemption point either:
    // an ending runtime ends goroutines there too (kill.rs), and the
    // caller's count would then keep a waiter that is gone.
    let (gp, _rt) = if cancellable {
        enter_runtime_any("semacquire", true)
    } else {
        crate::proc::runtime_entry_any_g("semacquire")
    };
    // Easy case.
    if cansemacquire(addr) {
        return;
    }
    // Harder case: count as a waiter, try once more, then queue and park.
    // SAFETY: gp is the running goroutine, on an M with a P.
    let s = unsafe { acquire_sudog_g(gp) };
    let root = root_for(addr);
    // SAFETY: s is ours; gp is the running goroutine.
    unsafe { (*s).ticket = 0 };
    loop {
        root.lock.lock();
        root.nwait.fetch_add(1, Ordering::SeqCst);
        if cansemacquire(addr) {
            root.nwait.fetch_sub(1, Ordering::SeqCst);
            root.lock.unlock();
            break;
        }
        // The runtime is ending (kill.rs): the goroutine ends here.
        // SAFETY: gp is the running goroutine.
        if cancellable && unsafe { crate::kill::kill_point(gp) } {
            root.nwait.fetch_sub(1, Ordering::SeqCst);
            root.lock.unlock();
            // SAFETY: s is ours and on no queue.
            unsafe { release_sudog_g(gp, s) };
            crate::kill::goexit();
        }
        // SAFETY: the root lock is held; s is ours.
        unsafe {
            queue(root, addr, s, lifo, gp);
            if cancellable {
                crate::kill::set_cancel(gp, cancel_semacquire, addr as *const AtomicU32 as *mut ());
            }
            goparkunlock_g(gp, &root.lock, reason);
            if cancellable && crate::kill::park_killed(gp) {
                // Taken off the queue by the cancel function.
                release_sudog_g(gp, s);
                crate::kill::goexit();
            }
        }
        // SAFETY: s was dequeued by its waker, which then readied us.
        if unsafe { (*s).ticket } != 0 || cansemacquire(addr) {
            break;
        }
    }
    // SAFETY: s is ours again and on no queue.
    unsafe { release_sudog_g(gp, s) };
}

/// An async task's wait on a semaphore (no Go twin): `semacquire1` cut
/// at its park, with a task G in the queue (waiter.rs), woken through the
/// task's `Waker`.
pub struct SemaWait {
    w: crate::waiter::TaskWait,
}

impl Default for SemaWait {
    fn default() -> Self {
        SemaWait::new()
    }
}

impl SemaWait {
    /// No wait started.
    pub const fn new() -> SemaWait {
        SemaWait {
            w: crate::waiter::TaskWait::new(),
        }
    }

    /// After the wake-up (or taking the sudog back): whether the count
    /// was handed over with it.
    fn finish(&mut self) -> bool {
        self.w.finish(|sg| sg.ticket != 0)
    }
}

/// A poll of an async `semacquire1(addr, lifo = false)`: `Ready` once a
/// unit of the count is ours.
pub fn semacquire_async_poll(addr: &AtomicU32, w: &mut SemaWait, cx: &mut Context<'_>) -> Poll<()> {
    crate::waiter::note_outside();
    if w.w.waiting() {
        if !w.w.tg().register_and_check(cx.waker()) {
            return Poll::Pending;
        }
        if w.finish() || cansemacquire(addr) {
            return Poll::Ready(());
        }
        // Another acquirer was first: queue again, as semacquire1 loops.
    }
    if cansemacquire(addr) {
        return Poll::Ready(());
    }
    let root = root_for(addr);
    root.lock.lock();
    root.nwait.fetch_add(1, Ordering::SeqCst);
    if cansemacquire(addr) {
        root.nwait.fetch_sub(1, Ordering::SeqCst);
        root.lock.unlock();
        return Poll::Ready(());
    }
    let tg = w.w.tg();
    tg.register_and_check(cx.waker());
    tg.set_waiting();
    let sg = crate::waiter::new_sudog();
    // SAFETY: the root lock is held; sg is new and ours.
    unsafe {
        (*sg).ticket = 0;
        queue(root, addr, sg, false, tg.gp());
    }
    w.w.sg = sg;
    root.lock.unlock();
    Poll::Pending
}

/// Ends an async semaphore wait that is not `Ready`: returns whether a
/// unit of the count became ours meanwhile (the caller gives it back with
/// `semrelease1`, or keeps it as the wait's result). A wake-up that came
/// without a unit is passed on: the unit it announced stays in the count.
pub fn semacquire_async_cancel(addr: &AtomicU32, w: &mut SemaWait) -> bool {
    if !w.w.waiting() {
        return false;
    }
    let gp = w.w.tg().gp();
    // SAFETY: the task G waits on addr, which the caller keeps alive.
    let queued = unsafe { cancel_semacquire(gp, addr as *const AtomicU32 as *mut ()) };
    if queued {
        w.finish();
        return false;
    }
    // A releaser took it off the queue: wait for its wake-up to finish.
    w.w.await_waker();
    w.finish() || cansemacquire(addr)
}

/// semrelease1: port of runtime.semrelease1 (sema.go): increments the
/// count at `addr` and wakes one waiter if there is one. With `handoff`, the
/// count goes straight to the waiter, which then runs at once on this P.
pub fn semrelease1(addr: &AtomicU32, handoff: bool) {
    let _rt = crate::proc::enter_if_user();
    let root = root_for(addr);
    addr.fetch_add(1, Ordering::SeqCst);
    // Easy case: nobody waits. The waiter raised nwait before checking the
    // count (protocol step 1).
    if root.nwait.load(Ordering::SeqCst) == 0 {
        return;
    }
    root.lock.lock();
    if root.nwait.load(Ordering::SeqCst) == 0 {
        // Someone else's release took the waiter.
        root.lock.unlock();
        return;
    }
    // A waiter abandoned with its ended runtime (a `static` lock shared by
    // runtimes) is passed over: the count stays for a live one.
    let s = loop {
        // SAFETY: the root lock is held.
        let s = unsafe { dequeue(root, addr) };
        if s.is_null() {
            break s;
        }
        root.nwait.fetch_sub(1, Ordering::SeqCst);
        // SAFETY: a G queued here is live: its instance frees it only once
        // it ended, which takes it off this queue first.
        if !unsafe { crate::proc::of_ended_runtime((*s).g) } {
            break s;
        }
    };
    root.lock.unlock();
    if s.is_null() {
        return;
    }
    // SAFETY: s was dequeued under the lock: we are its one waker.
    unsafe {
        if (*s).ticket != 0 {
            throw("corrupted semaphore ticket");
        }
        if handoff && cansemacquire(addr) {
            (*s).ticket = 1;
        }
        let handed = (*s).ticket == 1;
        goready((*s).g);
        if handed && !crate::proc::on_g0() && !crate::proc::on_plain_thread() {
            // Let the waiter run now: it goes to runnext and we to the back
            // of the local queue, so it gets the rest of our time slice.
            goyield();
        }
    }
}

/// Shorthand: semacquire1 with Go's defaults (`semacquire`).
#[track_caller]
pub fn semacquire(addr: &AtomicU32) {
    semacquire1(addr, false, WaitReason::Semacquire)
}

/// Shorthand: semrelease1 without hand-off (`semrelease`).
pub fn semrelease(addr: &AtomicU32) {
    semrelease1(addr, false)
}

/// Number of goroutines waiting on `addr`'s root (Go's `SemNwait`, for
/// tests).
pub fn sem_nwait(addr: &AtomicU32) -> u32 {
    root_for(addr).nwait.load(Ordering::SeqCst)
}

/// (*semaRoot).queue: port (sema.go): adds `s` as a waiter on `addr`.
///
/// # Safety
/// The root lock is held; `s` is ours; `gp` is the running goroutine.
unsafe fn queue(root: &SemaRoot, addr: &AtomicU32, s: *mut Sudog, lifo: bool, gp: *mut G) {
    // SAFETY: the root lock guards the treap and every sudog in it.
    unsafe {
        (*s).g = gp;
        (*s).elem = key(addr);
        (*gp).waiting = s as *mut ();
        (*s).next = null_mut();
        (*s).prev = null_mut();
        (*s).waiters = 0;

        let mut last: *mut Sudog = null_mut();
        let mut pt: *mut *mut Sudog = root.treap.get();
        let mut t = *pt;
        while !t.is_null() {
            if (*t).elem == key(addr) {
                // Already have addr in the list.
                if lifo {
                    // Substitute s for t in the treap; t heads s's list.
                    *pt = s;
                    (*s).ticket = (*t).ticket;
                    (*s).parent = (*t).parent;
                    (*s).prev = (*t).prev;
                    (*s).next = (*t).next;
                    if !(*s).prev.is_null() {
                        (*(*s).prev).parent = s;
                    }
                    if !(*s).next.is_null() {
                        (*(*s).next).parent = s;
                    }
                    (*s).waitlink = t;
                    (*s).waittail = (*t).waittail;
                    if (*s).waittail.is_null() {
                        (*s).waittail = t;
                    }
                    (*s).waiters = (*t).waiters;
                    (*s).waiters = (*s).waiters.saturating_add(1);
                    (*t).parent = null_mut();
                    (*t).prev = null_mut();
                    (*t).next = null_mut();
                    (*t).waittail = null_mut();
                } else {
                    // Add s to the end of t's wait list.
                    if (*t).waittail.is_null() {
                        (*t).waitlink = s;
                    } else {
                        (*(*t).waittail).waitlink = s;
                    }
                    (*t).waittail = s;
                    (*s).waitlink = null_mut();
                    (*t).waiters = (*t).waiters.saturating_add(1);
                }
                return;
            }
            last = t;
            pt = if (key(addr) as usize) < ((*t).elem as usize) {
                &raw mut (*t).prev
            } else {
                &raw mut (*t).next
            };
            t = *pt;
        }

        // A new leaf with a random ticket, rotated up until the tickets
        // are heap-ordered (a treap: expected O(log n) depth whatever the
        // address order).
        (*s).ticket = cheaprand() | 1;
        (*s).parent = last;
        *pt = s;
        while !(*s).parent.is_null() && (*(*s).parent).ticket > (*s).ticket {
            if (*(*s).parent).prev == s {
                rotate_right(root, (*s).parent);
            } else {
                if (*(*s).parent).next != s {
                    throw("semaRoot queue");
                }
                rotate_left(root, (*s).parent);
            }
        }
    }
}

/// (*semaRoot).dequeue: port (sema.go): takes the first waiter on `addr`,
/// or returns null.
///
/// # Safety
/// The root lock is held.
unsafe fn dequeue(root: &SemaRoot, addr: &AtomicU32) -> *mut Sudog {
    // SAFETY: the root lock guards the treap and every sudog in it.
    unsafe {
        let mut ps: *mut *mut Sudog = root.treap.get();
        let mut s = *ps;
        while !s.is_null() {
            if (*s).elem == key(addr) {
                break;
            }
            ps = if (key(addr) as usize) < ((*s).elem as usize) {
                &raw mut (*s).prev
            } else {
                &raw mut (*s).next
            };
            s = *ps;
        }
        if s.is_null() {
            return null_mut();
        }
        let t = (*s).waitlink;
        if !t.is_null() {
            // More waiters on addr: t takes s's place in the treap.
            *ps = t;
            (*t).ticket = (*s).ticket;
            (*t).parent = (*s).parent;
            (*t).prev = (*s).prev;
            if !(*t).prev.is_null() {
                (*(*t).prev).parent = t;
            }
            (*t).next = (*s).next;
            if !(*t).next.is_null() {
                (*(*t).next).parent = t;
            }
            (*t).waittail = if (*t).waitlink.is_null() {
                null_mut()
            } else {
                (*s).waittail
            };
            (*t).waiters = (*s).waiters;
            if (*t).waiters > 1 {
                (*t).waiters -= 1;
            }
            (*s).waitlink = null_mut();
            (*s).waittail = null_mut();
        } else {
            // Rotate s down to a leaf, then cut it off.
            while !(*s).next.is_null() || !(*s).prev.is_null() {
                if (*s).next.is_null()
                    || (!(*s).prev.is_null() && (*(*s).prev).ticket < (*(*s).next).ticket)
                {
                    rotate_right(root, s);
                } else {
                    rotate_left(root, s);
                }
            }
            if !(*s).parent.is_null() {
                if (*(*s).parent).prev == s {
                    (*(*s).parent).prev = null_mut();
                } else {
                    (*(*s).parent).next = null_mut();
                }
            } else {
                *root.treap.get() = null_mut();
            }
        }
        (*(*s).g).waiting = null_mut();
        (*s).parent = null_mut();
        (*s).elem = null_mut();
        (*s).next = null_mut();
        (*s).prev = null_mut();
        (*s).ticket = 0;
        s
    }
}

/// The shutdown's cancel function for a goroutine parked in
/// [`semacquire1`] on `arg` (kill.rs): takes its sudog off the root, if a
/// releaser has not taken it already. Also how a dropped async wait takes
/// its task G's sudog back ([`semacquire_async_cancel`]).
///
/// # Safety
/// For a G waiting in `semacquire1` (parked, with the world stopped) or
/// in an async wait on the count at `arg`, which its waiter keeps alive:
/// its `waiting` field is read under the root lock that `dequeue` clears
/// it under.
unsafe fn cancel_semacquire(gp: *mut G, arg: *mut ()) -> bool {
    // SAFETY: per the contract.
    let addr = unsafe { &*(arg as *const AtomicU32) };
    let root = root_for(addr);
    root.lock.lock();
    // `waiting` is the queued sudog, cleared by `dequeue` under this lock.
    // SAFETY: gp is parked; its wait fields are guarded by the root lock.
    let s = unsafe { (*gp).waiting } as *mut Sudog;
    let queued = !s.is_null();
    if queued {
        // SAFETY: the root lock is held and s is queued on addr.
        unsafe { remove(root, addr, s) };
        root.nwait.fetch_sub(1, Ordering::SeqCst);
    }
    root.lock.unlock();
    queued
}

/// Takes `s`, queued on `addr`, off the root wherever it is in its
/// address's list (no Go twin: Go's waiters leave only by `dequeue`).
///
/// # Safety
/// The root lock is held and `s` is queued on `addr`.
unsafe fn remove(root: &SemaRoot, addr: &AtomicU32, s: *mut Sudog) {
    // SAFETY: the root lock guards the treap and every sudog in it.
    unsafe {
        let mut h = *root.treap.get();
        while !h.is_null() && (*h).elem != key(addr) {
            h = if (key(addr) as usize) < ((*h).elem as usize) {
                (*h).prev
            } else {
                (*h).next
            };
        }
        if h.is_null() {
            throw("semaRoot remove: address not queued");
        }
        if h == s {
            // The head: dequeue takes exactly it.
            if dequeue(root, addr) != s {
                throw("semaRoot remove: wrong head");
            }
            return;
        }
        let mut prev = h;
        while (*prev).waitlink != s {
            prev = (*prev).waitlink;
            if prev.is_null() {
                throw("semaRoot remove: sudog not queued");
            }
        }
        (*prev).waitlink = (*s).waitlink;
        if (*h).waittail == s {
            (*h).waittail = if prev == h { null_mut() } else { prev };
        }
        if (*h).waiters > 1 {
            (*h).waiters -= 1;
        }
        (*(*s).g).waiting = null_mut();
        (*s).waitlink = null_mut();
        (*s).waittail = null_mut();
        (*s).elem = null_mut();
        (*s).ticket = 0;
    }
}

/// rotateLeft: port (sema.go): `x` and its right child `y` swap places.
///
/// # Safety
/// The root lock is held; `x` has a right child.
unsafe fn rotate_left(root: &SemaRoot, x: *mut Sudog) {
    // SAFETY: the caller's contract.
    unsafe {
        let p = (*x).parent;
        let y = (*x).next;
        let b = (*y).prev;
        (*y).prev = x;
        (*x).parent = y;
        (*x).next = b;
        if !b.is_null() {
            (*b).parent = x;
        }
        (*y).parent = p;
        if p.is_null() {
            *root.treap.get() = y;
        } else if (*p).prev == x {
            (*p).prev = y;
        } else {
            if (*p).next != x {
                throw("semaRoot rotateLeft");
            }
            (*p).next = y;
        }
    }
}

/// rotateRight: port (sema.go): `y` and its left child `x` swap places.
///
/// # Safety
/// The root lock is held; `y` has a left child.
unsafe fn rotate_right(root: &SemaRoot, y: *mut Sudog) {
    // SAFETY: the caller's contract.
    unsafe {
        let p = (*y).parent;
        let x = (*y).prev;
        let b = (*x).next;
        (*x).next = y;
        (*y).parent = x;
        (*y).prev = b;
        if !b.is_null() {
            (*b).parent = y;
        }
        (*x).parent = p;
        if p.is_null() {
            *root.treap.get() = x;
        } else if (*p).prev == y {
            (*p).prev = x;
        } else {
            if (*p).next != y {
                throw("semaRoot rotateRight");
            }
            (*p).next = x;
        }
    }
}

/// A ticket-based wait list for condition variables: port of `notifyList`
/// (sema.go). Each waiter takes a ticket with [`NotifyList::add`] (while
/// holding the user's lock), then waits for that ticket with
/// [`NotifyList::wait`]; notifications serve tickets in order, so a
/// `Signal` never wakes a goroutine that started waiting after it.
pub struct NotifyList {
    /// Next ticket to hand out (`wait`).
    wait: AtomicU32,
    /// Next ticket to notify (`notify`); written under `lock`.
    notify: AtomicU32,
    lock: RawMutex,
    /// Parked waiters, in order of arrival; under `lock`.
    head: UnsafeCell<*mut Sudog>,
    tail: UnsafeCell<*mut Sudog>,
    /// Tickets of waiters ended by their runtime's shutdown before they
    /// were notified (kill.rs); `notify_one` passes a notification that
    /// would go to one of them on to the next ticket. Under `lock`.
    cancelled: UnsafeCell<Vec<u32>>,
}

// SAFETY: head/tail are only touched with `lock` held; the rest is atomic.
unsafe impl Sync for NotifyList {}
// SAFETY: as above; the sudogs belong to parked goroutines.
unsafe impl Send for NotifyList {}

impl Default for NotifyList {
    fn default() -> Self {
        NotifyList::new()
    }
}

/// less: port of runtime.less (sema.go): `a < b` on wrapping tickets.
fn less(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl NotifyList {
    /// An empty list.
    pub const fn new() -> NotifyList {
        NotifyList {
            wait: AtomicU32::new(0),
            notify: AtomicU32::new(0),
            lock: RawMutex::new(),
            head: UnsafeCell::new(null_mut()),
            tail: UnsafeCell::new(null_mut()),
            cancelled: UnsafeCell::new(Vec::new()),
        }
    }

    /// notifyListAdd: port (sema.go): takes the next ticket.
    pub fn add(&self) -> u32 {
        self.wait.fetch_add(1, Ordering::SeqCst)
    }

    /// notifyListWait: port (sema.go): parks until ticket `t` is notified
    /// (returns at once if it already was).
    #[track_caller]
    pub fn wait(&self, t: u32) {
        // No preemption point (Go's notifyListWait has none): the ticket is
        // taken already, and an end there would not pass it on.
        let (gp, _rt) = crate::proc::runtime_entry_any_g("sync.Cond.Wait");
        self.lock.lock();
        if less(t, self.notify.load(Ordering::Relaxed)) {
            self.lock.unlock();
            return;
        }
        // The runtime is ending (kill.rs): the goroutine ends here, and a
        // notification of its ticket goes on to the next one.
        // SAFETY: gp is the running goroutine.
        if unsafe { crate::kill::kill_point(gp) } {
            // SAFETY: guarded by the lock we hold.
            unsafe { (*self.cancelled.get()).push(t) };
            self.lock.unlock();
            crate::kill::goexit();
        }
        // SAFETY: gp is the running goroutine (or this thread's G).
        let s = unsafe { acquire_sudog_g(gp) };
        // SAFETY: s is ours; the list is guarded by the lock we hold.
        unsafe {
            (*s).g = gp;
            (*s).elem = self as *const NotifyList as *mut u8;
            (*gp).waiting = s as *mut ();
            (*s).ticket = t;
            let tail = *self.tail.get();
            if tail.is_null() {
                *self.head.get() = s;
            } else {
                (*tail).next = s;
            }
            *self.tail.get() = s;
            crate::kill::set_cancel(gp, cancel_notify_wait, self as *const NotifyList as *mut ());
            goparkunlock_g(gp, &self.lock, WaitReason::SyncCondWait);
            let killed = crate::kill::park_killed(gp);
            (*gp).waiting = null_mut();
            (*s).elem = null_mut();
            (*s).ticket = 0;
            release_sudog_g(gp, s);
            if killed {
                crate::kill::goexit();
            }
        }
    }

    /// notifyListNotifyAll: port (sema.go): wakes every waiter.
    pub fn notify_all(&self) {
        let _rt = crate::proc::enter_if_user();
        // Fast path: no new waiters since the last notification.
        if self.wait.load(Ordering::SeqCst) == self.notify.load(Ordering::SeqCst) {
            return;
        }
        self.lock.lock();
        // SAFETY: guarded by the lock.
        let mut s = unsafe {
            let s = *self.head.get();
            *self.head.get() = null_mut();
            *self.tail.get() = null_mut();
            (*self.cancelled.get()).clear();
            s
        };
        self.notify
            .store(self.wait.load(Ordering::SeqCst), Ordering::SeqCst);
        self.lock.unlock();
        while !s.is_null() {
            // SAFETY: we took the whole list under the lock: we are each
            // waiter's one waker.
            unsafe {
                let next = (*s).next;
                (*s).next = null_mut();
                goready((*s).g);
                s = next;
            }
        }
    }

    /// notifyListNotifyOne: port (sema.go): wakes the waiter holding the
    /// oldest unnotified ticket, if it is parked yet (if not, it will see
    /// its ticket notified and not park).
    pub fn notify_one(&self) {
        let _rt = crate::proc::enter_if_user();
        if self.wait.load(Ordering::SeqCst) == self.notify.load(Ordering::SeqCst) {
            return;
        }
        self.lock.lock();
        let mut t = self.notify.load(Ordering::Relaxed);
        if t == self.wait.load(Ordering::SeqCst) {
            self.lock.unlock();
            return;
        }
        self.notify.store(t.wrapping_add(1), Ordering::SeqCst);
        // A ticket whose waiter was ended by its runtime's shutdown: the
        // notification goes to the next ticket, if any.
        // SAFETY: guarded by the lock.
        while let Some(i) = unsafe { (*self.cancelled.get()).iter().position(|&c| c == t) } {
            // SAFETY: as above.
            unsafe { (*self.cancelled.get()).swap_remove(i) };
            t = t.wrapping_add(1);
            if t == self.wait.load(Ordering::SeqCst) {
                self.lock.unlock();
                return;
            }
            self.notify.store(t.wrapping_add(1), Ordering::SeqCst);
        }
        // SAFETY: guarded by the lock.
        unsafe {
            let mut p: *mut Sudog = null_mut();
            let mut s = *self.head.get();
            while !s.is_null() {
                if (*s).ticket == t {
                    let n = (*s).next;
                    if !p.is_null() {
                        (*p).next = n;
                    } else {
                        *self.head.get() = n;
                    }
                    if n.is_null() {
                        *self.tail.get() = p;
                    }
                    self.lock.unlock();
                    (*s).next = null_mut();
                    goready((*s).g);
                    return;
                }
                p = s;
                s = (*s).next;
            }
        }
        self.lock.unlock();
    }
}

/// The shutdown's cancel function for a goroutine parked in
/// [`NotifyList::wait`] on `arg` (kill.rs): unlinks its sudog, if a
/// notifier has not taken it already.
///
/// # Safety
/// With the world stopped, for a G parked on the list at `arg`, which its
/// frame keeps alive.
unsafe fn cancel_notify_wait(gp: *mut G, arg: *mut ()) -> bool {
    // SAFETY: per the contract; the list is guarded by its lock.
    unsafe {
        let l = &*(arg as *const NotifyList);
        l.lock.lock();
        let mut p: *mut Sudog = null_mut();
        let mut s = *l.head.get();
        while !s.is_null() && (*s).g != gp {
            p = s;
            s = (*s).next;
        }
        if !s.is_null() {
            let n = (*s).next;
            if p.is_null() {
                *l.head.get() = n;
            } else {
                (*p).next = n;
            }
            if n.is_null() {
                *l.tail.get() = p;
            }
            (*s).next = null_mut();
            (*l.cancelled.get()).push((*s).ticket);
        }
        l.lock.unlock();
        !s.is_null()
    }
}

/// sync_runtime_canSpin: port of runtime.internal_sync_runtime_canSpin
/// (proc.go): whether a `sync.Mutex` waiter may spin (iteration `i`): only
/// a few times, on a multicore machine, when another P is running and our
/// local run queue is empty.
pub fn sync_runtime_can_spin(i: u32) -> bool {
    let _rt = crate::proc::enter_if_user();
    if i >= MUTEX_ACTIVE_SPIN_COUNT || ncpu() <= 1 {
        return false;
    }
    // A plain thread does not spin: its Ps are not its own to judge.
    if getm().is_null() {
        return false;
    }
    let s = sched();
    let busy = s.npidle.load(Ordering::Relaxed) + s.nmspinning.load(Ordering::Relaxed) + 1;
    if s.gomaxprocs() as i32 <= busy {
        return false;
    }
    let mp = getm();
    // No M (a plain thread), or no P: a goroutine inside
    // `syscall::blocking` in the migrating mode, whose lock attempt is
    // then refused clearly by semacquire.
    // SAFETY: mp is this thread's M; its P field is its own.
    if mp.is_null() || unsafe { (*mp).p.is_null() } {
        return false;
    }
    // SAFETY: called from a goroutine, whose M holds a P.
    crate::p::runqempty(unsafe { crate::proc::curp() })
}

/// sync_runtime_doSpin: port (proc.go).
pub fn sync_runtime_do_spin() {
    procyield(MUTEX_ACTIVE_SPIN_SIZE);
}
