//! Port of go1.27 `sync/mutex_test.go`, `rwmutex_test.go`,
//! `waitgroup_test.go`, `once_test.go` and `cond_test.go`.
//!
//! Go's shared variables guarded by a `sync.Mutex` become the data of a
//! `gort::sync::Mutex<T>`; tests that Go runs as child processes
//! (TestMutexMisuse, TestIssue76126) re-run this binary the same way.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::Duration;

use gort::sync::{Cond, Locker, Mutex, Once, RawMutex, RawRwMutex, WaitGroup};
use gort::time::sleep;
use gort::{Chan, select};

const CASE_VAR: &str = "GORT_SYNC_CHILD";

/// Counts the calling thread's allocations, for Go's
/// `testing.AllocsPerRun` (an allocation of a goroutine that does not
/// park between two readings is its thread's in both modes).
struct CountingAlloc;

thread_local! {
    static ALLOCS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

// SAFETY: every call is passed to the system allocator unchanged; the
// count is a const-initialised thread-local without a destructor, which
// needs no allocation and is valid for the thread's whole life.
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded contract.
        unsafe { std::alloc::System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        // SAFETY: forwarded contract.
        unsafe { std::alloc::System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: std::alloc::Layout, n: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded contract.
        unsafe { std::alloc::System.realloc(p, l, n) }
    }
}

#[global_allocator]
static COUNTING: CountingAlloc = CountingAlloc;

/// Go's `testing.AllocsPerRun`: the average number of allocations of
/// `runs` calls of `f`, after one warm-up call.
fn allocs_per_run(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    let before = ALLOCS.with(|c| c.get());
    for _ in 0..runs {
        f();
    }
    let after = ALLOCS.with(|c| c.get());
    (after - before) as f64 / runs as f64
}

/// Runs `case` in a child process (this binary, `child_entry` below);
/// returns (combined output, exit status).
fn child(case: &str) -> (String, Option<i32>) {
    let out = test_child::Child::test("child_entry")
        .env(CASE_VAR, case)
        .run();
    (out.combined(), out.code)
}

/// The child side: runs the case named by the environment on a fresh
/// runtime and reports "test completed" if it survives (Go's TESTMISUSE).
#[test]
#[ignore = "run by the misuse tests as a child process"]
fn child_entry() {
    let case = std::env::var(CASE_VAR).expect("child_entry runs only as a child");
    gort::Builder::new().block_on(move || {
        let _ = std::panic::catch_unwind(|| match case.as_str() {
            "Mutex.Unlock" => RawMutex::new().unlock(),
            "Mutex.Unlock2" => {
                let mu = RawMutex::new();
                mu.lock();
                mu.unlock();
                mu.unlock();
            }
            "RWMutex.Unlock" => RawRwMutex::new().unlock(),
            "RWMutex.Unlock2" => {
                let mu = RawRwMutex::new();
                mu.rlock();
                mu.unlock();
            }
            "RWMutex.Unlock3" => {
                let mu = RawRwMutex::new();
                mu.lock();
                mu.unlock();
                mu.unlock();
            }
            "RWMutex.RUnlock" => RawRwMutex::new().runlock(),
            "RWMutex.RUnlock2" => {
                let mu = RawRwMutex::new();
                mu.lock();
                mu.runlock();
            }
            "RWMutex.RUnlock3" => {
                let mu = RawRwMutex::new();
                mu.rlock();
                mu.runlock();
                mu.runlock();
            }
            "Issue76126" => {
                let wg = Arc::new(WaitGroup::new());
                wg.go(|| panic!("test"));
                wg.wait(); // the process must end here
                panic!("Wait returned");
            }
            other => println!("unknown test {other}"),
        });
    });
    println!("test completed");
}

fn hammer_semaphore(s: Arc<std::sync::atomic::AtomicU32>, loops: usize, cdone: Chan<bool>) {
    for _ in 0..loops {
        runtime_p::sema::semacquire(&s);
        runtime_p::sema::semrelease1(&s, false);
    }
    cdone.send(true);
}

// go-test: TestSemaphore (mutex_test.go)
#[gort::test(both)]
unsafe fn test_semaphore() {
    let s = Arc::new(std::sync::atomic::AtomicU32::new(1));
    let c: Chan<bool> = Chan::new(0);
    for _ in 0..10 {
        let (s, c) = (s.clone(), c.clone());
        gort::go(move || hammer_semaphore(s, 1000, c));
    }
    for _ in 0..10 {
        c.recv();
    }
}

fn hammer_mutex(m: Arc<RawMutex>, loops: usize, cdone: Chan<bool>) {
    for i in 0..loops {
        if i % 3 == 0 {
            if m.try_lock() {
                m.unlock();
            }
            continue;
        }
        m.lock();
        m.unlock();
    }
    cdone.send(true);
}

// go-test: TestMutex (mutex_test.go)
// SetMutexProfileFraction dropped (no profiler).
#[gort::test(both)]
unsafe fn test_mutex() {
    let m = Arc::new(RawMutex::new());
    m.lock();
    assert!(!m.try_lock(), "TryLock succeeded with mutex locked");
    m.unlock();
    assert!(m.try_lock(), "TryLock failed with mutex unlocked");
    m.unlock();
    let c: Chan<bool> = Chan::new(0);
    for _ in 0..10 {
        let (m, c) = (m.clone(), c.clone());
        gort::go(move || hammer_mutex(m, 1000, c));
    }
    for _ in 0..10 {
        c.recv();
    }
}

// go-test: TestMutexMisuse (mutex_test.go)
#[test]
fn test_mutex_misuse() {
    for name in [
        "Mutex.Unlock",
        "Mutex.Unlock2",
        "RWMutex.Unlock",
        "RWMutex.Unlock2",
        "RWMutex.Unlock3",
        "RWMutex.RUnlock",
        "RWMutex.RUnlock2",
        "RWMutex.RUnlock3",
    ] {
        let (out, code) = child(name);
        assert!(
            code != Some(0) && out.contains("unlocked"),
            "{name}: did not find failure with message about unlocked lock: {code:?}\n{out}"
        );
        assert!(out.contains("fatal error: sync: "), "{name}: {out}");
    }
}

// go-test: TestMutexFairness (mutex_test.go)
#[gort::test(both)]
unsafe fn test_mutex_fairness() {
    let mu = Arc::new(RawMutex::new());
    let stop: Chan<bool> = Chan::new(0);
    {
        let (mu, stop) = (mu.clone(), stop.clone());
        gort::go(move || {
            loop {
                mu.lock();
                sleep(Duration::from_micros(100));
                mu.unlock();
                select! {
                    recv(stop) -> _v => return,
                    default => {}
                }
            }
        });
    }
    let done: Chan<bool> = Chan::new(1);
    {
        let (mu, done) = (mu.clone(), done.clone());
        gort::go(move || {
            for _ in 0..10 {
                sleep(Duration::from_micros(100));
                mu.lock();
                mu.unlock();
            }
            done.send(true);
        });
    }
    select! {
        recv(done) -> _v => {}
        recv(gort::time::after(Duration::from_secs(10))) -> _v => {
            panic!("can't acquire Mutex in 10 seconds")
        }
    }
    stop.close();
}

fn parallel_reader(
    m: Arc<RawRwMutex>,
    clocked: Chan<bool>,
    cunlock: Chan<bool>,
    cdone: Chan<bool>,
) {
    m.rlock();
    clocked.send(true);
    cunlock.recv();
    m.runlock();
    cdone.send(true);
}

fn do_test_parallel_readers(num_readers: usize, gomaxprocs: usize) {
    gort::gomaxprocs(gomaxprocs);
    let m = Arc::new(RawRwMutex::new());
    let clocked: Chan<bool> = Chan::new(0);
    let cunlock: Chan<bool> = Chan::new(0);
    let cdone: Chan<bool> = Chan::new(0);
    for _ in 0..num_readers {
        let (m, a, b, c) = (m.clone(), clocked.clone(), cunlock.clone(), cdone.clone());
        gort::go(move || parallel_reader(m, a, b, c));
    }
    // All the read locks are held at once.
    for _ in 0..num_readers {
        clocked.recv();
    }
    for _ in 0..num_readers {
        cunlock.send(true);
    }
    for _ in 0..num_readers {
        cdone.recv();
    }
}

// go-test: TestParallelReaders (rwmutex_test.go)
#[gort::test(both)]
unsafe fn test_parallel_readers() {
    let prev = gort::gomaxprocs(0);
    do_test_parallel_readers(1, 4);
    do_test_parallel_readers(3, 4);
    do_test_parallel_readers(4, 2);
    gort::gomaxprocs(prev);
}

fn reader(rwm: Arc<RawRwMutex>, iters: usize, activity: Arc<AtomicI32>, cdone: Chan<bool>) {
    for _ in 0..iters {
        rwm.rlock();
        let n = activity.fetch_add(1, Ordering::SeqCst) + 1;
        if !(1..10000).contains(&n) {
            rwm.runlock();
            panic!("wlock({n})");
        }
        for i in 0..100 {
            std::hint::black_box(i);
        }
        activity.fetch_sub(1, Ordering::SeqCst);
        rwm.runlock();
    }
    cdone.send(true);
}

fn writer(rwm: Arc<RawRwMutex>, iters: usize, activity: Arc<AtomicI32>, cdone: Chan<bool>) {
    for _ in 0..iters {
        rwm.lock();
        let n = activity.fetch_add(10000, Ordering::SeqCst) + 10000;
        if n != 10000 {
            rwm.unlock();
            panic!("wlock({n})");
        }
        for i in 0..100 {
            std::hint::black_box(i);
        }
        activity.fetch_sub(10000, Ordering::SeqCst);
        rwm.unlock();
    }
    cdone.send(true);
}

fn hammer_rwmutex(gomaxprocs: usize, num_readers: usize, iters: usize) {
    gort::gomaxprocs(gomaxprocs);
    // Active readers + 10000 × active writers.
    let activity = Arc::new(AtomicI32::new(0));
    let rwm = Arc::new(RawRwMutex::new());
    let cdone: Chan<bool> = Chan::new(0);
    let w = |rwm: &Arc<RawRwMutex>, a: &Arc<AtomicI32>, c: &Chan<bool>| {
        let (rwm, a, c) = (rwm.clone(), a.clone(), c.clone());
        gort::go(move || writer(rwm, iters, a, c));
    };
    let r = |rwm: &Arc<RawRwMutex>, a: &Arc<AtomicI32>, c: &Chan<bool>| {
        let (rwm, a, c) = (rwm.clone(), a.clone(), c.clone());
        gort::go(move || reader(rwm, iters, a, c));
    };
    w(&rwm, &activity, &cdone);
    let mut i = 0;
    while i < num_readers / 2 {
        r(&rwm, &activity, &cdone);
        i += 1;
    }
    w(&rwm, &activity, &cdone);
    while i < num_readers {
        r(&rwm, &activity, &cdone);
        i += 1;
    }
    for _ in 0..2 + num_readers {
        cdone.recv();
    }
}

// go-test: TestRWMutex (rwmutex_test.go)
#[gort::test(both)]
unsafe fn test_rwmutex() {
    let m = RawRwMutex::new();
    m.lock();
    assert!(!m.try_lock(), "TryLock succeeded with mutex locked");
    assert!(!m.try_rlock(), "TryRLock succeeded with mutex locked");
    m.unlock();
    assert!(m.try_lock(), "TryLock failed with mutex unlocked");
    m.unlock();
    assert!(m.try_rlock(), "TryRLock failed with mutex unlocked");
    assert!(m.try_rlock(), "TryRLock failed with mutex rlocked");
    assert!(!m.try_lock(), "TryLock succeeded with mutex rlocked");
    m.runlock();
    m.runlock();

    let prev = gort::gomaxprocs(0);
    let n = 1000;
    for (p, r) in [
        (1, 1),
        (1, 3),
        (1, 10),
        (4, 1),
        (4, 3),
        (4, 10),
        (10, 1),
        (10, 3),
        (10, 10),
        (10, 5),
    ] {
        hammer_rwmutex(p, r, n);
    }
    gort::gomaxprocs(prev);
}

// go-test: TestRLocker (rwmutex_test.go)
#[gort::test(both)]
unsafe fn test_rlocker() {
    let wl = Arc::new(RawRwMutex::new());
    let wlocked: Chan<bool> = Chan::new(1);
    let rlocked: Chan<bool> = Chan::new(1);
    let n = 10;
    {
        let (wl, wlocked, rlocked) = (wl.clone(), wlocked.clone(), rlocked.clone());
        gort::go(move || {
            let rl = wl.rlocker();
            for _ in 0..n {
                rl.lock();
                rl.lock();
                rlocked.send(true);
                wl.lock();
                wlocked.send(true);
            }
        });
    }
    let rl = wl.rlocker();
    for _ in 0..n {
        rlocked.recv();
        rl.unlock();
        select! {
            recv(wlocked) -> _v => panic!("RLocker() didn't read-lock it"),
            default => {}
        }
        rl.unlock();
        wlocked.recv();
        select! {
            recv(rlocked) -> _v => panic!("RLocker() didn't respect the write lock"),
            default => {}
        }
        wl.unlock();
    }
}

fn test_wait_group_body(wg1: &Arc<WaitGroup>, wg2: &Arc<WaitGroup>) {
    let n = 16;
    wg1.add(n);
    wg2.add(n);
    let exited: Chan<bool> = Chan::new(n as usize);
    for _ in 0..n {
        let (wg1, wg2, exited) = (wg1.clone(), wg2.clone(), exited.clone());
        gort::go(move || {
            wg1.done();
            wg2.wait();
            exited.send(true);
        });
    }
    wg1.wait();
    for _ in 0..n {
        select! {
            recv(exited) -> _v => panic!("WaitGroup released group too soon"),
            default => {}
        }
        wg2.done();
    }
    for _ in 0..n {
        exited.recv(); // blocks if the barrier fails to release someone
    }
}

// go-test: TestWaitGroup (waitgroup_test.go)
#[gort::test(both)]
unsafe fn test_wait_group() {
    let wg1 = Arc::new(WaitGroup::new());
    let wg2 = Arc::new(WaitGroup::new());
    // The same groups, reused: the barrier must reset properly.
    for _ in 0..8 {
        test_wait_group_body(&wg1, &wg2);
    }
}

// go-test: TestWaitGroupMisuse (waitgroup_test.go)
#[gort::test(both)]
unsafe fn test_wait_group_misuse() {
    let r = std::panic::catch_unwind(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        wg.done();
        wg.done();
    });
    let p = r.expect_err("Should panic");
    assert_eq!(
        p.downcast_ref::<&str>().copied(),
        Some("sync: negative WaitGroup counter"),
        "Unexpected panic"
    );
}

