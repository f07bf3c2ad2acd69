//! Channels: port of `hchan`, `makechan`, `chansend`, `chanrecv`, `send`,
//! `recv`, `closechan`, `chanlen`, `chancap` and the `waitq` operations
//! (go1.27 `runtime/chan.go`).
//!
//! ## Invariants (chan.go states them at the top; here in our words)
//! 1. At least one of `sendq` and `recvq` is empty — except for a channel
//!    of zero capacity, where one goroutine can sit in both queues through
//!    a single `select` that both sends and receives on it (its own value is
//!    never handed to itself: `select_done` makes the second claim fail).
//! 2. For a buffered channel: `qcount > 0` implies `recvq` is empty (a
//!    receiver would have taken a value); `qcount < dataqsiz` implies
//!    `sendq` is empty (a sender would have found room).
//! 3. `qcount`, `sendx`, `recvx`, both queues and `closed` change only with
//!    `lock` held. `qcount`, `closed` and the queue heads are atomics so
//!    that the non-blocking fast paths may peek at them without the lock
//!    (Go reads them racily; Rust needs the atomics to make that defined).
//!
//! ## Values
//! Go copies elements with `typedmemmove(elemtype, dst, src)`. A Rust move
//! is exactly a bitwise copy after which the source counts as
//! uninitialised, so the channel is type-erased the same way: it knows the
//! element's size and alignment and how to drop one ([`ElemType`]), and
//! moves values with `copy_nonoverlapping`. Every slot a value passes
//! through is, at each moment, either "owns a value" or "uninitialised", and
//! the protocol moves ownership exactly once:
//! - a sender's slot is consumed when the value is copied out (into the
//!   buffer or into a receiver's slot); a sender woken by `close` still owns
//!   its value;
//! - a receiver's slot is filled exactly when the operation reports
//!   `received == true`;
//! - values still buffered when the last handle goes away are dropped by
//!   [`HChan::release`].
//!
//! Go's channels are garbage collected; gort's are reference counted by
//! their handles (`gort::Chan`). A goroutine parked on a channel holds a
//! handle, so a channel with waiters is never freed.

use core::cell::UnsafeCell;
use core::ptr::{copy_nonoverlapping, null_mut};
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering, fence};
use std::alloc::{Layout, alloc, dealloc, handle_alloc_error};

use runtime_g::{G, WaitReason, throw};
use runtime_m::RawMutex;

use crate::kill::{kill_point, park_killed, set_cancel};
use crate::proc::{enter_runtime_any, goparkunlock_g};
use crate::sudog::{Sudog, acquire_sudog_g, release_sudog_g};

/// What the channel knows about its element type (Go's `elemtype` and
/// `elemsize`).
pub struct ElemType {
    pub size: usize,
    pub align: usize,
    /// Drops one value in place.
    pub drop: unsafe fn(*mut u8),
    /// Whether `drop` does anything (`needs_drop`).
    pub needs_drop: bool,
}

unsafe fn drop_elem<T>(p: *mut u8) {
    // SAFETY: the caller passes a slot that owns a T.
    unsafe { core::ptr::drop_in_place(p as *mut T) }
}

/// The element descriptor of `T`.
pub const fn elem_type<T>() -> &'static ElemType {
    trait HasElem {
        const ELEM: ElemType;
    }
    impl<T> HasElem for T {
        const ELEM: ElemType = ElemType {
            size: size_of::<T>(),
            align: align_of::<T>(),
            drop: drop_elem::<T>,
            needs_drop: core::mem::needs_drop::<T>(),
        };
    }
    &<T as HasElem>::ELEM
}

/// Go's `maxAlloc` on 64-bit Linux: the most a single allocation may take.
const MAX_ALLOC: usize = 1 << 48;

/// A queue of waiting sudogs (`waitq`). The head is atomic so that `full`
/// and `empty` can peek at it without the lock; every write happens under
/// the channel lock.
pub struct WaitQ {
    first: AtomicPtr<Sudog>,
    last: AtomicPtr<Sudog>,
}

impl WaitQ {
    const fn new() -> WaitQ {
        WaitQ {
            first: AtomicPtr::new(null_mut()),
            last: AtomicPtr::new(null_mut()),
        }
    }

    /// Whether a waiter is queued, as seen without the lock.
    fn peek_nonempty(&self) -> bool {
        !self.first.load(Ordering::Acquire).is_null()
    }

    /// enqueue: port of (*waitq).enqueue (chan.go): `sg` at the tail.
    ///
    /// # Safety
    /// The channel lock is held; `sg` is owned by the caller and unlinked.
    pub unsafe fn enqueue(&self, sg: *mut Sudog) {
        // SAFETY: the lock is held, so the queue and its sudogs are ours.
        unsafe {
            (*sg).next = null_mut();
            let x = self.last.load(Ordering::Relaxed);
            if x.is_null() {
                (*sg).prev = null_mut();
                self.first.store(sg, Ordering::Release);
                self.last.store(sg, Ordering::Relaxed);
                return;
            }
            (*sg).prev = x;
            (*x).next = sg;
            self.last.store(sg, Ordering::Relaxed);
        }
    }

