//! gort embedded in a larger program (issue 18): several runtimes in one
//! process sharing values.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gort::sync::{Mutex, RawMutex, WaitGroup};

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

static SHARED: Mutex<u64> = Mutex::const_new(RawMutex::new(), 0);

/// Two runtimes on two threads (one in each scheduler mode, as two
/// libraries might choose) contend for one `static` Mutex, 1,000 times
/// each. A goroutine parked on the lock is woken by an unlock on the other
/// runtime; it must run on its own runtime (it used to end the process
/// with `fatal error: ready: goroutine of another runtime instance`).
#[test]
fn two_runtimes_share_a_static_mutex() {
    let inside = Arc::new(AtomicU64::new(0));
    let run = |migrating: bool| {
        let inside = inside.clone();
        std::thread::spawn(move || {
            builder(migrating).gomaxprocs(2).block_on(move || {
                let wg = Arc::new(WaitGroup::new());
                for _ in 0..4 {
                    let inside = inside.clone();
                    wg.go(move || {
                        for _ in 0..250 {
                            let mut g = SHARED.lock();
                            // Mutual exclusion across the runtimes.
                            assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                            *g += 1;
                            // Hold the lock across a yield, so that the
                            // other runtime's goroutines queue on it.
                            gort::gosched();
                            inside.fetch_sub(1, Ordering::SeqCst);
                            drop(g);
                        }
                    });
                }
                wg.wait();
            })
        })
    };
    let (a, b) = (run(false), run(true));
    a.join().unwrap();
    b.join().unwrap();
    let total = builder(false).block_on(|| *SHARED.lock());
    assert_eq!(total, 2_000);
}

/// A channel shared by two runtimes: values sent on one are received on
/// the other, in both directions, each side parking for the other, and
/// nothing is lost.
///
/// Both runtimes are running before either parks (the barrier): a runtime
/// that is alone in the process and whose goroutines all wait reports a
/// deadlock, as Go does; it cannot know that a runtime not yet started
/// will send to it.
#[test]
fn two_runtimes_share_a_channel() {
    const N: u64 = 1_000;
    let ping: gort::Chan<u64> = gort::Chan::new(0);
    let pong: gort::Chan<u64> = gort::Chan::new(0);
    let (ping2, pong2) = (ping.clone(), pong.clone());
    let started = Arc::new(std::sync::Barrier::new(2));
    let started2 = started.clone();
    let echo = std::thread::spawn(move || {
        builder(true).gomaxprocs(2).block_on(move || {
            gort::syscall::blocking(move || started2.wait());
            while let Some(v) = ping2.recv() {
                pong2.send(v * 2);
            }
        })
    });
    let sum = builder(false).gomaxprocs(2).block_on(move || {
        gort::syscall::blocking(move || started.wait());
        let mut sum = 0;
        for i in 0..N {
            ping.send(i);
            sum += pong.recv().unwrap();
        }
        ping.close();
        sum
    });
    echo.join().unwrap();
    assert_eq!(sum, N * (N - 1));
}

/// A library function that works from plain code and from a goroutine
/// (issue 18): on a goroutine it runs on the caller's runtime (a nested
/// `block_on` is a plain call), elsewhere it starts its own. It reports the
/// runtime it ran on.
fn library_call() -> gort::Handle {
    let work = || {
        let h = gort::Handle::current();
        // Goroutines of the library run on that runtime too.
        assert_eq!(gort::spawn(gort::Handle::current).join().unwrap(), h);
        h
    };
    match gort::Handle::try_current() {
        Some(h) => h.block_on(work),
        None => gort::Builder::new().block_on(work),
    }
}

