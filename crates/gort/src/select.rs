//! The run-time half of [`select!`](crate::select!): typed value slots and
//! the call into `runtime_p::select::selectgo`. Hidden: the macro is the
//! interface, and its entry points ([`SendSlot::case`],
//! [`RecvSlot::case`], [`select`]) are `unsafe fn`s, so that calling them
//! by hand does not compile without `unsafe`:
//!
//! ```compile_fail,E0133
//! let c: gort::Chan<Box<u8>> = gort::Chan::new(1);
//! let mut s = gort::__private::SendSlot::new(&c, Box::new(1));
//! let _ = s.case();
//! ```
//!
//! The `unsafe` blocks of the macro's expansion wrap only these calls on
//! the slots it made, never the user's expressions, and do not trip
//! `#![forbid(unsafe_code)]` in the user's crate (rustc does not report
//! that lint inside an external macro's expansion; `tests/forbid_unsafe.rs`
//! checks it). As a second line of defence the slots' types tie each case
//! to its channel's element type, and a slot refuses (panics on) a second
//! case that would send a value twice or overwrite a received one.
//!
//! Each case owns a slot on the selecting goroutine's stack: a send case's
//! slot holds the value to send, a receive case's slot is empty until a
//! value arrives. The runtime moves a value out of (or into) exactly the
//! slot of the case that completes; [`select`] records that in the slot's
//! flag, so that the slots, not the macro, decide what to drop. An unsent
//! value is dropped when its slot goes, before the chosen arm runs.

use core::marker::PhantomData;
use core::mem::MaybeUninit;

use runtime_p::chan::{HChan, SendResult, chanrecv, chansend};
use runtime_p::select::{Scase, selectgo};

use crate::chan::{Receiver, Sender};

/// The value of a send case.
pub struct SendSlot<'c, T> {
    c: *mut HChan,
    v: MaybeUninit<T>,
    /// Whether `v` still owns the value.
    full: bool,
    _c: PhantomData<&'c ()>,
}

impl<'c, T> SendSlot<'c, T> {
    /// A send of `v` on `c`.
    pub fn new<C: Sender<Item = T> + ?Sized>(c: &'c C, v: T) -> Self {
        SendSlot {
            c: c.raw_chan(),
            v: MaybeUninit::new(v),
            full: true,
            _c: PhantomData,
        }
    }

    /// The case for [`select`]; borrows the slot until the select is over.
    ///
    /// # Safety
    /// The macro's private entry point. The caller passes the case to
    /// exactly one [`select`] and does not call `case` on this slot again:
    /// after a send the slot no longer owns a value, and a second send
    /// would copy freed memory into the channel (a double free). The slot
    /// also checks this and panics, a guard callers must not rely on.
    ///
    /// # Panics
    /// If the slot's value was sent already.
    pub unsafe fn case(&mut self) -> Case<'_> {
        assert!(
            self.full,
            "gort::select: this send slot's value was already sent (a slot serves one select)"
        );
        Case {
            c: self.c,
            elem: self.v.as_mut_ptr().cast(),
            full: &raw mut self.full,
            send: true,
            _p: PhantomData,
        }
    }
}

impl<T> Drop for SendSlot<'_, T> {
    fn drop(&mut self) {
        if self.full {
            // SAFETY: `full` says the slot still owns its value.
            unsafe { self.v.assume_init_drop() };
        }
    }
}

/// The destination of a receive case.
pub struct RecvSlot<'c, T> {
    c: *mut HChan,
    v: MaybeUninit<T>,
    /// Whether `v` holds a received value.
    full: bool,
    _c: PhantomData<&'c ()>,
}

impl<'c, T> RecvSlot<'c, T> {
    /// A receive from `c`.
    pub fn new<C: Receiver<Item = T> + ?Sized>(c: &'c C) -> Self {
        RecvSlot {
            c: c.raw_chan(),
            v: MaybeUninit::uninit(),
            full: false,
            _c: PhantomData,
        }
    }