    /// `sg` at the head (an orphan sender, chan_async.rs).
    ///
    /// # Safety
    /// As for [`WaitQ::enqueue`].
    pub(crate) unsafe fn enqueue_front(&self, sg: *mut Sudog) {
        // SAFETY: the lock is held, so the queue and its sudogs are ours.
        unsafe {
            (*sg).prev = null_mut();
            let x = self.first.load(Ordering::Relaxed);
            (*sg).next = x;
            if x.is_null() {
                self.last.store(sg, Ordering::Relaxed);
            } else {
                (*x).prev = sg;
            }
            self.first.store(sg, Ordering::Release);
        }
    }

    /// dequeue: port of (*waitq).dequeue (chan.go): the first waiter that
    /// can still complete. A sudog of a `select` that another case already
    /// won (its G's `select_done` is set) is dropped from the queue and
    /// skipped; its owner will find it unlinked and not dequeue it again.
    ///
    /// # Safety
    /// The channel lock is held.
    pub unsafe fn dequeue(&self) -> *mut Sudog {
        loop {
            let sg = self.first.load(Ordering::Relaxed);
            if sg.is_null() {
                return null_mut();
            }
            // SAFETY: queued sudogs stay valid while the lock is held.
            unsafe {
                let y = (*sg).next;
                if y.is_null() {
                    self.first.store(null_mut(), Ordering::Release);
                    self.last.store(null_mut(), Ordering::Relaxed);
                } else {
                    (*y).prev = null_mut();
                    self.first.store(y, Ordering::Release);
                    // Unlinked: dequeue_sudog must leave it alone.
                    (*sg).next = null_mut();
                }
                // A waiter abandoned with its ended runtime gets nothing.
                if crate::proc::of_ended_runtime((*sg).g) {
                    continue;
                }
                if (*sg).is_select
                    && (*(*sg).g)
                        .select_done
                        .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
                        .is_err()
                {
                    continue;
                }
            }
            return sg;
        }
    }

    /// Whether `sg` is queued here (a walk of the queue: for the
    /// shutdown's cancel only, see kill.rs).
    ///
    /// # Safety
    /// The channel lock is held.
    pub unsafe fn contains(&self, sg: *mut Sudog) -> bool {
        let mut x = self.first.load(Ordering::Relaxed);
        while !x.is_null() {
            if x == sg {
                return true;
            }
            // SAFETY: queued sudogs stay valid while the lock is held.
            x = unsafe { (*x).next };
        }
        false
    }

    /// dequeueSudoG: port of (*waitq).dequeueSudoG (select.go): unlinks
    /// `sg` if it is still queued here.
    ///
    /// # Safety
    /// The channel lock is held; `sg` was enqueued on this queue.
    pub unsafe fn dequeue_sudog(&self, sg: *mut Sudog) {
        // SAFETY: the lock is held; sg and its neighbours are queued here.
        unsafe {
            let x = (*sg).prev;
            let y = (*sg).next;
            if !x.is_null() {
                if !y.is_null() {
                    (*x).next = y;
                    (*y).prev = x;
                    (*sg).next = null_mut();
                    (*sg).prev = null_mut();
                    return;
                }
                // sg is the last one.
                (*x).next = null_mut();
                self.last.store(x, Ordering::Relaxed);
                (*sg).prev = null_mut();
                return;
            }
            if !y.is_null() {
                // sg is the first one.
                (*y).prev = null_mut();
                self.first.store(y, Ordering::Release);
                (*sg).next = null_mut();
                return;
            }
            // x == y == null: sg is the only one, or was already removed by
            // dequeue (which nulls `next` of what it takes).
            if self.first.load(Ordering::Relaxed) == sg {
                self.first.store(null_mut(), Ordering::Release);
                self.last.store(null_mut(), Ordering::Relaxed);
            }
        }
    }
}

/// A channel: port of `hchan` (chan.go), type-erased.
/// Cache-line aligned, and so is its buffer: two channels used by
/// different threads never share a line (with both at 2 Ps, Go's
/// BenchmarkSelectContended went from about 147 to 130 ns/op). Go gets a
/// similar effect by allocating a pointer-free buffer inside the channel's
/// own object.
#[repr(align(64))]
pub struct HChan {
    /// Number of values in the buffer (`qcount`).
    qcount: AtomicUsize,
    /// Capacity (`dataqsiz`); fixed.
    dataqsiz: usize,
    /// The ring of `dataqsiz` elements (`buf`); dangling when it holds no
    /// bytes.
    buf: *mut u8,
    elem: &'static ElemType,
    /// Non-zero once closed (`closed`).
    closed: AtomicU32,
    /// Send and receive positions in the ring (`sendx`, `recvx`); under
    /// `lock`.
    sendx: UnsafeCell<usize>,
    recvx: UnsafeCell<usize>,
    /// Parked receivers and senders (`recvq`, `sendq`).
    pub(crate) recvq: WaitQ,
    pub(crate) sendq: WaitQ,
    /// The runtime lock guarding all of the above (`lock`).
    pub(crate) lock: RawMutex,
    /// Handles alive (gort's stand-in for the garbage collector).
    refs: AtomicUsize,
    /// The timer feeding this channel (`timer`), for the channels of
    /// `time.Timer`/`Ticker`; set at creation.
    pub(crate) timer: Option<std::sync::Arc<crate::time::Timer>>,
}

