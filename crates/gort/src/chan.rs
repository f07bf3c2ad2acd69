//! Go's channels: [`Chan`], its direction-restricted views [`SendChan`] and
//! [`RecvChan`], and the errors of the non-blocking operations.
//!
//! A `Chan<T>` is Go's `chan T`: a cloneable handle (cloning gives another
//! handle to the same channel, as copying a Go channel value does), with a
//! buffer of `cap` values (`0`: unbuffered, every send meets a receive).
//! The implementation is a port of Go's `runtime/chan.go` (see
//! `runtime_p::chan`): a blocked sender or receiver parks its goroutine,
//! never the thread, and a value is copied straight into a waiting
//! receiver's frame.
//!
//! | Go | gort |
//! |---|---|
//! | `make(chan T, n)` | `Chan::<T>::new(n)` |
//! | `var c chan T` (nil) | `Chan::<T>::nil()` / `Chan::default()` |
//! | `c <- v` | `c.send(v)` |
//! | `v, ok := <-c` | `c.recv()` → `Some(v)` / `None` (closed and drained) |
//! | `select { case c <- v: default: }` | `c.try_send(v)` |
//! | `select { case v := <-c: default: }` | `c.try_recv()` |
//! | `close(c)` | `c.close()` |
//! | `len(c)`, `cap(c)` | `c.len()`, `c.cap()` |
//! | `chan<- T`, `<-chan T` | [`SendChan<T>`], [`RecvChan<T>`] |
//! | `for v := range c` | `for v in &c` |
//! | `select { ... }` | [`select!`](crate::select!) |
//!
//! Misuse ends like Go: `send on closed channel`, `close of closed
//! channel` and `close of nil channel` are panics (an unrecovered one ends
//! the program with status 2 and Go's report); operations on a nil channel
//! block forever, and a program whose goroutines all wait that way ends with
//! `fatal error: all goroutines are asleep - deadlock!`.
//!
//! Unlike Go's non-blocking send, [`Chan::try_send`] reports a closed
//! channel as an error that gives the value back instead of panicking;
//! `select!` with a `default` arm keeps Go's panic.
//!
//! Values are dropped exactly once: a value left in the buffer is dropped
//! when the last handle goes; a value whose send did not happen (a `select!`
//! arm not chosen, a send to a closed channel) is dropped or handed back.
//!
//! Any thread may use a channel: goroutines of any runtime (a goroutine
//! woken by another runtime's runs on its own), and plain threads, which
//! block where a goroutine would park (a plain thread may wait on a
//! timer channel too: it runs the timer itself when it is due). Async
//! code awaits [`Chan::send_async`] and [`Chan::recv_async`]. Only
//! `gort::syscall::blocking`'s closures may not: they run without the
//! runtime.

use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::null_mut;

use runtime_p::chan::{
    HChan, SendResult, chancap, chanclosed, chanlen, chanrecv, chansend, closechan,
};

/// A channel of `T`: Go's `chan T`. See the [module docs](self).
///
/// `Chan<T>` is invariant in `T`, so a channel of long-lived references
/// cannot be used as one of shorter-lived ones (which would let a
/// reference outlive its referent):
///
/// ```compile_fail
/// fn shrink<'a>(c: &'a gort::Chan<&'static str>) -> &'a gort::Chan<&'a str> {
///     c
/// }
/// ```
pub struct Chan<T> {
    /// Null for a nil channel; otherwise a channel this handle counts in.
    c: *mut HChan,
    /// Owns `T`s (for drop checking) and is invariant in `T`: a covariant
    /// channel would let safe code coerce a `Chan<&'static str>` to a
    /// `&Chan<&'a str>`, send a short-lived reference through it and
    /// receive it back as `'static`.
    _t: PhantomData<Invariant<T>>,
}

/// Owns a `T` and is invariant in it (see [`Chan`]'s `_t`).
type Invariant<T> = (T, fn(T) -> T);