#[test]
fn handle_try_current_finds_the_callers_runtime() {
    // From plain code: no runtime, so the library starts its own.
    assert!(gort::Handle::try_current().is_none());
    let own = library_call();
    // From inside a goroutine: the caller's runtime, every time.
    let (mine, seen) = gort::Builder::new().gomaxprocs(3).block_on(|| {
        let mine = gort::Handle::current();
        let seen = [library_call(), gort::spawn(library_call).join().unwrap()];
        // The blocking helper is not a goroutine.
        assert!(gort::syscall::blocking(gort::Handle::try_current).is_none());
        (mine, seen)
    });
    assert_eq!(seen, [mine.clone(), mine.clone()]);
    assert_ne!(own, mine);
    assert_eq!(mine.gomaxprocs(), 3);
}

/// A handle refuses to run work on a goroutine of another runtime, and
/// says why.
#[test]
fn handle_of_another_runtime_is_refused_clearly() {
    let other = gort::Builder::new().block_on(gort::Handle::current);
    let other2 = other.clone();
    let msg = gort::Builder::new().block_on(move || {
        let r = std::panic::catch_unwind(move || other2.block_on(|| ()));
        let p = r.expect_err("another runtime's handle must be refused");
        p.downcast_ref::<String>().cloned().unwrap_or_default()
    });
    assert!(msg.contains("a goroutine of another runtime"), "{msg}");
    let r = std::panic::catch_unwind(move || other.block_on(|| ()));
    let p = r.expect_err("a plain thread must be refused");
    let msg = p.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("outside a goroutine"), "{msg}");
}

static SHARED2: Mutex<()> = Mutex::const_new(RawMutex::new(), ());

/// A runtime that ends while one of its goroutines waits for a lock shared
/// with another runtime abandons that goroutine; the lock's next unlock
/// must then wake a live waiter, not hand the wake-up to the abandoned one
/// (a `sync.Mutex` whose woken waiter never runs wakes nobody again).
#[test]
fn a_lock_skips_the_waiter_of_an_ended_runtime() {
    use std::sync::Barrier;
    let held = Arc::new(Barrier::new(2));
    let queued = Arc::new(Barrier::new(2));
    let (held2, queued2) = (held.clone(), queued.clone());
    let live = std::thread::spawn(move || {
        builder(false).gomaxprocs(2).block_on(move || {
            let g = SHARED2.lock();
            gort::syscall::blocking(move || held2.wait());
            // The other runtime has ended with its waiter queued.
            gort::syscall::blocking(move || queued2.wait());
            let done: gort::Chan<()> = gort::Chan::new(1);
            let d = done.clone();
            gort::go(move || {
                drop(SHARED2.lock());
                d.send(());
            });
            // Let the live waiter queue up behind the abandoned one.
            gort::time::sleep(std::time::Duration::from_millis(50));
            drop(g);
            let timeout = gort::time::after(std::time::Duration::from_secs(5));
            gort::select! {
                recv(done) => {},
                recv(timeout) => panic!("the live waiter was never woken"),
            }
        })
    });
    held.wait();
    // A runtime whose goroutine queues on the lock, then ends.
    builder(false).gomaxprocs(2).block_on(|| {
        gort::go(|| drop(SHARED2.lock()));
        gort::time::sleep(std::time::Duration::from_millis(50));
    });
    queued.wait();
    live.join().unwrap();
}

/// The same for a channel: a value sent after the receiving runtime ended
/// reaches a live receiver, not the abandoned one queued first.
#[test]
fn a_channel_skips_the_receiver_of_an_ended_runtime() {
    let c: gort::Chan<u32> = gort::Chan::new(0);
    let c2 = c.clone();
    // A runtime whose goroutine waits to receive, then ends.
    builder(false).block_on(move || {
        gort::go(move || {
            c2.recv();
        });
        gort::time::sleep(std::time::Duration::from_millis(50));
    });
    let got = builder(true).gomaxprocs(2).block_on(move || {
        let out: gort::Chan<u32> = gort::Chan::new(1);
        let (c3, o) = (c.clone(), out.clone());
        gort::go(move || o.send(c3.recv().unwrap()));
        gort::time::sleep(std::time::Duration::from_millis(50));
        c.send(7);
        let timeout = gort::time::after(std::time::Duration::from_secs(5));
        gort::select! {
            recv(out) -> v => v,
            recv(timeout) => None,
        }
    });
    assert_eq!(got, Some(7), "the value went to the abandoned receiver");
}

