//! Channels and select: behaviour of the public API, and drop counts for
//! every path a value can take (buffered, direct hand-off, close with values
//! inside, select cancelled, send to a closed channel).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gort::{Chan, TryRecvError, TrySendError, select};

/// A value that counts its drops.
#[derive(Debug)]
struct D(u64, Arc<AtomicUsize>);

impl Drop for D {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

fn panic_text<R>(f: impl FnOnce() -> R) -> String {
    let p = catch_unwind(AssertUnwindSafe(f))
        .err()
        .expect("expected a panic");
    if let Some(e) = p.downcast_ref::<gort::RuntimeError>() {
        e.to_string()
    } else if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else {
        p.downcast_ref::<String>().cloned().unwrap_or_default()
    }
}

#[gort::test]
fn unbuffered_hand_off_in_order() {
    let c = Chan::new(0);
    let c2 = c.clone();
    gort::go(move || {
        for i in 0..1000u64 {
            c2.send(i);
        }
        c2.close();
    });
    let got: Vec<u64> = c.iter().collect();
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
    assert_eq!(c.recv(), None);
}

#[gort::test]
fn buffered_fifo_len_cap() {
    let c = Chan::new(5);
    assert_eq!((c.len(), c.cap()), (0, 5));
    for i in 0..5 {
        c.send(i);
    }
    assert_eq!(c.len(), 5);
    assert!(matches!(c.try_send(9), Err(TrySendError::Full(9))));
    for i in 0..5 {
        assert_eq!(c.recv(), Some(i));
    }
    assert_eq!(c.try_recv(), Err(TryRecvError::Empty));
    c.send(7);
    c.close();
    assert!(c.is_closed());
    assert_eq!(c.recv(), Some(7));
    assert_eq!(c.recv(), None);
    assert_eq!(c.try_recv(), Err(TryRecvError::Closed));
    assert!(matches!(c.try_send(1), Err(TrySendError::Closed(1))));
}

#[gort::test]
fn blocked_receiver_woken_by_close() {
    let c: Chan<u8> = Chan::new(0);
    let c2 = c.clone();
    let h = gort::spawn(move || c2.recv());
    // Let the receiver park.
    for _ in 0..10 {
        gort::gosched();
    }
    c.close();
    assert_eq!(h.join().unwrap(), None);
}

#[gort::test]
fn misuse_panics_with_go_text() {
    let c: Chan<i32> = Chan::new(1);
    c.close();
    assert_eq!(panic_text(|| c.send(1)), "send on closed channel");
    assert_eq!(panic_text(|| c.close()), "close of closed channel");
    let n: Chan<i32> = Chan::nil();
    assert_eq!(panic_text(|| n.close()), "close of nil channel");
    assert_eq!(
        panic_text(|| Chan::<u64>::new(usize::MAX / 4)),
        "makechan: size out of range"
    );
}

#[gort::test]
fn nil_channel_is_never_ready() {
    let n: Chan<i32> = Chan::default();
    assert!(n.is_nil());
    assert_eq!((n.len(), n.cap()), (0, 0));
    assert_eq!(n.try_recv(), Err(TryRecvError::Empty));
    assert!(matches!(n.try_send(3), Err(TrySendError::Full(3))));
    let c = Chan::new(1);
    c.send(5);
    let mut took = None;
    for _ in 0..100 {
        select! {
            recv(n) -> _v => panic!("nil channel chosen"),
            recv(c) -> v => { took = v; }
        }
        if took.is_some() {
            break;
        }
    }
    assert_eq!(took, Some(5));
    let r = select! {
        recv(n) -> _v => 1,
        send(n, 4) => 2,
        default => 3,
    };
    assert_eq!(r, 3);
}

#[gort::test]
fn drop_counts_buffered_and_left_in_channel() {
    let k = counter();
    {
        let c = Chan::new(10);
        for i in 0..10 {
            c.send(D(i, k.clone()));
        }
        let got = c.recv().unwrap();
        assert_eq!(got.0, 0);
        drop(got);
        assert_eq!(k.load(Ordering::SeqCst), 1);
        let c2 = c.clone();
        drop(c);
        assert_eq!(k.load(Ordering::SeqCst), 1, "a handle remains");
        c2.close();
        // Closing does not drop buffered values: they are still delivered.
        assert_eq!(c2.recv().unwrap().0, 1);
        assert_eq!(k.load(Ordering::SeqCst), 2);
    }
    // The last handle dropped the 8 values left inside.
    assert_eq!(k.load(Ordering::SeqCst), 10);
}

#[gort::test]
fn drop_counts_direct_hand_off() {
    let k = counter();
    let c = Chan::new(0);
    let c2 = c.clone();
    let k2 = k.clone();
    let h = gort::spawn(move || {
        for i in 0..100 {
            c2.send(D(i, k2.clone()));
        }
    });
    let mut sum = 0;
    for _ in 0..100 {
        sum += c.recv().unwrap().0;
    }
    h.join().unwrap();
    assert_eq!(sum, 4950);
    assert_eq!(k.load(Ordering::SeqCst), 100);
    // Receiver parked first: the sender copies straight into its frame.
    let c3 = c.clone();
    let k3 = k.clone();
    let r = gort::spawn(move || c3.recv().map(|d| d.0));
    for _ in 0..5 {
        gort::gosched();
    }
    c.send(D(77, k3));
    assert_eq!(r.join().unwrap(), Some(77));
    assert_eq!(k.load(Ordering::SeqCst), 101);
}

#[gort::test]
fn drop_counts_send_on_closed() {
    let k = counter();
    let c = Chan::new(0);
    c.close();
    assert_eq!(
        panic_text(|| c.send(D(1, k.clone()))),
        "send on closed channel"
    );
    assert_eq!(k.load(Ordering::SeqCst), 1);
    // A sender parked when close happens keeps its value and panics.
    let c = Chan::new(0);
    let c2 = c.clone();
    let k2 = k.clone();
    let h = gort::spawn(move || {
        let r = catch_unwind(AssertUnwindSafe(|| c2.send(D(2, k2))));
        r.is_err()
    });
    for _ in 0..10 {
        gort::gosched();
    }
    c.close();
    assert!(h.join().unwrap());
    assert_eq!(k.load(Ordering::SeqCst), 2);
    // try_send gives the value back instead.
    let e = c.try_send(D(3, k.clone())).unwrap_err();
    assert!(e.is_closed());
    assert_eq!(k.load(Ordering::SeqCst), 2);
    assert_eq!(e.into_inner().0, 3);
    assert_eq!(k.load(Ordering::SeqCst), 3);
}

#[gort::test]
fn drop_counts_select_cancelled() {
    let k = counter();
    let a = Chan::new(1);
    let b = Chan::new(1);
    b.send(D(0, k.clone())); // b is full: its send case cannot win
    for i in 0..50 {
        let before = k.load(Ordering::SeqCst);
        select! {
            send(a, D(i, k.clone())) => {
                // The value for b was dropped before this body ran.
                assert_eq!(k.load(Ordering::SeqCst), before + 1);
            }
            send(b, D(1000 + i, k.clone())) => panic!("full channel chosen"),
        }
        assert_eq!(a.recv().unwrap().0, i);
        assert_eq!(k.load(Ordering::SeqCst), before + 2);
    }
    // Default taken: both values dropped.
    a.send(D(99, k.clone()));
    let before = k.load(Ordering::SeqCst);
    select! {
        send(a, D(1, k.clone())) => panic!("full"),
        send(b, D(2, k.clone())) => panic!("full"),
        default => assert_eq!(k.load(Ordering::SeqCst), before + 2),
    }
    // Select that panics on a closed channel drops every value.
    let cl = Chan::new(0);
    cl.close();
    let before = k.load(Ordering::SeqCst);
    let t = panic_text(|| {
        select! {
            send(cl, D(1, k.clone())) => {},
            send(b, D(2, k.clone())) => {},
        }
    });
    assert_eq!(t, "send on closed channel");
    assert_eq!(k.load(Ordering::SeqCst), before + 2);
    drop((a, b));
}

#[gort::test]
fn drop_counts_select_parked_then_cancelled() {
    // A select parks with a send case and a receive case; the receive wins.
    // The send's value must be dropped once and never delivered.
    let k = counter();
    let out: Chan<D> = Chan::new(0); // nobody receives
    let inp: Chan<u32> = Chan::new(0);
    let (o2, i2, k2) = (out.clone(), inp.clone(), k.clone());
    let h = gort::spawn(move || {
        select! {
            send(o2, D(5, k2)) => 0,
            recv(i2) -> v => v.unwrap(),
        }
    });
    for _ in 0..10 {
        gort::gosched();
    }
    inp.send(42);
    assert_eq!(h.join().unwrap(), 42);
    assert_eq!(k.load(Ordering::SeqCst), 1);
    assert_eq!(out.try_recv().map(|d| d.0), Err(TryRecvError::Empty));
}

#[gort::test]
fn select_receives_and_sends() {
    let a: Chan<i32> = Chan::new(0);
    let b: Chan<i32> = Chan::new(0);
    let (a2, b2) = (a.clone(), b.clone());
    gort::go(move || {
        a2.send(1);
        assert_eq!(b2.recv(), Some(2));
        a2.close();
    });
    let mut log = Vec::new();
    loop {
        select! {
            recv(a) -> v => match v {
                Some(v) => log.push(v),
                None => break,
            },
            send(b, 2) => log.push(-2),
        }
    }
    assert_eq!(log, vec![1, -2]);
}

#[gort::test]
fn direction_views_and_range() {
    let c = Chan::new(3);
    let tx = c.sender();
    let rx = c.receiver();
    drop(c);
    gort::go(move || {
        for i in 0..10 {
            tx.send(i);
        }
        tx.close();
    });
    let mut got = Vec::new();
    for v in &rx {
        got.push(v);
    }
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    assert_eq!(rx.recv(), None);
}

#[gort::test]
fn zero_sized_values() {
    let c: Chan<()> = Chan::new(3);
    c.send(());
    c.send(());
    assert_eq!(c.len(), 2);
    assert_eq!(c.recv(), Some(()));
    let u: Chan<()> = Chan::new(0);
    let u2 = u.clone();
    gort::go(move || u2.send(()));
    assert_eq!(u.recv(), Some(()));
}

#[gort::test]
fn large_values_move_intact() {
    let c: Chan<[u64; 512]> = Chan::new(0);
    let c2 = c.clone();
    gort::go(move || {
        let mut v = [0u64; 512];
        for (i, x) in v.iter_mut().enumerate() {
            *x = i as u64 * 3;
        }
        c2.send(v);
    });
    let v = c.recv().unwrap();
    assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64 * 3));
}

