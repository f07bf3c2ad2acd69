//! Port of go1.27 `runtime/chan_test.go` (which also holds Go's select
//! tests), plus the proc_test.go and stack_test.go tests that are about
//! channels.
//!
//! `time.Sleep` is `gort::time::sleep`; `sync.WaitGroup` is
//! `gort::sync::WaitGroup`.
//!
//! Iteration counts are Go's unless a comment says otherwise.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use gort::sync::WaitGroup;
use gort::time::sleep;
use gort::{Chan, select};

// go-test: TestChan (chan_test.go)
#[gort::test(both, gomaxprocs = 4)]
unsafe fn test_chan() {
    const N: usize = 200;
    for chan_cap in 0..N {
        {
            // A receive from an empty channel blocks.
            let c: Chan<i32> = Chan::new(chan_cap);
            let recv1 = Arc::new(AtomicBool::new(false));
            let recv2 = Arc::new(AtomicBool::new(false));
            let (c1, r1) = (c.clone(), recv1.clone());
            gort::go(move || {
                let _ = c1.recv();
                r1.store(true, Ordering::SeqCst);
            });
            let (c2, r2) = (c.clone(), recv2.clone());
            gort::go(move || {
                let _ = c2.recv();
                r2.store(true, Ordering::SeqCst);
            });
            sleep(Duration::from_millis(1));
            if recv1.load(Ordering::SeqCst) || recv2.load(Ordering::SeqCst) {
                panic!("chan[{chan_cap}]: receive from empty chan");
            }
            // A non-blocking receive does not block.
            select! {
                recv(c) -> _v => panic!("chan[{chan_cap}]: receive from empty chan"),
                default => {}
            }
            select! {
                recv(c) -> _v => panic!("chan[{chan_cap}]: receive from empty chan"),
                default => {}
            }
            c.send(0);
            c.send(0);
        }
        {
            // A send to a full channel blocks.
            let c: Chan<i32> = Chan::new(chan_cap);
            for i in 0..chan_cap {
                c.send(i as i32);
            }
            let sent = Arc::new(AtomicU32::new(0));
            let (c1, s1) = (c.clone(), sent.clone());
            gort::go(move || {
                c1.send(0);
                s1.store(1, Ordering::SeqCst);
            });
            sleep(Duration::from_millis(1));
            if sent.load(Ordering::SeqCst) != 0 {
                panic!("chan[{chan_cap}]: send to full chan");
            }
            // A non-blocking send does not block.
            select! {
                send(c, 0) => panic!("chan[{chan_cap}]: send to full chan"),
                default => {}
            }
            let _ = c.recv();
        }
        {
            // A closed channel delivers its values, then the zero value
            // (here: None).
            let c: Chan<i32> = Chan::new(chan_cap);
            for i in 0..chan_cap {
                c.send(i as i32);
            }
            c.close();
            for i in 0..chan_cap {
                let v = c.recv();
                assert_eq!(v, Some(i as i32), "chan[{chan_cap}]");
            }
            assert_eq!(c.recv(), None, "chan[{chan_cap}]");
            assert_eq!(c.recv(), None, "chan[{chan_cap}]");
        }
        {
            // Close unblocks a receive.
            let c: Chan<i32> = Chan::new(chan_cap);
            let done: Chan<bool> = Chan::new(0);
            let (c1, d1) = (c.clone(), done.clone());
            gort::go(move || {
                let v = c1.recv();
                d1.send(v.is_none());
            });
            sleep(Duration::from_millis(1));
            c.close();
            assert!(
                done.recv().unwrap(),
                "chan[{chan_cap}]: received non zero from closed chan"
            );
        }
        {
            // 100 integers arrive uncorrupted and in FIFO order.
            let c: Chan<i32> = Chan::new(chan_cap);
            let c1 = c.clone();
            gort::go(move || {
                for i in 0..100 {
                    c1.send(i);
                }
            });
            for i in 0..100 {
                assert_eq!(c.recv(), Some(i), "chan[{chan_cap}]");
            }
            // Same, with the two-result receive.
            let c1 = c.clone();
            gort::go(move || {
                for i in 0..100 {
                    c1.send(i);
                }
            });
            for i in 0..100 {
                let v = c.recv();
                assert!(
                    v.is_some(),
                    "chan[{chan_cap}]: receive failed, expected {i}"
                );
                assert_eq!(v, Some(i), "chan[{chan_cap}]");
            }
            // 4 senders × 1000 values, 4 receivers: each value arrives
            // exactly 4 times.
            const P: usize = 4;
            const L: i32 = 1000;
            for _ in 0..P {
                let c1 = c.clone();
                gort::go(move || {
                    for i in 0..L {
                        c1.send(i);
                    }
                });
            }
            let done: Chan<HashMap<i32, usize>> = Chan::new(0);
            for _ in 0..P {
                let (c1, d1) = (c.clone(), done.clone());
                gort::go(move || {
                    let mut recv = HashMap::new();
                    for _ in 0..L {
                        let v = c1.recv().unwrap();
                        *recv.entry(v).or_insert(0) += 1;
                    }
                    d1.send(recv);
                });
            }
            let mut recv: HashMap<i32, usize> = HashMap::new();
            for _ in 0..P {
                for (k, v) in done.recv().unwrap() {
                    *recv.entry(k).or_insert(0) += v;
                }
            }
            assert_eq!(recv.len(), L as usize, "chan[{chan_cap}]: received values");
            for v in recv.values() {
                assert_eq!(*v, P, "chan[{chan_cap}]: received values");
            }
        }
        {
            // len and cap.
            let c: Chan<i32> = Chan::new(chan_cap);
            assert_eq!((c.len(), c.cap()), (0, chan_cap), "chan[{chan_cap}]");
            for i in 0..chan_cap {
                c.send(i as i32);
            }
            assert_eq!((c.len(), c.cap()), (chan_cap, chan_cap), "chan[{chan_cap}]");
        }
    }
}

