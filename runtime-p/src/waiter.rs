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
//! Timer channels that plain threads or tasks wait on have no P's heap to
//! run them: one `gort-timers` thread runs them when due ([`watch_timer`]).
//! It also makes the task wake-ups that come up on g0 (a P's timer).

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

// SAFETY: the G's fields are used by the waiter alone, except: its status
// (atomic); `param`, which the one waker writes before its status CAS
// (Release) and the waiter reads after seeing `_Grunnable` (Acquire);
// `select_done` (atomic, CASed by wakers); `waiting`, which a semaphore's
// `dequeue` clears under the root lock that the waiter also takes to read
// it. The waker slot is behind a lock; an orphan's pointers are used by
// its one waker.
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
            if let Some(w) = w {
                wake_task(w);
            }
        }
    }
}

thread_local! {
    /// Task wake-ups held back while this thread runs code that must not
    /// call the executor's (a timer's send under its `send_lock`, a
    /// `close` waking its queue): [`DeferWakes`].
    static DEFERRED: core::cell::RefCell<Option<Vec<Waker>>> =
        const { core::cell::RefCell::new(None) };
}

/// Calls an executor's `Waker`: the executor's code, so never on g0 (the
/// `gort-timers` thread calls it then), nor where a [`DeferWakes`] holds
/// wake-ups back. Out of line: thread-locals are touched only in frames
/// that never park (migrating mode).
#[inline(never)]
fn wake_task(w: Waker) {
    let mut slot = Some(w);
    // A thread that is exiting (its thread-locals going) holds nothing
    // back: it wakes now.
    let _ = DEFERRED.try_with(|d| {
        if let Some(v) = &mut *d.borrow_mut()
            && let Some(w) = slot.take()
        {
            v.push(w);
        }
    });
    let Some(w) = slot else {
        return;
    };
    let me = runtime_g::getg();
    // SAFETY: a non-null G in the slot is live; goid 0 marks a g0.
    if !me.is_null() && unsafe { (*me).goid } == 0 {
        hand_to_watcher(w);
        return;
    }
    // A panic in the executor's code must not unwind into the runtime.
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.wake())).is_err() {
        throw("a Waker panicked when a gort object woke its task");
    }
}

/// Holds back the task wake-ups this thread makes until it is dropped
/// (after the caller released its locks), then makes them: the executor's
/// code runs under no runtime lock, after every G of the batch was
/// readied.
pub(crate) struct DeferWakes(bool);

impl DeferWakes {
    #[inline(never)]
    pub(crate) fn new() -> DeferWakes {
        let outer = DEFERRED
            .try_with(|d| {
                let mut d = d.borrow_mut();
                if d.is_some() {
                    return false;
                }
                *d = Some(Vec::new());
                true
            })
            .unwrap_or(false);
        DeferWakes(outer)
    }
}

impl Drop for DeferWakes {
    #[inline(never)]
    fn drop(&mut self) {
        if !self.0 {
            return;
        }
        let held = DEFERRED
            .try_with(|d| d.borrow_mut().take())
            .ok()
            .flatten()
            .unwrap_or_default();
        for w in held {
            wake_task(w);
        }
    }
}

/// Wake-ups that came up on g0, for the `gort-timers` thread to make.
static HANDED: runtime_m::Mutex<Vec<Waker>> = runtime_m::Mutex::new(Vec::new());

fn hand_to_watcher(w: Waker) {
    HANDED.lock().push(w);
    watcher().unpark();
}

