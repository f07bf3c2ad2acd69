//! gort's channels, `select!`, `sync` and `time` used from plain threads
//! (issue 18): where a goroutine would park, the thread blocks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

/// Values go from goroutines to a plain thread and back, on unbuffered and
/// buffered channels, in both modes: every value arrives once, in order
/// per sender.
#[test]
fn a_plain_thread_and_goroutines_exchange_values() {
    for migrating in [false, true] {
        for cap in [0, 1, 16] {
            let to_thread: Chan<u64> = Chan::new(cap);
            let to_gort: Chan<u64> = Chan::new(cap);
            let (tt, tg) = (to_thread.clone(), to_gort.clone());
            // The plain thread echoes each value back, doubled.
            let echo = std::thread::spawn(move || {
                let mut n = 0;
                for v in &tt {
                    tg.send(v * 2);
                    n += 1;
                }
                tg.close();
                n
            });
            let sum = builder(migrating).gomaxprocs(2).block_on(move || {
                let tt = to_thread.clone();
                gort::go(move || {
                    for i in 0..2_000u64 {
                        tt.send(i);
                    }
                    tt.close();
                });
                let mut expect = 0;
                let mut sum = 0;
                while let Some(v) = to_gort.recv() {
                    assert_eq!(v, expect * 2, "out of order (cap {cap})");
                    expect += 1;
                    sum += v;
                }
                sum
            });
            assert_eq!(echo.join().unwrap(), 2_000);
            assert_eq!(sum, 2 * (0..2_000u64).sum::<u64>());
        }
    }
}

/// Two plain threads and no runtime at all: a channel works between them.
#[test]
fn two_plain_threads_share_a_channel() {
    let c: Chan<u32> = Chan::new(0);
    let r = c.clone();
    let t = std::thread::spawn(move || r.into_iter().sum::<u32>());
    for i in 1..=1_000 {
        c.send(i);
    }
    c.close();
    assert_eq!(t.join().unwrap(), 500_500);
}