// go-test: TestNonblockRecvRace (chan_test.go)
#[gort::test(both)]
unsafe fn test_nonblock_recv_race() {
    let n = 10000;
    let failed = Arc::new(AtomicBool::new(false));
    for _ in 0..n {
        let c: Chan<i32> = Chan::new(1);
        c.send(1);
        let (c1, f1) = (c.clone(), failed.clone());
        gort::go(move || {
            select! {
                recv(c1) -> _v => {}
                default => f1.store(true, Ordering::SeqCst),
            }
        });
        c.close();
        let _ = c.recv();
        assert!(!failed.load(Ordering::SeqCst), "chan is not ready");
    }
}

/// The body of TestNonblockSelectRace(2): from the moment the goroutine is
/// created, at least one of c1 and c2 is ready, so its non-blocking select
/// must never take `default`.
fn nonblock_select_race(close_c2: bool) {
    let n = 100_000;
    let done: Chan<bool> = Chan::new(1);
    for _ in 0..n {
        let c1: Chan<i32> = Chan::new(1);
        let c2: Chan<i32> = Chan::new(if close_c2 { 0 } else { 1 });
        c1.send(1);
        let (a, b, d) = (c1.clone(), c2.clone(), done.clone());
        gort::go(move || {
            select! {
                recv(a) -> _v => {}
                recv(b) -> _v => {}
                default => {
                    d.send(false);
                    return;
                }
            }
            d.send(true);
        });
        if close_c2 {
            c2.close();
        } else {
            c2.send(1);
        }
        select! {
            recv(c1) -> _v => {}
            default => {}
        }
        assert!(done.recv().unwrap(), "no chan is ready");
    }
}

// go-test: TestNonblockSelectRace (chan_test.go)
#[gort::test(both)]
unsafe fn test_nonblock_select_race() {
    nonblock_select_race(false);
}

// go-test: TestNonblockSelectRace2 (chan_test.go)
#[gort::test(both)]
unsafe fn test_nonblock_select_race2() {
    nonblock_select_race(true);
}

// go-test: TestSelfSelect (chan_test.go)
#[gort::test(both, gomaxprocs = 2)]
unsafe fn test_self_select() {
    for chan_cap in [0usize, 10] {
        let wg = {
            let wg = Arc::new(WaitGroup::new());
            wg.add(2);
            wg
        };
        let c: Chan<usize> = Chan::new(chan_cap);
        let failed = Arc::new(AtomicBool::new(false));
        for p in 0..2usize {
            let (c, wg, failed) = (c.clone(), wg.clone(), failed.clone());
            gort::go(move || {
                for i in 0..1000 {
                    if p == 0 || i % 2 == 0 {
                        select! {
                            send(c, p) => {}
                            recv(c) -> v => {
                                if chan_cap == 0 && v == Some(p) {
                                    failed.store(true, Ordering::SeqCst);
                                    break;
                                }
                            }
                        }
                    } else {
                        select! {
                            recv(c) -> v => {
                                if chan_cap == 0 && v == Some(p) {
                                    failed.store(true, Ordering::SeqCst);
                                    break;
                                }
                            }
                            send(c, p) => {}
                        }
                    }
                }
                wg.done();
            });
        }
        wg.wait();
        assert!(!failed.load(Ordering::SeqCst), "self receive");
    }
}