#[gort::test]
fn select_no_cases_with_default_only() {
    let x = select! { default => 7 };
    assert_eq!(x, 7);
}

#[gort::test]
fn channels_are_comparable_like_go() {
    let a: Chan<u8> = Chan::new(0);
    let b = a.clone();
    let c: Chan<u8> = Chan::new(0);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(Chan::<u8>::nil(), Chan::<u8>::nil());
}

/// The select macro's run-time half (`gort::__private`, hidden but
/// public). Reusing a send slot after its value was sent used to send it
/// again from safe code (a double free: `free(): double free detected`).
/// Now the entry points are `unsafe fn`s (a doctest in `select.rs` checks
/// that the misuse does not compile without `unsafe`), and even a caller
/// that breaks their contract gets a panic on the second `case`, with
/// every value dropped exactly once.
#[gort::test]
fn select_slot_reuse_panics_instead_of_a_double_free() {
    use gort::__private::{RecvSlot, SendSlot, select};
    use std::sync::atomic::{AtomicUsize, Ordering};
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Counted;
    impl Drop for Counted {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }
    let c: Chan<Counted> = Chan::new(2);
    let mut s = SendSlot::new(&c, Counted);
    // SAFETY: the first use of the slot, one case for one select.
    assert_eq!(unsafe { select([s.case()], true) }, Some(0));
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: none: this breaks case's contract on purpose, to check
        // the slot's own guard; it panics before anything is sent.
        unsafe { select([s.case()], true) };
    }));
    let msg = again.expect_err("a second case on a sent slot must panic");
    let msg = msg
        .downcast_ref::<&str>()
        .map(|m| m.to_string())
        .or_else(|| msg.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(msg.contains("already sent"), "{msg}");
    drop(s);
    // One value went into the channel; the receive slot refuses a second
    // receive while it still holds it.
    let mut r = RecvSlot::new(&c);
    // SAFETY: the first use of the slot, one case for one select.
    assert_eq!(unsafe { select([r.case()], true) }, Some(0));
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: none, as above: the guard panics before the receive.
        unsafe { select([r.case()], false) };
    }));
    assert!(
        again.is_err(),
        "a second case on a full receive slot must panic"
    );
    assert!(r.take().is_some());
    drop(r);
    assert_eq!(c.len(), 0);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}