    /// The case for [`select`]; borrows the slot until the select is over.
    ///
    /// # Safety
    /// As for [`SendSlot::case`]: one case for exactly one [`select`], and
    /// no second `case` while the slot holds a received value (it would
    /// be overwritten without being dropped; the slot checks and panics).
    ///
    /// # Panics
    /// If the slot still holds a received value (a slot serves one
    /// select): a second receive would overwrite it without dropping it.
    pub unsafe fn case(&mut self) -> Case<'_> {
        assert!(
            !self.full,
            "gort::select: this receive slot still holds a value (a slot serves one select)"
        );
        Case {
            c: self.c,
            elem: self.v.as_mut_ptr().cast(),
            full: &raw mut self.full,
            send: false,
            _p: PhantomData,
        }
    }

    /// The received value: `None` if the channel was closed (or the case
    /// was not chosen).
    pub fn take(&mut self) -> Option<T> {
        if !self.full {
            return None;
        }
        self.full = false;
        // SAFETY: `full` said the slot held a value; it no longer does.
        Some(unsafe { self.v.assume_init_read() })
    }
}

impl<T> Drop for RecvSlot<'_, T> {
    fn drop(&mut self) {
        if self.full {
            // SAFETY: `full` says the slot holds a value.
            unsafe { self.v.assume_init_drop() };
        }
    }
}

/// One case, borrowing its slot.
pub struct Case<'a> {
    c: *mut HChan,
    elem: *mut u8,
    full: *mut bool,
    send: bool,
    _p: PhantomData<&'a mut ()>,
}

/// Runs a select over `cases`, which must list the send cases first.
/// Returns the index of the case that completed, or `None` when `block` is
/// false and no case was ready (the `default` arm). With no cases and
/// `block`, parks forever (Go's `select {}`).
///
/// As Go's compiler does, a select of one case (plus an optional default)
/// becomes a plain channel operation, blocking or not.
///
/// # Safety
/// The macro's private entry point: `cases` are fresh cases of the slots
/// of this one select ([`SendSlot::case`], [`RecvSlot::case`]), send cases
/// first (checked).
///
/// # Panics
/// `send on closed channel` when the chosen send case's channel is closed;
/// the values stay in their slots and are dropped as the panic unwinds.
#[track_caller]
pub unsafe fn select<const N: usize>(cases: [Case<'_>; N], block: bool) -> Option<usize> {
    let nsends = cases.iter().take_while(|c| c.send).count();
    assert!(
        cases[nsends..].iter().all(|c| !c.send),
        "gort::select: send cases must come first"
    );
    if N == 0 {
        if block {
            runtime_p::block();
        }
        return None;
    }
    if N == 1 {
        let cas = &cases[0];
        if cas.send {
            // SAFETY: the case borrows a SendSlot that owns a value of the
            // channel's element type (SendSlot::new ties the types).
            return match unsafe { chansend(cas.c, cas.elem, block) } {
                SendResult::Sent => {
                    // SAFETY: the slot is borrowed by the case.
                    unsafe { *cas.full = false };
                    Some(0)
                }
                SendResult::WouldBlock => None,
                SendResult::Closed => {
                    std::panic::panic_any(runtime_p::panic::RuntimeError("send on closed channel"))
                }
            };
        }
        // SAFETY: the case borrows an empty RecvSlot of the channel's type.
        let (selected, received) = unsafe { chanrecv(cas.c, cas.elem, block) };
        // SAFETY: the slot is borrowed by the case.
        unsafe { *cas.full = received };
        return selected.then_some(0);
    }
    let mut scases: [Scase; N] = core::array::from_fn(|i| Scase {
        c: cases[i].c,
        elem: cases[i].elem,
    });
    let mut pollorder = [0u16; N];
    let mut lockorder = [0u16; N];
    // SAFETY: every case borrows a slot typed by its channel (see the slot
    // constructors): a full one for sends, an empty one for receives.
    let (casi, recv_ok) =
        unsafe { selectgo(&mut scases, &mut pollorder, &mut lockorder, nsends, block) };
    if casi < 0 {
        return None;
    }
    let i = casi as usize;
    let cas = &cases[i];
    // SAFETY: the slot is borrowed by the case. A completed send consumed
    // the value; a receive filled the slot iff recv_ok.
    unsafe { *cas.full = if cas.send { false } else { recv_ok } };
    Some(i)
}
