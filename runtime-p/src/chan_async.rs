//! Channel operations of async tasks (no Go twin): `chansend` and
//! `chanrecv` cut at their park into a start, a poll and a cancel, with a
//! [`TaskG`] standing in the queue for the task (waiter.rs).
//!
//! A start takes the fast paths under the channel lock as `chansend` /
//! `chanrecv` do; otherwise it queues a sudog whose `elem` points into the
//! pinned future, and the waker completes the operation into or out of it
//! exactly as for a parked goroutine. A poll then only asks whether the
//! one waker came ([`TaskG::register_and_check`]).
//!
//! Dropping a future whose wait is queued takes the sudog off the queue
//! under the lock. If a waker took it first, the drop waits for that
//! wake-up to finish, then: a send that happened stays done; a value
//! received into the dropped future is put back at the front of the
//! channel ([`unrecv`]), so that nothing is lost: handed to a waiting
//! receiver, or into the buffer's head, or (unbuffered, or a full buffer)
//! as a sender queued first that no task owns, which even `close` leaves
//! to be received. A timer channel's tick is the exception: it is missed,
//! as Go 1.23's timer channels drop a tick nobody was ready for.

use core::task::{Context, Poll};
use std::alloc::{Layout, alloc, dealloc, handle_alloc_error};

use crate::chan::{HChan, SendResult};
use crate::waiter::{TaskG, TaskWait};

/// The state of one async channel operation: its task wait, and whether
/// it counts as blocked on its channel's timer.
pub struct AsyncWait {
    w: TaskWait,
    timer_blocked: bool,
}

impl Default for AsyncWait {
    fn default() -> Self {
        AsyncWait::new()
    }
}

impl AsyncWait {
    /// No operation started yet.
    pub const fn new() -> AsyncWait {
        AsyncWait {
            w: TaskWait::new(),
            timer_blocked: false,
        }
    }

    /// Whether a sudog is queued (or was, and its wake-up not yet seen).
    pub fn waiting(&self) -> bool {
        self.w.waiting()
    }

    fn tg(&mut self) -> &TaskG {
        self.w.tg()
    }

    /// Queues a sudog for `ep` on `q` of `ch`, with the lock held.
    ///
    /// # Safety
    /// The lock of `ch` (`c`) is held; `ep` stays valid while queued.
    unsafe fn enqueue(&mut self, c: *mut HChan, ep: *mut u8, recv: bool) {
        let tg = self.tg();
        let gp = tg.gp();
        tg.set_waiting();
        let sg = crate::waiter::new_sudog();
        // SAFETY: sg is new; the lock is held while it is published.
        unsafe {
            (*sg).elem = ep;
            (*sg).g = gp;
            (*sg).c = c;
            (*gp).waiting = sg as *mut ();
            if recv {
                (*c).recvq.enqueue(sg);
            } else {
                (*c).sendq.enqueue(sg);
            }
        }
        self.w.sg = sg;
    }

    /// After the one waker made the G runnable (or the sudog was taken
    /// back): whether a value was communicated (false: closed, or
    /// withdrawn).
    fn finish(&mut self) -> bool {
        self.w.finish(|sg| sg.success)
    }

    /// Takes the sudog back off its queue of `c` (true), or, if a waker
    /// took it first, waits for that wake-up to finish (false).
    ///
    /// # Safety
    /// `c` is the live channel the sudog was queued on.
    unsafe fn withdraw(&mut self, c: *mut HChan) -> bool {
        // SAFETY: per the contract; the sudog is ours.
        let queued = unsafe { (*c).withdraw(self.w.sg) };
        if !queued {
            self.w.await_waker();
        }
        queued
    }

    /// The end of a receive's wait on a timer channel (`unblockTimerChan`).
    ///
    /// # Safety
    /// `c` is the live channel waited on.
    unsafe fn unblock_timer(&mut self, c: *mut HChan) {
        if core::mem::replace(&mut self.timer_blocked, false) {
            // SAFETY: per the contract.
            if let Some(t) = unsafe { HChan::timer_of(c) } {
                t.unblock_chan();
            }
        }
    }
}