// go-test: TestWaitGroupRace (waitgroup_test.go)
#[gort::test(both)]
unsafe fn test_wait_group_race() {
    for _ in 0..1000 {
        let wg = Arc::new(WaitGroup::new());
        let n = Arc::new(AtomicI32::new(0));
        for _ in 0..2 {
            wg.add(1);
            let (wg, n) = (wg.clone(), n.clone());
            gort::go(move || {
                n.fetch_add(1, Ordering::SeqCst);
                wg.done();
            });
        }
        wg.wait();
        assert_eq!(n.load(Ordering::SeqCst), 2, "Spurious wakeup from Wait");
    }
}

// go-test: TestWaitGroupAlign (waitgroup_test.go)
// Adapted: a WaitGroup placed after a byte in a struct still works.
#[gort::test(both)]
unsafe fn test_wait_group_align() {
    struct X {
        _x: u8,
        wg: WaitGroup,
    }
    let x = Arc::new(X {
        _x: 0,
        wg: WaitGroup::new(),
    });
    x.wg.add(1);
    let x2 = x.clone();
    gort::go(move || x2.wg.done());
    x.wg.wait();
}

// go-test: TestWaitGroupGo (waitgroup_test.go)
#[gort::test(both)]
unsafe fn test_wait_group_go() {
    let wg = Arc::new(WaitGroup::new());
    let i = Arc::new(AtomicUsize::new(0));
    let i2 = i.clone();
    wg.go(move || {
        i2.fetch_add(1, Ordering::SeqCst);
    });
    wg.wait();
    assert_eq!(i.load(Ordering::SeqCst), 1);
}