// go-test: TestSelectStress (chan_test.go)
// N = 1e5 as in Go.
#[gort::test(both, gomaxprocs = 10)]
unsafe fn test_select_stress() {
    let c: [Chan<i32>; 4] = [Chan::new(0), Chan::new(0), Chan::new(2), Chan::new(3)];
    const N: usize = 100_000;
    let wg = {
        let wg = Arc::new(WaitGroup::new());
        wg.add(10);
        wg
    };
    for ck0 in &c {
        let (ck, w) = (ck0.clone(), wg.clone());
        gort::go(move || {
            for _ in 0..N {
                ck.send(0);
            }
            w.done();
        });
        let (ck, w) = (ck0.clone(), wg.clone());
        gort::go(move || {
            for _ in 0..N {
                ck.recv();
            }
            w.done();
        });
    }
    let (mut c1, w) = (c.clone(), wg.clone());
    gort::go(move || {
        let mut n = [0usize; 4];
        for _ in 0..4 * N {
            select! {
                send(c1[3], 0) => {
                    n[3] += 1;
                    if n[3] == N {
                        c1[3] = Chan::nil();
                    }
                }
                send(c1[2], 0) => {
                    n[2] += 1;
                    if n[2] == N {
                        c1[2] = Chan::nil();
                    }
                }
                send(c1[0], 0) => {
                    n[0] += 1;
                    if n[0] == N {
                        c1[0] = Chan::nil();
                    }
                }
                send(c1[1], 0) => {
                    n[1] += 1;
                    if n[1] == N {
                        c1[1] = Chan::nil();
                    }
                }
            }
        }
        w.done();
    });
    let (mut c1, w) = (c.clone(), wg.clone());
    gort::go(move || {
        let mut n = [0usize; 4];
        for _ in 0..4 * N {
            select! {
                recv(c1[0]) -> _v => {
                    n[0] += 1;
                    if n[0] == N {
                        c1[0] = Chan::nil();
                    }
                }
                recv(c1[1]) -> _v => {
                    n[1] += 1;
                    if n[1] == N {
                        c1[1] = Chan::nil();
                    }
                }
                recv(c1[2]) -> _v => {
                    n[2] += 1;
                    if n[2] == N {
                        c1[2] = Chan::nil();
                    }
                }
                recv(c1[3]) -> _v => {
                    n[3] += 1;
                    if n[3] == N {
                        c1[3] = Chan::nil();
                    }
                }
            }
        }
        w.done();
    });
    wg.wait();
}

// go-test: TestSelectFairness (chan_test.go)
#[gort::test(both)]
unsafe fn test_select_fairness() {
    const TRIALS: usize = 10000;
    let c1: Chan<u8> = Chan::new(TRIALS + 1);
    let c2: Chan<u8> = Chan::new(TRIALS + 1);
    for _ in 0..TRIALS + 1 {
        c1.send(1);
        c2.send(2);
    }
    let c3: Chan<u8> = Chan::new(0);
    let c4: Chan<u8> = Chan::new(0);
    let out: Chan<u8> = Chan::new(0);
    let done: Chan<u8> = Chan::new(0);
    let wg = {
        let wg = Arc::new(WaitGroup::new());
        wg.add(1);
        wg
    };
    {
        let (c1, c2, c3, c4, out, done, wg) = (
            c1.clone(),
            c2.clone(),
            c3.clone(),
            c4.clone(),
            out.clone(),
            done.clone(),
            wg.clone(),
        );
        gort::go(move || {
            loop {
                let b = select! {
                    recv(c3) -> b => b,
                    recv(c4) -> b => b,
                    recv(c1) -> b => b,
                    recv(c2) -> b => b,
                };
                let b = b.unwrap();
                let stop = select! {
                    send(out, b) => false,
                    recv(done) -> _v => true,
                };
                if stop {
                    break;
                }
            }
            wg.done();
        });
    }
    let (mut cnt1, mut cnt2) = (0usize, 0usize);
    for _ in 0..TRIALS {
        match out.recv().unwrap() {
            1 => cnt1 += 1,
            2 => cnt2 += 1,
            b => panic!("unexpected value {b} on channel"),
        }
    }
    // A fair select picks c1 about half the time; allow 10 sigma.
    let mean = TRIALS as f64 * 0.5;
    let variance = TRIALS as f64 * 0.5 * (1.0 - 0.5);
    let stddev = variance.sqrt();
    assert!(
        (cnt1 as f64 - mean).abs() <= 10.0 * stddev,
        "unfair select: in {TRIALS} trials, results were {cnt1}, {cnt2}"
    );
    done.close();
    wg.wait();
}