// SAFETY: the mutable state is atomic or guarded by `lock`; the element
// type's Send-ness is enforced by the typed handle that owns the channel.
unsafe impl Sync for HChan {}
// SAFETY: as above.
unsafe impl Send for HChan {}

/// What a send attempt came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendResult {
    /// The value was handed over; the sender's slot is consumed.
    Sent,
    /// Non-blocking and no room: the slot still owns the value.
    WouldBlock,
    /// The channel is (or was, while the sender was parked) closed; the slot
    /// still owns the value. Go panics with `send on closed channel`.
    Closed,
}

/// The alignment of a channel's buffer: the element's, and at least a
/// cache line (see [`HChan`]).
fn buf_align(elem: &ElemType) -> usize {
    elem.align.max(64)
}

impl HChan {
    /// makechan: port of runtime.makechan (chan.go): a channel of `T` with
    /// room for `size` values, with a reference count of one. Panics with
    /// Go's `makechan: size out of range` when the buffer cannot exist.
    #[track_caller]
    pub fn new<T>(size: usize) -> *mut HChan {
        if runtime_g::getg().is_null() {
            // Made by a plain thread: plain threads use it (waiter.rs).
            crate::waiter::note_outside();
        }
        let elem = elem_type::<T>();
        let mem = match elem.size.checked_mul(size) {
            Some(m) if m <= MAX_ALLOC && size <= isize::MAX as usize => m,
            _ => std::panic::panic_any(crate::panic::RuntimeError("makechan: size out of range")),
        };
        let buf = if mem == 0 {
            elem.align as *mut u8
        } else {
            let layout = Layout::from_size_align(mem, buf_align(elem)).unwrap_or_else(|_| {
                std::panic::panic_any(crate::panic::RuntimeError("makechan: size out of range"))
            });
            // SAFETY: the layout has a non-zero size.
            let p = unsafe { alloc(layout) };
            if p.is_null() {
                handle_alloc_error(layout);
            }
            p
        };
        Box::into_raw(Box::new(HChan {
            qcount: AtomicUsize::new(0),
            dataqsiz: size,
            buf,
            elem,
            closed: AtomicU32::new(0),
            sendx: UnsafeCell::new(0),
            recvx: UnsafeCell::new(0),
            recvq: WaitQ::new(),
            sendq: WaitQ::new(),
            lock: RawMutex::new(),
            refs: AtomicUsize::new(1),
            timer: None,
        }))
    }

    /// The channel of a `time.Timer` or `Ticker` (Go's `newTimer` with a
    /// channel): a buffer of one `Instant`, fed by a timer that is armed
    /// with [`crate::time::Timer::reset`]. Returns the channel (one
    /// handle) and its timer.
    pub fn new_timer_chan() -> (*mut HChan, std::sync::Arc<crate::time::Timer>) {
        let c = HChan::new::<std::time::Instant>(1);
        let t = crate::time::Timer::new(crate::time::TimerFn::SendTime(c), true);
        // SAFETY: c is fresh and not shared yet.
        unsafe { (*c).timer = Some(t.clone()) };
        (c, t)
    }

    /// timerchandrain's body: drops every buffered value; returns whether
    /// there was one.
    pub(crate) fn drain_timer_values(&self) -> bool {
        if self.qcount.load(Ordering::Acquire) == 0 {
            return false;
        }
        self.lock.lock();
        let mut any = false;
        while self.qcount_locked() > 0 {
            any = true;
            let mut slot = core::mem::MaybeUninit::<std::time::Instant>::uninit();
            if self.elem.size != size_of::<std::time::Instant>() {
                throw("timerchandrain: not a timer channel");
            }
            // SAFETY: the lock is held and a value is buffered; timer
            // channels carry Instants, and the value is dropped right away.
            unsafe {
                self.buf_take(slot.as_mut_ptr().cast());
                (self.elem.drop)(slot.as_mut_ptr().cast());
            }
        }
        self.lock.unlock();
        any
    }

    /// One more handle.
    ///
    /// # Safety
    /// `c` is a live channel of which the caller holds a handle.
    pub unsafe fn retain(c: *mut HChan) {
        // SAFETY: the caller's handle keeps c alive.
        unsafe { (*c).refs.fetch_add(1, Ordering::Relaxed) };
    }