// go-test: TestIssue76126 (waitgroup_test.go)
#[test]
fn test_issue76126() {
    let (out, code) = child("Issue76126");
    assert!(out.contains("panic: test"), "missing panic: test\n{out}");
    assert_eq!(code, Some(2), "{out}");
    assert!(!out.contains("Wait returned"), "{out}");
}

// go-test: TestOnce (once_test.go)
#[gort::test(both)]
unsafe fn test_once() {
    let o = Arc::new(AtomicUsize::new(0));
    let once = Arc::new(Once::new());
    let c: Chan<bool> = Chan::new(0);
    const N: usize = 10;
    for _ in 0..N {
        let (o, once, c) = (o.clone(), once.clone(), c.clone());
        gort::go(move || {
            once.call(|| {
                o.fetch_add(1, Ordering::SeqCst);
            });
            let v = o.load(Ordering::SeqCst);
            assert_eq!(v, 1, "once failed inside run: {v} is not 1");
            c.send(true);
        });
    }
    for _ in 0..N {
        c.recv();
    }
    assert_eq!(o.load(Ordering::SeqCst), 1, "once failed outside run");
}

// go-test: TestOncePanic (once_test.go)
#[gort::test(both)]
unsafe fn test_once_panic() {
    let once = Once::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        once.call(|| panic!("failed"));
    }));
    assert!(r.is_err(), "Once.Do did not panic");
    once.call(|| panic!("Once.Do called twice"));
}