// go-test: TestChanSendInterface (chan_test.go)
// Adapted: Go's `chan any` of a pointer; here a boxed trait object.
#[gort::test(both)]
unsafe fn test_chan_send_interface() {
    struct Mt;
    let c: Chan<Box<dyn std::any::Any + Send>> = Chan::new(1);
    c.send(Box::new(Mt));
    select! {
        send(c, Box::new(Mt)) => {}
        default => {}
    }
    select! {
        send(c, Box::new(Mt)) => {}
        send(c, Box::new(Mt)) => {}
        default => {}
    }
    assert_eq!(c.len(), 1);
}

// go-test: TestPseudoRandomSend (chan_test.go)
// The sync.Mutex Go uses as a signal is a WaitGroup here.
#[gort::test(both)]
unsafe fn test_pseudo_random_send() {
    let n = 100;
    for chan_cap in [0, n] {
        let c: Chan<i32> = Chan::new(chan_cap);
        let l: Arc<std::sync::Mutex<Vec<i32>>> = Arc::new(std::sync::Mutex::new(vec![0; n]));
        let m = {
            let wg = Arc::new(WaitGroup::new());
            wg.add(1);
            wg
        };
        {
            let (c, l, m) = (c.clone(), l.clone(), m.clone());
            gort::go(move || {
                for i in 0..n {
                    gort::gosched();
                    let v = c.recv().unwrap();
                    l.lock().unwrap()[i] = v;
                }
                m.done();
            });
        }
        for _ in 0..n {
            select! {
                send(c, 1) => {}
                send(c, 0) => {}
            }
        }
        m.wait();
        let l = l.lock().unwrap();
        let n0: i32 = l.iter().map(|i| (i + 1) % 2).sum();
        let n1: i32 = l.iter().sum();
        assert!(
            n0 > (n / 10) as i32 && n1 > (n / 10) as i32,
            "Want pseudorandom, got {n0} zeros and {n1} ones (chan cap {chan_cap})"
        );
    }
}

// go-test: TestMultiConsumer (chan_test.go)
#[gort::test(both)]
unsafe fn test_multi_consumer() {
    const NWORK: usize = 23;
    const NITER: usize = 271828;
    const PN: [i64; 10] = [2, 3, 7, 11, 13, 17, 19, 23, 27, 31];
    let q: Chan<i64> = Chan::new(NWORK * 3);
    let r: Chan<i64> = Chan::new(NWORK * 3);
    let wg = {
        let wg = Arc::new(WaitGroup::new());
        wg.add(NWORK as i32);
        wg
    };
    for w in 0..NWORK {
        let (q, r, wg) = (q.clone(), r.clone(), wg.clone());
        gort::go(move || {
            for v in &q {
                // Disturb the FIFO-ish order of range.
                if PN[w % PN.len()] == v {
                    gort::gosched();
                }
                r.send(v);
            }
            wg.done();
        });
    }
    let expect = Arc::new(std::sync::atomic::AtomicI64::new(0));
    {
        let (q, r, wg, expect) = (q.clone(), r.clone(), wg.clone(), expect.clone());
        gort::go(move || {
            for i in 0..NITER {
                let v = PN[i % PN.len()];
                expect.fetch_add(v, Ordering::SeqCst);
                q.send(v);
            }
            q.close();
            wg.wait();
            r.close();
        });
    }
    let (mut n, mut s) = (0usize, 0i64);
    for v in &r {
        n += 1;
        s += v;
    }
    let expect = expect.load(Ordering::SeqCst);
    assert!(
        n == NITER && s == expect,
        "Expected sum {expect} (got {s}) from {NITER} iter (saw {n})"
    );
}