/// `select!` with a timeout on a plain thread: the timer channel has no P
/// to run it, so the waiting thread runs it when due; a value sent in time
/// wins instead.
#[test]
fn select_with_a_timeout_on_a_plain_thread() {
    let c: Chan<u32> = Chan::new(0);
    let start = Instant::now();
    let r = select! {
        recv(c) -> v => v,
        recv(gort::time::after(Duration::from_millis(50))) -> _t => None,
    };
    let took = start.elapsed();
    assert_eq!(r, None);
    assert!(
        took >= Duration::from_millis(50),
        "timed out early: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "timed out late: {took:?}");

    let s = c.clone();
    let rt = gort::Builder::new().build();
    rt.spawn(move || {
        gort::time::sleep(Duration::from_millis(20));
        s.send(7);
    });
    let r = select! {
        recv(c) -> v => v,
        recv(gort::time::after(Duration::from_secs(30))) -> _t => None,
    };
    assert_eq!(r, Some(7));
}

/// A plain receive on a timer channel, and a ticker, on a plain thread.
#[test]
fn timers_on_a_plain_thread() {
    let start = Instant::now();
    gort::time::after(Duration::from_millis(30)).recv().unwrap();
    assert!(start.elapsed() >= Duration::from_millis(30));
    let t = gort::time::Ticker::new(Duration::from_millis(5));
    for _ in 0..5 {
        t.c().recv().unwrap();
    }
    t.stop();
    assert!(start.elapsed() >= Duration::from_millis(55));
}

/// Many plain threads and goroutines on one channel in both directions:
/// nothing lost, nothing duplicated.
#[test]
fn many_threads_and_goroutines_nothing_lost() {
    const PER: u64 = 500;
    let c: Chan<u64> = Chan::new(0);
    let got = Arc::new(AtomicU64::new(0));
    let count = Arc::new(AtomicU64::new(0));
    let rt = gort::Builder::new().gomaxprocs(2).build();
    let mut threads = Vec::new();
    // Senders: 2 threads and 2 goroutines; receivers: 2 of each.
    for k in 0..2u64 {
        let s = c.clone();
        threads.push(std::thread::spawn(move || {
            for i in 0..PER {
                s.send(k * PER + i + 1);
            }
        }));
        let r = c.clone();
        let (got, count) = (got.clone(), count.clone());
        threads.push(std::thread::spawn(move || {
            while let Some(v) = r.recv() {
                got.fetch_add(v, Ordering::Relaxed);
                count.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let wg = Arc::new(gort::sync::WaitGroup::new());
    for k in 2..4u64 {
        let s = c.clone();
        let r = c.clone();
        let (got, count) = (got.clone(), count.clone());
        let wg2 = wg.clone();
        rt.block_on(move || {
            wg2.go(move || {
                for i in 0..PER {
                    s.send(k * PER + i + 1);
                }
            });
            gort::go(move || {
                while let Some(v) = r.recv() {
                    got.fetch_add(v, Ordering::Relaxed);
                    count.fetch_add(1, Ordering::Relaxed);
                }
            });
        });
    }
    // Wait for the two senders that are threads, then the goroutines.
    threads.remove(0).join().unwrap();
    threads.remove(1).join().unwrap();
    let w = wg.clone();
    rt.block_on(move || w.wait());
    // Every value was received before close: receivers drain, then stop.
    while count.load(Ordering::Relaxed) < 4 * PER {
        std::thread::sleep(Duration::from_millis(1));
    }
    c.close();
    for t in threads {
        t.join().unwrap();
    }
    let n = 4 * PER;
    assert_eq!(count.load(Ordering::Relaxed), n);
    assert_eq!(got.load(Ordering::Relaxed), n * (n + 1) / 2);
}

/// A `gort::sync::Mutex` contended by plain threads and goroutines of two
/// runtimes (one per mode): mutual exclusion holds and every increment
/// counts. A contended lock on a plain thread used to end the process
/// with `fatal error: no gort runtime on this thread`.
#[test]
fn a_mutex_contended_by_threads_and_goroutines() {
    static M: gort::sync::Mutex<u64> = gort::sync::Mutex::const_new(gort::sync::RawMutex::new(), 0);
    let inside = Arc::new(AtomicU64::new(0));
    let work = {
        let inside = inside.clone();
        move || {
            for _ in 0..300 {
                let mut g = M.lock();
                assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                *g += 1;
                std::hint::spin_loop();
                inside.fetch_sub(1, Ordering::SeqCst);
                drop(g);
            }
        }
    };
    let mut ts = Vec::new();
    for _ in 0..2 {
        let w = work.clone();
        ts.push(std::thread::spawn(w));
    }
    for migrating in [false, true] {
        let w = work.clone();
        ts.push(std::thread::spawn(move || {
            builder(migrating).gomaxprocs(2).block_on(move || {
                let wg = Arc::new(gort::sync::WaitGroup::new());
                for _ in 0..2 {
                    wg.go(w.clone());
                }
                wg.wait();
            })
        }));
    }
    for t in ts {
        t.join().unwrap();
    }
    assert_eq!(*M.lock(), 6 * 300);
}

/// A plain thread waits on a WaitGroup that goroutines finish, and on a
/// Cond that a goroutine signals.
#[test]
fn a_plain_thread_waits_for_goroutines() {
    let wg = Arc::new(gort::sync::WaitGroup::new());
    let done = Arc::new(AtomicU64::new(0));
    let rt = gort::Builder::new().gomaxprocs(2).build();
    wg.add(10);
    for _ in 0..10 {
        let (wg, done) = (wg.clone(), done.clone());
        rt.spawn(move || {
            gort::time::sleep(Duration::from_millis(5));
            done.fetch_add(1, Ordering::SeqCst);
            wg.done();
        });
    }
    wg.wait();
    assert_eq!(done.load(Ordering::SeqCst), 10);

    let pair = Arc::new((gort::sync::Mutex::new(false), gort::sync::Cond::new()));
    let p2 = pair.clone();
    rt.spawn(move || {
        gort::time::sleep(Duration::from_millis(10));
        *p2.0.lock() = true;
        p2.1.signal();
    });
    let mut g = pair.0.lock();
    while !*g {
        pair.1.wait(&mut g);
    }
}

/// Goroutines wait on a WaitGroup and a Cond that plain threads release.
#[test]
fn goroutines_wait_for_a_plain_thread() {
    let wg = Arc::new(gort::sync::WaitGroup::new());
    wg.add(3);
    let mut ts = Vec::new();
    for _ in 0..3 {
        let wg = wg.clone();
        ts.push(std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            wg.done();
        }));
    }
    let pair = Arc::new((gort::sync::Mutex::new(0u32), gort::sync::Cond::new()));
    let p2 = pair.clone();
    ts.push(std::thread::spawn(move || {
        for _ in 0..4 {
            std::thread::sleep(Duration::from_millis(5));
            *p2.0.lock() += 1;
            p2.1.broadcast();
        }
    }));
    let w = wg.clone();
    builder(false).gomaxprocs(2).block_on(move || {
        w.wait();
        let mut g = pair.0.lock();
        while *g < 4 {
            pair.1.wait(&mut g);
        }
    });
    for t in ts {
        t.join().unwrap();
    }
}

/// `c`'s next value, or `None` if none comes within 10 s (the test then
/// fails instead of hanging).
fn recv_within_10s<T: Send>(c: &gort::RecvChan<T>) -> Option<T> {
    select! {
        recv(c) -> v => v,
        recv(gort::time::after(Duration::from_secs(10))) -> _t => None,
    }
}

/// A plain thread waits on a timer's channel while another plain thread
/// resets the timer to 10 ms, `after_ms` in: the waiter gets its tick.
fn reset_while_a_plain_thread_waits(t: gort::time::Timer, after_ms: u64) -> bool {
    let t = Arc::new(t);
    let t2 = t.clone();
    let resetter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(after_ms));
        t2.reset(Duration::from_millis(10));
    });
    let got = recv_within_10s(t.c()).is_some();
    resetter.join().unwrap();
    got
}

/// A plain thread waits on a stopped timer's channel; another plain
/// thread resets the timer: the waiter gets its tick (the `gort-timers`
/// thread runs the timer). Then the same with the reset made earlier than
/// the timer's first deadline: it fires at the new, earlier time.
#[test]
fn a_timer_reset_while_a_plain_thread_waits() {
    let t = gort::time::Timer::new(Duration::from_secs(3600));
    assert!(t.stop());
    assert!(
        reset_while_a_plain_thread_waits(t, 30),
        "no tick within 10 s of the reset"
    );
    let t = gort::time::Timer::new(Duration::from_secs(3600));
    assert!(
        reset_while_a_plain_thread_waits(t, 20),
        "fired at the old deadline, or never"
    );
}

/// A timer channel in the heap of a runtime that ends, while a plain
/// thread waits on it: it still fires (the ended heap hands it to the
/// `gort-timers` thread).
#[test]
fn a_timer_outlives_the_runtime_whose_heap_held_it() {
    let c = gort::time::after(Duration::from_millis(300));
    let (c2, c3) = (c.clone(), c.clone());
    let start = Instant::now();
    // A goroutine blocks on it first, which puts it into its runtime's
    // heap; it ends with the runtime, 100 ms in.
    let rt = std::thread::spawn(move || {
        gort::Builder::new().block_on(move || {
            gort::go(move || {
                let _ = c3.recv();
            });
            gort::time::sleep(Duration::from_millis(100));
        })
    });
    std::thread::sleep(Duration::from_millis(30));
    // Then a plain thread waits on it (the heap holds it: nothing else to
    // do for the thread).
    let took = recv_within_10s(&c2).map(|_| start.elapsed());
    rt.join().unwrap();
    let took = took.expect("no tick within 10 s");
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}
