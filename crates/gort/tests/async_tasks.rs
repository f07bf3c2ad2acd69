//! gort values awaited from async code (issue 18): `Chan::send_async` and
//! `recv_async`, `JoinHandle` as a future, timer channels, all woken
//! through `Waker`s. The tokio runtimes here use the `current_thread`
//! flavour: a gort operation that blocked its worker would stop every task
//! and hang the test (each test runs under a watchdog that fails it
//! instead).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gort::{Chan, select};

/// Runs `f` on a new thread and fails if it does not finish in time.
fn watchdog<F: FnOnce() + Send + 'static>(secs: u64, f: F) {
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => t.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            // The body panicked: report its panic.
            if let Err(p) = t.join() {
                std::panic::resume_unwind(p)
            }
        }
        Err(_) => panic!("hung: a tokio worker blocked, or a wake-up was lost"),
    }
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// One channel, three kinds of parties: goroutines, a plain thread and
/// tokio tasks, sending and receiving in every direction on unbuffered and
/// buffered channels. Every value is received exactly once.
#[test]
fn goroutines_threads_and_tokio_tasks_share_a_channel() {
    watchdog(120, || {
        for cap in [0usize, 1, 8] {
            const PER: u64 = 300;
            let c: Chan<u64> = Chan::new(cap);
            let sum = Arc::new(AtomicU64::new(0));
            let count = Arc::new(AtomicU64::new(0));
            let rt = gort::Builder::new().gomaxprocs(2).build();
            let recv_into = |c: Chan<u64>, sum: Arc<AtomicU64>, count: Arc<AtomicU64>| {
                move |v: u64| {
                    let _ = &c;
                    sum.fetch_add(v, Ordering::Relaxed);
                    count.fetch_add(1, Ordering::Relaxed);
                }
            };
            // Senders: values 1..=3*PER, a third from each kind.
            let g = c.clone();
            rt.spawn(move || {
                for i in 1..=PER {
                    g.send(i);
                }
            });
            let t = c.clone();
            let thread_sender = std::thread::spawn(move || {
                for i in PER + 1..=2 * PER {
                    t.send(i);
                }
            });
            // Receivers: a goroutine and a plain thread, until close.
            let (g, s, n) = (c.clone(), sum.clone(), count.clone());
            let got = recv_into(g.clone(), s, n);
            rt.spawn(move || {
                while let Some(v) = g.recv() {
                    got(v);
                }
            });
            let (t, s, n) = (c.clone(), sum.clone(), count.clone());
            let got = recv_into(t.clone(), s, n);
            let thread_receiver = std::thread::spawn(move || {
                while let Some(v) = t.recv() {
                    got(v);
                }
            });
            // The tokio side: a sending task and a receiving task on one
            // worker thread.
            let tokio_rt = current_thread();
            tokio_rt.block_on(async {
                let tx = c.clone();
                let sender = tokio::spawn(async move {
                    for i in 2 * PER + 1..=3 * PER {
                        tx.send_async(i).await;
                    }
                });
                let (rx, s, n) = (c.clone(), sum.clone(), count.clone());
                let receiver = tokio::spawn(async move {
                    // Receives until the total is in, then stops.
                    loop {
                        tokio::select! {
                            v = rx.recv_async() => match v {
                                Some(v) => {
                                    s.fetch_add(v, Ordering::Relaxed);
                                    n.fetch_add(1, Ordering::Relaxed);
                                }
                                None => return,
                            },
                            // Cancels the receive now and then: a value
                            // that reached it meanwhile must go back.
                            _ = tokio::time::sleep(Duration::from_micros(200)) => {}
                        }
                    }
                });
                sender.await.unwrap();
                thread_sender.join().unwrap();
                while count.load(Ordering::Relaxed) < 3 * PER {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                c.close();
                receiver.await.unwrap();
            });
            thread_receiver.join().unwrap();
            let n = 3 * PER;
            assert_eq!(count.load(Ordering::Relaxed), n, "cap {cap}");
            assert_eq!(sum.load(Ordering::Relaxed), n * (n + 1) / 2, "cap {cap}");
        }
    });
}

/// A receive cancelled by a timeout loses nothing: the value sent just
/// after is received by the next receive, wherever it waits.
#[test]
fn a_timed_out_receive_loses_nothing() {
    watchdog(60, || {
        let c: Chan<u32> = Chan::new(0);
        let rt = gort::Builder::new().build();
        current_thread().block_on(async {
            let r = tokio::time::timeout(Duration::from_millis(20), c.recv_async()).await;
            assert!(r.is_err(), "nothing was sent");
            let s = c.clone();
            rt.spawn(move || s.send(5));
            assert_eq!(c.recv_async().await, Some(5));
        });
    });
}

/// Dropping receive futures after a value reached them: the value goes
/// back to the front of the channel, in order, on unbuffered and buffered
/// channels (with the buffer full, the newest value moves out to a
/// waiting sender's place).
#[test]
fn dropped_receives_put_values_back_in_order() {
    watchdog(60, || {
        use std::future::Future;
        use std::task::{Context, Waker};
        for cap in [0usize, 2] {
            let c: Chan<u32> = Chan::new(cap);
            let mut cx = Context::from_waker(Waker::noop());
            {
                let mut f = Box::pin(c.recv_async());
                assert!(f.as_mut().poll(&mut cx).is_pending());
                // A plain thread's sends: the first goes straight into the
                // waiting future's slot, the others fill the buffer (or,
                // unbuffered, wait).
                let s = c.clone();
                let t = std::thread::spawn(move || {
                    for v in 1..=(cap as u32 + 2) {
                        s.send(v);
                    }
                });
                // Let the first value arrive, then drop the future (not
                // just a pinned reference to it).
                std::thread::sleep(Duration::from_millis(50));
                drop(f);
                let got: Vec<u32> = (0..cap + 2).map(|_| c.recv().unwrap()).collect();
                t.join().unwrap();
                let want: Vec<u32> = (1..=(cap as u32 + 2)).collect();
                assert_eq!(got, want, "cap {cap}");
            }
            assert!(matches!(c.try_recv(), Err(gort::TryRecvError::Empty)));
        }
    });
}

/// A JoinHandle awaited by a tokio task; gort's timer channels awaited.
#[test]
fn join_handles_and_timers_in_tokio() {
    watchdog(60, || {
        let rt = gort::Builder::new().build();
        let h = rt.spawn(|| {
            gort::time::sleep(Duration::from_millis(20));
            6 * 7
        });
        current_thread().block_on(async move {
            assert_eq!(h.await.unwrap(), 42);
            let start = std::time::Instant::now();
            gort::time::after(Duration::from_millis(30))
                .recv_async()
                .await
                .unwrap();
            assert!(start.elapsed() >= Duration::from_millis(30));
        });
    });
}

/// A goroutine's `select!` with a timeout, fed by a tokio task: the value
/// arrives before the timeout; the next select times out.
#[test]
fn a_goroutine_selects_with_a_timeout_on_a_tokio_sender() {
    watchdog(60, || {
        let c: Chan<u32> = Chan::new(0);
        let r = c.clone();
        let rt = gort::Builder::new().build();
        let h = rt.spawn(move || {
            let first = select! {
                recv(r) -> v => v,
                recv(gort::time::after(Duration::from_secs(30))) -> _t => None,
            };
            let second = select! {
                recv(r) -> v => v,
                recv(gort::time::after(Duration::from_millis(20))) -> _t => None,
            };
            (first, second)
        });
        current_thread().block_on(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            c.send_async(9).await;
            assert_eq!(h.await.unwrap(), (Some(9), None));
        });
    });
}