// go-test: TestSelectDuplicateChannel (chan_test.go)
#[gort::test(both)]
unsafe fn test_select_duplicate_channel() {
    let c: Chan<i32> = Chan::new(0);
    let d: Chan<i32> = Chan::new(0);
    let e: Chan<i32> = Chan::new(0);
    {
        // Goroutine A: two sudogs on c, one on d.
        let (c, d, e) = (c.clone(), d.clone(), e.clone());
        gort::go(move || {
            select! {
                recv(c) -> _v => {}
                recv(c) -> _v => {}
                recv(d) -> _v => {}
            }
            e.send(9);
        });
    }
    sleep(Duration::from_millis(1)); // A queues first on c
    let b_got = Arc::new(AtomicU32::new(0));
    {
        // Goroutine B.
        let (c, b_got) = (c.clone(), b_got.clone());
        gort::go(move || {
            b_got.store(c.recv().unwrap() as u32, Ordering::SeqCst);
        });
    }
    sleep(Duration::from_millis(1)); // B queues on c behind A
    d.send(7); // wakes A, which must take both its sudogs off c.recvq
    e.recv(); // A is done
    c.send(8); // must wake B, not a stale sudog of A
    while b_got.load(Ordering::SeqCst) == 0 {
        gort::gosched();
    }
    assert_eq!(b_got.load(Ordering::SeqCst), 8);
}

// go-test: TestSelectStackAdjust (chan_test.go)
// Adapted: gort never moves stacks and has no GC to force, so what is left
// to check is the point of the test: a select blocked with a receive slot
// and a pointer into its own frame wakes (here by close) with the pointee
// intact and writable.
#[gort::test(both)]
unsafe fn test_select_stack_adjust() {
    let c: Chan<usize> = Chan::new(0);
    let d: Chan<usize> = Chan::new(0);
    let ready1: Chan<bool> = Chan::new(0);
    let ready2: Chan<bool> = Chan::new(0);
    let failed = Arc::new(AtomicBool::new(false));
    let f = {
        let (c, d, failed) = (c.clone(), d.clone(), failed.clone());
        move |ready: Chan<bool>, dup: bool| {
            let (c, d, failed) = (c.clone(), d.clone(), failed.clone());
            move || {
                ready.send(true);
                let mut val = 42usize;
                let valp: *mut usize = &mut val;
                let mut cx: *mut usize = valp;
                let (c2, d2) = if dup {
                    (c.clone(), d.clone())
                } else {
                    (Chan::nil(), Chan::nil())
                };
                select! {
                    recv(c) -> v => cx = v.unwrap_or(0) as *mut usize,
                    recv(c2) -> _v => {}
                    recv(d) -> _v => {}
                    recv(d2) -> _v => {}
                }
                if cx != valp {
                    failed.store(true, Ordering::SeqCst);
                } else {
                    // SAFETY: cx points at val, live in this frame.
                    unsafe {
                        if *cx != 42 {
                            failed.store(true, Ordering::SeqCst);
                        }
                        *cx = 43;
                    }
                    if val != 43 {
                        failed.store(true, Ordering::SeqCst);
                    }
                }
                ready.send(true);
            }
        }
    };
    gort::go(f(ready1.clone(), false));
    gort::go(f(ready2.clone(), true));
    ready1.recv();
    ready2.recv();
    sleep(Duration::from_millis(10));
    d.close();
    ready1.recv();
    ready2.recv();
    assert!(!failed.load(Ordering::SeqCst));
}

// go-test: TestBlockLocked (proc_test.go)
// Migrating mode only in Go's form: in the safe mode the goroutine may
// start on main's thread, where main is pinned, so lock_os_thread cannot
// give it the thread alone and fails by design. The safe variant starts it
// with spawn_dedicated (the safe mode's own thread); the rest is Go's.
#[gort::test(migrating)]
unsafe fn test_block_locked() {
    block_locked(false);
}

#[gort::test]
fn test_block_locked_dedicated() {
    block_locked(true);
}

fn block_locked(dedicated: bool) {
    const N: usize = 10;
    let c: Chan<bool> = Chan::new(0);
    let c1 = c.clone();
    let body = move || {
        gort::lock_os_thread();
        for _ in 0..N {
            c1.send(true);
        }
        gort::unlock_os_thread();
    };
    if dedicated {
        drop(gort::spawn_dedicated(body));
    } else {
        gort::go(body);
    }
    for _ in 0..N {
        assert_eq!(c.recv(), Some(true));
    }
}