// SAFETY: a channel moves `T`s between goroutines, which may run on any
// thread, so `T: Send` is needed and sufficient; the channel itself is
// synchronised by its lock.
unsafe impl<T: Send> Send for Chan<T> {}
// SAFETY: as above; every operation takes `&self`.
unsafe impl<T: Send> Sync for Chan<T> {}

impl<T> Chan<T> {
    /// A channel with room for `cap` values: Go's `make(chan T, cap)`.
    ///
    /// # Panics
    /// With Go's `makechan: size out of range` when `cap` values of `T`
    /// cannot be allocated.
    #[track_caller]
    pub fn new(cap: usize) -> Chan<T> {
        Chan {
            c: HChan::new::<T>(cap),
            _t: PhantomData,
        }
    }

    /// The nil channel: sends and receives block forever, `close` panics,
    /// `len` and `cap` are 0; in [`select!`](crate::select!) its cases are
    /// never chosen.
    pub const fn nil() -> Chan<T> {
        Chan {
            c: null_mut(),
            _t: PhantomData,
        }
    }

    /// Whether this is the nil channel.
    pub fn is_nil(&self) -> bool {
        self.c.is_null()
    }

    /// Sends `v`, waiting for room or a receiver: Go's `c <- v`.
    ///
    /// # Panics
    /// `send on closed channel` if the channel is closed (also when it is
    /// closed while the sender waits); the value is dropped.
    #[track_caller]
    pub fn send(&self, v: T) {
        let mut slot = Unsent::new(v);
        // SAFETY: self.c is null or a live channel of T (we hold a handle);
        // the slot owns a T until the runtime reports it sent.
        match unsafe { chansend(self.c, slot.ptr(), true) } {
            SendResult::Sent => slot.sent(),
            SendResult::Closed => {
                // The value is still ours; it is dropped as the panic unwinds.
                std::panic::panic_any(runtime_p::panic::RuntimeError("send on closed channel"));
            }
            SendResult::WouldBlock => unreachable!("blocking send gave up"),
        }
    }

    /// Receives a value, waiting for one: Go's `v, ok := <-c`. `None` means
    /// the channel is closed and every value sent before `close` has been
    /// received.
    pub fn recv(&self) -> Option<T> {
        // SAFETY: as in send; the slot is uninitialised.
        unsafe { recv_raw(self.c, true) }.ok()
    }