    /// One handle fewer; the last one drops the buffered values and frees
    /// the channel.
    ///
    /// # Safety
    /// `c` is a live channel and the caller gives up one handle.
    pub unsafe fn release(c: *mut HChan) {
        // SAFETY: the caller's handle keeps c alive until the decrement.
        if unsafe { (*c).refs.fetch_sub(1, Ordering::Release) } != 1 {
            return;
        }
        fence(Ordering::Acquire);
        // A timer feeding the channel must let go of it first; a send in
        // flight completes before detach_chan returns.
        // SAFETY: c is still allocated; nobody else holds a handle.
        if let Some(t) = unsafe { &(*c).timer } {
            t.detach_chan();
        }
        // Values put back by dropped async receives (chan_async.rs) that
        // nobody took wait as orphan senders: they hold no handle.
        loop {
            // SAFETY: the last handle is gone; nobody else can reach c.
            let sg = unsafe { (*c).sendq.dequeue() };
            if sg.is_null() {
                break;
            }
            // SAFETY: sg was queued, so its G is live. Orphans are freed
            // (we are their waker); anything else is the sudog of a send
            // future that was leaked while it waited (`mem::forget`: its
            // handle is gone with it): left as it is, leaked too.
            unsafe {
                if crate::waiter::is_orphan((*sg).g) {
                    crate::waiter::free_orphan(sg, true);
                }
            }
        }
        // SAFETY: the last handle is gone: nobody else can reach c, and no
        // goroutine is parked on it (a parked goroutine holds a handle).
        unsafe {
            let ch = Box::from_raw(c);
            let n = ch.qcount.load(Ordering::Relaxed);
            if ch.elem.needs_drop {
                let mut i = *ch.recvx.get();
                for _ in 0..n {
                    (ch.elem.drop)(ch.chanbuf(i));
                    i += 1;
                    if i == ch.dataqsiz {
                        i = 0;
                    }
                }
            }
            let mem = ch.elem.size * ch.dataqsiz;
            if mem != 0 {
                dealloc(
                    ch.buf,
                    Layout::from_size_align_unchecked(mem, buf_align(ch.elem)),
                );
            }
        }
    }

    /// Takes the sudog `sg` of a waiter that gives up (the shutdown's
    /// cancel, kill.rs; a dropped async operation, chan_async.rs) off
    /// whichever queue of this channel holds it, marking it unsuccessful.
    /// False if it is on neither: a waker took it first.
    ///
    /// # Safety
    /// `sg` is live and, if queued, queued on this channel.
    pub(crate) unsafe fn withdraw(&self, sg: *mut Sudog) -> bool {
        self.lock.lock();
        // SAFETY: the queues and their sudogs are guarded by the lock.
        let queued = unsafe {
            let q = if self.sendq.contains(sg) {
                Some(&self.sendq)
            } else if self.recvq.contains(sg) {
                Some(&self.recvq)
            } else {
                None
            };
            if let Some(q) = q {
                q.dequeue_sudog(sg);
                (*sg).success = false;
            }
            q.is_some()
        };
        self.lock.unlock();
        queued
    }