/// Ending a runtime while another runs costs no waiting: 20 short
/// `block_on`s beside a running runtime take well under a second each.
#[test]
fn ending_a_runtime_beside_another_is_quick() {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    let other = std::thread::spawn(move || {
        builder(false).block_on(move || {
            while !s2.load(Ordering::Relaxed) {
                gort::time::sleep(std::time::Duration::from_millis(5));
            }
        })
    });
    let t = std::time::Instant::now();
    for i in 0..20u64 {
        assert_eq!(builder(false).block_on(move || i + 1), i + 1);
    }
    let each = t.elapsed() / 20;
    stop.store(true, Ordering::Relaxed);
    other.join().unwrap();
    assert!(
        each < std::time::Duration::from_millis(200),
        "{each:?} per block_on"
    );
}

/// A `Runtime` built once serves `block_on` and `spawn` from any number of
/// plain threads, runs a nested `block_on` inline, refuses one from
/// another runtime's goroutine, and names itself through its handle.
#[test]
fn a_runtime_serves_plain_threads() {
    let rt = Arc::new(builder(false).gomaxprocs(2).build());
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let rt = rt.clone();
            std::thread::spawn(move || {
                (0..100u64)
                    .map(|i| rt.block_on(move || gort::spawn(move || t * 1000 + i).join().unwrap()))
                    .sum::<u64>()
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(
        total,
        (0..4u64)
            .map(|t| (0..100).map(|i| t * 1000 + i).sum::<u64>())
            .sum()
    );
    // spawn from a plain thread; join on a goroutine.
    let h = rt.spawn(|| 7);
    assert_eq!(rt.block_on(move || h.join().unwrap()), 7);
    // Inside: the same runtime, inline (no deadlock on the one main loop).
    let rt2 = rt.clone();
    let (inner, outer) =
        rt.block_on(move || (rt2.block_on(gort::Handle::current), gort::Handle::current()));
    assert_eq!(inner, outer);
    assert_eq!(inner, rt.handle());
    // From a goroutine of another runtime: a clear panic.
    let rt3 = rt.clone();
    let msg = builder(true).block_on(move || {
        let r = std::panic::catch_unwind(move || rt3.block_on(|| ()));
        let p = r.expect_err("another runtime's goroutine must be refused");
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    });
    assert!(msg.contains("goroutine of another runtime"), "{msg}");
    // A panic in the call comes back to the caller.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(|| panic!("boom in block_on"))
    }));
    let p = r.expect_err("the panic must reach the caller");
    assert_eq!(p.downcast_ref::<&str>(), Some(&"boom in block_on"));
}

/// Dropping a `Runtime` ends its goroutines where they wait (their
/// destructors run) and returns once the runtime is gone.
#[test]
fn dropping_a_runtime_ends_its_goroutines() {
    struct Guard(Arc<AtomicU64>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    for migrating in [false, true] {
        let dropped = Arc::new(AtomicU64::new(0));
        let rt = builder(migrating).gomaxprocs(2).build();
        for _ in 0..10 {
            let g = Guard(dropped.clone());
            rt.spawn(move || {
                let _g = g;
                gort::time::sleep(std::time::Duration::from_secs(3600));
            });
        }
        // The main loop starts them; let them reach their sleep.
        rt.block_on(|| gort::time::sleep(std::time::Duration::from_millis(20)));
        assert_eq!(dropped.load(Ordering::SeqCst), 0);
        drop(rt);
        assert_eq!(dropped.load(Ordering::SeqCst), 10, "migrating={migrating}");
    }
}
