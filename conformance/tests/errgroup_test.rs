//! Port of `golang.org/x/sync/errgroup/errgroup_test.go` and
//! `golang.org/x/sync/semaphore/semaphore_test.go` (gort::sync::errgroup,
//! gort::sync::semaphore). Go compares errors by identity; here each error
//! is a `Cause` (`Arc<dyn Error>`) compared with `Arc::ptr_eq`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use gort::context::{self, Cause, background};
use gort::sync::WaitGroup;
use gort::sync::errgroup::Group;
use gort::sync::semaphore::Weighted;
use gort::time::sleep;
use gort::{Chan, select};

fn err(msg: &str) -> Cause {
    Arc::new(std::io::Error::other(msg.to_string()))
}

fn same(a: &Result<(), Cause>, b: &Option<Cause>) -> bool {
    match (a, b) {
        (Ok(()), None) => true,
        (Err(x), Some(y)) => Arc::ptr_eq(x, y),
        _ => false,
    }
}

// go-test: TestZeroGroup (errgroup_test.go)
#[gort::test(both)]
unsafe fn test_zero_group() {
    let err1 = err("errgroup_test: 1");
    let err2 = err("errgroup_test: 2");
    let cases: Vec<Vec<Option<Cause>>> = vec![
        vec![],
        vec![None],
        vec![Some(err1.clone())],
        vec![Some(err1.clone()), None],
        vec![Some(err1.clone()), None, Some(err2.clone())],
    ];
    for errs in cases {
        let g: Group = Group::new();
        let mut first: Option<Cause> = None;
        for (i, e) in errs.iter().enumerate() {
            let e2 = e.clone();
            g.go(move || match e2 {
                Some(e) => Err(e),
                None => Ok(()),
            });
            if first.is_none() && e.is_some() {
                first = e.clone();
            }
            let got = g.wait();
            assert!(
                same(&got, &first),
                "after {} calls: g.wait() = {got:?}; want {first:?}",
                i + 1
            );
        }
    }
}

// go-test: TestWithContext (errgroup_test.go)
#[gort::test(both)]
unsafe fn test_with_context() {
    let doom = err("group_test: doomed");
    let cases: Vec<(Vec<Option<Cause>>, Option<Cause>)> = vec![
        (vec![], None),
        (vec![None], None),
        (vec![Some(doom.clone())], Some(doom.clone())),
        (vec![Some(doom.clone()), None], Some(doom.clone())),
    ];
    for (errs, want) in cases {
        let (g, ctx) = Group::<Cause>::with_context(&background());
        for e in errs {
            g.go(move || e.map_or(Ok(()), Err));
        }
        let got = g.wait();
        assert!(same(&got, &want), "g.wait() = {got:?}; want {want:?}");
        let cancelled = select! {
            recv(ctx.done()) -> _v => true,
            default => false,
        };
        assert!(cancelled, "ctx.Done() was not closed");
    }
}

// go-test: TestTryGo (errgroup_test.go)
#[gort::test(both)]
unsafe fn test_try_go() {
    let g: Group = Group::new();
    let n = 42;
    g.set_limit(Some(42));
    let ch: Chan<()> = Chan::new(0);
    let f = {
        let ch = ch.clone();
        move || {
            let ch = ch.clone();
            move || -> Result<(), Cause> {
                ch.send(());
                Ok(())
            }
        }
    };
    for i in 0..n {
        assert!(
            g.try_go(f()),
            "TryGo should succeed but got fail at {i}-th call."
        );
    }
    assert!(!g.try_go(f()), "TryGo is expected to fail but succeeded.");
    let c = ch.clone();
    gort::go(move || {
        for _ in 0..n {
            c.recv();
        }
    });
    g.wait().unwrap();

    assert!(g.try_go(f()), "TryGo should succeed after all goroutines.");
    let c = ch.clone();
    gort::go(move || {
        c.recv();
    });
    g.wait().unwrap();

    // Switch limit.
    g.set_limit(Some(1));
    assert!(g.try_go(f()), "TryGo should succeed but got failed.");
    assert!(!g.try_go(f()), "TryGo should fail but succeeded.");
    let c = ch.clone();
    gort::go(move || {
        c.recv();
    });
    g.wait().unwrap();

    // Block all calls.
    g.set_limit(Some(0));
    for _ in 0..1 << 10 {
        assert!(!g.try_go(f()), "TryGo should fail but got succeeded.");
    }
    g.wait().unwrap();
}

// go-test: TestGoLimit (errgroup_test.go)
#[gort::test(both, gomaxprocs = 2)]
unsafe fn test_go_limit() {
    const LIMIT: i32 = 10;
    let g: Group = Group::new();
    g.set_limit(Some(LIMIT as usize));
    let active = Arc::new(AtomicI32::new(0));
    for _ in 0..=1 << 10 {
        let active = active.clone();
        g.go(move || {
            let n = active.fetch_add(1, Ordering::SeqCst) + 1;
            if n > LIMIT {
                return Err(err(&format!("saw {n} active goroutines; want ≤ {LIMIT}")));
            }
            sleep(Duration::from_micros(1)); // let others increment active
            active.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        });
    }
    if let Err(e) = g.wait() {
        panic!("{e}");
    }
}