// go-test: TestCondSignal (cond_test.go)
#[gort::test(both)]
unsafe fn test_cond_signal() {
    let m = Arc::new(Mutex::new(()));
    let c = Arc::new(Cond::new());
    let mut n = 2;
    let running: Chan<bool> = Chan::new(n);
    let awake: Chan<bool> = Chan::new(n);
    for _ in 0..n {
        let (m, c, running, awake) = (m.clone(), c.clone(), running.clone(), awake.clone());
        gort::go(move || {
            let mut g = m.lock();
            running.send(true);
            c.wait(&mut g);
            awake.send(true);
            drop(g);
        });
    }
    for _ in 0..n {
        running.recv(); // everyone is running
    }
    while n > 0 {
        select! {
            recv(awake) -> _v => panic!("goroutine not asleep"),
            default => {}
        }
        let g = m.lock();
        c.signal();
        drop(g);
        awake.recv(); // deadlocks if nobody wakes
        select! {
            recv(awake) -> _v => panic!("too many goroutines awake"),
            default => {}
        }
        n -= 1;
    }
    c.signal();
}

// go-test: TestCondSignalGenerations (cond_test.go)
#[gort::test(both)]
unsafe fn test_cond_signal_generations() {
    let m = Arc::new(Mutex::new(()));
    let c = Arc::new(Cond::new());
    let n = 100;
    let running: Chan<bool> = Chan::new(n);
    let awake: Chan<usize> = Chan::new(n);
    for i in 0..n {
        {
            let (m, c, running, awake) = (m.clone(), c.clone(), running.clone(), awake.clone());
            gort::go(move || {
                let mut g = m.lock();
                running.send(true);
                c.wait(&mut g);
                awake.send(i);
                drop(g);
            });
        }
        if i > 0 {
            let a = awake.recv().unwrap();
            assert_eq!(a, i - 1, "wrong goroutine woke up: want {}, got {a}", i - 1);
        }
        running.recv();
        let g = m.lock();
        c.signal();
        drop(g);
    }
}