/// `gopark` for an outside G: `_Gwaiting`, then `unlockf` (which releases
/// the object's lock; if it says not to park, returns at once), then
/// blocks the thread until a waker made the G runnable. A timer channel
/// the thread waits on is run by the `gort-timers` thread (`block_chan`
/// hands it over, [`watch_timer`]).
///
/// # Safety
/// `gp` is the calling thread's [`thread_g`]; as for `gopark_g`.
pub(crate) unsafe fn park(gp: *mut G, unlockf: Option<UnlockFn>, lock: *mut ()) {
    // SAFETY: gp is ours; the status is atomic.
    unsafe {
        (*gp).atomicstatus.store(_Gwaiting, Ordering::Release);
        if let Some(f) = unlockf
            && !f(gp, lock)
        {
            (*gp).atomicstatus.store(_Grunning, Ordering::Relaxed);
            return;
        }
        while (*gp).atomicstatus.load(Ordering::Acquire) != _Grunnable {
            std::thread::park();
        }
        (*gp).atomicstatus.store(_Grunning, Ordering::Relaxed);
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

/// Whether `gp` is an orphan sender's G.
///
/// # Safety
/// `gp` is a live G.
pub(crate) unsafe fn is_orphan(gp: *mut G) -> bool {
    // SAFETY: per the contract; an outside G is an OutsideG.
    unsafe { is_outside(gp) && matches!((*(gp as *const OutsideG)).to, WakeTo::Orphan { .. }) }
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

/// Has the `gort-timers` thread run the channel timer `t` whenever it is
/// due and in no P's heap, for as long as anyone waits on its channel
/// (`blocked`); and look at it again now (it was just blocked on, reset,
/// or left by a heap whose runtime ended).
pub(crate) fn watch_timer(t: &Arc<crate::time::Timer>) {
    {
        let mut w = WATCHED.lock();
        if !w.iter().any(|x| core::ptr::eq(x.as_ptr(), Arc::as_ptr(t))) {
            w.push(Arc::downgrade(t));
        }
    }
    watcher().unpark();
}

/// Whether a timer the `gort-timers` thread watches will still fire for
/// someone who waits: a goroutine waiting on it is not deadlocked.
pub(crate) fn watched_pending() -> bool {
    WATCHED.lock().iter().any(|x| {
        x.upgrade().is_some_and(|t| {
            let (when, _, blocked) = t.chan_state();
            when > 0 && blocked > 0
        })
    })
}

fn watcher() -> &'static Thread {
    let th = WATCHER.get_or_init(|| {
        runtime_m::os::spawn_runtime_thread("gort-timers", timer_watcher)
            .ok()
            .map(|h| h.thread().clone())
    });
    match th {
        Some(th) => th,
        None => throw("cannot start the gort-timers thread (threads exhausted)"),
    }
}

fn timer_watcher() {
    loop {
        let handed = core::mem::take(&mut *HANDED.lock());
        for w in handed {
            wake_task(w);
        }
        let now = runtime_m::os().nanotime();
        let mut next: Option<i64> = None;
        let due: Vec<Arc<crate::time::Timer>> = {
            let mut w = WATCHED.lock();
            let mut due = Vec::new();
            w.retain(|x| {
                let Some(t) = x.upgrade() else {
                    return false;
                };
                let (when, heaped, blocked) = t.chan_state();
                if blocked == 0 {
                    // Nobody waits: a later wait hands it over again.
                    return false;
                }
                if when > 0 && !heaped {
                    if when <= now {
                        due.push(t);
                    } else {
                        next = Some(next.map_or(when, |n: i64| n.min(when)));
                    }
                }
                // Stopped, or in a P's heap (which runs it): kept, looked
                // at again when it is reset or its heap goes.
                true
            });
            due
        };
        // Run outside the list's lock: the sends ready waiters.
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

/// One async task's wait (a channel operation, a semaphore): its G, made
/// on first use, and, while the wait is queued, its sudog.
pub(crate) struct TaskWait {
    tg: Option<TaskG>,
    /// The queued sudog, or null.
    pub(crate) sg: *mut Sudog,
}

// SAFETY: the sudog is the wait's own, or queued under its object's lock;
// the future owning this may move between threads.
unsafe impl Send for TaskWait {}
// SAFETY: as above; only `&mut` methods touch it.
unsafe impl Sync for TaskWait {}

impl TaskWait {
    /// No wait started.
    pub(crate) const fn new() -> TaskWait {
        TaskWait {
            tg: None,
            sg: null_mut(),
        }
    }

    /// Whether a sudog is queued (or was, and its wake-up not yet seen).
    pub(crate) fn waiting(&self) -> bool {
        !self.sg.is_null()
    }

    /// The wait's G, made on first use.
    pub(crate) fn tg(&mut self) -> &TaskG {
        self.tg.get_or_insert_with(TaskG::new)
    }

    fn queued_tg(&self) -> &TaskG {
        self.tg.as_ref().expect("a queued wait has a G")
    }

    /// Waits (briefly: the waker is between its dequeue and its CAS) for
    /// the wake-up of the sudog a waker took off the queue.
    pub(crate) fn await_waker(&self) {
        let tg = self.queued_tg();
        while !tg.woken() {
            std::thread::yield_now();
        }
    }

    /// Ends the wait once its sudog is off the queue (the one waker made
    /// the G runnable, or the waiter took the sudog back itself): `read`
    /// takes what the waker left in the sudog, which is then freed, and
    /// the G is idle again.
    pub(crate) fn finish<R>(&mut self, read: impl FnOnce(&Sudog) -> R) -> R {
        let sg = core::mem::replace(&mut self.sg, null_mut());
        // SAFETY: sg came from new_sudog and is off every queue; a waker
        // made its last write before its status CAS, which the waiter's
        // status load ordered before us.
        let r = unsafe {
            let r = read(&*sg);
            free_sudog(sg);
            r
        };
        let tg = self.queued_tg();
        // SAFETY: the G is idle again; nobody else reads its wait list.
        unsafe { (*tg.gp()).waiting = null_mut() };
        tg.set_idle();
        r
    }
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