    /// The timer feeding `c`, if it is a timer channel.
    ///
    /// # Safety
    /// `c` is a live channel.
    pub(crate) unsafe fn timer_of<'a>(
        c: *mut HChan,
    ) -> Option<&'a std::sync::Arc<crate::time::Timer>> {
        // SAFETY: per the contract; `timer` is immutable after creation.
        unsafe { (*c).timer.as_ref() }
    }

    /// chanbuf: port of runtime.chanbuf (chan.go): slot `i` of the ring.
    fn chanbuf(&self, i: usize) -> *mut u8 {
        self.buf.wrapping_add(i * self.elem.size)
    }

    /// typedmemmove: moves one value from `src` to `dst`.
    ///
    /// # Safety
    /// `src` owns a value (and counts as uninitialised afterwards); `dst`
    /// is an uninitialised slot of this element type.
    unsafe fn typedmemmove(&self, dst: *mut u8, src: *const u8) {
        // SAFETY: both are valid, distinct slots of elem.size bytes.
        unsafe { copy_nonoverlapping(src, dst, self.elem.size) }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire) != 0
    }

    /// full: port of runtime.full (chan.go): whether a send would block,
    /// as seen without the lock. The answer may be stale at once; callers
    /// use it only to fail fast and recheck the order of observations.
    fn full(&self) -> bool {
        if self.dataqsiz == 0 {
            return !self.recvq.peek_nonempty();
        }
        self.qcount.load(Ordering::Acquire) == self.dataqsiz
    }

    /// empty: port of runtime.empty (chan.go): whether a receive would
    /// block, as seen without the lock.
    fn empty(&self) -> bool {
        if self.dataqsiz == 0 {
            return !self.sendq.peek_nonempty();
        }
        // A buffered channel has a waiting sender with an empty buffer only
        // once closed, for a value put back by a dropped async receive
        // (chan_async.rs).
        self.qcount.load(Ordering::Acquire) == 0 && !self.sendq.peek_nonempty()
    }

    /// # Safety
    /// The lock is held.
    #[allow(clippy::mut_from_ref)]
    unsafe fn sendx(&self) -> &mut usize {
        // SAFETY: guarded by the lock, which the caller holds.
        unsafe { &mut *self.sendx.get() }
    }

    /// # Safety
    /// The lock is held.
    #[allow(clippy::mut_from_ref)]
    unsafe fn recvx(&self) -> &mut usize {
        // SAFETY: guarded by the lock, which the caller holds.
        unsafe { &mut *self.recvx.get() }
    }

    /// Appends the value at `ep` to the ring (the buffered half of a send).
    ///
    /// # Safety
    /// The lock is held, `qcount < dataqsiz`, and `ep` owns a value.
    pub(crate) unsafe fn buf_put(&self, ep: *const u8) {
        // SAFETY: the caller's contract.
        unsafe {
            let sx = self.sendx();
            self.typedmemmove(self.chanbuf(*sx), ep);
            *sx += 1;
            if *sx == self.dataqsiz {
                *sx = 0;
            }
        }
        self.qcount
            .store(self.qcount.load(Ordering::Relaxed) + 1, Ordering::Release);
    }

    /// Puts the value at `ep` at the head of the ring, to be received
    /// first (an async receive dropped after its value came, chan_async.rs).
    ///
    /// # Safety
    /// The lock is held, `qcount < dataqsiz`, and `ep` owns a value.
    pub(crate) unsafe fn buf_put_front(&self, ep: *const u8) {
        // SAFETY: the caller's contract.
        unsafe {
            let rx = self.recvx();
            *rx = if *rx == 0 { self.dataqsiz - 1 } else { *rx - 1 };
            self.typedmemmove(self.chanbuf(*rx), ep);
        }
        self.qcount
            .store(self.qcount.load(Ordering::Relaxed) + 1, Ordering::Release);
    }

    /// Takes the newest value of the ring into `ep`.
    ///
    /// # Safety
    /// The lock is held, `qcount > 0`, and `ep` is an uninitialised slot.
    pub(crate) unsafe fn buf_take_back(&self, ep: *mut u8) {
        // SAFETY: the caller's contract.
        unsafe {
            let sx = self.sendx();
            *sx = if *sx == 0 { self.dataqsiz - 1 } else { *sx - 1 };
            self.typedmemmove(ep, self.chanbuf(*sx));
        }
        self.qcount
            .store(self.qcount.load(Ordering::Relaxed) - 1, Ordering::Release);
    }

    pub(crate) fn elem_type(&self) -> &'static ElemType {
        self.elem
    }

    /// Takes the oldest value of the ring into `ep`.
    ///
    /// # Safety
    /// The lock is held, `qcount > 0`, and `ep` is an uninitialised slot.
    pub(crate) unsafe fn buf_take(&self, ep: *mut u8) {
        // SAFETY: the caller's contract.
        unsafe {
            let rx = self.recvx();
            self.typedmemmove(ep, self.chanbuf(*rx));
            *rx += 1;
            if *rx == self.dataqsiz {
                *rx = 0;
            }
        }
        self.qcount
            .store(self.qcount.load(Ordering::Relaxed) - 1, Ordering::Release);
    }

    pub(crate) fn qcount_locked(&self) -> usize {
        self.qcount.load(Ordering::Relaxed)
    }

    pub(crate) fn dataqsiz(&self) -> usize {
        self.dataqsiz
    }

    pub(crate) fn closed_locked(&self) -> bool {
        self.closed.load(Ordering::Relaxed) != 0
    }
}

/// chansend: port of runtime.chansend (chan.go). Sends the value at `ep`
/// on `c`; with `block == false` gives up instead of parking. A nil `c`
/// blocks forever (or reports `WouldBlock`).
///
/// Fast paths, in Go's order: a parked receiver gets the value copied
/// straight into its slot; else the value goes into the buffer; else the
/// sender parks with a sudog pointing at `ep`, and whoever takes it copies
/// the value out of the sender's frame.
///
/// # Safety
/// `c` is null or a live channel whose element type is that of `ep`, which
/// owns a value. After `Sent` the slot is uninitialised; otherwise it still
/// owns its value, also when the call unwinds (a goroutine ended by its
/// runtime's shutdown, kill.rs): the caller drops it then.
pub unsafe fn chansend(c: *mut HChan, ep: *mut u8, block: bool) -> SendResult {
    let (gp, _rt) = enter_runtime_any("channel send", block);
    // SAFETY: forwarded contract.
    unsafe { chansend_impl(gp, c, ep, block) }
}

/// A non-blocking send that may run on g0 (a timer's `sendTime`).
///
/// # Safety
/// As for [`chansend`]; on an M that holds a P.
pub(crate) unsafe fn chansend_nb(c: *mut HChan, ep: *mut u8) -> SendResult {
    // SAFETY: forwarded contract; a non-blocking send never uses gp.
    unsafe { chansend_impl(null_mut(), c, ep, false) }
}