// go-test: TestCondBroadcast (cond_test.go)
#[gort::test(both)]
unsafe fn test_cond_broadcast() {
    let m = Arc::new(Mutex::new(false)); // guards `exit`
    let c = Arc::new(Cond::new());
    let n = 200;
    let running: Chan<usize> = Chan::new(n);
    let awake: Chan<usize> = Chan::new(n);
    for g in 0..n {
        let (m, c, running, awake) = (m.clone(), c.clone(), running.clone(), awake.clone());
        gort::go(move || {
            let mut exit = m.lock();
            while !*exit {
                running.send(g);
                c.wait(&mut exit);
                awake.send(g);
            }
        });
    }
    for i in 0..n {
        for _ in 0..n {
            running.recv(); // deadlocks unless n are running
        }
        if i == n - 1 {
            *m.lock() = true;
        }
        select! {
            recv(awake) -> _v => panic!("goroutine not asleep"),
            default => {}
        }
        let g = m.lock();
        c.broadcast();
        drop(g);
        let mut seen = vec![false; n];
        for _ in 0..n {
            let g = awake.recv().unwrap();
            assert!(!seen[g], "goroutine woke up twice");
            seen[g] = true;
        }
    }
    select! {
        recv(running) -> _v => panic!("goroutine did not exit"),
        default => {}
    }
    c.broadcast();
}

// go-test: TestRace (cond_test.go)
#[gort::test(both)]
unsafe fn test_race() {
    let x = Arc::new(Mutex::new(0)); // c.L and x
    let c = Arc::new(Cond::new());
    let done: Chan<bool> = Chan::new(0);
    {
        let (x, c, done) = (x.clone(), c.clone(), done.clone());
        gort::go(move || {
            let mut g = x.lock();
            *g = 1;
            c.wait(&mut g);
            assert_eq!(*g, 2, "want 2");
            *g = 3;
            c.signal();
            drop(g);
            done.send(true);
        });
    }
    {
        let (x, c, done) = (x.clone(), c.clone(), done.clone());
        gort::go(move || {
            let mut g = x.lock();
            loop {
                if *g == 1 {
                    *g = 2;
                    c.signal();
                    break;
                }
                drop(g);
                gort::gosched();
                g = x.lock();
            }
            drop(g);
            done.send(true);
        });
    }
    {
        let (x, c, done) = (x.clone(), c.clone(), done.clone());
        gort::go(move || {
            let mut g = x.lock();
            loop {
                if *g == 2 {
                    c.wait(&mut g);
                    assert_eq!(*g, 3, "want 3");
                    break;
                }
                if *g == 3 {
                    break;
                }
                drop(g);
                gort::gosched();
                g = x.lock();
            }
            drop(g);
            done.send(true);
        });
    }
    done.recv();
    done.recv();
    done.recv();
}

// go-test: TestCondSignalStealing (cond_test.go)
#[gort::test(both)]
unsafe fn test_cond_signal_stealing() {
    for _ in 0..1000 {
        let m = Arc::new(Mutex::new(false)); // guards `done`
        let cond = Arc::new(Cond::new());
        // A first waiter.
        let ch: Chan<()> = Chan::new(0);
        {
            let (m, cond, ch) = (m.clone(), cond.clone(), ch.clone());
            gort::go(move || {
                let mut g = m.lock();
                ch.send(());
                cond.wait(&mut g);
                drop(g);
                ch.send(());
            });
        }
        ch.recv();
        drop(m.lock());
        // The waiter is inside Wait. Race a broadcast against a new waiter:
        // the new one may or may not be woken, the first one must be.
        {
            let cond = cond.clone();
            gort::go(move || cond.broadcast());
        }
        {
            let (m, cond) = (m.clone(), cond.clone());
            gort::go(move || {
                let mut g = m.lock();
                while !*g {
                    cond.wait(&mut g);
                }
            });
        }
        ch.recv(); // the first waiter was signalled
        *m.lock() = true;
        cond.broadcast();
    }
}

mod oncefunc_test {
    use super::*;
    use gort::sync::{once_func, once_value};