/// A tokio task awaits a WaitGroup that goroutines and a plain thread
/// finish; a wait cancelled by a timeout stops counting as a waiter, so a
/// later round of the group works (a waiter left counted would make the
/// next `add` panic with Go's misuse message, or a token go astray).
#[test]
fn wait_group_wait_async() {
    watchdog(60, || {
        let rt = gort::Builder::new().gomaxprocs(2).build();
        let wg = Arc::new(gort::sync::WaitGroup::new());
        current_thread().block_on(async {
            for round in 0..20 {
                wg.add(3);
                if round % 2 == 0 {
                    // Give up on one wait first, before anything can
                    // finish the round (a timeout raced the workers under
                    // load).
                    let r = tokio::time::timeout(Duration::from_micros(500), wg.wait_async()).await;
                    assert!(r.is_err(), "round {round}: finished too early");
                }
                for _ in 0..2 {
                    let wg = wg.clone();
                    rt.spawn(move || {
                        gort::time::sleep(Duration::from_millis(2));
                        wg.done();
                    });
                }
                let w = wg.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(3));
                    w.done();
                });
                wg.wait_async().await;
                assert_eq!(format!("{:?}", wg), "WaitGroup { counter: 0, waiters: 0 }");
            }
        });
    });
}

/// Values put back by dropped receives survive a `close`: they are
/// received after the buffer's, then the channel reports closed; through
/// `recv`, `try_recv`, `select!` and `recv_async` alike.
#[test]
fn put_back_values_survive_close() {
    watchdog(60, || {
        use std::future::Future;
        use std::task::{Context, Waker};
        for (cap, how) in [(0usize, 0), (2, 0), (0, 1), (2, 1), (0, 2), (2, 2), (2, 3)] {
            let c: Chan<u32> = Chan::new(cap);
            let mut cx = Context::from_waker(Waker::noop());
            let mut f = Box::pin(c.recv_async());
            assert!(f.as_mut().poll(&mut cx).is_pending());
            // 1 reaches the future; 2..=cap+1 fill the buffer.
            for v in 1..=(cap as u32 + 1) {
                c.send(v);
            }
            drop(f);
            c.close();
            let mut got = Vec::new();
            loop {
                let v = match how {
                    0 => c.recv(),
                    1 => c.try_recv().ok(),
                    2 => select! { recv(c) -> v => v },
                    _ => current_thread().block_on(c.recv_async()),
                };
                match v {
                    Some(v) => got.push(v),
                    None => break,
                }
            }
            let want: Vec<u32> = (1..=(cap as u32 + 1)).collect();
            assert_eq!(got, want, "cap {cap}, receive {how}");
        }
    });
}

/// A task awaits a stopped timer's channel; a plain thread resets it: the
/// task gets the tick.
#[test]
fn a_timer_reset_while_a_task_waits() {
    watchdog(60, || {
        let t = Arc::new(gort::time::Timer::new(Duration::from_secs(3600)));
        assert!(t.stop());
        let t2 = t.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            t2.reset(Duration::from_millis(10));
        });
        current_thread().block_on(async move {
            t.c().recv_async().await.unwrap();
        });
    });
}
