//! Scheduling across threads: system calls, sysmon and preemption.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A goroutine blocked in a system call for 100 ms does not stop the others
/// on a one-P runtime: sysmon hands the P to another thread.
#[gort::test(migrating, gomaxprocs = 1)]
unsafe fn blocking_call_does_not_stop_others_on_one_p() {
    let progress = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let (p, d) = (progress.clone(), done.clone());
    let counter = gort::spawn(move || {
        while !d.load(Ordering::Acquire) {
            p.fetch_add(1, Ordering::Relaxed);
            gort::gosched();
        }
    });
    let p2 = progress.clone();
    let sleeper = gort::spawn(move || {
        let before = p2.load(Ordering::Relaxed);
        gort::syscall::blocking(|| std::thread::sleep(Duration::from_millis(100)));
        p2.load(Ordering::Relaxed) - before
    });
    let during = sleeper.join().unwrap();
    done.store(true, Ordering::Release);
    counter.join().unwrap();
    assert!(
        during > 100,
        "the other goroutine ran only {during} times during the 100 ms call"
    );
}

/// A compute-bound goroutine that keeps calling the runtime is asked by
/// sysmon to yield after its 10 ms time slice, so it cannot starve another
/// goroutine on a one-P runtime.
#[gort::test(migrating, gomaxprocs = 1)]
unsafe fn compute_bound_goroutine_is_preempted_at_runtime_calls() {
    let flag = Arc::new(AtomicBool::new(false));
    let hog_running = Arc::new(AtomicBool::new(false));
    let (f, r) = (flag.clone(), hog_running.clone());
    let hog = gort::spawn(move || {
        r.store(true, Ordering::Release);
        let start = Instant::now();
        // Never yields on its own: only a preemption request lets the
        // setter run. Its runtime call is a send and a receive that never
        // block (queries such as `num_goroutine` and the `try_*`
        // operations are not preemption points: they never switch
        // goroutines).
        let c = gort::Chan::<()>::new(1);
        while !f.load(Ordering::Acquire) {
            if start.elapsed() > Duration::from_secs(5) {
                return false;
            }
            c.send(());
            c.recv();
        }
        true
    });
    let (f2, r2) = (flag.clone(), hog_running.clone());
    // The setter runs first (runnext), sees the hog has not started, and
    // yields to the global queue; from then on only a preemption of the
    // hog lets it run again.
    gort::go(move || {
        while !r2.load(Ordering::Acquire) {
            gort::gosched();
        }
        f2.store(true, Ordering::Release);
    });
    assert!(
        hog.join().unwrap(),
        "the hog was never preempted; the other goroutine starved"
    );
}

#[gort::test(migrating)]
unsafe fn runtime_calls_inside_blocking_are_refused_clearly() {
    let r = std::panic::catch_unwind(|| gort::syscall::blocking(gort::num_goroutine));
    let p = r.expect_err("must panic");
    let m = p.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(m.contains("inside gort::syscall::blocking"), "{m}");
    // And the goroutine is fully back afterwards.
    assert_eq!(gort::spawn(|| 5).join().unwrap(), 5);
}

/// testYieldProgress (proc_test.go), adapted: the `select` with a default
/// case on `c` becomes a check of a flag, `time.Sleep(10ms)` a blocking
/// call, `<-cack` a join (channels and timers are not ported yet).
fn yield_progress(locked: bool) {
    let c = Arc::new(AtomicBool::new(false));
    let c2 = c.clone();
    let cack = gort::spawn(move || {
        if locked {
            gort::lock_os_thread();
        }
        loop {
            if c2.load(Ordering::Acquire) {
                return;
            }
            gort::gosched();
        }
    });
    gort::syscall::blocking(|| std::thread::sleep(Duration::from_millis(10)));
    c.store(true, Ordering::Release);
    cack.join().unwrap();
}

// go-test: TestYieldProgress (proc_test.go)
#[gort::test(migrating)]
unsafe fn test_yield_progress() {
    yield_progress(false);
}

// go-test: TestYieldLockedProgress (proc_test.go)
#[gort::test(migrating)]
unsafe fn test_yield_locked_progress() {
    yield_progress(true);
}
