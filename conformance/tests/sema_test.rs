//! Port of go1.27 `runtime/sema_test.go`: the semaphore hand-off.
//!
//! Go reaches `Semacquire`, `Semrelease1` and `SemNwait` through
//! export_test.go; here they are `runtime_p::sema`'s public functions.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use gort::sync::WaitGroup;
use gort::{Chan, select};
use runtime_p::sema::{sem_nwait, semacquire, semrelease1};

/// One trial: does the waiter run before the releaser after a hand-off?
fn sema_handoff_trial() -> bool {
    let sema = Arc::new(AtomicU32::new(0));
    let res = Arc::new(AtomicU32::new(0));
    let done: Chan<()> = Chan::new(0);
    // Keep the other Ps busy so that the releaser cannot win the race by
    // migrating to an idle CPU.
    let wg = Arc::new(WaitGroup::new());
    for _ in 0..gort::gomaxprocs(0) {
        let done = done.clone();
        wg.go(move || {
            loop {
                select! {
                    recv(done) -> _v => return,
                    default => {}
                }
                gort::gosched();
            }
        });
    }
    {
        let (sema, res, done) = (sema.clone(), res.clone(), done.clone());
        wg.go(move || {
            semacquire(&sema);
            let _ = res.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst);
            semrelease1(&sema, true);
            done.close();
        });
    }
    while sem_nwait(&sema) == 0 {
        gort::gosched(); // wait for the goroutine to block in semacquire
    }
    // The crux: release with hand-off, then race the waiter to the CAS.
    semrelease1(&sema, true);
    let _ = res.compare_exchange(0, 2, Ordering::SeqCst, Ordering::SeqCst);
    wg.wait();
    res.load(Ordering::SeqCst) == 1
}

// go-test: TestSemaHandoff (sema_test.go)
#[gort::test(both)]
unsafe fn test_sema_handoff() {
    sema_handoff_trials();
}

fn sema_handoff_trials() {
    const ITER: usize = 10000;
    let ok = (0..ITER).filter(|_| sema_handoff_trial()).count();
    // Two thirds direct hand-offs is the bar, as in Go (it is >90% there).
    assert!(ok >= ITER * 2 / 3, "direct handoff < 2/3: {ok} {ITER}");
}

// go-test: TestSemaHandoff1 (sema_test.go)
#[gort::test(both)]
unsafe fn test_sema_handoff1() {
    let prev = gort::gomaxprocs(1);
    sema_handoff_trials();
    gort::gomaxprocs(prev);
}

// go-test: TestSemaHandoff2 (sema_test.go)
// Go skips it at GOMAXPROCS <= 2; gort runs it whatever the machine has.
#[gort::test(both)]
unsafe fn test_sema_handoff2() {
    let prev = gort::gomaxprocs(2);
    sema_handoff_trials();
    gort::gomaxprocs(prev);
}