/// # Safety
/// As for [`chansend`]; `gp` is the running goroutine when `block`.
unsafe fn chansend_impl(gp: *mut G, c: *mut HChan, ep: *mut u8, block: bool) -> SendResult {
    if c.is_null() {
        if !block {
            return SendResult::WouldBlock;
        }
        // SAFETY: on a goroutine, in its entered section, holding no
        // lock; nobody but a shutdown will ever wake it (kill.rs).
        unsafe { crate::kill::park_forever(gp, WaitReason::ChanSendNilChan) }
    }
    // SAFETY: the caller's handle keeps c alive.
    let ch = unsafe { &*c };

    // Fail fast, without the lock, for a non-blocking send that cannot
    // proceed. `closed` is read first, `full` second: if the channel was
    // not closed then and full at the second read, there was a moment when
    // it was both open and full, so "would block" is a correct answer.
    if !block && !ch.is_closed() && ch.full() {
        return SendResult::WouldBlock;
    }

    ch.lock.lock();
    if ch.closed_locked() {
        ch.lock.unlock();
        return SendResult::Closed;
    }
    // SAFETY: the lock is held.
    let sg = unsafe { ch.recvq.dequeue() };
    if !sg.is_null() {
        // SAFETY: sg was just dequeued under the lock, ep owns a value.
        unsafe { send(ch, sg, ep, || ch.lock.unlock()) };
        return SendResult::Sent;
    }
    if ch.qcount_locked() < ch.dataqsiz {
        // SAFETY: the lock is held and there is room.
        unsafe { ch.buf_put(ep) };
        ch.lock.unlock();
        return SendResult::Sent;
    }
    if !block {
        ch.lock.unlock();
        return SendResult::WouldBlock;
    }

    // The runtime is ending (kill.rs): the goroutine ends here; the value
    // is still the caller's, to drop as it unwinds.
    // SAFETY: gp is the running goroutine.
    if unsafe { kill_point(gp) } {
        ch.lock.unlock();
        crate::kill::goexit();
    }

    // Park until a receiver takes the value, or close wakes us.
    // SAFETY: gp is the running goroutine, on an M with a P.
    let mysg = unsafe { acquire_sudog_g(gp) };
    // SAFETY: mysg is ours; gp is the running goroutine; the lock is held
    // while the sudog is published on the queue.
    unsafe {
        (*mysg).elem = ep;
        (*mysg).waitlink = null_mut();
        (*mysg).g = gp;
        (*mysg).is_select = false;
        (*mysg).c = c;
        (*gp).waiting = mysg as *mut ();
        (*gp).param = null_mut();
        ch.sendq.enqueue(mysg);
        set_cancel(gp, cancel_chan_wait, mysg as *mut ());
        goparkunlock_g(gp, &ch.lock, WaitReason::ChanSend);

        // Woken: by a receiver (success), by close, or by the shutdown.
        if mysg as *mut () != (*gp).waiting {
            throw("G waiting list is corrupted");
        }
        (*gp).waiting = null_mut();
        let killed = park_killed(gp);
        let closed = !(*mysg).success;
        (*gp).param = null_mut();
        (*mysg).c = null_mut();
        (*mysg).elem = null_mut();
        release_sudog_g(gp, mysg);
        if killed {
            // Nobody took the value: it is still the caller's.
            crate::kill::goexit();
        }
        if closed {
            if !ch.is_closed() {
                throw("chansend: spurious wakeup");
            }
            return SendResult::Closed;
        }
    }
    SendResult::Sent
}

/// send: port of runtime.send (chan.go): completes a send to the receiver
/// `sg` dequeued from `ch.recvq`. A receiver can only be parked when the
/// buffer is empty, so the value goes straight into the receiver's slot
/// (Go's `sendDirect`) and the ring positions do not move. `unlockf`
/// releases the channel lock(s) before the receiver is readied.
///
/// # Safety
/// The lock is held and `sg` was just dequeued from `ch.recvq`; `ep` owns a
/// value, which is consumed.
pub(crate) unsafe fn send(ch: &HChan, sg: *mut Sudog, ep: *mut u8, unlockf: impl FnOnce()) {
    // SAFETY: the caller's contract; sg and its goroutine are ours until
    // goready.
    unsafe {
        if (*sg).elem.is_null() {
            throw("chansend: receiver without a slot");
        }
        ch.typedmemmove((*sg).elem, ep);
        (*sg).elem = null_mut();
        let gp: *mut G = (*sg).g;
        unlockf();
        (*gp).param = sg as *mut ();
        (*sg).success = true;
        crate::proc::goready_entered(gp);
    }
}

