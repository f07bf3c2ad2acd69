//! Scheduling across threads: system calls, sysmon and preemption.

use gort::{Chan, select};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A goroutine blocked in a system call for 100 ms does not stop the others
/// on a one-P runtime: sysmon hands the P to another thread.
#[gort::test(both, gomaxprocs = 1)]
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
#[gort::test(both, gomaxprocs = 1)]
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

#[gort::test(both)]
unsafe fn runtime_calls_inside_blocking_are_refused_clearly() {
    let r = std::panic::catch_unwind(|| gort::syscall::blocking(gort::num_goroutine));
    let p = r.expect_err("must panic");
    let m = p.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(m.contains("inside gort::syscall::blocking"), "{m}");
    // And the goroutine is fully back afterwards.
    assert_eq!(gort::spawn(|| 5).join().unwrap(), 5);
}

/// A contended gort Mutex locked inside `blocking` is refused with the
/// same clear panic, not a crash: the lock's spin check used to read the
/// P, which a goroutine in `blocking` does not hold in the migrating mode
/// (a null dereference). In the safe mode the closure runs on a helper
/// thread, where a gort Mutex works as on any plain thread.
#[gort::test(migrating, gomaxprocs = 2)]
unsafe fn contended_mutex_inside_blocking_is_refused_clearly() {
    // The other P busy, so that the lock's spin check gets as far as
    // looking at this goroutine's P.
    let (started, stop) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let (s2, st2) = (started.clone(), stop.clone());
    gort::go(move || {
        s2.store(true, Ordering::SeqCst);
        while !st2.load(Ordering::SeqCst) {
            std::hint::spin_loop();
        }
    });
    while !started.load(Ordering::SeqCst) {
        std::hint::spin_loop();
    }
    let m = Arc::new(gort::sync::Mutex::new(0u32));
    let held = m.lock();
    let m2 = m.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        gort::syscall::blocking(move || *m2.lock() += 1)
    }));
    drop(held);
    stop.store(true, Ordering::SeqCst);
    let p = r.expect_err("must panic");
    let msg = p.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("inside gort::syscall::blocking"), "{msg}");
    assert_eq!(*m.lock(), 0);
}

/// testYieldProgress (proc_test.go), in Go's form: a goroutine spins on a
/// `select` with a default case that yields, main sleeps 10 ms, then sends
/// and waits for the acknowledgement. `locked` makes the spinner call
/// `lock_os_thread` first; `dedicated` starts it on a thread of its own
/// (`spawn_dedicated`) instead of with `go`, which is how the safe mode
/// keeps Go's promise (see test_yield_locked_progress).
fn yield_progress(locked: bool, dedicated: bool) {
    let c: Chan<bool> = Chan::new(0);
    let cack: Chan<bool> = Chan::new(0);
    let (c2, cack2) = (c.clone(), cack.clone());
    let body = move || {
        if locked {
            gort::lock_os_thread();
        }
        loop {
            select! {
                recv(c2) -> _v => {
                    cack2.send(true);
                    return;
                },
                default => gort::gosched(),
            }
        }
    };
    if dedicated {
        drop(gort::spawn_dedicated(body));
    } else {
        gort::go(body);
    }
    gort::time::sleep(Duration::from_millis(10));
    c.send(true);
    cack.recv();
}

// go-test: TestYieldProgress (proc_test.go)
#[gort::test(both)]
unsafe fn test_yield_progress() {
    yield_progress(false, false);
}

// go-test: TestYieldLockedProgress (proc_test.go)
// Migrating mode only in Go's form: `go` + `LockOSThread` wires the
// goroutine to whatever thread it started on, and in the safe mode that
// thread may already host main (pinned there), so Go's promise that no
// other goroutine runs on the locked thread cannot hold and
// lock_os_thread fails by design. The safe variant below starts the
// goroutine with spawn_dedicated, the safe mode's way to get a thread of
// one's own; everything else is Go's test.
#[gort::test(migrating)]
unsafe fn test_yield_locked_progress() {
    yield_progress(true, false);
}

#[gort::test]
fn test_yield_locked_progress_dedicated() {
    yield_progress(true, true);
}