// go-test: TestCancelCause (errgroup_test.go)
#[gort::test(both)]
unsafe fn test_cancel_cause() {
    let doom = err("group_test: doomed");
    let cases: Vec<(Vec<Option<Cause>>, Option<Cause>)> = vec![
        (vec![], None),
        (vec![None], None),
        (vec![Some(doom.clone())], Some(doom.clone())),
        (vec![Some(doom.clone()), None], Some(doom.clone())),
    ];
    for (errs, want) in cases {
        let (g, ctx) = Group::<Cause>::with_context(&background());
        for e in errs {
            g.try_go(move || e.map_or(Ok(()), Err));
        }
        let got = g.wait();
        assert!(same(&got, &want), "g.wait() = {got:?}; want {want:?}");
        let c = context::cause(&ctx).expect("the context ended");
        match want {
            Some(w) => assert!(Arc::ptr_eq(&c, &w), "context.Cause(ctx) = {c}; want {w}"),
            None => assert_eq!(
                c.downcast_ref::<context::Error>(),
                Some(&context::Error::Canceled),
                "context.Cause(ctx) = {c}"
            ),
        }
    }
}

/// Not in Go's tests: setting a limit while goroutines run panics with
/// Go's message; removing it (Go's negative limit) does not.
#[gort::test(both)]
unsafe fn set_limit_while_active_panics() {
    let g: Group = Group::new();
    g.set_limit(Some(2));
    let ch: Chan<()> = Chan::new(0);
    let c = ch.clone();
    g.go(move || {
        c.recv();
        Ok(())
    });
    let g2 = g.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g2.set_limit(Some(3))));
    let msg = r.expect_err("set_limit should panic");
    assert_eq!(
        msg.downcast_ref::<String>().map(String::as_str),
        Some("errgroup: modify limit while 1 goroutines in the group are still active")
    );
    g.set_limit(None);
    ch.send(());
    g.wait().unwrap();
}

const MAX_SLEEP: Duration = Duration::from_millis(1);

fn hammer_weighted(sem: &Weighted, n: i64, loops: usize, seed: u64) {
    let mut x = seed | 1;
    for _ in 0..loops {
        sem.acquire(&background(), n).unwrap();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sleep(Duration::from_nanos(x % MAX_SLEEP.as_nanos() as u64));
        sem.release(n);
    }
}

// go-test: TestWeighted (semaphore_test.go)
#[gort::test(both, gomaxprocs = 2)]
unsafe fn test_weighted() {
    let n = gort::Handle::current().gomaxprocs();
    let loops = 10000 / n;
    let sem = Arc::new(Weighted::new(n as i64));
    let wg = Arc::new(WaitGroup::new());
    wg.add(n as i32);
    for i in 0..n {
        let (sem, wg) = (sem.clone(), wg.clone());
        gort::go(move || {
            hammer_weighted(&sem, i as i64, loops, i as u64 + 7);
            wg.done();
        });
    }
    wg.wait();
}

// go-test: TestWeightedPanic (semaphore_test.go)
#[gort::test(both)]
unsafe fn test_weighted_panic() {
    let w = Weighted::new(1);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.release(1)));
    assert!(
        r.is_err(),
        "release of an unacquired weighted semaphore did not panic"
    );
}

// go-test: TestWeightedTryAcquire (semaphore_test.go)
#[gort::test(both)]
unsafe fn test_weighted_try_acquire() {
    let ctx = background();
    let sem = Weighted::new(2);
    let mut tries = vec![];
    sem.acquire(&ctx, 1).unwrap();
    tries.push(sem.try_acquire(1));
    tries.push(sem.try_acquire(1));
    sem.release(2);
    tries.push(sem.try_acquire(1));
    sem.acquire(&ctx, 1).unwrap();
    tries.push(sem.try_acquire(1));
    assert_eq!(tries, [true, false, true, false]);
}

// go-test: TestWeightedAcquire (semaphore_test.go)
#[gort::test(both)]
unsafe fn test_weighted_acquire() {
    let ctx = background();
    let sem = Weighted::new(2);
    let try_acquire = |n: i64| {
        let (ctx, cancel) = context::with_timeout(&ctx, Duration::from_millis(10));
        let ok = sem.acquire(&ctx, n).is_ok();
        cancel.cancel();
        ok
    };
    let mut tries = vec![];
    sem.acquire(&ctx, 1).unwrap();
    tries.push(try_acquire(1));
    tries.push(try_acquire(1));
    sem.release(2);
    tries.push(try_acquire(1));
    sem.acquire(&ctx, 1).unwrap();
    tries.push(try_acquire(1));
    assert_eq!(tries, [true, false, true, false]);
}

