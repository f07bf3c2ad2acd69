//! Waiters that are not goroutines (no Go twin: Go's runtime is entered
//! only from its own threads): a plain thread blocked in a channel
//! operation, a `select` or a semaphore, and an async task awaiting one.
//!
//! Each stands in the wait queues as an [`OutsideG`]: a G that never runs,
//! marked by its `instance` ([`is_outside`]). The ported algorithms
//! (chan.go, select.go, sema.go) keep their shape: the waiter enqueues a
//! sudog pointing at its G and "parks"; a waker dequeues the sudog and
//! calls `ready` as for any goroutine; `ready` passes the wake-up on
//! ([`wake`]): to the thread (`Thread::unpark`) or to the task (its
//! `Waker`).
//!
//! The G's status carries the protocol: the waiter stores `_Gwaiting`
//! while it holds the object's lock, before the sudog can be found; the
//! one waker moves it to `_Grunnable` (a CAS, which also checks that there
//! is one waker), and the waiter, seeing `_Grunnable`, takes its sudog
//! back. The waker takes its own reference to the G before the CAS, so
//! the waiter may free it as soon as it sees `_Grunnable`.
//!
//! A thread's timer channels have no P to run them: a thread that waits on
//! one sleeps until the timer is due and then runs it itself (the
//! receive-side `maybeRunChan` of time.go), unless a P's heap holds it.

use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Waker;
use std::thread::Thread;

use runtime_g::status::{_Grunnable, _Grunning, _Gwaiting};
use runtime_g::{G, throw};

use crate::proc::UnlockFn;
use crate::sudog::Sudog;

/// The `instance` of every [`OutsideG`]: the address marks them.
static OUTSIDE_INSTANCE: u8 = 0;

/// Set once a plain thread or a task has used a runtime object: from then
/// on, goroutines parked anywhere may be woken from outside any runtime,
/// so no runtime reports a deadlock (Go's rule for a library, `islibrary`).
static OUTSIDE_SEEN: AtomicBool = AtomicBool::new(false);

/// Whether a plain thread or an async task ever used a runtime object.
pub(crate) fn outside_seen() -> bool {
    OUTSIDE_SEEN.load(Ordering::Relaxed)
}

/// Records that code outside any runtime uses runtime objects.
pub(crate) fn note_outside() {
    if !OUTSIDE_SEEN.load(Ordering::Relaxed) {
        OUTSIDE_SEEN.store(true, Ordering::Relaxed);
    }
}

/// A G that never runs, standing for a plain thread or an async task.
#[repr(C)]
pub struct OutsideG {
    /// First, so that a `*mut G` of one is a `*mut OutsideG`.
    g: G,
    to: WakeTo,
}

/// Where a wake-up goes.
enum WakeTo {
    Thread(Thread),
    Task(runtime_m::Mutex<Option<Waker>>),
    /// A value put back into channel `c` as a sender that nobody waits
    /// for (chan_async.rs): its wake-up frees it.
    Orphan {
        c: *mut crate::chan::HChan,
        val: *mut u8,
    },
}

// SAFETY: the G's fields are used by the waiter alone, except its status
// (atomic) and `param`, which the one waker writes before its status CAS
// (Release) and the waiter reads after seeing `_Grunnable` (Acquire); the
// waker slot is behind a lock.
unsafe impl Send for OutsideG {}
// SAFETY: as above.
unsafe impl Sync for OutsideG {}

impl OutsideG {
    fn new(to: WakeTo) -> Arc<OutsideG> {
        note_outside();
        let mut g = G::new_detached();
        g.instance = &OUTSIDE_INSTANCE as *const u8 as *const ();
        g.atomicstatus.store(_Grunning, Ordering::Relaxed);
        Arc::new(OutsideG { g, to })
    }

    fn gp(self: &Arc<Self>) -> *mut G {
        Arc::as_ptr(self) as *mut OutsideG as *mut G
    }
}