/// A poll of an async send of the value at `ep` on `c`.
///
/// # Safety
/// As for [`crate::chan::chansend`] with `block`; `ep` stays valid and
/// owned by the operation until it returns `Ready` or is cancelled with
/// [`send_cancel`] (the future is pinned); `w` belongs to this operation.
pub unsafe fn send_poll(
    c: *mut HChan,
    ep: *mut u8,
    w: &mut AsyncWait,
    cx: &mut Context<'_>,
) -> Poll<SendResult> {
    if w.waiting() {
        let woken = w.tg().register_and_check(cx.waker());
        if !woken {
            return Poll::Pending;
        }
        return Poll::Ready(if w.finish() {
            SendResult::Sent
        } else {
            SendResult::Closed
        });
    }
    if c.is_null() {
        // A nil channel: never ready.
        return Poll::Pending;
    }
    crate::waiter::note_outside();
    let _rt = crate::proc::enter_if_user();
    // SAFETY: the caller's handle keeps c alive.
    let ch = unsafe { &*c };
    ch.lock.lock();
    if ch.closed_locked() {
        ch.lock.unlock();
        return Poll::Ready(SendResult::Closed);
    }
    // SAFETY: the lock is held.
    let sg = unsafe { ch.recvq.dequeue() };
    if !sg.is_null() {
        // SAFETY: dequeued under the lock; ep owns a value.
        unsafe { crate::chan::send(ch, sg, ep, || ch.lock.unlock()) };
        return Poll::Ready(SendResult::Sent);
    }
    if ch.qcount_locked() < ch.dataqsiz() {
        // SAFETY: the lock is held and there is room.
        unsafe { ch.buf_put(ep) };
        ch.lock.unlock();
        return Poll::Ready(SendResult::Sent);
    }
    // Register the waker first: a wake-up right after the unlock finds it.
    let tg = w.tg();
    tg.register_and_check(cx.waker());
    // SAFETY: the lock is held; ep stays valid while queued.
    unsafe { w.enqueue(c, ep, false) };
    ch.lock.unlock();
    Poll::Pending
}

/// A poll of an async receive from `c` into `ep`: `Ready(true)` with a
/// value in `ep`, `Ready(false)` once the channel is closed and drained.
///
/// # Safety
/// As for [`crate::chan::chanrecv`] with `block`; `ep` is an uninitialised
/// slot that stays valid until `Ready` or [`recv_cancel`].
pub unsafe fn recv_poll(
    c: *mut HChan,
    ep: *mut u8,
    w: &mut AsyncWait,
    cx: &mut Context<'_>,
) -> Poll<bool> {
    if w.waiting() {
        let woken = w.tg().register_and_check(cx.waker());
        if !woken {
            return Poll::Pending;
        }
        let _rt = crate::proc::enter_if_user();
        // SAFETY: the caller's handle keeps c alive.
        unsafe { w.unblock_timer(c) };
        return Poll::Ready(w.finish());
    }
    if c.is_null() {
        return Poll::Pending;
    }
    crate::waiter::note_outside();
    let _rt = crate::proc::enter_if_user();
    // SAFETY: the caller's handle keeps c alive.
    let ch = unsafe { &*c };
    // SAFETY: as above.
    if let Some(t) = unsafe { HChan::timer_of(c) } {
        // A due timer that nobody has run yet sends now (as in chanrecv).
        t.maybe_run_chan();
    }
    ch.lock.lock();
    if ch.closed_locked() && ch.qcount_locked() == 0 {
        // A value put back may still wait as a sender (as in chanrecv).
        // SAFETY: the lock is held.
        let sg = unsafe { ch.sendq.dequeue() };
        if !sg.is_null() {
            // SAFETY: dequeued under the lock; ep is an empty slot.
            unsafe { crate::chan::recv(ch, sg, ep, || ch.lock.unlock()) };
            return Poll::Ready(true);
        }
        ch.lock.unlock();
        return Poll::Ready(false);
    }
    if !ch.closed_locked() {
        // SAFETY: the lock is held.
        let sg = unsafe { ch.sendq.dequeue() };
        if !sg.is_null() {
            // SAFETY: dequeued under the lock; ep is an empty slot.
            unsafe { crate::chan::recv(ch, sg, ep, || ch.lock.unlock()) };
            return Poll::Ready(true);
        }
    }
    if ch.qcount_locked() > 0 {
        // SAFETY: the lock is held and a value is buffered.
        unsafe { ch.buf_take(ep) };
        ch.lock.unlock();
        return Poll::Ready(true);
    }
    let tg = w.tg();
    tg.register_and_check(cx.waker());
    // SAFETY: the lock is held; ep stays valid while queued.
    unsafe { w.enqueue(c, ep, true) };
    // SAFETY: as above.
    if let Some(t) = unsafe { HChan::timer_of(c) } {
        // Someone waits on the timer now: a heap (on a goroutine) or the
        // gort-timers thread (elsewhere) runs it (`blockTimerChan`).
        t.block_chan();
        w.timer_blocked = true;
    }
    ch.lock.unlock();
    Poll::Pending
}

/// Ends an async send that is not `Ready`: returns whether the value at
/// `ep` is still the operation's (to drop); false if a receiver took it.
///
/// # Safety
/// `c` and `w` are those of the operation, whose polls were as above.
pub unsafe fn send_cancel(c: *mut HChan, w: &mut AsyncWait) -> bool {
    if !w.waiting() {
        return true;
    }
    let _rt = crate::proc::enter_if_user();
    // SAFETY: the future's handle keeps c alive.
    unsafe { w.withdraw(c) };
    // Withdrawn or closed: still ours. Sent: taken.
    !w.finish()
}