    /// Sends `v` from async code: the future completes once a receiver
    /// took the value or it is buffered, waiting (woken through its
    /// `Waker`) where `send` would park; no thread blocks. Any executor.
    ///
    /// Dropping the future before it completes withdraws the value (it is
    /// dropped with the future) unless a receiver already took it.
    ///
    /// # Panics
    /// When polled: `send on closed channel` if the channel is closed
    /// (also while the send waits); the value is dropped.
    pub fn send_async(&self, v: T) -> SendFuture<'_, T> {
        SendFuture {
            c: self,
            v: MaybeUninit::new(v),
            state: FutState::Start,
            wait: runtime_p::chan_async::AsyncWait::new(),
            _pin: core::marker::PhantomPinned,
        }
    }

    /// Receives from async code: Go's `v, ok := <-c` as a future, woken
    /// through its `Waker` where `recv` would park; no thread blocks. Any
    /// executor.
    ///
    /// Cancel-safe: if the future is dropped after a value reached it but
    /// before it completed, the value goes back to the front of the
    /// channel (to a waiting receiver, the head of the buffer, or as the
    /// first waiting sender, which `close` leaves in place), so nothing is
    /// lost: it is received next, or dropped with the channel. (A timer
    /// channel's tick is not put back: it is missed, as Go drops a tick
    /// that no receiver was ready for.)
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        RecvFuture {
            c: self,
            slot: MaybeUninit::uninit(),
            done: false,
            wait: runtime_p::chan_async::AsyncWait::new(),
            _pin: core::marker::PhantomPinned,
        }
    }

    /// Sends `v` if that can be done without waiting: Go's `select { case
    /// c <- v: default: }`, except that a closed channel is an error, not a
    /// panic. Either way an unsent value comes back in the error.
    pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        let mut slot = Unsent::new(v);
        // SAFETY: as in send.
        match unsafe { chansend(self.c, slot.ptr(), false) } {
            SendResult::Sent => {
                slot.sent();
                Ok(())
            }
            SendResult::WouldBlock => Err(TrySendError::Full(slot.take())),
            SendResult::Closed => Err(TrySendError::Closed(slot.take())),
        }
    }

    /// Receives a value if one is there: Go's `select { case v, ok := <-c:
    /// default: }`.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        // SAFETY: as in recv.
        unsafe { recv_raw(self.c, false) }
    }

    /// Closes the channel: Go's `close(c)`. Receivers get the buffered
    /// values, then `None`; waiting receivers wake with `None` and waiting
    /// senders panic.
    ///
    /// # Panics
    /// `close of closed channel`, or `close of nil channel`.
    #[track_caller]
    pub fn close(&self) {
        // SAFETY: null or a live channel we hold a handle to.
        unsafe { closechan(self.c) }
    }

    /// Number of values in the buffer: Go's `len(c)`.
    pub fn len(&self) -> usize {
        // SAFETY: null or a live channel we hold a handle to.
        unsafe { chanlen(self.c) }
    }

    /// Whether the buffer is empty (`len() == 0`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Capacity of the buffer: Go's `cap(c)`.
    pub fn cap(&self) -> usize {
        // SAFETY: null or a live channel we hold a handle to.
        unsafe { chancap(self.c) }
    }

    /// Whether the channel has been closed (Go has no such query; like
    /// `len`, the answer is a snapshot).
    pub fn is_closed(&self) -> bool {
        // SAFETY: null or a live channel we hold a handle to.
        unsafe { chanclosed(self.c) }
    }

    /// A send-only handle to the same channel (Go's `chan<- T`).
    pub fn sender(&self) -> SendChan<T> {
        SendChan(self.clone())
    }

    /// A receive-only handle to the same channel (Go's `<-chan T`).
    pub fn receiver(&self) -> RecvChan<T> {
        RecvChan(self.clone())
    }

    /// Receives until the channel is closed and drained: Go's `for v :=
    /// range c`.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            c: self.c,
            _t: PhantomData,
        }
    }

    pub(crate) fn raw(&self) -> *mut HChan {
        self.c
    }

    /// Wraps a channel handle made by the runtime (a timer's channel).
    ///
    /// # Safety
    /// `c` is a live channel of `T`, and the caller gives its handle away.
    pub(crate) unsafe fn from_raw(c: *mut HChan) -> Chan<T> {
        Chan { c, _t: PhantomData }
    }
}

/// Receives into a fresh slot.
///
/// # Safety
/// `c` is null or a live channel of `T`.
unsafe fn recv_raw<T>(c: *mut HChan, block: bool) -> Result<T, TryRecvError> {
    let mut slot = MaybeUninit::<T>::uninit();
    // SAFETY: the caller's contract; the slot is uninitialised.
    let (selected, received) = unsafe { chanrecv(c, slot.as_mut_ptr().cast(), block) };
    if received {
        // SAFETY: chanrecv filled the slot exactly when it reports received.
        Ok(unsafe { slot.assume_init() })
    } else if selected {
        Err(TryRecvError::Closed)
    } else {
        Err(TryRecvError::Empty)
    }
}

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Self {
        if !self.c.is_null() {
            // SAFETY: we hold a handle.
            unsafe { HChan::retain(self.c) };
        }
        Chan {
            c: self.c,
            _t: PhantomData,
        }
    }
}