    // go-test: TestOnceFunc (oncefunc_test.go)
    #[gort::test(both)]
    unsafe fn test_once_func() {
        let calls = Arc::new(AtomicUsize::new(0));
        let of = {
            let calls = calls.clone();
            move || {
                calls.fetch_add(1, Ordering::SeqCst);
            }
        };
        let f = once_func(of.clone());
        let allocs = allocs_per_run(10, &f);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "want calls==1");
        assert_eq!(allocs, 0.0, "want 0 allocations per call to f");
        let allocs = allocs_per_run(10, || drop(once_func(of.clone())));
        assert!(
            allocs <= 2.0,
            "want at most 2 allocations per call to once_func, got {allocs}"
        );
    }

    // go-test: TestOnceValue (oncefunc_test.go)
    #[gort::test(both)]
    unsafe fn test_once_value() {
        let calls = Arc::new(AtomicUsize::new(0));
        let of = {
            let calls = calls.clone();
            move || calls.fetch_add(1, Ordering::SeqCst) + 1
        };
        let f = once_value(of.clone());
        let allocs = allocs_per_run(10, || {
            f();
        });
        let value = f();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "want calls==1");
        assert_eq!(value, 1, "want value==1");
        assert_eq!(allocs, 0.0, "want 0 allocations per call to f");
        let allocs = allocs_per_run(10, || drop(once_value(of.clone())));
        assert!(
            allocs <= 2.0,
            "want at most 2 allocations per call to once_value, got {allocs}"
        );
    }

    // go-test: TestOnceValues (oncefunc_test.go)
    // Go's two results are a tuple.
    #[gort::test(both)]
    unsafe fn test_once_values() {
        let calls = Arc::new(AtomicUsize::new(0));
        let of = {
            let calls = calls.clone();
            move || {
                let c = calls.fetch_add(1, Ordering::SeqCst) + 1;
                (c, c + 1)
            }
        };
        let f = once_value(of.clone());
        let allocs = allocs_per_run(10, || {
            f();
        });
        let (v1, v2) = f();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "want calls==1");
        assert_eq!((v1, v2), (1, 2), "want v1==1 and v2==2");
        assert_eq!(allocs, 0.0, "want 0 allocations per call to f");
        let allocs = allocs_per_run(10, || drop(once_value(of.clone())));
        assert!(allocs <= 2.0, "got {allocs}");
    }

    /// testOncePanicX: every call of `f` panics with "x"; the function
    /// under it ran once.
    fn once_panic_x(calls: &AtomicUsize, f: impl Fn()) {
        for label in ["first time", "second time"] {
            let r = gort::catch(std::panic::AssertUnwindSafe(&f));
            let p = r.expect_err(&format!("{label}: f did not panic"));
            assert_eq!(p.text(), "x", "{label}: want panic x");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "want calls==1");
    }

    // go-test: TestOnceFuncPanic (oncefunc_test.go)
    #[gort::test(both)]
    unsafe fn test_once_func_panic() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let f = once_func(move || {
            c.fetch_add(1, Ordering::SeqCst);
            panic!("x");
        });
        once_panic_x(&calls, f);
    }

    // go-test: TestOnceValuePanic (oncefunc_test.go)
    #[gort::test(both)]
    unsafe fn test_once_value_panic() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let f = once_value(move || -> i32 {
            c.fetch_add(1, Ordering::SeqCst);
            panic!("x");
        });
        once_panic_x(&calls, || {
            f();
        });
    }

    // go-test: TestOnceFuncGoexit (oncefunc_test.go)
    // Go's deferred recover is gort::catch; its deferred wg.Done a
    // destructor.
    #[gort::test(both)]
    unsafe fn test_once_func_goexit() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let f = Arc::new(once_func(move || {
            c.fetch_add(1, Ordering::SeqCst);
            gort::goexit();
        }));
        let wg = Arc::new(WaitGroup::new());
        struct Done(Arc<WaitGroup>);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.done();
            }
        }
        for _ in 0..2 {
            wg.add(1);
            let (f, wg2) = (f.clone(), wg.clone());
            gort::go(move || {
                let _done = Done(wg2);
                let _ = gort::catch(std::panic::AssertUnwindSafe(|| f()));
            });
            wg.wait();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "want calls==1");
    }
}

/// Port of go1.27 `sync/pool_test.go`. Go's `runtime.GC()` becomes the
/// pool's own rotation, [`Pool::cleanup`](gort::sync::Pool::cleanup)
/// (gort has no collector; see the Pool's docs), and
/// `debug.SetGCPercent(-1)` goes, since nothing else rotates within the
/// two-minute period.
mod pool_test {
    use super::*;
    use gort::sync::Pool;
    use gort::sync::pool::{RawPoolChain, RawPoolDequeue};
    use std::sync::atomic::AtomicI32;