// go-test: TestPingPongHog (proc_test.go)
// GOMAXPROCS=1: two hogs (1e6 increments per wake-up) and two light
// goroutines (1e3) ping-pong on unbuffered channels; after 100 ms their
// counts are within a factor of 20, which holds only if a woken goroutine
// inherits the time slice (runnext) and each pair hands the P over within
// it.
#[gort::test(both, gomaxprocs = 1)]
unsafe fn test_ping_pong_hog() {
    let done: Chan<bool> = Chan::new(0);
    let hog_chan: Chan<bool> = Chan::new(0);
    let light_chan: Chan<bool> = Chan::new(0);
    let hog_count = Arc::new(AtomicUsize::new(0));
    let light_count = Arc::new(AtomicUsize::new(0));
    let run = |limit: usize, counter: Arc<AtomicUsize>, wake: Chan<bool>| {
        let done = done.clone();
        move || loop {
            select! {
                recv(done) -> _v => return,
                recv(wake) -> _v => {
                    for _ in 0..limit {
                        // One increment at a time, as Go's `*counter++`
                        // (a single P: no contention, just work).
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    wake.send(true);
                }
            }
        }
    };
    for _ in 0..2 {
        gort::go(run(1_000_000, hog_count.clone(), hog_chan.clone()));
    }
    for _ in 0..2 {
        gort::go(run(1_000, light_count.clone(), light_chan.clone()));
    }
    hog_chan.send(true);
    light_chan.send(true);
    sleep(Duration::from_millis(100));
    done.close();
    hog_chan.recv();
    light_chan.recv();
    const FACTOR: usize = 20;
    let (hog, light) = (
        hog_count.load(Ordering::SeqCst),
        light_count.load(Ordering::SeqCst),
    );
    assert!(
        hog / FACTOR <= light && light / FACTOR <= hog,
        "want hogCount/lightCount in [{}, {}]; got {hog}/{light} = {}",
        1.0 / FACTOR as f64,
        FACTOR,
        hog as f64 / light as f64
    );
}

// go-test: TestStackGrowthCallback (stack_test.go)
// Recursion to every depth 0..1023, with channel operations and a spawned
// and joined goroutine at the deepest frame (Go's map operations are a
// HashMap here). gort stacks do not grow: the test asks for 4 MiB ones,
// room for 1023 unoptimised frames.
#[gort::test(both, stack_size = 4 << 20)]
unsafe fn test_stack_growth_callback() {
    fn grow(n: usize, f: &mut dyn FnMut()) {
        if n == 0 {
            f();
            return;
        }
        let pad = std::hint::black_box([0u8; 64]);
        grow(n - 1, f);
        std::hint::black_box(pad);
    }
    // Channel operations.
    let c: Chan<i32> = Chan::new(1);
    for i in 0..1024 {
        grow(i, &mut || {
            c.send(1);
            c.recv();
        });
    }
    // Map operations.
    let mut m: HashMap<i32, i32> = HashMap::new();
    for i in 0..1024 {
        grow(i, &mut || {
            m.insert(1, 1);
            m.remove(&1);
        });
    }
    // Goroutine creation and a wait for it.
    for i in 0..1024 {
        grow(i, &mut || {
            let done: Chan<bool> = Chan::new(0);
            let d = done.clone();
            gort::go(move || d.send(true));
            done.recv();
        });
    }
}

// go-test: TestStackCache (stack_test.go)
// 4 rounds × 200 goroutines, each growing its stack to a depth asked for
// over a channel, then exiting: stacks go back to and come from the
// per-P cache.
#[gort::test(both)]
unsafe fn test_stack_cache() {
    const R: usize = 4;
    const G: usize = 200;
    const S: usize = 5;
    /// Go's growStack: recursion to depth n, each frame checking its result.
    fn grow_stack(n: usize) {
        fn f(i: usize) -> usize {
            if i == 0 {
                return 0;
            }
            let pad = std::hint::black_box([1u8; 128]);
            f(i - 1) + pad[0] as usize
        }
        for i in 0..n {
            assert_eq!(f(i), i, "stack growth failed");
        }
    }
    /// Go's `growing`.
    fn growing(c: Chan<usize>, done: Chan<()>) {
        for n in &c {
            grow_stack(n);
            done.send(());
        }
        done.send(());
    }
    for _ in 0..R {
        let reqchans: Vec<Chan<usize>> = (0..G).map(|_| Chan::new(0)).collect();
        let done: Chan<()> = Chan::new(0);
        for rc in &reqchans {
            let (rc, d) = (rc.clone(), done.clone());
            gort::go(move || growing(rc, d));
        }
        for s in 0..S {
            for rc in &reqchans {
                rc.send(1 << s);
            }
            for _ in 0..G {
                done.recv();
            }
        }
        for rc in &reqchans {
            rc.close();
        }
        for _ in 0..G {
            done.recv();
        }
    }
}