/// Whether `gp` is an [`OutsideG`].
///
/// # Safety
/// `gp` is a live G.
#[inline]
pub(crate) unsafe fn is_outside(gp: *mut G) -> bool {
    // SAFETY: per the contract.
    unsafe { (*gp).instance == &OUTSIDE_INSTANCE as *const u8 as *const () }
}

thread_local! {
    /// The calling plain thread's G, made on its first wait.
    static THREAD_G: Arc<OutsideG> = OutsideG::new(WakeTo::Thread(std::thread::current()));
}

/// The G of the calling plain thread: it lives as long as the thread (a
/// thread waits on one object at a time, and a waiter's G is not freed
/// while it waits). During the thread's own exit, a fresh one.
pub(crate) fn thread_g() -> *mut G {
    THREAD_G.try_with(|g| g.gp()).unwrap_or_else(|_| {
        Arc::into_raw(OutsideG::new(WakeTo::Thread(std::thread::current()))) as *mut G
    })
}

/// `ready` for an [`OutsideG`]: moves it to `_Grunnable` and wakes its
/// thread or task.
///
/// # Safety
/// `gp` is an outside G that waits (`_Gwaiting`), and the caller is its one
/// waker (it dequeued the sudog).
pub(crate) unsafe fn wake(gp: *mut G) {
    let og = gp as *const OutsideG;
    // SAFETY: the G waits, so it is alive until our CAS below; the extra
    // reference keeps it alive past it. Outside Gs live in an Arc.
    let og = unsafe {
        Arc::increment_strong_count(og);
        Arc::from_raw(og)
    };
    if og
        .g
        .atomicstatus
        .compare_exchange(_Gwaiting, _Grunnable, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        throw("ready: outside waiter not waiting");
    }
    match &og.to {
        WakeTo::Orphan { .. } => {
            drop(og);
            // SAFETY: the waker set param to the sudog it dequeued (send,
            // recv, closechan), and is done with it; we are its one waker.
            unsafe {
                let sg = (*gp).param as *mut Sudog;
                free_orphan(sg, !(*sg).success);
            }
        }
        WakeTo::Thread(t) => t.unpark(),
        WakeTo::Task(slot) => {
            let w = slot.lock().take();
            // The executor's code: never under a lock; a panic in it must
            // not unwind into the runtime (this may run on g0).
            if let Some(w) = w
                && std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.wake())).is_err()
            {
                throw("a Waker panicked when a gort object woke its task");
            }
        }
    }
}

/// `gopark` for an outside G: `_Gwaiting`, then `unlockf` (which releases
/// the object's lock; if it says not to park, returns at once), then waits
/// until a waker made the G runnable. A plain thread blocks; in a channel
/// wait (`chans`: its `g.waiting` list is its own sudogs, linked through
/// `waitlink`), it runs a due timer of a timer channel it waits on that no
/// P holds.
///
/// # Safety
/// `gp` is the calling thread's [`thread_g`]; as for `gopark_g`.
pub(crate) unsafe fn park(gp: *mut G, unlockf: Option<UnlockFn>, lock: *mut (), chans: bool) {
    // SAFETY: gp is ours; the status is atomic.
    unsafe {
        (*gp).atomicstatus.store(_Gwaiting, Ordering::Release);
        if let Some(f) = unlockf
            && !f(gp, lock)
        {
            (*gp).atomicstatus.store(_Grunning, Ordering::Relaxed);
            return;
        }
        loop {
            if (*gp).atomicstatus.load(Ordering::Acquire) == _Grunnable {
                break;
            }
            match if chans { next_timer(gp) } else { None } {
                Some(when) => {
                    let now = runtime_m::os().nanotime();
                    if when <= now {
                        run_due_timers(gp);
                    } else {
                        std::thread::park_timeout(core::time::Duration::from_nanos(
                            (when - now) as u64,
                        ));
                    }
                }
                None => std::thread::park(),
            }
        }
        (*gp).atomicstatus.store(_Grunning, Ordering::Relaxed);
    }
}