/// A value on its way into a channel: owned here until the runtime
/// reports it sent, and dropped here if the send ends otherwise, also
/// when it unwinds (a goroutine ended by its runtime's shutdown).
struct Unsent<T> {
    v: MaybeUninit<T>,
    owned: bool,
}

impl<T> Unsent<T> {
    fn new(v: T) -> Unsent<T> {
        Unsent {
            v: MaybeUninit::new(v),
            owned: true,
        }
    }

    /// The slot to hand to `chansend`.
    fn ptr(&mut self) -> *mut u8 {
        self.v.as_mut_ptr().cast()
    }

    /// The runtime moved the value out.
    fn sent(mut self) {
        self.owned = false;
    }

    /// The value back, unsent.
    fn take(mut self) -> T {
        self.owned = false;
        // SAFETY: the send did not happen, so the slot still owns the value,
        // and `owned` is now false so that Drop leaves it alone.
        unsafe { self.v.assume_init_read() }
    }
}

impl<T> Drop for Unsent<T> {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: `owned` says the slot holds the value.
            unsafe { self.v.assume_init_drop() };
        }
    }
}

impl<T> Drop for Chan<T> {
    fn drop(&mut self) {
        if !self.c.is_null() {
            // SAFETY: we give up our handle.
            unsafe { HChan::release(self.c) };
        }
    }
}

impl<T> Default for Chan<T> {
    /// The nil channel, as Go's zero value.
    fn default() -> Self {
        Chan::nil()
    }
}

impl<T> PartialEq for Chan<T> {
    /// Go's `==` on channels: the same channel (or both nil).
    fn eq(&self, other: &Self) -> bool {
        self.c == other.c
    }
}

impl<T> Eq for Chan<T> {}

impl<T> core::hash::Hash for Chan<T> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        (self.c as usize).hash(state)
    }
}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.c.is_null() {
            return f.write_str("Chan(nil)");
        }
        f.debug_struct("Chan")
            .field("addr", &self.c)
            .field("len", &self.len())
            .field("cap", &self.cap())
            .finish()
    }
}

#[derive(PartialEq)]
enum FutState {
    Start,
    Done,
}

/// The future of [`Chan::send_async`].
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    c: &'a Chan<T>,
    /// The value, owned here until the runtime reports it sent (the
    /// runtime may copy it out of this slot while the future waits, so the
    /// future is pinned: `PhantomPinned`).
    v: MaybeUninit<T>,
    state: FutState,
    wait: runtime_p::chan_async::AsyncWait,
    _pin: core::marker::PhantomPinned,
}

impl<T> core::future::Future for SendFuture<'_, T> {
    type Output = ();

    #[track_caller]
    fn poll(
        self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<()> {
        // SAFETY: nothing is moved out of the pinned future; `v` stays put.
        let this = unsafe { self.get_unchecked_mut() };
        if this.state == FutState::Done {
            panic!("SendFuture polled after completion");
        }
        let ep = this.v.as_mut_ptr().cast::<u8>();
        // SAFETY: the channel is null or live (we borrow a handle); the
        // slot owns a T until Sent, and stays pinned while queued.
        match unsafe { runtime_p::chan_async::send_poll(this.c.c, ep, &mut this.wait, cx) } {
            core::task::Poll::Pending => core::task::Poll::Pending,
            core::task::Poll::Ready(SendResult::Sent) => {
                this.state = FutState::Done;
                core::task::Poll::Ready(())
            }
            core::task::Poll::Ready(_) => {
                this.state = FutState::Done;
                // SAFETY: not sent: the slot still owns the value.
                unsafe { this.v.assume_init_drop() };
                std::panic::panic_any(runtime_p::panic::RuntimeError("send on closed channel"));
            }
        }
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        if self.state == FutState::Done {
            return;
        }
        // SAFETY: our channel and wait; the value is ours unless a
        // receiver took it.
        if unsafe { runtime_p::chan_async::send_cancel(self.c.c, &mut self.wait) } {
            // SAFETY: the slot still owns the value.
            unsafe { self.v.assume_init_drop() };
        }
    }
}