// go-test: TestWeightedDoesntBlockIfTooBig (semaphore_test.go)
#[gort::test(both)]
unsafe fn test_weighted_doesnt_block_if_too_big() {
    const N: i64 = 2;
    let sem = Arc::new(Weighted::new(N));
    let (ctx, cancel) = context::with_cancel(&background());
    {
        let sem = sem.clone();
        gort::go(move || {
            let _ = sem.acquire(&ctx, N + 1);
        });
    }
    let (g, ctx) = Group::<context::Error>::with_context(&background());
    for _ in 0..N * 3 {
        let (sem, ctx) = (sem.clone(), ctx.clone());
        g.go(move || {
            sem.acquire(&ctx, 1)?;
            sleep(Duration::from_millis(1));
            sem.release(1);
            Ok(())
        });
    }
    assert!(
        g.wait().is_ok(),
        "Weighted::new({N}) failed to acquire(_, 1) with acquire(_, {}) pending",
        N + 1
    );
    cancel.cancel();
}

// go-test: TestLargeAcquireDoesntStarve (semaphore_test.go)
// Returning is success (Go's test times out otherwise).
#[gort::test(both, gomaxprocs = 2)]
unsafe fn test_large_acquire_doesnt_starve() {
    let ctx = background();
    let n = gort::Handle::current().gomaxprocs() as i64;
    let sem = Arc::new(Weighted::new(n));
    let running = Arc::new(AtomicBool::new(true));
    let wg = Arc::new(WaitGroup::new());
    wg.add(n as i32);
    for _ in 0..n {
        sem.acquire(&ctx, 1).unwrap();
        let (sem, running, wg, ctx) = (sem.clone(), running.clone(), wg.clone(), ctx.clone());
        gort::go(move || {
            while running.load(Ordering::SeqCst) {
                sleep(Duration::from_millis(1));
                sem.release(1);
                sem.acquire(&ctx, 1).unwrap();
            }
            sem.release(1);
            wg.done();
        });
    }
    sem.acquire(&ctx, n).unwrap();
    running.store(false, Ordering::SeqCst);
    sem.release(n);
    wg.wait();
}

// go-test: TestAllocCancelDoesntStarve (semaphore_test.go)
#[gort::test(both)]
unsafe fn test_alloc_cancel_doesnt_starve() {
    let sem = Arc::new(Weighted::new(10));
    // Hold one read lock.
    sem.acquire(&background(), 1).unwrap();
    let failed = Arc::new(AtomicBool::new(false));
    {
        let (sem, failed) = (sem.clone(), failed.clone());
        gort::go(move || {
            // A write lock request that gives up after 300 ms.
            let (ctx, cancel) = context::with_timeout(&background(), Duration::from_millis(300));
            if sem.acquire(&ctx, 10).is_ok() {
                failed.store(true, Ordering::SeqCst);
            }
            cancel.cancel();
        });
    }
    // Long enough for the write request to queue.
    sleep(Duration::from_millis(100));
    let done: Chan<()> = Chan::new(0);
    {
        let (sem, done) = (sem.clone(), done.clone());
        gort::go(move || {
            // Queued behind the write request, and woken when it gives up.
            sem.acquire(&background(), 1).unwrap();
            sem.release(1);
            done.close();
        });
    }
    select! {
        recv(done) -> _v => {}
        recv(gort::time::after(Duration::from_secs(1))) -> _v => panic!("the read lock was starved"),
    }
    assert!(!failed.load(Ordering::SeqCst), "the write lock was granted");
}

// go-test: TestWeightedAcquireCanceled (semaphore_test.go)
// go.dev/issue/63615: a cancel that comes before the weight does wins.
#[gort::test(both, gomaxprocs = 2)]
unsafe fn test_weighted_acquire_canceled() {
    let sem = Arc::new(Weighted::new(2));
    let (ctx, cancel) = context::with_cancel(&background());
    sem.acquire(&background(), 1).unwrap();
    let ch: Chan<()> = Chan::new(0);
    {
        let (sem, ch) = (sem.clone(), ch.clone());
        gort::go(move || {
            // Synchronise with the acquire of 2 below (queued: try fails).
            while sem.try_acquire(1) {
                sem.release(1);
            }
            // Cancel, then give the weight back.
            cancel.cancel();
            sem.release(1);
            ch.close();
        });
    }
    // The cancel comes before enough weight is free: this must fail.
    assert_eq!(
        sem.acquire(&ctx, 2),
        Err(context::Error::Canceled),
        "acquire with a canceled context returned the wrong result"
    );
    // Two units are free once the other goroutine released the one held.
    ch.recv();
    assert!(
        sem.try_acquire(2),
        "try_acquire after a canceled acquire failed"
    );
    // An ended context does not acquire even when it would not wait.
    sem.release(2);
    assert!(
        sem.acquire(&ctx, 1).is_err(),
        "acquire with a canceled context succeeded"
    );
}