    // go-test: TestPool (pool_test.go)
    #[gort::test(both)]
    unsafe fn test_pool() {
        let p: Pool<&'static str> = Pool::new();
        assert!(p.get().is_none(), "expected empty");
        // Make sure that the goroutine doesn't migrate to another P
        // between Put and Get calls.
        // SAFETY: nothing below parks until the pin is dropped.
        let pin = unsafe { gort::runtime::proc_pin() };
        p.put("a");
        p.put("b");
        let g = p.get();
        assert_eq!(g, Some("a"), "got {g:?}; want a");
        let g = p.get();
        assert_eq!(g, Some("b"), "got {g:?}; want b");
        let g = p.get();
        assert_eq!(g, None, "got {g:?}; want nil");
        drop(pin);
        // Put in a large number of objects so they spill into stealable
        // space.
        for _ in 0..100 {
            p.put("c");
        }
        // After one GC, the victim cache should keep them alive.
        p.cleanup();
        let g = p.get();
        assert_eq!(g, Some("c"), "got {g:?}; want c after GC");
        // A second GC should drop the victim cache.
        p.cleanup();
        let g = p.get();
        assert_eq!(g, None, "got {g:?}; want nil after second GC");
    }

    // go-test: TestPoolNew (pool_test.go)
    // Go's `New` closure increments a captured `i`; the pool's `New` here
    // is a plain function, so `i` is a static (one counter per mode's test).
    #[gort::test(both)]
    unsafe fn test_pool_new() {
        static I: [AtomicI32; 2] = [AtomicI32::new(0), AtomicI32::new(0)];
        let k = gort::runtime::migrating() as usize;
        I[k].store(0, Ordering::SeqCst);
        let p = Pool::with_new(move || I[k].fetch_add(1, Ordering::SeqCst) + 1);
        let v = p.get();
        assert_eq!(v, Some(1), "got {v:?}; want 1");
        let v = p.get();
        assert_eq!(v, Some(2), "got {v:?}; want 2");
        // Make sure that the goroutine doesn't migrate to another P
        // between Put and Get calls.
        // SAFETY: nothing below parks until the pin is dropped.
        let pin = unsafe { gort::runtime::proc_pin() };
        p.put(42);
        let v = p.get();
        assert_eq!(v, Some(42), "got {v:?}; want 42");
        drop(pin);
        let v = p.get();
        assert_eq!(v, Some(3), "got {v:?}; want 3");
    }

    /// A value that counts its drops (Go's `runtime.AddCleanup` on each
    /// pooled value).
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// testPool (pool_test.go): the pool keeps no value it gave back
    /// (`drain`), and two rotations release every value it held.
    fn check_pool_release(drain: bool) {
        let prev = if drain { gort::gomaxprocs(1) } else { 0 };
        let p: Pool<Counted> = Pool::new();
        const N: usize = 100;
        for try_ in 0..3 {
            let cln = Arc::new(AtomicUsize::new(0));
            // All on one P (Go's run stays on one for the loop too): a
            // retake in the migrating mode would otherwise leave a private
            // value on each of two Ps, past Go's allowance of one.
            // SAFETY: puts and gets on a pool without New do not park (the
            // values' destructors only count)
            // (100 puts are too few for an automatic rotation's clock
            // check), and the pin ends before anything else.
            let pin = unsafe { gort::runtime::proc_pin() };
            for _ in 0..N {
                p.put(Counted(cln.clone()));
            }
            if drain {
                for _ in 0..N {
                    drop(p.get());
                }
            }
            drop(pin);
            if !drain {
                // An extra rotation to drop the values from the pool.
                p.cleanup();
            }
            p.cleanup();
            // 1 pointer can remain on stack or elsewhere (here: the
            // private slot of a P that has not used the pool since).
            let cln1 = cln.load(Ordering::SeqCst);
            assert!(
                cln1 >= N - 1,
                "only {cln1} out of {N} resources are cleaned up on try {try_}"
            );
        }
        if drain {
            gort::gomaxprocs(prev);
        }
    }

    // go-test: TestPoolGC (pool_test.go)
    #[gort::test(both)]
    unsafe fn test_pool_gc() {
        check_pool_release(true);
    }

    // go-test: TestPoolRelease (pool_test.go)
    #[gort::test(both)]
    unsafe fn test_pool_release() {
        check_pool_release(false);
    }

    // go-test: TestPoolStress (pool_test.go)
    #[gort::test(both)]
    unsafe fn test_pool_stress() {
        const P: usize = 10;
        let n: usize = 1_000_000;
        let p: Arc<Pool<i32>> = Arc::new(Pool::new());
        let done: Chan<bool> = Chan::new(0);
        for _ in 0..P {
            let (p, done) = (p.clone(), done.clone());
            gort::go(move || {
                let mut v = Some(0);
                for _ in 0..n {
                    p.put(v.unwrap_or(0));
                    v = p.get();
                    if let Some(x) = v {
                        assert_eq!(x, 0, "expect 0, got {x}");
                    }
                }
                done.send(true);
            });
        }
        for _ in 0..P {
            done.recv();
        }
    }