/// The future of [`Chan::recv_async`]: `Some(v)`, or `None` once the
/// channel is closed and drained.
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    c: &'a Chan<T>,
    /// Where a sender puts the value (pinned while the future waits).
    slot: MaybeUninit<T>,
    done: bool,
    wait: runtime_p::chan_async::AsyncWait,
    _pin: core::marker::PhantomPinned,
}

impl<T> core::future::Future for RecvFuture<'_, T> {
    type Output = Option<T>;

    fn poll(
        self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<Option<T>> {
        // SAFETY: nothing is moved out of the pinned future but the
        // received value, once the runtime is done with the slot.
        let this = unsafe { self.get_unchecked_mut() };
        if this.done {
            panic!("RecvFuture polled after completion");
        }
        let ep = this.slot.as_mut_ptr().cast::<u8>();
        // SAFETY: the channel is null or live; the slot is empty and
        // pinned while queued.
        match unsafe { runtime_p::chan_async::recv_poll(this.c.c, ep, &mut this.wait, cx) } {
            core::task::Poll::Pending => core::task::Poll::Pending,
            core::task::Poll::Ready(got) => {
                this.done = true;
                core::task::Poll::Ready(got.then(|| {
                    // SAFETY: recv_poll filled the slot.
                    unsafe { this.slot.assume_init_read() }
                }))
            }
        }
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        if !self.done {
            let ep = self.slot.as_mut_ptr().cast::<u8>();
            // SAFETY: our channel, slot and wait; a value that reached the
            // slot is put back into the channel.
            unsafe { runtime_p::chan_async::recv_cancel(self.c.c, ep, &mut self.wait) };
        }
    }
}

/// A send-only handle: Go's `chan<- T`.
pub struct SendChan<T>(Chan<T>);

/// A receive-only handle: Go's `<-chan T`.
pub struct RecvChan<T>(Chan<T>);

impl<T> SendChan<T> {
    /// See [`Chan::send`].
    #[track_caller]
    pub fn send(&self, v: T) {
        self.0.send(v)
    }
    /// See [`Chan::try_send`].
    pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        self.0.try_send(v)
    }
    /// See [`Chan::send_async`].
    pub fn send_async(&self, v: T) -> SendFuture<'_, T> {
        self.0.send_async(v)
    }
    /// See [`Chan::close`] (Go allows closing a send-only channel).
    #[track_caller]
    pub fn close(&self) {
        self.0.close()
    }
}

impl<T> RecvChan<T> {
    /// See [`Chan::recv`].
    pub fn recv(&self) -> Option<T> {
        self.0.recv()
    }
    /// See [`Chan::try_recv`].
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.0.try_recv()
    }
    /// See [`Chan::recv_async`].
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        self.0.recv_async()
    }
    /// See [`Chan::iter`].
    pub fn iter(&self) -> Iter<'_, T> {
        self.0.iter()
    }
}

/// What both direction-restricted views share: the queries a Go program
/// may make of either `chan<- T` or `<-chan T`, and the value traits.
macro_rules! view_impls {
    ($v:ident) => {
        impl<T> $v<T> {
            /// See [`Chan::len`].
            pub fn len(&self) -> usize {
                self.0.len()
            }
            /// See [`Chan::is_empty`].
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
            /// See [`Chan::cap`].
            pub fn cap(&self) -> usize {
                self.0.cap()
            }
            /// See [`Chan::is_nil`].
            pub fn is_nil(&self) -> bool {
                self.0.is_nil()
            }
        }
        impl<T> Clone for $v<T> {
            fn clone(&self) -> Self {
                $v(self.0.clone())
            }
        }
        impl<T> From<Chan<T>> for $v<T> {
            fn from(c: Chan<T>) -> Self {
                $v(c)
            }
        }
        impl<T> Default for $v<T> {
            fn default() -> Self {
                $v(Chan::nil())
            }
        }
        impl<T> PartialEq for $v<T> {
            fn eq(&self, other: &Self) -> bool {
                self.0 == other.0
            }
        }
        impl<T> Eq for $v<T> {}
        impl<T> fmt::Debug for $v<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($v), self.0)
            }
        }
    };
}
view_impls!(SendChan);
view_impls!(RecvChan);

