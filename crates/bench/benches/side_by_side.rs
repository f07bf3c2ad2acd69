//! `cargo bench -p gort-bench [-- --quick] [-- --only <workload>[,<workload>…]]
//! [-- --systems gort,go,tokio,may]`
//!
//! The runner measures each workload for each system in a fresh worker
//! process (this binary re-executed with `--worker`, or the Go program),
//! at GOMAXPROCS 1 and 2, five times, systems interleaved; see the crate
//! docs of `gort-bench`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gort_bench::{Sample, chart_svg, table, to_json};

/// (name, unit, n, n for --quick)
const WORKLOADS: &[(&str, &str, usize, usize)] = &[
    ("spawn_join", "ns/goroutine", 1_000_000, 100_000),
    ("spawn_chain", "ns/goroutine", 1_000_000, 100_000),
    ("gosched", "ns/yield", 1_000_000, 100_000),
    ("skynet", "ns/leaf", 1_000_000, 100_000),
    ("chan_sync", "ns/op", 1_000_000, 100_000),
    ("chan_prodcons0", "ns/op", 1_000_000, 100_000),
    ("chan_prodcons10", "ns/op", 1_000_000, 100_000),
    ("chan_prodcons100", "ns/op", 1_000_000, 100_000),
    ("select_uncontended", "ns/op", 1_000_000, 100_000),
    ("select_contended", "ns/op", 1_000_000, 100_000),
    ("chan_uncontended", "ns/op", 100_000, 10_000),
    ("pingpong_unbuffered", "ns/roundtrip", 1_000_000, 100_000),
    ("chan_buffered_1to1", "ns/value", 10_000_000, 1_000_000),
    ("chan_mpmc_4to4", "ns/value", 4_000_000, 400_000),
    ("mutex_4", "ns/op", 4_000_000, 400_000),
    ("sleepers_100k", "ms", 100_000, 10_000),
    ("sleepers_lateness", "us late", 100_000, 100_000),
    ("mutex_uncontended", "ns/op", 10_000_000, 1_000_000),
    ("mutex", "ns/op", 2_000_000, 200_000),
    ("mutex_spin", "ns/op", 200_000, 20_000),
    ("waitgroup_uncontended", "ns/op", 10_000_000, 1_000_000),
    ("once", "ns/op", 10_000_000, 1_000_000),
    ("timer_start_stop", "ns/timer", 1_000_000, 100_000),
    ("sleep_1ms_overshoot", "us/sleep", 1_000, 100),
    ("parked_rss_100k", "KiB/goroutine", 100_000, 10_000),
    ("parked_rss_1m", "KiB/goroutine", 1_000_000, 100_000),
];
/// `gort` is gort's safe scheduler mode (its default), `gort-mig` its
/// migrating mode (Go's semantics, an unsafe opt-in).
const SYSTEMS: &[&str] = &["gort", "gort-mig", "go", "tokio", "may", "go-lib"];

fn rss_bytes() -> f64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: f64 = s.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096.0
}

/// Bad command-line input: says what is wrong and exits with status 2.
fn usage(msg: &str) -> ! {
    eprintln!("bench: {msg}");
    std::process::exit(2)
}

fn per_op(start: Instant, ops: usize) -> f64 {
    start.elapsed().as_nanos() as f64 / ops as f64
}

// ---------------------------------------------------------------- gort

/// testing.B.RunParallel's shape on gort: `body` on one goroutine per P,
/// returning when the last has finished (the Go side's `runParallel`).
fn gort_run_parallel(procs: usize, body: impl Fn() + Send + Sync + 'static) {
    let body = Arc::new(body);
    let wg = Arc::new(gort::sync::WaitGroup::new());
    for _ in 0..procs {
        let body = body.clone();
        wg.go(move || body());
    }
    wg.wait();
}

/// gort's runtime in the safe mode, or in the migrating one.
fn gort_builder(migrating: bool) -> gort::Builder {
    if migrating {
        // SAFETY: the benchmark bodies touch no thread-local state in
        // functions that park (the contract of the migrating mode).
        unsafe { gort::Builder::new().migrating() }
    } else {
        gort::Builder::new()
    }
}

