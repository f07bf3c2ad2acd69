//! The end of a `block_on` runtime (issue 18): goroutines still waiting
//! when the main goroutine returns end as `runtime.Goexit` ends one, at
//! the point where they wait, and the destructors of their frames run
//! before `block_on` returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gort::sync::{Cond, Mutex, WaitGroup};
use gort::{Chan, select};

/// A runtime in the safe mode, or in the migrating one.
fn builder(migrating: bool) -> gort::Builder {
    if migrating {
        // SAFETY: the bodies below touch no thread-local state in
        // functions that park.
        unsafe { gort::Builder::new().migrating() }
    } else {
        gort::Builder::new()
    }
}

/// Counts its drops.
struct Guard(Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// One goroutine parked in each kind of wait the runtime has, each owning
/// a `Guard` in its frame, plus the values in flight. All are dropped by
/// the time `block_on` returns, which it does at once.
fn every_kind_of_wait_ends(migrating: bool, procs: usize) {
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    let t0 = Instant::now();
    let expected = builder(migrating).gomaxprocs(procs).block_on(move || {
        let started = Arc::new(WaitGroup::new());
        let mut n = 0;
        let mut park = |f: Box<dyn FnOnce(Guard) + Send>| {
            let g = Guard(d.clone());
            started.add(1);
            let s = started.clone();
            gort::go(move || {
                s.done();
                f(g)
            });
            n += 1;
        };
        // Channel receive and send (the value in flight is dropped too).
        let c = Chan::<Guard>::new(0);
        let c1 = c.clone();
        park(Box::new(move |_g| {
            let _ = c1.recv();
        }));
        let c2 = c.clone();
        let extra = Guard(d.clone());
        park(Box::new(move |_g| c2.send(extra)));
        // select on two channels, one of them with a timeout far away.
        let c3 = Chan::<u32>::new(0);
        park(Box::new(move |_g| {
            select! {
                recv(c3) -> _v => {},
                recv(gort::time::after(Duration::from_secs(3600))) -> _v => {},
            }
        }));
        // A contended Mutex (sema), a WaitGroup, a Cond.
        let m = Arc::new(Mutex::new(0u32));
        let held = m.lock();
        let m1 = m.clone();
        park(Box::new(move |_g| {
            let _x = m1.lock();
        }));
        let wg = Arc::new(WaitGroup::new());
        wg.add(1);
        let wg1 = wg.clone();
        park(Box::new(move |_g| wg1.wait()));
        let cm = Arc::new((Mutex::new(()), Cond::new()));
        let cm1 = cm.clone();
        park(Box::new(move |_g| {
            let mut l = cm1.0.lock();
            cm1.1.wait(&mut l);
        }));
        // Sleep, a nil channel, an empty select, a join of a parked one.
        park(Box::new(move |_g| {
            gort::time::sleep(Duration::from_secs(3600))
        }));
        park(Box::new(move |_g| {
            let _ = Chan::<u8>::nil().recv();
        }));
        park(Box::new(move |_g| select! {}));
        let forever = gort::spawn(|| gort::time::sleep(Duration::from_secs(3600)));
        park(Box::new(move |_g| {
            let _ = forever.join();
        }));
        // A read on a socket nobody writes to (the network poller).
        let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        park(Box::new(move |_g| {
            let (mut s, _) = l.accept().unwrap();
            let mut b = [0u8; 1];
            let _ = std::io::Read::read(&mut s, &mut b);
        }));
        let client = gort::net::TcpStream::connect(addr).unwrap();
        // A goroutine that spins on gosched waiting for a flag.
        park(Box::new(move |_g| {
            loop {
                gort::gosched();
            }
        }));
        started.wait();
        // Let each reach its park.
        gort::time::sleep(Duration::from_millis(50));
        drop(held);
        // A goroutine spawned last, which may not have started: it is
        // dropped without running, its captures' destructors run.
        let late = Guard(d.clone());
        gort::go(move || {
            let _g = late;
            gort::time::sleep(Duration::from_secs(3600));
        });
        drop(client);
        n + 2
    });
    let took = t0.elapsed();
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        expected,
        "every parked goroutine's frame and every value in flight is dropped"
    );
    assert!(took < Duration::from_secs(10), "block_on took {took:?}");
}

#[test]
fn every_kind_of_wait_ends_safe() {
    every_kind_of_wait_ends(false, 2);
}

#[test]
fn every_kind_of_wait_ends_safe_one_p() {
    every_kind_of_wait_ends(false, 1);
}

#[test]
fn every_kind_of_wait_ends_migrating() {
    every_kind_of_wait_ends(true, 2);
}

#[test]
fn every_kind_of_wait_ends_migrating_one_p() {
    every_kind_of_wait_ends(true, 1);
}