/// chanrecv: port of runtime.chanrecv (chan.go). Receives from `c` into
/// `ep`. Returns `(selected, received)`: with `block == false` and nothing
/// available, `(false, false)`; a receive from a closed, drained channel
/// gives `(true, false)` and leaves `ep` uninitialised; otherwise
/// `(true, true)` and `ep` owns the value. A nil `c` blocks forever.
///
/// # Safety
/// `c` is null or a live channel whose element type is that of `ep`, an
/// uninitialised slot.
pub unsafe fn chanrecv(c: *mut HChan, ep: *mut u8, block: bool) -> (bool, bool) {
    let (gp, _rt) = enter_runtime_any("channel receive", block);
    if c.is_null() {
        if !block {
            return (false, false);
        }
        // SAFETY: on a goroutine, in its entered section, holding no
        // lock; nobody but a shutdown will ever wake it (kill.rs).
        unsafe { crate::kill::park_forever(gp, WaitReason::ChanReceiveNilChan) }
    }
    // SAFETY: the caller's handle keeps c alive.
    let ch = unsafe { &*c };
    if let Some(t) = &ch.timer {
        // A due timer that nobody has run yet sends now (Go 1.23).
        t.maybe_run_chan();
    }

    // Fail fast without the lock. Observations in this order: empty, then
    // closed. Once closed, a channel stays closed, and an empty closed
    // channel stays empty; so "empty then not closed" means it was open and
    // empty at the moment of the closed read: "would block" is right. If it
    // was closed, look at emptiness again: still empty means closed and
    // drained at that moment.
    if !block && ch.empty() {
        if !ch.is_closed() {
            return (false, false);
        }
        if ch.empty() {
            return (true, false);
        }
    }

    ch.lock.lock();
    if ch.closed_locked() {
        if ch.qcount_locked() == 0 {
            // A value put back by a dropped async receive may wait as a
            // sender (chan_async.rs); none of a goroutine can, after close.
            // SAFETY: the lock is held.
            let sg = unsafe { ch.sendq.dequeue() };
            if !sg.is_null() {
                // SAFETY: sg was just dequeued; ep is an empty slot.
                unsafe { recv(ch, sg, ep, || ch.lock.unlock()) };
                return (true, true);
            }
            ch.lock.unlock();
            return (true, false);
        }
        // Closed with values left: drain them first (below).
    } else {
        // SAFETY: the lock is held.
        let sg = unsafe { ch.sendq.dequeue() };
        if !sg.is_null() {
            // SAFETY: sg was just dequeued; ep is an empty slot.
            unsafe { recv(ch, sg, ep, || ch.lock.unlock()) };
            return (true, true);
        }
    }
    if ch.qcount_locked() > 0 {
        // SAFETY: the lock is held and a value is buffered.
        unsafe { ch.buf_take(ep) };
        ch.lock.unlock();
        return (true, true);
    }
    if !block {
        ch.lock.unlock();
        return (false, false);
    }

    // The runtime is ending (kill.rs): the goroutine ends here.
    // SAFETY: gp is the running goroutine.
    if unsafe { kill_point(gp) } {
        ch.lock.unlock();
        crate::kill::goexit();
    }

    // Park until a sender hands us a value, or close wakes us.
    // SAFETY: gp is the running goroutine, on an M with a P.
    let mysg = unsafe { acquire_sudog_g(gp) };
    // SAFETY: as in chansend.
    unsafe {
        (*mysg).elem = ep;
        (*mysg).waitlink = null_mut();
        (*gp).waiting = mysg as *mut ();
        (*mysg).g = gp;
        (*mysg).is_select = false;
        (*mysg).c = c;
        (*gp).param = null_mut();
        ch.recvq.enqueue(mysg);
        if let Some(t) = &ch.timer {
            // Someone waits on the timer now: it must be in a heap.
            t.block_chan();
        }
        set_cancel(gp, cancel_chan_wait, mysg as *mut ());
        goparkunlock_g(gp, &ch.lock, WaitReason::ChanReceive);

        if mysg as *mut () != (*gp).waiting {
            throw("G waiting list is corrupted");
        }
        if let Some(t) = &ch.timer {
            t.unblock_chan();
        }
        (*gp).waiting = null_mut();
        let killed = park_killed(gp);
        let success = (*mysg).success;
        (*gp).param = null_mut();
        (*mysg).c = null_mut();
        (*mysg).elem = null_mut();
        release_sudog_g(gp, mysg);
        if killed {
            crate::kill::goexit();
        }
        (true, success)
    }
}

/// The shutdown's cancel function for a goroutine parked in a channel send
/// or receive (kill.rs): takes its sudog `arg` off the channel's queue, if
/// a waker has not taken it already.
///
/// # Safety
/// With the world stopped, for a G parked in `chansend_impl` or
/// `chanrecv` with this sudog (its frame keeps the channel alive).
unsafe fn cancel_chan_wait(gp: *mut G, arg: *mut ()) -> bool {
    let sg = arg as *mut Sudog;
    // SAFETY: per the contract the sudog and its channel are live, and gp
    // is parked (its wait list is stable).
    unsafe { (*gp).waiting == arg && (*(*sg).c).withdraw(sg) }
}