/// Iterator over received values, ending when the channel is closed and
/// drained: Go's `for v := range c`.
pub struct Iter<'a, T> {
    c: *mut HChan,
    _t: PhantomData<&'a Chan<T>>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        // SAFETY: the borrowed handle keeps the channel alive.
        unsafe { recv_raw(self.c, true) }.ok()
    }
}

/// Owning iterator: see [`Iter`].
pub struct IntoIter<T>(Chan<T>);

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.0.recv()
    }
}

impl<'a, T> IntoIterator for &'a Chan<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Chan<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter(self)
    }
}

impl<'a, T> IntoIterator for &'a RecvChan<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for RecvChan<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter(self.0)
    }
}

/// Why [`Chan::try_send`] did not send; the value comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// No room in the buffer and no receiver waiting (or a nil channel).
    Full(T),
    /// The channel is closed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }
    /// Whether the channel was full.
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }
    /// Whether the channel was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending on a full channel"),
            TrySendError::Closed(_) => f.write_str("send on closed channel"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// Why [`Chan::try_recv`] returned no value.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TryRecvError {
    /// Nothing to receive now (or a nil channel).
    Empty,
    /// The channel is closed and drained.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving on an empty channel"),
            TryRecvError::Closed => f.write_str("receiving on a closed channel"),
        }
    }
}

impl std::error::Error for TryRecvError {}

mod sealed {
    /// Keeps [`super::Sender`] and [`super::Receiver`] closed to other
    /// implementations: `select!` trusts `raw_chan` to return a channel of
    /// `Item`.
    pub trait Sealed {}
    impl<T> Sealed for super::Chan<T> {}
    impl<T> Sealed for super::SendChan<T> {}
    impl<T> Sealed for super::RecvChan<T> {}
    impl<C: Sealed + ?Sized> Sealed for &C {}
}

/// Channels a `select!` can send on: [`Chan`] and [`SendChan`] (and
/// references to them). Sealed.
pub trait Sender: sealed::Sealed {
    /// The element type.
    type Item;
    #[doc(hidden)]
    fn raw_chan(&self) -> *mut HChan;
}

/// Channels a `select!` can receive from: [`Chan`] and [`RecvChan`] (and
/// references to them). Sealed.
pub trait Receiver: sealed::Sealed {
    /// The element type.
    type Item;
    #[doc(hidden)]
    fn raw_chan(&self) -> *mut HChan;
}

impl<T> Sender for Chan<T> {
    type Item = T;
    fn raw_chan(&self) -> *mut HChan {
        self.raw()
    }
}
impl<T> Sender for SendChan<T> {
    type Item = T;
    fn raw_chan(&self) -> *mut HChan {
        self.0.raw()
    }
}
impl<T> Receiver for Chan<T> {
    type Item = T;
    fn raw_chan(&self) -> *mut HChan {
        self.raw()
    }
}
impl<T> Receiver for RecvChan<T> {
    type Item = T;
    fn raw_chan(&self) -> *mut HChan {
        self.0.raw()
    }
}
impl<C: Sender + ?Sized> Sender for &C {
    type Item = C::Item;
    fn raw_chan(&self) -> *mut HChan {
        (**self).raw_chan()
    }
}
impl<C: Receiver + ?Sized> Receiver for &C {
    type Item = C::Item;
    fn raw_chan(&self) -> *mut HChan {
        (**self).raw_chan()
    }
}