    /// What testPoolDequeue uses of a dequeue (Go's `PoolDequeue`
    /// interface of export_test.go).
    trait PoolDequeue: Send + Sync + 'static {
        /// # Safety
        /// Producer only (one goroutine).
        unsafe fn push_head(&self, v: usize) -> bool;
        /// # Safety
        /// Producer only.
        unsafe fn pop_head(&self) -> Option<usize>;
        fn pop_tail(&self) -> Option<usize>;
    }
    impl PoolDequeue for RawPoolDequeue<usize> {
        unsafe fn push_head(&self, v: usize) -> bool {
            // SAFETY: forwarded contract.
            unsafe { RawPoolDequeue::push_head(self, v).is_ok() }
        }
        unsafe fn pop_head(&self) -> Option<usize> {
            // SAFETY: forwarded contract.
            unsafe { RawPoolDequeue::pop_head(self) }
        }
        fn pop_tail(&self) -> Option<usize> {
            RawPoolDequeue::pop_tail(self)
        }
    }
    impl PoolDequeue for RawPoolChain<usize> {
        unsafe fn push_head(&self, v: usize) -> bool {
            // SAFETY: forwarded contract.
            unsafe { RawPoolChain::push_head(self, v) };
            true
        }
        unsafe fn pop_head(&self) -> Option<usize> {
            // SAFETY: forwarded contract.
            unsafe { RawPoolChain::pop_head(self) }
        }
        fn pop_tail(&self) -> Option<usize> {
            RawPoolChain::pop_tail(self)
        }
    }

    fn run_pool_dequeue(d: Arc<dyn PoolDequeue>) {
        const P: usize = 10;
        let n: usize = 2_000_000;
        let have: Arc<Vec<AtomicI32>> = Arc::new((0..n).map(|_| AtomicI32::new(0)).collect());
        let stop = Arc::new(AtomicI32::new(0));
        let wg = Arc::new(WaitGroup::new());
        let record = {
            let (have, stop) = (have.clone(), stop.clone());
            move |val: usize| {
                have[val].fetch_add(1, Ordering::SeqCst);
                if val == n - 1 {
                    stop.store(1, Ordering::SeqCst);
                }
            }
        };
        // Start P-1 consumers.
        for _ in 1..P {
            wg.add(1);
            let (d, stop, wg, record) = (d.clone(), stop.clone(), wg.clone(), record.clone());
            gort::go(move || {
                let mut fail = 0;
                while stop.load(Ordering::SeqCst) == 0 {
                    match d.pop_tail() {
                        Some(val) => {
                            fail = 0;
                            record(val);
                        }
                        None => {
                            // Speed up the test by allowing the pusher to
                            // run.
                            fail += 1;
                            if fail % 100 == 0 {
                                gort::gosched();
                            }
                        }
                    }
                }
                wg.done();
            });
        }
        // Start 1 producer.
        let n_pop_head = Arc::new(AtomicUsize::new(0));
        wg.add(1);
        {
            let (d, wg, n_pop_head) = (d.clone(), wg.clone(), n_pop_head.clone());
            gort::go(move || {
                for j in 0..n {
                    // SAFETY: this goroutine is the only producer.
                    while !unsafe { d.push_head(j) } {
                        // Allow a popper to run.
                        gort::gosched();
                    }
                    if j % 10 == 0 {
                        // SAFETY: as above.
                        if let Some(val) = unsafe { d.pop_head() } {
                            n_pop_head.fetch_add(1, Ordering::SeqCst);
                            record(val);
                        }
                    }
                }
                wg.done();
            });
        }
        wg.wait();
        // Check results.
        let mut bad = 0;
        for (i, count) in have.iter().enumerate() {
            let count = count.load(Ordering::SeqCst);
            if count != 1 {
                bad += 1;
                if bad < 10 {
                    eprintln!("expected have[{i}] = 1, got {count}");
                }
            }
        }
        assert_eq!(bad, 0, "{bad} values not taken exactly once");
        // Check that at least some PopHeads succeeded.
        assert_ne!(
            n_pop_head.load(Ordering::SeqCst),
            0,
            "popHead never succeeded"
        );
    }

    // go-test: TestPoolDequeue (pool_test.go)
    #[gort::test(both)]
    unsafe fn test_pool_dequeue() {
        run_pool_dequeue(Arc::new(RawPoolDequeue::<usize>::new(16)));
    }

    // go-test: TestPoolChain (pool_test.go)
    #[gort::test(both)]
    unsafe fn test_pool_chain() {
        run_pool_dequeue(Arc::new(RawPoolChain::<usize>::new()));
    }
}
