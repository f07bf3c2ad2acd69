//! [`select_dyn`]: a `select` over a list of cases built at run time, Go's
//! `reflect.Select` (reflect/value.go) on the same `selectgo` as
//! [`select!`](crate::select!), through Go's `reflect_rselect`
//! (runtime/select.go).

use core::marker::PhantomData;
use core::mem::MaybeUninit;

use runtime_p::chan::HChan;
use runtime_p::select::{Scase, selectgo};

use crate::chan::{Receiver, Sender};

/// One case of a [`select_dyn`] (Go's `reflect.SelectCase`): a send of a
/// value on a channel, a receive from a channel, or the default case. A
/// nil channel's case is never ready, as in Go.
pub struct SelectCase<'a, T> {
    kind: Kind<T>,
    c: *mut HChan,
    _c: PhantomData<&'a ()>,
}

enum Kind<T> {
    Send(T),
    Recv,
    Default,
}

impl<'a, T> SelectCase<'a, T> {
    /// A send of `v` on `c` (Go's `SelectSend`). If another case is
    /// chosen, `v` is dropped.
    pub fn send<C: Sender<Item = T> + ?Sized>(c: &'a C, v: T) -> Self {
        SelectCase {
            kind: Kind::Send(v),
            c: c.raw_chan(),
            _c: PhantomData,
        }
    }

    /// A receive from `c` (Go's `SelectRecv`).
    pub fn recv<C: Receiver<Item = T> + ?Sized>(c: &'a C) -> Self {
        SelectCase {
            kind: Kind::Recv,
            c: c.raw_chan(),
            _c: PhantomData,
        }
    }

    /// The default case (Go's `SelectDefault`): chosen when no other case
    /// is ready; without one, [`select_dyn`] waits.
    pub fn default_case() -> Self {
        SelectCase {
            kind: Kind::Default,
            c: core::ptr::null_mut(),
            _c: PhantomData,
        }
    }
}

impl<T> core::fmt::Debug for SelectCase<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let dir = match self.kind {
            Kind::Send(_) => "SelectSend",
            Kind::Recv => "SelectRecv",
            Kind::Default => "SelectDefault",
        };
        f.debug_struct("SelectCase")
            .field("dir", &dir)
            .field("chan", &self.c)
            .finish()
    }
}

/// What [`select_dyn`] chose (Go's `chosen, recv, recvOK`).
#[derive(Debug, PartialEq, Eq)]
pub struct Selected<T> {
    /// The index of the chosen case in the list given.
    pub index: usize,
    /// For a receive case, the value received; `None` if the channel was
    /// closed, and for send and default cases.
    pub value: Option<T>,
}

/// Go's `reflect.Select`: waits until one of `cases` can proceed, does
/// it, and says which (a uniformly random one if several can). With a
/// default case it does not wait. With no case at all it waits forever,
/// as Go's `select {}`.
///
/// ```
/// use gort::{Chan, select_dyn, SelectCase};
/// gort::Builder::new().block_on(|| {
///     let chans: Vec<Chan<u32>> = (0..4).map(|_| Chan::new(1)).collect();
///     chans[2].send(7);
///     let cases = chans.iter().map(SelectCase::recv).collect();
///     let got = select_dyn(cases);
///     assert_eq!((got.index, got.value), (2, Some(7)));
/// });
/// ```
///
/// # Panics
/// With more than one default case or more than 65,536 cases, with Go's
/// messages; with `send on closed channel` if the chosen send's channel is
/// closed.
#[track_caller]
pub fn select_dyn<T>(cases: Vec<SelectCase<'_, T>>) -> Selected<T> {
    let n = cases.len();
    if n > 1 << 16 {
        panic!("reflect.Select: too many cases (max 65536)");
    }
    if n == 0 {
        runtime_p::block();
    }
    // Before any value moves into a slot (a panic then would leak it).
    assert!(
        cases
            .iter()
            .filter(|c| matches!(c.kind, Kind::Default))
            .count()
            <= 1,
        "reflect.Select: multiple default cases"
    );
    // Go's reflect_rselect: sends first in order, receives from the end
    // backwards, the default left out; `orig` maps back.
    let mut slots: Vec<MaybeUninit<T>> = (0..n).map(|_| MaybeUninit::uninit()).collect();
    // Whether a slot owns a value (a send's not yet sent, a received one).
    let mut full = vec![false; n];
    let mut sel: Vec<Scase> = Vec::with_capacity(n);
    sel.resize_with(n, || Scase {
        c: core::ptr::null_mut(),
        elem: core::ptr::null_mut(),
    });
    let mut orig = vec![0usize; n];
    let mut is_send = vec![false; n];
    let (mut nsends, mut nrecvs) = (0usize, 0usize);
    let mut dflt: Option<usize> = None;
    for (i, case) in cases.into_iter().enumerate() {
        let j = match case.kind {
            Kind::Default => {
                dflt = Some(i);
                continue;
            }
            Kind::Send(v) => {
                let j = nsends;
                nsends += 1;
                slots[j].write(v);
                full[j] = true;
                is_send[j] = true;
                j
            }
            Kind::Recv => {
                nrecvs += 1;
                n - nrecvs
            }
        };
        sel[j].c = case.c;
        orig[j] = i;
    }
    let m = nsends + nrecvs;
    let mut out = Selected {
        index: 0,
        value: None,
    };
    if m == 0 {
        // Only a default case.
        out.index = dflt.unwrap_or_default();
        return out;
    }
    if m < n {
        // Compact: the receives follow the sends. Only receive slots move,
        // and they are empty.
        for k in 0..nrecvs {
            let (from, to) = (n - nrecvs + k, nsends + k);
            sel[to].c = sel[from].c;
            orig[to] = orig[from];
        }
        sel.truncate(m);
    }
    // Owns the slots: drops what they still hold when the select returns,
    // or as a panic unwinds (a send on a closed channel leaves every value
    // in place).
    struct Owned<T> {
        slots: Vec<MaybeUninit<T>>,
        full: Vec<bool>,
    }
    impl<T> Drop for Owned<T> {
        fn drop(&mut self) {
            for (s, &f) in self.slots.iter_mut().zip(&self.full) {
                if f {
                    // SAFETY: `full` says this slot owns a value.
                    unsafe { s.assume_init_drop() };
                }
            }
        }
    }
    let mut owned = Owned { slots, full };
    for (j, s) in sel.iter_mut().enumerate() {
        s.elem = owned.slots[j].as_mut_ptr().cast();
    }
    let mut pollorder = vec![0u16; m];
    let mut lockorder = vec![0u16; m];
    // SAFETY: every non-null channel is borrowed for 'a by its case, and
    // each case's type ties its slot to the channel's element type: send
    // slots (the first nsends) own a value, receive slots are empty. The
    // slots' buffer does not move while selectgo runs.
    let (casi, recv_ok) = unsafe {
        selectgo(
            &mut sel,
            &mut pollorder,
            &mut lockorder,
            nsends,
            dflt.is_none(),
        )
    };
    if casi < 0 {
        out.index = dflt.expect("selectgo returned no case without a default");
    } else {
        let j = casi as usize;
        out.index = orig[j];
        if is_send[j] {
            // The value went into the channel.
            owned.full[j] = false;
        } else if recv_ok {
            // SAFETY: selectgo filled this receive slot (recv_ok), and
            // `full` is false for it, so the guard will not drop it again.
            out.value = Some(unsafe { owned.slots[j].assume_init_read() });
        }
    }
    drop(owned);
    out
}