fn gort_worker(workload: &str, procs: usize, n: usize, migrating: bool) -> f64 {
    let b = gort_builder(migrating).gomaxprocs(procs);
    let w = workload.to_string();
    {
        b.block_on(move || match w.as_str() {
            "spawn_join" => {
                // Go's loop spawner + WaitGroup.
                let wg = Arc::new(gort::sync::WaitGroup::new());
                let start = Instant::now();
                wg.add(n as i32);
                for _ in 0..n {
                    let wg = wg.clone();
                    gort::go(move || {
                        wg.done();
                    });
                }
                wg.wait();
                per_op(start, n)
            }
            "spawn_chain" => {
                // Each goroutine starts the next; the last one sends on a
                // channel main waits on (as Go's version does).
                fn chain(k: usize, done: gort::Chan<bool>) {
                    if k == 0 {
                        done.send(true);
                    } else {
                        gort::go(move || chain(k - 1, done));
                    }
                }
                let done: gort::Chan<bool> = gort::Chan::new(0);
                let start = Instant::now();
                let d = done.clone();
                gort::go(move || chain(n, d));
                done.recv();
                per_op(start, n)
            }
            "gosched" => {
                let start = Instant::now();
                let hs: Vec<_> = (0..2)
                    .map(|_| {
                        gort::spawn(move || {
                            for _ in 0..n {
                                gort::gosched();
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.join().unwrap();
                }
                per_op(start, 2 * n)
            }
            "skynet" => {
                // As Go's: each node sends its sum on its parent's channel.
                fn skynet(c: gort::Chan<u64>, num: u64, size: u64, div: u64) {
                    if size == 1 {
                        c.send(num);
                        return;
                    }
                    let rc: gort::Chan<u64> = gort::Chan::new(0);
                    for i in 0..div {
                        let rc = rc.clone();
                        gort::go(move || skynet(rc, num + i * (size / div), size / div, div));
                    }
                    let sum = (0..div).map(|_| rc.recv().unwrap()).sum();
                    c.send(sum);
                }
                let start = Instant::now();
                let c: gort::Chan<u64> = gort::Chan::new(0);
                let c2 = c.clone();
                gort::go(move || skynet(c2, 0, n as u64, 10));
                let sum = c.recv().unwrap();
                assert_eq!(sum, (n as u64) * (n as u64 - 1) / 2);
                per_op(start, n)
            }
            "pingpong_unbuffered" => {
                // Round trips between two goroutines over two unbuffered
                // channels.
                let (ping, pong): (gort::Chan<u64>, gort::Chan<u64>) =
                    (gort::Chan::new(0), gort::Chan::new(0));
                let (pi, po) = (ping.clone(), pong.clone());
                gort::go(move || {
                    for v in &pi {
                        po.send(v + 1);
                    }
                });
                let start = Instant::now();
                let mut v = 0;
                for _ in 0..n {
                    ping.send(v);
                    v = pong.recv().unwrap();
                }
                assert_eq!(v, n as u64);
                ping.close();
                per_op(start, n)
            }
            "chan_buffered_1to1" | "chan_mpmc_4to4" => {
                // One producer and one consumer on a channel of 128, or
                // four of each.
                let k = if w == "chan_buffered_1to1" { 1 } else { 4 };
                let c: gort::Chan<u64> = gort::Chan::new(128);
                let sums: gort::Chan<u64> = gort::Chan::new(k);
                let wg = Arc::new(gort::sync::WaitGroup::new());
                let start = Instant::now();
                for p in 0..k {
                    let c = c.clone();
                    wg.go(move || {
                        for i in 0..n / k {
                            c.send((p * (n / k) + i) as u64);
                        }
                    });
                }
                for _ in 0..k {
                    let (c, sums) = (c.clone(), sums.clone());
                    gort::go(move || sums.send(c.iter().sum()));
                }
                wg.wait();
                c.close();
                let total: u64 = (0..k).map(|_| sums.recv().unwrap()).sum();
                let m = (n / k * k) as u64;
                assert_eq!(total, m * (m - 1) / 2);
                per_op(start, n / k * k)
            }
            "mutex_4" => {
                // Four goroutines contending for one mutex.
                let mu = Arc::new(gort::sync::Mutex::new(0u64));
                let wg = Arc::new(gort::sync::WaitGroup::new());
                let start = Instant::now();
                for _ in 0..4 {
                    let mu = mu.clone();
                    wg.go(move || {
                        for _ in 0..n / 4 {
                            *mu.lock() += 1;
                        }
                    });
                }
                wg.wait();
                assert_eq!(*mu.lock(), (n / 4 * 4) as u64);
                per_op(start, n / 4 * 4)
            }
            "sleepers_100k" => {
                // n goroutines each sleeping a pseudo-random 0–50 ms; the
                // wall time until all woke, in ms (ideal: 50).
                let wg = Arc::new(gort::sync::WaitGroup::new());
                let start = Instant::now();
                for i in 0..n as u64 {
                    wg.go(move || {
                        let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 33;
                        gort::time::sleep(Duration::from_micros(x % 50_001));
                    });
                }
                wg.wait();
                start.elapsed().as_secs_f64() * 1e3
            }
            "sleepers_lateness" => {
                // n goroutines each sleeping a pseudo-random 0–100 ms; the
                // mean lateness of their wake-ups, in µs (issue 17).
                let wg = Arc::new(gort::sync::WaitGroup::new());
                let late = Arc::new(std::sync::atomic::AtomicU64::new(0));
                for i in 0..n as u64 {
                    let late = late.clone();
                    wg.go(move || {
                        let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 33;
                        let d = Duration::from_micros(x % 100_001);
                        let t = Instant::now();
                        gort::time::sleep(d);
                        let l = t.elapsed().saturating_sub(d).as_nanos() as u64;
                        late.fetch_add(l, Ordering::Relaxed);
                    });
                }
                wg.wait();
                late.load(Ordering::Relaxed) as f64 / n as f64 / 1e3
            }
            "chan_sync" => {
                // Go's benchmarkChanSync(b, 0): two goroutines pass the
                // turn through an unbuffered channel, 1000 calls per batch.
                const CALLS: usize = 1000;
                let batches = (n / CALLS / 2 * 2) as i64;
                let left = Arc::new(std::sync::atomic::AtomicI64::new(batches));
                let c: gort::Chan<bool> = gort::Chan::new(2);
                let myc: gort::Chan<i32> = gort::Chan::new(0);
                let start = Instant::now();
                for _ in 0..2 {
                    let (left, c, myc) = (left.clone(), c.clone(), myc.clone());
                    gort::go(move || {
                        loop {
                            let i = left.fetch_sub(1, Ordering::Relaxed) - 1;
                            if i < 0 {
                                break;
                            }
                            for _ in 0..CALLS {
                                if i % 2 == 0 {
                                    myc.recv();
                                    myc.send(0);
                                } else {
                                    myc.send(0);
                                    myc.recv();
                                }
                            }
                        }
                        c.send(true);
                    });
                }
                c.recv();
                c.recv();
                per_op(start, batches as usize * CALLS)
            }
            w if w.starts_with("chan_prodcons") => {
                // Go's benchmarkChanProdCons(b, size, 0): GOMAXPROCS
                // producers and consumers on one channel; 0 ends a consumer.
                const CALLS: usize = 1000;
                let size: usize = w["chan_prodcons".len()..].parse().unwrap();
                let batches = (n / CALLS) as i64;
                let left = Arc::new(std::sync::atomic::AtomicI64::new(batches));
                let c: gort::Chan<bool> = gort::Chan::new(2 * procs);
                let myc: gort::Chan<i32> = gort::Chan::new(size);
                let start = Instant::now();
                for _ in 0..procs {
                    let (left, c1, myc1) = (left.clone(), c.clone(), myc.clone());
                    gort::go(move || {
                        while left.fetch_sub(1, Ordering::Relaxed) > 0 {
                            for _ in 0..CALLS {
                                myc1.send(1);
                            }
                        }
                        myc1.send(0);
                        c1.send(false);
                    });
                    let (c2, myc2) = (c.clone(), myc.clone());
                    gort::go(move || {
                        while myc2.recv() != Some(0) {}
                        c2.send(false);
                    });
                }
                for _ in 0..2 * procs {
                    c.recv();
                }
                per_op(start, batches as usize * CALLS)
            }
            "select_uncontended" => {
                // Go's BenchmarkSelectUncontended under RunParallel: one
                // goroutine per P, each with its own two channels.
                let per = n / procs;
                let start = Instant::now();
                gort_run_parallel(procs, move || {
                    let myc1: gort::Chan<i32> = gort::Chan::new(1);
                    let myc2: gort::Chan<i32> = gort::Chan::new(1);
                    myc1.send(0);
                    for _ in 0..per {
                        gort::select! {
                            recv(myc1) -> _v => myc2.send(0),
                            recv(myc2) -> _v => myc1.send(0),
                        }
                    }
                });
                per_op(start, per * procs)
            }
            "select_contended" => {
                // Go's BenchmarkSelectContended under RunParallel: every
                // goroutine selects on the same two channels of capacity
                // GOMAXPROCS.
                let per = n / procs;
                let myc1: gort::Chan<i32> = gort::Chan::new(procs);
                let myc2: gort::Chan<i32> = gort::Chan::new(procs);
                let start = Instant::now();
                gort_run_parallel(procs, move || {
                    myc1.send(0);
                    for _ in 0..per {
                        gort::select! {
                            recv(myc1) -> _v => myc2.send(0),
                            recv(myc2) -> _v => myc1.send(0),
                        }
                    }
                });
                per_op(start, per * procs)
            }
            "chan_uncontended" => {
                // Go's BenchmarkChanUncontended under RunParallel: 100 sends
                // then 100 receives on a goroutine's own buffered channel.
                const C: usize = 100;
                let per = n / procs;
                let start = Instant::now();
                gort_run_parallel(procs, move || {
                    let myc: gort::Chan<i32> = gort::Chan::new(C);
                    for _ in 0..per {
                        for _ in 0..C {
                            myc.send(0);
                        }
                        for _ in 0..C {
                            myc.recv();
                        }
                    }
                });
                per_op(start, per * procs)
            }
            "mutex_uncontended" | "mutex" | "mutex_spin" | "waitgroup_uncontended" | "once" => {
                // Go's BenchmarkMutexUncontended, BenchmarkMutex,
                // BenchmarkMutexSpin, BenchmarkWaitGroupUncontended and
                // BenchmarkOnce, under RunParallel: one goroutine per P,
                // n operations in all.
                let per = n / procs;
                let shared = gort::sync::RawMutex::new();
                let once = gort::sync::Once::new();
                let acc = AtomicUsize::new(0);
                let start = Instant::now();
                gort_run_parallel(procs, move || match w.as_str() {
                    "mutex_uncontended" => {
                        let mu = gort::sync::RawMutex::new();
                        for _ in 0..per {
                            mu.lock();
                            mu.unlock();
                        }
                    }
                    "mutex" => {
                        for _ in 0..per {
                            shared.lock();
                            shared.unlock();
                        }
                    }
                    "mutex_spin" => {
                        let mut data = vec![0u64; 16 << 10];
                        for _ in 0..per {
                            shared.lock();
                            acc.fetch_add(100, Ordering::Relaxed);
                            shared.unlock();
                            for i in (0..data.len()).step_by(4) {
                                data[i] += 1;
                            }
                        }
                        std::hint::black_box(&data);
                    }
                    "waitgroup_uncontended" => {
                        let wg = gort::sync::WaitGroup::new();
                        for _ in 0..per {
                            wg.add(1);
                            wg.done();
                            wg.wait();
                        }
                    }
                    _ => {
                        for _ in 0..per {
                            once.call(|| {});
                        }
                    }
                });
                per_op(start, per * procs)
            }
            "timer_start_stop" => {
                // Go's BenchmarkStartStop1000 (RunParallel): AfterFunc(1h)
                // then Stop, in batches of 1000 per goroutine.
                let per = (n / procs / 1000).max(1);
                let start = Instant::now();
                gort_run_parallel(procs, move || {
                    for _ in 0..per {
                        let ts: Vec<_> = (0..1000)
                            .map(|_| gort::time::after_func(Duration::from_secs(3600), || {}))
                            .collect();
                        for t in &ts {
                            t.stop();
                        }
                    }
                });
                per_op(start, per * procs * 1000)
            }
            "sleep_1ms_overshoot" => {
                // Mean lateness of n sequential 1 ms sleeps, in µs.
                let mut over = 0f64;
                for _ in 0..n {
                    let t = Instant::now();
                    gort::time::sleep(Duration::from_millis(1));
                    over += (t.elapsed().as_nanos() as f64 - 1e6) / 1e3;
                }
                over / n as f64
            }
            w if w.starts_with("parked_rss") => {
                // gort gives a goroutine its stack when it first runs, so
                // wait until every one has run and parked (Go's goroutines
                // have their stacks from creation).
                let before = rss_bytes();
                let parked = Arc::new(AtomicUsize::new(0));
                for _ in 0..n {
                    let p = parked.clone();
                    gort::go(move || {
                        p.fetch_add(1, Ordering::Release);
                        runtime_p::block();
                    });
                }
                while parked.load(Ordering::Acquire) < n {
                    gort::gosched();
                }
                (rss_bytes() - before) / 1024.0 / n as f64
            }
            other => panic!("unknown workload {other}"),
        })
    }
}

// ---------------------------------------------------------------- tokio

fn tokio_worker(workload: &str, procs: usize, n: usize) -> Result<f64, String> {
    use std::future::Future;
    use std::pin::Pin;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(procs)
        .enable_time()
        .build()
        .unwrap();
    let w = workload.to_string();
    // Measured inside a spawned task, as a tokio program would run.
    rt.block_on(async move {
        tokio::spawn(async move {
            match w.as_str() {
                "spawn_join" => {
                    let start = Instant::now();
                    let hs: Vec<_> = (0..n).map(|_| tokio::spawn(async {})).collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                    Ok(per_op(start, n))
                }
                "spawn_chain" => {
                    fn chain(
                        k: usize,
                        tx: tokio::sync::oneshot::Sender<()>,
                    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
                        Box::pin(async move {
                            if k == 0 {
                                let _ = tx.send(());
                            } else {
                                tokio::spawn(chain(k - 1, tx));
                            }
                        })
                    }
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    let start = Instant::now();
                    tokio::spawn(chain(n, tx));
                    rx.await.unwrap();
                    Ok(per_op(start, n))
                }
                "gosched" => {
                    let start = Instant::now();
                    let hs: Vec<_> = (0..2)
                        .map(|_| {
                            tokio::spawn(async move {
                                for _ in 0..n {
                                    tokio::task::yield_now().await;
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                    Ok(per_op(start, 2 * n))
                }
                "skynet" => {
                    fn skynet(
                        num: u64,
                        size: u64,
                        div: u64,
                    ) -> Pin<Box<dyn Future<Output = u64> + Send>> {
                        Box::pin(async move {
                            if size == 1 {
                                return num;
                            }
                            let hs: Vec<_> = (0..div)
                                .map(|i| {
                                    tokio::spawn(skynet(num + i * (size / div), size / div, div))
                                })
                                .collect();
                            let mut s = 0;
                            for h in hs {
                                s += h.await.unwrap();
                            }
                            s
                        })
                    }
                    let start = Instant::now();
                    let sum = tokio::spawn(skynet(0, n as u64, 10)).await.unwrap();
                    assert_eq!(sum, (n as u64) * (n as u64 - 1) / 2);
                    Ok(per_op(start, n))
                }
                w if w.starts_with("parked_rss") => {
                    let before = rss_bytes();
                    let parked = Arc::new(AtomicUsize::new(0));
                    let mut senders = Vec::with_capacity(n);
                    for _ in 0..n {
                        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                        senders.push(tx);
                        let p = parked.clone();
                        tokio::spawn(async move {
                            p.fetch_add(1, Ordering::Relaxed);
                            let _ = rx.await;
                        });
                    }
                    while parked.load(Ordering::Relaxed) < n {
                        tokio::task::yield_now().await;
                    }
                    let v = (rss_bytes() - before) / 1024.0 / n as f64;
                    std::mem::forget(senders);
                    Ok(v)
                }
                "pingpong_unbuffered" => {
                    // tokio has no unbuffered channel: mpsc of capacity 1,
                    // its closest equivalent.
                    let (ptx, mut prx) = tokio::sync::mpsc::channel::<u64>(1);
                    let (qtx, mut qrx) = tokio::sync::mpsc::channel::<u64>(1);
                    tokio::spawn(async move {
                        while let Some(v) = prx.recv().await {
                            if qtx.send(v + 1).await.is_err() {
                                break;
                            }
                        }
                    });
                    let start = Instant::now();
                    let mut v = 0;
                    for _ in 0..n {
                        ptx.send(v).await.unwrap();
                        v = qrx.recv().await.unwrap();
                    }
                    Ok(per_op(start, n))
                }
                "chan_buffered_1to1" => {
                    let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(128);
                    let start = Instant::now();
                    let h = tokio::spawn(async move {
                        let mut s = 0u64;
                        while let Some(v) = rx.recv().await {
                            s += v;
                        }
                        s
                    });
                    for i in 0..n as u64 {
                        tx.send(i).await.unwrap();
                    }
                    drop(tx);
                    let s = h.await.unwrap();
                    assert_eq!(s, (n as u64) * (n as u64 - 1) / 2);
                    Ok(per_op(start, n))
                }
                "mutex_4" => {
                    let mu = Arc::new(tokio::sync::Mutex::new(0u64));
                    let start = Instant::now();
                    let hs: Vec<_> = (0..4)
                        .map(|_| {
                            let mu = mu.clone();
                            tokio::spawn(async move {
                                for _ in 0..n / 4 {
                                    *mu.lock().await += 1;
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                    Ok(per_op(start, n / 4 * 4))
                }
                "sleepers_100k" => {
                    let start = Instant::now();
                    let hs: Vec<_> = (0..n as u64)
                        .map(|i| {
                            tokio::spawn(async move {
                                let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 33;
                                tokio::time::sleep(Duration::from_micros(x % 50_001)).await;
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                    Ok(start.elapsed().as_secs_f64() * 1e3)
                }
                "sleepers_lateness" => {
                    let late = Arc::new(std::sync::atomic::AtomicU64::new(0));
                    let hs: Vec<_> = (0..n as u64)
                        .map(|i| {
                            let late = late.clone();
                            tokio::spawn(async move {
                                let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 33;
                                let d = Duration::from_micros(x % 100_001);
                                let t = Instant::now();
                                tokio::time::sleep(d).await;
                                let l = t.elapsed().saturating_sub(d).as_nanos() as u64;
                                late.fetch_add(l, Ordering::Relaxed);
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                    Ok(late.load(Ordering::Relaxed) as f64 / n as f64 / 1e3)
                }
                "mutex_uncontended" | "mutex" => {
                    // tokio::sync::Mutex, one task per worker thread.
                    let per = n / procs;
                    let shared = Arc::new(tokio::sync::Mutex::new(()));
                    let start = Instant::now();
                    let hs: Vec<_> = (0..procs)
                        .map(|_| {
                            let shared = shared.clone();
                            let own = w == "mutex_uncontended";
                            tokio::spawn(async move {
                                let mine = tokio::sync::Mutex::new(());
                                for _ in 0..per {
                                    if own {
                                        drop(mine.lock().await);
                                    } else {
                                        drop(shared.lock().await);
                                    }
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                    Ok(per_op(start, per * procs))
                }
                "select_uncontended" => {
                    // BenchmarkSelectUncontended's shape: one task per
                    // worker, each selecting over its own two channels
                    // (mpsc of capacity 1, as each of Go's holds one value).
                    let per = n / procs;
                    let start = Instant::now();
                    let hs: Vec<_> = (0..procs)
                        .map(|_| {
                            tokio::spawn(async move {
                                let (tx1, mut rx1) = tokio::sync::mpsc::channel::<i32>(1);
                                let (tx2, mut rx2) = tokio::sync::mpsc::channel::<i32>(1);
                                tx1.send(0).await.unwrap();
                                for _ in 0..per {
                                    tokio::select! {
                                        _ = rx1.recv() => tx2.send(0).await.unwrap(),
                                        _ = rx2.recv() => tx1.send(0).await.unwrap(),
                                    }
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                    Ok(per_op(start, per * procs))
                }
                "sleep_1ms_overshoot" => {
                    let mut over = 0f64;
                    for _ in 0..n {
                        let t = Instant::now();
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        over += (t.elapsed().as_nanos() as f64 - 1e6) / 1e3;
                    }
                    Ok(over / n as f64)
                }
                other => Err(format!("unknown workload {other}")),
            }
        })
        .await
        .unwrap()
    })
}

// ---------------------------------------------------------------- may

fn may_worker(workload: &str, procs: usize, n: usize) -> Result<f64, String> {
    may::config().set_workers(procs);
    let w = workload.to_string();
    let h = may::go!(move || -> Result<f64, String> {
        match w.as_str() {
            "spawn_join" => {
                let start = Instant::now();
                let hs: Vec<_> = (0..n).map(|_| may::go!(|| ())).collect();
                for h in hs {
                    h.join().map_err(|_| "join failed".to_string())?;
                }
                Ok(per_op(start, n))
            }
            "spawn_chain" => {
                // Completion over may's own channel (a polling wait
                // livelocks in may: it timed out in trial runs).
                fn chain(k: usize, done: may::sync::mpsc::Sender<()>) {
                    if k == 0 {
                        let _ = done.send(());
                    } else {
                        may::go!(move || chain(k - 1, done));
                    }
                }
                let (tx, rx) = may::sync::mpsc::channel();
                let start = Instant::now();
                may::go!(move || chain(n, tx));
                rx.recv().map_err(|e| e.to_string())?;
                Ok(per_op(start, n))
            }
            "gosched" => {
                let start = Instant::now();
                let hs: Vec<_> = (0..2)
                    .map(|_| {
                        may::go!(move || {
                            for _ in 0..n {
                                may::coroutine::yield_now();
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.join().map_err(|_| "join failed".to_string())?;
                }
                Ok(per_op(start, 2 * n))
            }
            "skynet" => {
                // As Go's: each node reports to its parent over a channel.
                fn skynet(c: may::sync::mpsc::Sender<u64>, num: u64, size: u64, div: u64) {
                    if size == 1 {
                        let _ = c.send(num);
                        return;
                    }
                    let (tx, rx) = may::sync::mpsc::channel();
                    for i in 0..div {
                        let tx = tx.clone();
                        may::go!(move || skynet(tx, num + i * (size / div), size / div, div));
                    }
                    let sum = (0..div).map(|_| rx.recv().unwrap()).sum();
                    let _ = c.send(sum);
                }
                let (tx, rx) = may::sync::mpsc::channel();
                let start = Instant::now();
                may::go!(move || skynet(tx, 0, n as u64, 10));
                let sum = rx.recv().map_err(|e| e.to_string())?;
                assert_eq!(sum, (n as u64) * (n as u64 - 1) / 2);
                Ok(per_op(start, n))
            }
            w if w.starts_with("parked_rss") => {
                let before = rss_bytes();
                let (tx, rx) = may::sync::mpmc::channel::<()>();
                let parked = Arc::new(AtomicUsize::new(0));
                for _ in 0..n {
                    let rx = rx.clone();
                    let p = parked.clone();
                    may::go!(move || {
                        p.fetch_add(1, Ordering::Relaxed);
                        let _ = rx.recv();
                    });
                }
                while parked.load(Ordering::Relaxed) < n {
                    may::coroutine::yield_now();
                }
                let v = (rss_bytes() - before) / 1024.0 / n as f64;
                std::mem::forget(tx);
                Ok(v)
            }
            "pingpong_unbuffered" => {
                // may's channels are unbounded: the closest equivalent.
                let (ptx, prx) = may::sync::mpsc::channel::<u64>();
                let (qtx, qrx) = may::sync::mpsc::channel::<u64>();
                may::go!(move || {
                    while let Ok(v) = prx.recv() {
                        if qtx.send(v + 1).is_err() {
                            break;
                        }
                    }
                });
                let start = Instant::now();
                let mut v = 0;
                for _ in 0..n {
                    ptx.send(v).unwrap();
                    v = qrx.recv().unwrap();
                }
                Ok(per_op(start, n))
            }
            "chan_mpmc_4to4" => {
                let (tx, rx) = may::sync::mpmc::channel::<u64>();
                let start = Instant::now();
                let cons: Vec<_> = (0..4)
                    .map(|_| {
                        let rx = rx.clone();
                        may::go!(move || {
                            let mut s = 0u64;
                            while let Ok(v) = rx.recv() {
                                s += v;
                            }
                            s
                        })
                    })
                    .collect();
                let prods: Vec<_> = (0..4u64)
                    .map(|p| {
                        let tx = tx.clone();
                        may::go!(move || {
                            for i in 0..(n / 4) as u64 {
                                tx.send(p * (n / 4) as u64 + i).unwrap();
                            }
                        })
                    })
                    .collect();
                for h in prods {
                    h.join().map_err(|_| "join failed".to_string())?;
                }
                drop(tx);
                drop(rx);
                let mut total = 0u64;
                for h in cons {
                    total += h.join().map_err(|_| "join failed".to_string())?;
                }
                let m = (n / 4 * 4) as u64;
                assert_eq!(total, m * (m - 1) / 2);
                Ok(per_op(start, n / 4 * 4))
            }
            "mutex_4" => {
                let mu = Arc::new(may::sync::Mutex::new(0u64));
                let start = Instant::now();
                let hs: Vec<_> = (0..4)
                    .map(|_| {
                        let mu = mu.clone();
                        may::go!(move || {
                            for _ in 0..n / 4 {
                                *mu.lock().unwrap() += 1;
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.join().map_err(|_| "join failed".to_string())?;
                }
                Ok(per_op(start, n / 4 * 4))
            }
            "mutex_uncontended" | "mutex" => {
                // may::sync::Mutex (parks the coroutine), one per worker.
                let per = n / procs;
                let shared = Arc::new(may::sync::Mutex::new(()));
                let start = Instant::now();
                let hs: Vec<_> = (0..procs)
                    .map(|_| {
                        let shared = shared.clone();
                        let own = w == "mutex_uncontended";
                        may::go!(move || {
                            let mine = may::sync::Mutex::new(());
                            for _ in 0..per {
                                if own {
                                    drop(mine.lock().unwrap());
                                } else {
                                    drop(shared.lock().unwrap());
                                }
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.join().map_err(|_| "join failed".to_string())?;
                }
                Ok(per_op(start, per * procs))
            }
            "sleep_1ms_overshoot" => {
                let mut over = 0f64;
                for _ in 0..n {
                    let t = Instant::now();
                    may::coroutine::sleep(Duration::from_millis(1));
                    over += (t.elapsed().as_nanos() as f64 - 1e6) / 1e3;
                }
                Ok(over / n as f64)
            }
            other => Err(format!("unknown workload {other}")),
        }
    });
    h.join().map_err(|_| "may coroutine panicked".to_string())?
}

// ---------------------------------------------------------------- go-lib

/// go-lib (crates.io `go-lib`), another port of Go's scheduler to Rust:
/// goroutines on their own growable stacks, Go-style channels and select,
/// WaitGroup; no Mutex, Once or timers API beyond `sleep`. GOMAXPROCS comes
/// from the environment (the runner sets it).
fn golib_worker(workload: &str, n: usize) -> Result<f64, String> {
    use go_lib::chan::chan;
    use go_lib::sync::WaitGroup;
    let w = workload.to_string();
    go_lib::__main_entry(move || -> Result<f64, String> {
        Ok(match w.as_str() {
            "spawn_join" => {
                let wg = Arc::new(WaitGroup::new());
                let start = Instant::now();
                wg.add(n as i64);
                for _ in 0..n {
                    let wg = wg.clone();
                    go_lib::go!(move || wg.done());
                }
                wg.wait();
                per_op(start, n)
            }
            "spawn_chain" => {
                fn chain(k: usize, done: go_lib::chan::Sender<bool>) {
                    if k == 0 {
                        done.send(true);
                    } else {
                        go_lib::go!(move || chain(k - 1, done));
                    }
                }
                let (tx, rx) = chan::<bool>(0);
                let start = Instant::now();
                go_lib::go!(move || chain(n, tx));
                rx.recv();
                per_op(start, n)
            }
            "gosched" => {
                let wg = Arc::new(WaitGroup::new());
                wg.add(2);
                let start = Instant::now();
                for _ in 0..2 {
                    let wg = wg.clone();
                    go_lib::go!(move || {
                        for _ in 0..n {
                            go_lib::gosched();
                        }
                        wg.done();
                    });
                }
                wg.wait();
                per_op(start, 2 * n)
            }
            "skynet" => {
                fn skynet(c: go_lib::chan::Sender<u64>, num: u64, size: u64, div: u64) {
                    if size == 1 {
                        c.send(num);
                        return;
                    }
                    let (tx, rx) = chan::<u64>(0);
                    for i in 0..div {
                        let tx = tx.clone();
                        go_lib::go!(move || skynet(tx, num + i * (size / div), size / div, div));
                    }
                    let mut sum = 0;
                    for _ in 0..div {
                        sum += rx.recv().unwrap();
                    }
                    c.send(sum);
                }
                let (tx, rx) = chan::<u64>(0);
                let start = Instant::now();
                let size = n as u64;
                go_lib::go!(move || skynet(tx, 0, size, 10));
                let sum = rx.recv().unwrap();
                assert_eq!(sum, size * (size - 1) / 2);
                per_op(start, n)
            }
            "pingpong_unbuffered" => {
                let (ptx, prx) = chan::<u64>(0);
                let (qtx, qrx) = chan::<u64>(0);
                go_lib::go!(move || {
                    while let Some(v) = prx.recv() {
                        qtx.send(v + 1);
                    }
                });
                let start = Instant::now();
                let mut v = 0;
                for _ in 0..n {
                    ptx.send(v);
                    v = qrx.recv().unwrap();
                }
                ptx.close();
                per_op(start, n)
            }
            "chan_buffered_1to1" | "chan_mpmc_4to4" => {
                let k = if w == "chan_buffered_1to1" { 1 } else { 4 };
                let (tx, rx) = chan::<u64>(128);
                let (stx, srx) = chan::<u64>(k);
                let wg = Arc::new(WaitGroup::new());
                wg.add(k as i64);
                let start = Instant::now();
                for p in 0..k {
                    let (tx, wg) = (tx.clone(), wg.clone());
                    go_lib::go!(move || {
                        for i in 0..n / k {
                            tx.send((p * (n / k) + i) as u64);
                        }
                        wg.done();
                    });
                }
                for _ in 0..k {
                    let (rx, stx) = (rx.clone(), stx.clone());
                    go_lib::go!(move || {
                        let mut s = 0;
                        while let Some(v) = rx.recv() {
                            s += v;
                        }
                        stx.send(s);
                    });
                }
                wg.wait();
                tx.close();
                let total: u64 = (0..k).map(|_| srx.recv().unwrap()).sum();
                let m = (n / k * k) as u64;
                assert_eq!(total, m * (m - 1) / 2);
                per_op(start, n / k * k)
            }
            "select_uncontended" | "select_contended" => {
                // Go's BenchmarkSelect(Un)contended under RunParallel: one
                // goroutine per P (GOMAXPROCS).
                let procs = go_lib::gomaxprocs();
                let per = n / procs;
                let shared =
                    (w == "select_contended").then(|| (chan::<i32>(procs), chan::<i32>(procs)));
                let wg = Arc::new(WaitGroup::new());
                wg.add(procs as i64);
                let start = Instant::now();
                for _ in 0..procs {
                    let wg = wg.clone();
                    let ((t1, r1), (t2, r2)) = match &shared {
                        Some(((t1, r1), (t2, r2))) => {
                            ((t1.clone(), r1.clone()), (t2.clone(), r2.clone()))
                        }
                        None => (chan::<i32>(1), chan::<i32>(1)),
                    };
                    go_lib::go!(move || {
                        t1.send(0);
                        for _ in 0..per {
                            go_lib::select! {
                                recv(r1) -> _v => { t2.send(0) }
                                recv(r2) -> _v => { t1.send(0) }
                            }
                        }
                        wg.done();
                    });
                }
                wg.wait();
                per_op(start, per * procs)
            }
            "chan_sync" => {
                const CALLS: usize = 1000;
                let batches = (n / CALLS / 2 * 2) as i64;
                let left = Arc::new(std::sync::atomic::AtomicI64::new(batches));
                let (ctx, crx) = chan::<bool>(2);
                let (mtx, mrx) = chan::<i32>(0);
                let start = Instant::now();
                for _ in 0..2 {
                    let (left, ctx, mtx, mrx) =
                        (left.clone(), ctx.clone(), mtx.clone(), mrx.clone());
                    go_lib::go!(move || {
                        loop {
                            let i = left.fetch_sub(1, Ordering::Relaxed) - 1;
                            if i < 0 {
                                break;
                            }
                            for _ in 0..CALLS {
                                if i % 2 == 0 {
                                    mrx.recv();
                                    mtx.send(0);
                                } else {
                                    mtx.send(0);
                                    mrx.recv();
                                }
                            }
                        }
                        ctx.send(true);
                    });
                }
                crx.recv();
                crx.recv();
                per_op(start, batches as usize * CALLS)
            }
            wl if wl.starts_with("chan_prodcons") => {
                const CALLS: usize = 1000;
                let procs = go_lib::gomaxprocs();
                let size: usize = wl["chan_prodcons".len()..].parse().unwrap();
                let batches = (n / CALLS) as i64;
                let left = Arc::new(std::sync::atomic::AtomicI64::new(batches));
                let (ctx, crx) = chan::<bool>(2 * procs);
                let (mtx, mrx) = chan::<i32>(size);
                let start = Instant::now();
                for _ in 0..procs {
                    let (left, c1, m1) = (left.clone(), ctx.clone(), mtx.clone());
                    go_lib::go!(move || {
                        while left.fetch_sub(1, Ordering::Relaxed) > 0 {
                            for _ in 0..CALLS {
                                m1.send(1);
                            }
                        }
                        m1.send(0);
                        c1.send(false);
                    });
                    let (c2, m2) = (ctx.clone(), mrx.clone());
                    go_lib::go!(move || {
                        while m2.recv() != Some(0) {}
                        c2.send(false);
                    });
                }
                for _ in 0..2 * procs {
                    crx.recv();
                }
                per_op(start, batches as usize * CALLS)
            }
            "chan_uncontended" => {
                const C: usize = 100;
                let procs = go_lib::gomaxprocs();
                let per = n / procs;
                let wg = Arc::new(WaitGroup::new());
                wg.add(procs as i64);
                let start = Instant::now();
                for _ in 0..procs {
                    let wg = wg.clone();
                    go_lib::go!(move || {
                        let (tx, rx) = chan::<i32>(C);
                        for _ in 0..per {
                            for _ in 0..C {
                                tx.send(0);
                            }
                            for _ in 0..C {
                                rx.recv();
                            }
                        }
                        wg.done();
                    });
                }
                wg.wait();
                per_op(start, per * procs)
            }
            "waitgroup_uncontended" => {
                let procs = go_lib::gomaxprocs();
                let per = n / procs;
                let wg = Arc::new(WaitGroup::new());
                wg.add(procs as i64);
                let start = Instant::now();
                for _ in 0..procs {
                    let wg = wg.clone();
                    go_lib::go!(move || {
                        let mine = WaitGroup::new();
                        for _ in 0..per {
                            mine.add(1);
                            mine.done();
                            mine.wait();
                        }
                        wg.done();
                    });
                }
                wg.wait();
                per_op(start, per * procs)
            }
            "sleepers_lateness" => {
                let wg = Arc::new(WaitGroup::new());
                wg.add(n as i64);
                let late = Arc::new(std::sync::atomic::AtomicU64::new(0));
                for i in 0..n as u64 {
                    let (wg, late) = (wg.clone(), late.clone());
                    go_lib::go!(move || {
                        let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 33;
                        let d = Duration::from_micros(x % 100_001);
                        let t = Instant::now();
                        go_lib::sleep(d);
                        let l = t.elapsed().saturating_sub(d).as_nanos() as u64;
                        late.fetch_add(l, Ordering::Relaxed);
                        wg.done();
                    });
                }
                wg.wait();
                late.load(Ordering::Relaxed) as f64 / n as f64 / 1e3
            }
            "sleepers_100k" => {
                let wg = Arc::new(WaitGroup::new());
                wg.add(n as i64);
                let start = Instant::now();
                for i in 0..n as u64 {
                    let wg = wg.clone();
                    go_lib::go!(move || {
                        let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 33;
                        go_lib::sleep(Duration::from_micros(x % 50_001));
                        wg.done();
                    });
                }
                wg.wait();
                start.elapsed().as_secs_f64() * 1e3
            }
            "sleep_1ms_overshoot" => {
                let mut over = 0f64;
                for _ in 0..n {
                    let t = Instant::now();
                    go_lib::sleep(Duration::from_millis(1));
                    over += (t.elapsed().as_nanos() as f64 - 1e6) / 1e3;
                }
                over / n as f64
            }
            wl if wl.starts_with("parked_rss") => {
                let before = rss_bytes();
                let parked = Arc::new(AtomicUsize::new(0));
                let (tx, rx) = chan::<()>(0);
                for _ in 0..n {
                    let (p, rx) = (parked.clone(), rx.clone());
                    go_lib::go!(move || {
                        p.fetch_add(1, Ordering::Release);
                        rx.recv();
                    });
                }
                while parked.load(Ordering::Acquire) < n {
                    go_lib::gosched();
                }
                let v = (rss_bytes() - before) / 1024.0 / n as f64;
                std::mem::forget(tx);
                v
            }
            other => return Err(format!("unknown workload {other}")),
        })
    })
}

// ---------------------------------------------------------------- network

/// The HTTP/1.1 hello response every server sends (the same bytes as the
/// Go side's and the gort example's).
const HELLO: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

/// Splits complete request heads off `buf[..have]`, appending one response
/// per request to `out`; returns how many bytes were consumed.
fn http_consume(buf: &[u8], out: &mut Vec<u8>) -> usize {
    let mut start = 0;
    while let Some(end) = memchr::memmem::find(&buf[start..], b"\r\n\r\n") {
        out.extend_from_slice(HELLO);
        start += end + 4;
    }
    start
}

/// `--server gort|gort-mig|tokio echo|http ADDR`: runs a server until killed.
fn server(args: &[String]) {
    let (sys, kind, addr) = (args[0].as_str(), args[1].clone(), args[2].clone());
    match sys {
        "gort" | "gort-mig" => {
            let b = gort_builder(sys == "gort-mig");
            {
                b.block_on(move || {
                    let l = gort::net::TcpListener::bind(addr.as_str()).unwrap();
                    loop {
                        let Ok((c, _)) = l.accept() else {
                            gort::time::sleep(Duration::from_millis(5));
                            continue;
                        };
                        let _ = c.set_nodelay(true);
                        let http = kind == "http";
                        gort::go(move || {
                            use std::io::Write;
                            let mut buf = vec![0u8; if http { 8192 } else { 16 << 10 }];
                            let mut have = 0;
                            let mut out = Vec::new();
                            loop {
                                match c.read(&mut buf[have..]) {
                                    Ok(0) | Err(_) => return,
                                    Ok(n) if !http => {
                                        if (&c).write_all(&buf[..n]).is_err() {
                                            return;
                                        }
                                    }
                                    Ok(n) => {
                                        have += n;
                                        out.clear();
                                        let used = http_consume(&buf[..have], &mut out);
                                        buf.copy_within(used..have, 0);
                                        have -= used;
                                        if have == buf.len()
                                            || (!out.is_empty() && (&c).write_all(&out).is_err())
                                        {
                                            return;
                                        }
                                    }
                                }
                            }
                        });
                    }
                })
            }
        }
        "tokio" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_io()
                .build()
                .unwrap();
            rt.block_on(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let l = tokio::net::TcpListener::bind(addr.as_str()).await.unwrap();
                loop {
                    let Ok((mut c, _)) = l.accept().await else {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    };
                    let _ = c.set_nodelay(true);
                    let http = kind == "http";
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; if http { 8192 } else { 16 << 10 }];
                        let mut have = 0;
                        let mut out = Vec::new();
                        loop {
                            match c.read(&mut buf[have..]).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) if !http => {
                                    if c.write_all(&buf[..n]).await.is_err() {
                                        return;
                                    }
                                }
                                Ok(n) => {
                                    have += n;
                                    out.clear();
                                    let used = http_consume(&buf[..have], &mut out);
                                    buf.copy_within(used..have, 0);
                                    have -= used;
                                    if have == buf.len()
                                        || (!out.is_empty() && c.write_all(&out).await.is_err())
                                    {
                                        return;
                                    }
                                }
                            }
                        }
                    });
                }
            });
        }
        other => usage(&format!("--server: unknown system {other}")),
    }
}

/// A server process of `sys` on a free port: (child, address).
fn start_server(
    me: &Path,
    go: Option<&Path>,
    sys: &str,
    kind: &str,
) -> Result<(std::process::Child, String), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = match (sys, go) {
        ("go", Some(bin)) => {
            let mut c = Command::new(bin);
            c.args([&format!("{kind}server"), &addr]);
            c
        }
        ("go", None) => return Err("Go unavailable".into()),
        _ => {
            let mut c = Command::new(me);
            c.args(["--server", sys, kind, &addr]);
            c
        }
    };
    let child = cmd
        .env("GOMAXPROCS", "2")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    let t = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        if t.elapsed() > Duration::from_secs(10) {
            return Err(format!("{sys} server did not start on {addr}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((child, addr))
}

/// wrk's requests per second and 99th percentile latency (µs).
fn run_wrk(addr: &str, secs: u32) -> Result<(f64, f64), String> {
    let out = Command::new("wrk")
        .args([
            "-t2",
            "-c100",
            &format!("-d{secs}s"),
            "--latency",
            &format!("http://{addr}/"),
        ])
        .output()
        .map_err(|e| format!("cannot run wrk (apt-get install wrk): {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or_else(|| format!("no Requests/sec in wrk output: {text}"))?;
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| parse_wrk_time(v.trim()))
        .ok_or_else(|| format!("no 99% latency in wrk output: {text}"))??;
    Ok((rps, p99))
}

/// "1.23ms" → 1230.0 (µs).
fn parse_wrk_time(v: &str) -> Result<f64, String> {
    let (num, mult) = if let Some(x) = v.strip_suffix("us") {
        (x, 1.0)
    } else if let Some(x) = v.strip_suffix("ms") {
        (x, 1e3)
    } else if let Some(x) = v.strip_suffix('s') {
        (x, 1e6)
    } else {
        return Err(format!("bad wrk time {v}"));
    };
    num.parse::<f64>()
        .map(|n| n * mult)
        .map_err(|e| e.to_string())
}

/// The Go echo client against `addr`: round trips per second and p99 (µs).
fn run_echo_client(go: &Path, addr: &str, secs: u32) -> Result<(f64, f64), String> {
    let out = Command::new(go)
        .args(["echoclient", addr, "100", &secs.to_string(), "64"])
        .env("GOMAXPROCS", "2")
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .ok_or_else(|| {
                format!(
                    "no {k} in echo client output: {text}{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
    };
    Ok((get("result ")?, get("p99 ")?))
}

/// `--net`: the HTTP hello server under wrk and the echo server under the
/// Go echo client, for gort, Go and tokio, interleaved, 3 rounds; prints a
/// table and writes target/bench/net.md.
fn net_report(me: &Path, quick: bool) {
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&out_dir).unwrap();
    let go = go_binary(&out_dir);
    let secs = if quick { 3 } else { 5 };
    let systems = ["gort", "gort-mig", "go", "tokio"];
    let mut res: Vec<(String, String, Vec<f64>, Vec<f64>)> = Vec::new();
    for kind in ["http", "echo"] {
        for &sys in &systems {
            res.push((kind.into(), sys.into(), vec![], vec![]));
        }
    }
    for round in 0..3 {
        for kind in ["http", "echo"] {
            for k in 0..systems.len() {
                let sys = systems[(k + round) % systems.len()];
                let r = start_server(me, go.as_deref().ok(), sys, kind).and_then(
                    |(mut child, addr)| {
                        let r = if kind == "http" {
                            run_wrk(&addr, secs)
                        } else {
                            match &go {
                                Ok(g) => run_echo_client(g, &addr, secs),
                                Err(e) => Err(format!("the echo client needs Go: {e}")),
                            }
                        };
                        let _ = child.kill();
                        let _ = child.wait();
                        r
                    },
                );
                let slot = res.iter_mut().find(|x| x.0 == kind && x.1 == sys).unwrap();
                match r {
                    Ok((v, p99)) => {
                        eprintln!("{kind} {sys}: {v:.0}/s p99 {p99:.0} µs");
                        slot.2.push(v);
                        slot.3.push(p99);
                    }
                    Err(e) => eprintln!("{kind} {sys}: {e}"),
                }
            }
        }
    }
    let med = |v: &[f64]| {
        if v.is_empty() {
            f64::NAN
        } else {
            gort_bench::median(v)
        }
    };
    let mut t = String::from(
        "| workload | system | per second (median) | p99 latency µs (median) | gort/system throughput |\n|---|---|---|---|---|\n",
    );
    for kind in ["http", "echo"] {
        let g = med(&res.iter().find(|x| x.0 == kind && x.1 == "gort").unwrap().2);
        for &sys in &systems {
            let r = res.iter().find(|x| x.0 == kind && x.1 == sys).unwrap();
            let (v, p) = (med(&r.2), med(&r.3));
            let name = if kind == "http" {
                "HTTP hello (wrk -t2 -c100), requests"
            } else {
                "echo 64 B (Go client, 100 conns), round trips"
            };
            t.push_str(&format!(
                "| {name} | {sys} | {v:.0} | {p:.0} | {:.2} |\n",
                g / v
            ));
        }
    }
    println!("{t}");
    std::fs::write(out_dir.join("net.md"), &t).unwrap();
}

// ---------------------------------------------------------------- runner

fn worker(args: &[String]) {
    let (system, workload, procs, n) = (
        &args[0],
        &args[1],
        args[2].parse().unwrap(),
        args[3].parse().unwrap(),
    );
    let r = match system.as_str() {
        "gort" => Ok(gort_worker(workload, procs, n, false)),
        "gort-mig" => Ok(gort_worker(workload, procs, n, true)),
        "tokio" => tokio_worker(workload, procs, n),
        "may" => may_worker(workload, procs, n),
        "go-lib" => golib_worker(workload, n),
        other => Err(format!("unknown system {other}")),
    };
    match r {
        Ok(v) => println!("result {v}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

/// Whether a Rust peer has an equivalent of workload `w`. Go's channel
/// benchmarks need multi-producer multi-consumer rendezvous channels, and
/// the WaitGroup/Once/AfterFunc ones Go's primitives, which tokio and may do
/// not offer as such; those cells say "n/a".
fn peer_has(sys: &str, w: &str) -> bool {
    const COMMON: &[&str] = &[
        "pingpong_unbuffered",
        "mutex_4",
        "spawn_join",
        "spawn_chain",
        "gosched",
        "skynet",
        "parked_rss_100k",
        "parked_rss_1m",
        "mutex_uncontended",
        "mutex",
        "sleep_1ms_overshoot",
    ];
    match sys {
        // tokio's mpsc has one consumer: no 4→4; may's channels are
        // unbounded: no cap-128 1→1.
        "tokio" => {
            COMMON.contains(&w)
                || w == "chan_buffered_1to1"
                || w == "sleepers_100k"
                || w == "sleepers_lateness"
                || w == "select_uncontended"
        }
        "may" => COMMON.contains(&w) || w == "chan_mpmc_4to4",
        // go-lib has channels, select, WaitGroup and sleep, but no Mutex,
        // Once or timer API.
        "go-lib" => !w.starts_with("mutex") && !matches!(w, "once" | "timer_start_stop"),
        _ => true,
    }
}

fn run_one(cmd: &mut Command) -> Result<f64, String> {
    let start = Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let timeout = Duration::from_secs(60);
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out (>{}s)", timeout.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let so = String::from_utf8_lossy(&out.stdout);
    if let Some(v) = so.lines().find_map(|l| l.strip_prefix("result ")) {
        return v
            .trim()
            .parse()
            .map_err(|e| format!("bad result {v:?}: {e}"));
    }
    let se = String::from_utf8_lossy(&out.stderr);
    Err(format!(
        "failed (exit {:?}): {}",
        out.status.code(),
        short_failure(&se)
    ))
}

/// A short reason from a failed worker's stderr: for a Rust panic, the
/// panic message and the file:line it came from (without registry paths).
fn short_failure(stderr: &str) -> String {
    let mut lines = stderr.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("no output");
    match first.split_once(" panicked at ") {
        Some((_, at)) => {
            let loc = at.trim_end_matches(':').rsplit('/').next().unwrap_or(at);
            let msg = lines.next().unwrap_or("").trim();
            format!("panic at {loc}: {msg}")
        }
        None => first.to_string(),
    }
}

fn go_binary(out: &Path) -> Result<PathBuf, String> {
    let tc = conformance::GoToolchain::get()?;
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("go");
    let bin = out.join("gobench");
    let cache = out.join("gocache-home");
    let st = tc
        .go(&cache)
        .current_dir(&src)
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .status()
        .map_err(|e| e.to_string())?;
    if !st.success() {
        return Err("go build of the Go benchmarks failed".into());
    }
    Ok(bin)
}

/// Instructions executed by one run of `workload` with `n` operations at
/// GOMAXPROCS=1 under callgrind (valgrind counts instructions, not time:
/// the figure is stable on a busy machine). `go` is the Go benchmark binary.
fn callgrind_ir(
    me: &Path,
    go: Option<&Path>,
    system: &str,
    workload: &str,
    n: usize,
) -> Result<f64, String> {
    let mut cmd = Command::new("valgrind");
    cmd.args(["--tool=callgrind", "--callgrind-out-file=/dev/null"]);
    match (system, go) {
        ("go", Some(bin)) => {
            cmd.arg(bin)
                .args([workload, &n.to_string()])
                .env("GOMAXPROCS", "1");
        }
        ("go", None) => return Err("Go unavailable".into()),
        _ => {
            cmd.arg(me)
                .args(["--worker", system, workload, "1", &n.to_string()])
                .env("GOMAXPROCS", "1");
        }
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run valgrind (is it installed?): {e}"))?;
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "valgrind run failed ({}): {}",
            out.status,
            err.lines().last().unwrap_or("")
        ));
    }
    err.lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or_else(|| {
            format!(
                "no callgrind summary; stderr: {}",
                err.lines().last().unwrap_or("")
            )
        })
}

/// `--callgrind`: instructions per operation of the two hand-off
/// workloads (a Gosched/yield between two goroutines, and an unbuffered
/// round trip), from the difference of two runs of different lengths so
/// that start-up and tear-down cancel out. Also written to
/// `target/bench/callgrind.md`.
fn callgrind_report(me: &Path, systems: &[&str]) {
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&out_dir).unwrap();
    let go = go_binary(&out_dir);
    if let Err(e) = &go {
        eprintln!("bench: Go is unavailable, its rows will say so: {e}");
    }
    let mut t = String::from(
        "| workload | system | instructions/op (callgrind, GOMAXPROCS=1) |\n|---|---|---|\n",
    );
    for (w, ops_per_n) in [("gosched", 2usize), ("pingpong_unbuffered", 1)] {
        for &sys in systems {
            let (n1, n2) = (2_000usize, 22_000usize);
            let run = |n| callgrind_ir(me, go.as_deref().ok(), sys, w, n);
            let r = run(n1).and_then(|a| run(n2).map(|b| (b - a) / (ops_per_n * (n2 - n1)) as f64));
            let cell = match r {
                Ok(v) => format!("{v:.0}"),
                Err(e) => e,
            };
            eprintln!("callgrind {w} {sys}: {cell}");
            t.push_str(&format!("| {w} | {sys} | {cell} |\n"));
        }
    }
    println!("{t}");
    std::fs::write(out_dir.join("callgrind.md"), &t).unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--worker") {
        return worker(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("--server") {
        return server(&args[1..]);
    }
    if args.iter().any(|a| a == "--net") {
        let quick = args.iter().any(|a| a == "--quick");
        return net_report(&std::env::current_exe().unwrap(), quick);
    }
    if args.iter().any(|a| a == "--rechart") {
        // Redraw the table and chart from the last results.json.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
        let text = std::fs::read_to_string(dir.join("results.json"))
            .expect("no results.json: run the bench first");
        let unit_of = |w: &str| {
            WORKLOADS
                .iter()
                .find(|x| x.0 == w)
                .map(|x| x.1)
                .unwrap_or("")
        };
        let samples = gort_bench::from_json(&text, unit_of);
        std::fs::write(dir.join("chart.svg"), chart_svg(&samples, SYSTEMS)).unwrap();
        println!("{}", table(&samples, SYSTEMS));
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let list_arg = |flag: &str, known: &[&str]| -> Option<Vec<String>> {
        let list = args.iter().position(|a| a == flag).map(|i| {
            args.get(i + 1)
                .unwrap_or_else(|| usage(&format!("{flag} needs a comma-separated list")))
        })?;
        let names: Vec<String> = list.split(',').map(str::to_string).collect();
        if let Some(bad) = names.iter().find(|n| !known.contains(&n.as_str())) {
            usage(&format!(
                "{flag}: unknown name {bad:?} (known: {})",
                known.join(", ")
            ));
        }
        Some(names)
    };
    let names: Vec<&str> = WORKLOADS.iter().map(|w| w.0).collect();
    let only = list_arg("--only", &names);
    let systems: Vec<&str> = match list_arg("--systems", SYSTEMS) {
        Some(list) => SYSTEMS
            .iter()
            .copied()
            .filter(|s| list.iter().any(|x| x == s))
            .collect(),
        None => SYSTEMS.to_vec(),
    };
    if args.iter().any(|a| a == "--callgrind") {
        return callgrind_report(&std::env::current_exe().unwrap(), &systems);
    }
    let runs = if quick { 3 } else { 5 };
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&out_dir).unwrap();
    let go = go_binary(&out_dir);
    if let Err(e) = &go {
        eprintln!("bench: Go is unavailable, its column will say so: {e}");
    }
    let me = std::env::current_exe().unwrap();
    let mut samples: Vec<Sample> = Vec::new();
    for &(w, unit, n_full, n_quick) in WORKLOADS {
        if only.as_ref().is_some_and(|o| !o.iter().any(|x| x == w)) {
            continue;
        }
        let n = if quick { n_quick } else { n_full };
        for procs in [1usize, 2] {
            let mut cur: Vec<Sample> = systems
                .iter()
                .map(|s| Sample {
                    workload: w.into(),
                    unit,
                    procs,
                    system: s.to_string(),
                    values: vec![],
                    note: String::new(),
                })
                .collect();
            for rep in 0..runs {
                // Rotate the order each round so that drift hits all alike.
                for k in 0..systems.len() {
                    let idx = (k + rep) % systems.len();
                    let sys = systems[idx];
                    if !cur[idx].note.is_empty() {
                        continue; // it failed before; do not retry
                    }
                    let goarg = if w.starts_with("parked_rss") {
                        "parked_rss"
                    } else {
                        w
                    };
                    let r = match sys {
                        _ if !peer_has(sys, w) => Err("n/a (no equivalent)".to_string()),
                        "go" => match &go {
                            Ok(bin) => run_one(
                                Command::new(bin)
                                    .args([goarg, &n.to_string()])
                                    .env("GOMAXPROCS", procs.to_string()),
                            ),
                            Err(e) => Err(format!("Go unavailable: {e}")),
                        },
                        _ => run_one(
                            Command::new(&me)
                                .args(["--worker", sys, w, &procs.to_string(), &n.to_string()])
                                // go-lib reads GOMAXPROCS, as Go does.
                                .env("GOMAXPROCS", procs.to_string()),
                        ),
                    };
                    match r {
                        Ok(v) => cur[idx].values.push(v),
                        Err(e) => cur[idx].note = e,
                    }
                }
            }
            for s in &cur {
                eprintln!("{w} p={procs} {}: {:?} {}", s.system, s.values, s.note);
            }
            samples.extend(cur);
        }
    }
    let t = table(&samples, &systems);
    println!("\n{t}");
    std::fs::write(out_dir.join("results.json"), to_json(&samples)).unwrap();
    std::fs::write(out_dir.join("chart.svg"), chart_svg(&samples, &systems)).unwrap();
    std::fs::write(out_dir.join("table.md"), &t).unwrap();
    println!(
        "wrote {}/results.json, chart.svg, table.md",
        out_dir.display()
    );
}