/// A destructor run by the shutdown may itself use the runtime: spawn,
/// send on a buffered channel, and wait for a goroutine that finishes.
#[test]
fn destructors_run_by_the_shutdown_may_call_into_gort() {
    for migrating in [false, true] {
        let seen = Arc::new(AtomicUsize::new(0));
        let s = seen.clone();
        builder(migrating).gomaxprocs(2).block_on(move || {
            struct Busy(Arc<AtomicUsize>, Chan<u32>);
            impl Drop for Busy {
                fn drop(&mut self) {
                    // Runs while the goroutine unwinds: a send with room
                    // does not park.
                    self.1.send(7);
                    self.0.fetch_add(1, Ordering::SeqCst);
                }
            }
            let c = Chan::<u32>::new(1);
            let b = Busy(s.clone(), c.clone());
            let block = Chan::<u32>::new(0);
            gort::go(move || {
                let _b = b;
                let _ = block.recv();
            });
            gort::time::sleep(Duration::from_millis(20));
        });
        assert_eq!(seen.load(Ordering::SeqCst), 1, "migrating={migrating}");
    }
}

/// Many runtimes in a row, each leaving goroutines parked: each ends, and
/// nothing they held is left undropped.
#[test]
fn many_runtimes_leave_nothing_parked() {
    let dropped = Arc::new(AtomicUsize::new(0));
    for i in 0..200 {
        let d = dropped.clone();
        builder(i % 2 == 1).gomaxprocs(2).block_on(move || {
            let c = Chan::<u8>::new(0);
            for _ in 0..5 {
                let g = Guard(d.clone());
                let c = c.clone();
                gort::go(move || {
                    let _g = g;
                    let _ = c.recv();
                });
            }
        });
    }
    assert_eq!(dropped.load(Ordering::SeqCst), 1_000);
}

/// A `Cond` waiter ended by its runtime's shutdown gives up its ticket: a
/// later `signal` must reach the next waiter (here one of a runtime
/// started afterwards), not be spent on the ended one.
#[test]
fn a_signal_skips_the_ticket_of_an_ended_waiter() {
    let cm = Arc::new((Mutex::new(0u32), Cond::new()));
    let a = cm.clone();
    builder(false).gomaxprocs(2).block_on(move || {
        let a2 = a.clone();
        gort::go(move || {
            let mut l = a2.0.lock();
            a2.1.wait(&mut l);
        });
        gort::time::sleep(Duration::from_millis(20));
    });
    let b = cm.clone();
    let woke = builder(false).gomaxprocs(2).block_on(move || {
        let b2 = b.clone();
        let h = gort::spawn(move || {
            let mut l = b2.0.lock();
            while *l == 0 {
                b2.1.wait(&mut l);
            }
        });
        gort::time::sleep(Duration::from_millis(20));
        // One signal: it must reach this waiter.
        *b.0.lock() = 1;
        b.1.signal();
        let t = Instant::now();
        while !h.is_finished() && t.elapsed() < Duration::from_secs(2) {
            gort::time::sleep(Duration::from_millis(1));
        }
        let woke = h.is_finished();
        if !woke {
            // Let the test end either way.
            b.1.broadcast();
        }
        woke
    });
    assert!(woke, "the signal went to the ended waiter's ticket");
}

/// A `WaitGroup` waiter ended by its runtime's shutdown stops being
/// counted: the group's next round must not let a `wait` through early
/// with a token released for the ended waiter.
#[test]
fn an_ended_waiter_leaves_no_token_in_a_wait_group() {
    let wg = Arc::new(WaitGroup::new());
    wg.add(1);
    let a = wg.clone();
    builder(false).gomaxprocs(2).block_on(move || {
        let a2 = a.clone();
        gort::go(move || a2.wait());
        gort::time::sleep(Duration::from_millis(20));
    });
    let b = wg.clone();
    builder(false).gomaxprocs(2).block_on(move || {
        b.done();
        // The next round.
        b.add(1);
        let done = Arc::new(AtomicUsize::new(0));
        let (b2, d2) = (b.clone(), done.clone());
        let h = gort::spawn(move || {
            b2.wait();
            d2.store(1, Ordering::SeqCst);
        });
        gort::time::sleep(Duration::from_millis(30));
        assert_eq!(done.load(Ordering::SeqCst), 0, "wait returned before done");
        b.done();
        h.join().unwrap();
        assert_eq!(done.load(Ordering::SeqCst), 1);
    });
}

/// A goroutine inside a blocking call that never returns (an `accept` on
/// the Plan 9 layer, which has no poller, is one) does not keep a
/// safe-mode runtime from ending: the runtime gives up on it.
#[test]
fn a_blocking_call_that_never_returns_does_not_hold_the_end() {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let t = Instant::now();
    builder(false).gomaxprocs(2).block_on(move || {
        gort::go(move || {
            let _ = gort::syscall::blocking(move || rx.recv());
        });
        gort::time::sleep(Duration::from_millis(20));
    });
    assert!(t.elapsed() < Duration::from_secs(10));
    // The call is still blocked; let it return now.
    drop(tx);
}
