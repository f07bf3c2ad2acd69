//! Timers: sleep, Timer, Ticker, after, after_func, and deadlock detection
//! with pending timers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gort::time::{Ticker, Timer, after, after_func, sleep};
use gort::{Chan, select};

#[gort::test]
fn sleep_lasts_at_least_its_duration() {
    for ms in [1u64, 5, 20] {
        let start = Instant::now();
        sleep(Duration::from_millis(ms));
        assert!(start.elapsed() >= Duration::from_millis(ms));
    }
    sleep(Duration::ZERO);
}

#[gort::test]
fn many_sleepers_wake() {
    let n = 1000;
    let done: Chan<u64> = Chan::new(n);
    for i in 0..n as u64 {
        let d = done.clone();
        gort::go(move || {
            let start = Instant::now();
            let want = Duration::from_micros(i * 37 % 20_000);
            sleep(want);
            assert!(start.elapsed() >= want, "woke early");
            d.send(i);
        });
    }
    let mut sum = 0;
    for _ in 0..n {
        sum += done.recv().unwrap();
    }
    assert_eq!(sum, (n as u64) * (n as u64 - 1) / 2);
}

#[gort::test]
fn timer_fires_and_stop_reset_follow_go_1_23() {
    let t = Timer::new(Duration::from_millis(5));
    assert_eq!((t.c().len(), t.c().cap()), (0, 0), "synchronous channel");
    let start = Instant::now();
    let v = t.c().recv().unwrap();
    assert!(start.elapsed() >= Duration::from_millis(4));
    assert!(v <= Instant::now());
    assert!(!t.stop(), "already fired");
    // Stop before firing: true, and nothing arrives.
    let t = Timer::new(Duration::from_millis(5));
    assert!(t.stop());
    sleep(Duration::from_millis(10));
    assert!(t.c().try_recv().is_err(), "no value after stop");
    // Reset an expired, unreceived timer: false... and no stale value.
    let t = Timer::new(Duration::from_millis(1));
    sleep(Duration::from_millis(5));
    assert!(t.reset(Duration::from_secs(3600)), "value was pending");
    assert!(t.c().try_recv().is_err(), "stale value after reset");
    assert!(t.stop());
}

#[gort::test]
fn after_in_select_with_busy_channel() {
    // TestTimerFairness-like: the timer case must win eventually.
    let c: Chan<i32> = Chan::new(0);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for _ in 0..2 {
        let (c, stop) = (c.clone(), stop.clone());
        gort::go(move || {
            while !stop.load(Ordering::Relaxed) {
                select! {
                    send(c, 0) => {}
                    default => {}
                }
            }
        });
    }
    let timer = after(Duration::from_millis(20));
    loop {
        select! {
            recv(c) -> _v => {}
            recv(timer) -> _v => break,
        }
    }
    stop.store(true, Ordering::Relaxed);
}

#[gort::test]
fn after_func_runs_in_its_own_goroutine() {
    let n = Arc::new(AtomicUsize::new(0));
    let done: Chan<u64> = Chan::new(1);
    let (n2, d2) = (n.clone(), done.clone());
    let me = gort::goid();
    let _t = after_func(Duration::from_millis(2), move || {
        n2.fetch_add(1, Ordering::SeqCst);
        d2.send(gort::goid());
    });
    let g = done.recv().unwrap();
    assert_ne!(g, me);
    assert_eq!(n.load(Ordering::SeqCst), 1);
    let t = after_func(Duration::from_millis(50), || panic!("stopped timer ran"));
    assert!(t.stop());
    sleep(Duration::from_millis(80));
}

#[gort::test]
fn ticker_ticks_and_stops() {
    let t = Ticker::new(Duration::from_millis(5));
    let start = Instant::now();
    for _ in 0..5 {
        t.c().recv().unwrap();
    }
    assert!(start.elapsed() >= Duration::from_millis(20));
    t.stop();
    sleep(Duration::from_millis(15));
    assert!(t.c().try_recv().is_err(), "tick after stop");
}

/// A goroutine that keeps calling the runtime without ever parking must not
/// keep `block_on` from returning when main returns.
#[gort::test]
fn block_on_returns_with_goroutines_spinning_in_the_runtime() {
    let c: Chan<i32> = Chan::new(0);
    for _ in 0..3 {
        let c = c.clone();
        gort::go(move || {
            loop {
                select! {
                    send(c, 0) => {}
                    default => {}
                }
            }
        });
    }
    sleep(Duration::from_millis(5));
}

/// Issue 5's acceptance: 100,000 goroutines each sleeping a random 0–50 ms
/// all wake, none early. Release-only (run by scripts/test.sh).
#[gort::test]
#[ignore = "release-only stress test; run by scripts/test.sh"]
fn hundred_thousand_sleepers() {
    const N: u64 = 100_000;
    let early = Arc::new(AtomicUsize::new(0));
    let wg = Arc::new(gort::sync::WaitGroup::new());
    let start = Instant::now();
    for i in 0..N {
        let early = early.clone();
        wg.go(move || {
            // A fixed pseudo-random spread over 0..=50 ms.
            let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 33;
            let d = Duration::from_micros(x % 50_001);
            let t = Instant::now();
            sleep(d);
            if t.elapsed() < d {
                early.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    wg.wait();
    assert_eq!(early.load(Ordering::Relaxed), 0, "sleepers woke early");
    eprintln!("100000 sleepers done in {:?}", start.elapsed());
}

/// The last reference to a stopped `after_func` timer is often the timer
/// heap's, released while the scheduler cleans the heap on g0 (Go's
/// cleanHead). The closure's destructor is user code: it used to run
/// there, and one that called into gort (here `num_goroutine`) aborted the
/// process. Now it runs on a user goroutine, once.
#[gort::test(gomaxprocs = 1)]
fn after_func_closure_is_never_dropped_on_the_scheduler() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    struct Guard;
    impl Drop for Guard {
        fn drop(&mut self) {
            // Panics (and, on g0, aborts) outside a user goroutine.
            SEEN.store(gort::num_goroutine(), Ordering::SeqCst);
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }
    for _ in 0..50 {
        let g = Guard;
        let t = after_func(Duration::from_secs(3600), move || {
            let _ = &g;
        });
        assert!(t.stop());
        drop(t);
        // The scheduler runs this P's timers while main sleeps: the
        // stopped timer, at the heap's head, is cleaned there.
        sleep(Duration::from_millis(1));
    }
    gort::spawn(|| ()).join().unwrap();
    sleep(Duration::from_millis(1));
    assert_eq!(DROPS.load(Ordering::SeqCst), 50);
    assert!(SEEN.load(Ordering::SeqCst) >= 1);
}