/// Ends an async receive that is not `Ready`. A value that arrived into
/// `ep` meanwhile goes back to the front of the channel ([`unrecv`]).
///
/// # Safety
/// As for [`send_cancel`]; `ep` is the operation's slot.
pub unsafe fn recv_cancel(c: *mut HChan, ep: *mut u8, w: &mut AsyncWait) {
    if !w.waiting() {
        return;
    }
    // A value put back may ready a goroutine (`send`): inside the running
    // goroutine's section, if a goroutine drops the future.
    let _rt = crate::proc::enter_if_user();
    // SAFETY: the future's handle keeps c alive.
    unsafe {
        w.withdraw(c);
        w.unblock_timer(c);
    }
    // A withdrawn receive got nothing (`success` false).
    if w.finish() {
        // A timer channel's tick is not put back: it would outlive a
        // Stop or Reset (which drain only the buffer) and could come
        // before a later tick. A dropped receive misses it, as a receiver
        // that was not ready misses a tick (Go 1.23's timer channels).
        // SAFETY: the future's handle keeps c alive.
        if unsafe { HChan::timer_of(c) }.is_some() {
            return;
        }
        // SAFETY: the slot holds the value the waker put there.
        unsafe { unrecv(c, ep) };
    }
}

/// Puts the value at `ep` (received by an operation that was then
/// dropped) back at the front of `c`, as if it had never been received:
/// to a waiting receiver, else at the buffer's head, else (unbuffered, or
/// a full buffer whose newest value moves out to make room) as a sender
/// queued first that no task owns ([`orphan_send`]). Also on a closed
/// channel: `closechan` passes such senders over, and receives take their
/// values after the buffer's, before reporting the channel closed. The
/// last handle's release drops values nobody took.
///
/// # Safety
/// `c` is a live channel; `ep` owns a value of its element type, which is
/// consumed.
unsafe fn unrecv(c: *mut HChan, ep: *mut u8) {
    // SAFETY: per the contract.
    let ch = unsafe { &*c };
    ch.lock.lock();
    if !ch.closed_locked() {
        // SAFETY: the lock is held.
        let sg = unsafe { ch.recvq.dequeue() };
        if !sg.is_null() {
            // SAFETY: dequeued under the lock; ep owns the value.
            unsafe { crate::chan::send(ch, sg, ep, || ch.lock.unlock()) };
            return;
        }
    }
    let n = ch.dataqsiz();
    if n > 0 && ch.qcount_locked() < n {
        // SAFETY: the lock is held and there is room.
        unsafe { ch.buf_put_front(ep) };
        ch.lock.unlock();
        return;
    }
    let out = alloc_elem(ch);
    if n > 0 {
        // Full: the newest buffered value becomes the first sender, and
        // ours takes the head.
        // SAFETY: the lock is held, the buffer is full, out is a slot.
        unsafe {
            ch.buf_take_back(out);
            ch.buf_put_front(ep);
        }
    } else {
        // SAFETY: distinct slots of the element type.
        unsafe { core::ptr::copy_nonoverlapping(ep, out, ch.elem_type().size) };
    }
    // SAFETY: the lock is held; out owns a value.
    unsafe { orphan_send(c, out) };
    ch.lock.unlock();
}

fn alloc_elem(ch: &HChan) -> *mut u8 {
    let e = ch.elem_type();
    if e.size == 0 {
        return e.align as *mut u8;
    }
    // SAFETY: a non-zero size.
    let p = unsafe { alloc(Layout::from_size_align(e.size, e.align).expect("element layout")) };
    if p.is_null() {
        handle_alloc_error(Layout::from_size_align(e.size, e.align).expect("element layout"));
    }
    p
}

/// Frees a slot from [`alloc_elem`] (its value already moved out or
/// dropped).
///
/// # Safety
/// `p` came from `alloc_elem(ch)`.
pub(crate) unsafe fn free_elem(ch: &HChan, p: *mut u8) {
    let e = ch.elem_type();
    if e.size != 0 {
        // SAFETY: per the contract.
        unsafe { dealloc(p, Layout::from_size_align_unchecked(e.size, e.align)) };
    }
}

/// Queues the value at `val` (a heap slot) as the first sender of `c`,
/// owned by no task: the receiver that takes it, or `close`, readies an
/// orphan G that frees it (waiter.rs). It holds no handle: the last
/// handle's release frees orphans still queued (`HChan::release`).
///
/// # Safety
/// The lock of `c` is held; `val` came from [`alloc_elem`] and owns a
/// value.
unsafe fn orphan_send(c: *mut HChan, val: *mut u8) {
    let gp = crate::waiter::orphan_g(c, val);
    let sg = crate::waiter::new_sudog();
    // SAFETY: sg is new; the lock is held while it is published.
    unsafe {
        (*sg).elem = val;
        (*sg).g = gp;
        (*sg).c = c;
        (*c).sendq.enqueue_front(sg);
    }
}