/// recv: port of runtime.recv (chan.go): completes a receive from the
/// parked sender `sg`. Unbuffered: the value comes straight out of the
/// sender's frame. Buffered (the buffer is then full): the receiver takes
/// the oldest buffered value and the sender's value goes into the freed
/// slot at the tail, keeping FIFO order.
///
/// # Safety
/// The lock is held and `sg` was just dequeued from `ch.sendq`; `ep` is an
/// uninitialised slot, which receives the value.
pub(crate) unsafe fn recv(ch: &HChan, sg: *mut Sudog, ep: *mut u8, unlockf: impl FnOnce()) {
    // SAFETY: the caller's contract; sg and its goroutine are ours until
    // goready.
    unsafe {
        if ch.dataqsiz == 0 || ch.qcount_locked() == 0 {
            // recvDirect: out of the sender's frame. (A buffered channel
            // has a sender with an empty buffer only once it is closed,
            // and the sender is a value put back by a dropped async
            // receive, chan_async.rs.)
            ch.typedmemmove(ep, (*sg).elem);
        } else if ch.qcount_locked() < ch.dataqsiz {
            // Closed and partly drained, with a put-back value waiting
            // (as above): the oldest buffered value, and the waiting one
            // goes to the tail.
            ch.buf_take(ep);
            ch.buf_put((*sg).elem);
        } else {
            let rx = ch.recvx();
            let qp = ch.chanbuf(*rx);
            ch.typedmemmove(ep, qp);
            ch.typedmemmove(qp, (*sg).elem);
            *rx += 1;
            if *rx == ch.dataqsiz {
                *rx = 0;
            }
            *ch.sendx() = *rx;
        }
        (*sg).elem = null_mut();
        let gp: *mut G = (*sg).g;
        unlockf();
        (*gp).param = sg as *mut ();
        (*sg).success = true;
        crate::proc::goready_entered(gp);
    }
}

/// closechan: port of runtime.closechan (chan.go). Marks `c` closed and
/// wakes every parked receiver (which then reports "closed", its slot left
/// empty) and every parked sender (which keeps its value and panics).
/// Panics with Go's `close of nil channel` / `close of closed channel`.
///
/// # Safety
/// `c` is null or a live channel.
#[track_caller]
pub unsafe fn closechan(c: *mut HChan) {
    if c.is_null() {
        std::panic::panic_any(crate::panic::RuntimeError("close of nil channel"));
    }
    let _rt = crate::proc::runtime_entry_any("close");
    // SAFETY: the caller's handle keeps c alive.
    let ch = unsafe { &*c };
    ch.lock.lock();
    if ch.closed_locked() {
        ch.lock.unlock();
        std::panic::panic_any(crate::panic::RuntimeError("close of closed channel"));
    }
    ch.closed.store(1, Ordering::Release);

    let mut woken: Vec<*mut G> = Vec::new();
    // Values put back by dropped async receives wait as senders nobody
    // owns (chan_async.rs): they stay, to be received after the buffer.
    let mut kept: Vec<*mut Sudog> = Vec::new();
    for q in [&ch.recvq, &ch.sendq] {
        loop {
            // SAFETY: the lock is held.
            let sg = unsafe { q.dequeue() };
            if sg.is_null() {
                break;
            }
            // SAFETY: a queued sudog's G is live.
            if unsafe { crate::waiter::is_orphan((*sg).g) } {
                kept.push(sg);
                continue;
            }
            // SAFETY: dequeued under the lock: ours until its G is readied.
            unsafe {
                (*sg).elem = null_mut();
                let gp = (*sg).g;
                (*gp).param = sg as *mut ();
                (*sg).success = false;
                woken.push(gp);
            }
        }
    }
    for sg in kept {
        // SAFETY: the lock is held; sg was just dequeued.
        unsafe { ch.sendq.enqueue(sg) };
    }
    ch.lock.unlock();
    // Go pushes the Gs on a list and pops them: the last one found runs
    // first.
    // Tasks' wake-ups (their executors' code) once every waiter is
    // readied (waiter.rs).
    let _defer = crate::waiter::DeferWakes::new();
    for gp in woken.into_iter().rev() {
        // SAFETY: each G was parked on c and we took its sudog off the
        // queue, which makes us its one waker.
        unsafe { crate::proc::goready_entered(gp) };
    }
}

/// chanlen: port of runtime.chanlen (chan.go).
///
/// # Safety
/// `c` is null or a live channel.
pub unsafe fn chanlen(c: *mut HChan) -> usize {
    // SAFETY: the caller's handle keeps c alive.
    if c.is_null() || unsafe { (*c).timer.is_some() } {
        // A timer channel is synchronous (Go 1.23): it looks unbuffered.
        return 0;
    }
    // SAFETY: as above.
    unsafe { (*c).qcount.load(Ordering::Relaxed) }
}

/// chancap: port of runtime.chancap (chan.go).
///
/// # Safety
/// `c` is null or a live channel.
pub unsafe fn chancap(c: *mut HChan) -> usize {
    // SAFETY: the caller's handle keeps c alive.
    if c.is_null() || unsafe { (*c).timer.is_some() } {
        return 0;
    }
    // SAFETY: as above.
    unsafe { (*c).dataqsiz }
}

/// Whether `c` is closed (for `gort::Chan::is_closed`, which Go lacks; a
/// racy snapshot like `len`).
///
/// # Safety
/// `c` is null or a live channel.
pub unsafe fn chanclosed(c: *mut HChan) -> bool {
    // SAFETY: the caller's handle keeps c alive.
    !c.is_null() && unsafe { (*c).is_closed() }
}