/// The earliest `when` of the timer channels the waiting `gp` receives
/// from (its sudogs on `g.waiting`), if any.
///
/// # Safety
/// `gp` is the calling thread's G, waiting; its sudog list is its own.
unsafe fn next_timer(gp: *mut G) -> Option<i64> {
    let mut best: Option<i64> = None;
    // SAFETY: the owner reads its own sudog list; each sudog's channel is
    // kept alive by the waiting caller's handle.
    unsafe {
        let mut sg = (*gp).waiting as *mut Sudog;
        while !sg.is_null() {
            let c = (*sg).c;
            if !c.is_null()
                && let Some(t) = crate::chan::HChan::timer_of(c)
                && let Some(w) = t.chan_when_unheaped()
            {
                best = Some(best.map_or(w, |b: i64| b.min(w)));
            }
            sg = (*sg).waitlink;
        }
    }
    best
}

/// Runs the due timers of the timer channels `gp` waits on.
///
/// # Safety
/// As for [`next_timer`].
unsafe fn run_due_timers(gp: *mut G) {
    // SAFETY: as in next_timer.
    unsafe {
        let mut sg = (*gp).waiting as *mut Sudog;
        while !sg.is_null() {
            let c = (*sg).c;
            // The timer's send may wake us and clear nothing of ours: our
            // sudogs stay on g.waiting until we take them back.
            let next = (*sg).waitlink;
            if !c.is_null()
                && let Some(t) = crate::chan::HChan::timer_of(c)
            {
                t.maybe_run_chan();
            }
            sg = next;
        }
    }
}

/// The G of a value put back into channel `c` from the heap slot `val`
/// (chan_async.rs), waiting as a sender: one reference, taken back by
/// [`free_orphan`].
pub(crate) fn orphan_g(c: *mut crate::chan::HChan, val: *mut u8) -> *mut G {
    let og = OutsideG::new(WakeTo::Orphan { c, val });
    og.g.atomicstatus.store(_Gwaiting, Ordering::Relaxed);
    Arc::into_raw(og) as *mut G
}

/// Frees an orphan sender: its sudog `sg`, its value's slot (dropping the
/// value first if `drop_value`: nobody received it) and its G.
///
/// # Safety
/// `sg` is an orphan's sudog, off every queue, and the caller its one
/// waker; the orphan's channel is still allocated.
pub(crate) unsafe fn free_orphan(sg: *mut Sudog, drop_value: bool) {
    // SAFETY: per the contract.
    unsafe {
        let og = Arc::from_raw((*sg).g as *const OutsideG);
        let WakeTo::Orphan { c, val } = og.to else {
            throw("free_orphan: not an orphan");
        };
        let ch = &*c;
        if drop_value {
            (ch.elem_type().drop)(val);
        }
        crate::chan_async::free_elem(ch, val);
        (*sg).g = null_mut();
        (*sg).elem = null_mut();
        (*sg).c = null_mut();
        free_sudog(sg);
        drop(og);
    }
}

/// Timer channels that async tasks wait on, run when due by one thread
/// (`gort-timers`): a task has no thread to run them on, and no P's heap
/// holds a timer only tasks or threads wait for.
static WATCHED: runtime_m::Mutex<Vec<std::sync::Weak<crate::time::Timer>>> =
    runtime_m::Mutex::new(Vec::new());
static WATCHER: std::sync::OnceLock<Option<Thread>> = std::sync::OnceLock::new();

/// Has the `gort-timers` thread run `t` when it is due, while it is
/// pending.
pub(crate) fn watch_timer(t: &Arc<crate::time::Timer>) {
    {
        let mut w = WATCHED.lock();
        if !w.iter().any(|x| core::ptr::eq(x.as_ptr(), Arc::as_ptr(t))) {
            w.push(Arc::downgrade(t));
        }
    }
    let th = WATCHER.get_or_init(|| {
        std::thread::Builder::new()
            .name("gort-timers".into())
            .spawn(timer_watcher)
            .ok()
            .map(|h| h.thread().clone())
    });
    match th {
        Some(th) => th.unpark(),
        None => throw("cannot start the gort-timers thread (threads exhausted)"),
    }
}

fn timer_watcher() {
    loop {
        let now = runtime_m::os().nanotime();
        let mut next: Option<i64> = None;
        let due: Vec<Arc<crate::time::Timer>> = {
            let mut w = WATCHED.lock();
            let mut due = Vec::new();
            w.retain(|x| {
                let Some(t) = x.upgrade() else {
                    return false;
                };
                match t.chan_when() {
                    None => false,
                    Some((when, heaped)) => {
                        if when <= now && !heaped {
                            due.push(t);
                        } else if !heaped {
                            next = Some(next.map_or(when, |n: i64| n.min(when)));
                        } else {
                            // A P runs it; look again later.
                            next = Some(
                                next.map_or(now + 10_000_000, |n: i64| n.min(now + 10_000_000)),
                            );
                        }
                        true
                    }
                }
            });
            due
        };
        // Run outside the list's lock: the send wakes tasks (their Wakers).
        for t in &due {
            t.maybe_run_chan();
        }
        if !due.is_empty() {
            continue;
        }
        match next {
            Some(when) => std::thread::park_timeout(core::time::Duration::from_nanos(
                (when - now).max(0) as u64,
            )),
            None => std::thread::park(),
        }
    }
}

/// A sudog for an outside G (no P's cache to take it from).
pub(crate) fn new_sudog() -> *mut Sudog {
    Box::into_raw(Box::new(Sudog::new()))
}

/// Frees a sudog from [`new_sudog`], after `release_sudog`'s checks.
///
/// # Safety
/// `sg` came from [`new_sudog`], is on no queue and is not used again.
pub(crate) unsafe fn free_sudog(sg: *mut Sudog) {
    // SAFETY: per the contract.
    drop(unsafe { Box::from_raw(sg) });
}

/// The G of an async task's wait: one per pending operation.
pub struct TaskG(Arc<OutsideG>);

impl Default for TaskG {
    fn default() -> Self {
        TaskG::new()
    }
}

impl TaskG {
    /// A G with no waker yet.
    pub fn new() -> TaskG {
        TaskG(OutsideG::new(WakeTo::Task(runtime_m::Mutex::new(None))))
    }

    /// The G, for the sudogs of the wait.
    pub fn gp(&self) -> *mut G {
        self.0.gp()
    }

    /// Records `w` as the waker, then says whether the wait is over (the
    /// one waker made the G runnable). A wake-up between the two finds the
    /// new waker, or is seen here.
    pub fn register_and_check(&self, w: &Waker) -> bool {
        let WakeTo::Task(slot) = &self.0.to else {
            unreachable!()
        };
        {
            let mut s = slot.lock();
            match &*s {
                Some(old) if old.will_wake(w) => {}
                _ => *s = Some(w.clone()),
            }
        }
        self.woken()
    }

    /// Whether the one waker made the G runnable.
    pub fn woken(&self) -> bool {
        self.0.g.atomicstatus.load(Ordering::Acquire) == _Grunnable
    }

    /// Marks the G as waiting, before its sudog is published (under the
    /// object's lock).
    pub fn set_waiting(&self) {
        self.0.g.atomicstatus.store(_Gwaiting, Ordering::Release);
    }

    /// Back to idle after a wait ended (woken, or cancelled by the waiter
    /// itself under the object's lock).
    pub fn set_idle(&self) {
        self.0.g.atomicstatus.store(_Grunning, Ordering::Relaxed);
        let WakeTo::Task(slot) = &self.0.to else {
            unreachable!()
        };
        *slot.lock() = None;
        // SAFETY: the waiter owns its G's param between waits.
        unsafe { (*self.gp()).param = null_mut() };
    }
}
