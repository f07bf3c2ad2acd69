//! `gort::sync::Pool` beyond Go's own tests (those are in
//! conformance/tests/sync_test.rs). The automatic rotation is tested in
//! `pool_rotation.rs`, a binary of its own, since it shortens the
//! process-wide rotation period.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gort::sync::Pool;

/// Plain threads (no P) and goroutines share one pool: every value put
/// comes back exactly once, from either side.
#[gort::test(both)]
unsafe fn plain_threads_and_goroutines_share_a_pool() {
    let p: Arc<Pool<usize>> = Arc::new(Pool::new());
    let wg = Arc::new(gort::sync::WaitGroup::new());
    let got = Arc::new((0..40_000).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());
    let take = |p: &Pool<usize>, got: &[AtomicUsize]| {
        while let Some(v) = p.get() {
            got[v].fetch_add(1, Ordering::SeqCst);
        }
    };
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let (p, got) = (p.clone(), got.clone());
            std::thread::spawn(move || {
                for i in 0..10_000 {
                    p.put(t * 10_000 + i);
                    if i % 7 == 0 {
                        take(&p, &got);
                    }
                }
            })
        })
        .collect();
    for g in 2..4 {
        wg.add(1);
        let (p, got, wg) = (p.clone(), got.clone(), wg.clone());
        gort::go(move || {
            for i in 0..10_000 {
                p.put(g * 10_000 + i);
                if i % 7 == 0 {
                    take(&p, &got);
                }
            }
            wg.done();
        });
    }
    wg.wait();
    for t in threads {
        gort::syscall::blocking(|| t.join()).unwrap();
    }
    take(&p, &got);
    // What is left sits in private slots of Ps this goroutine is not on.
    let left: Vec<usize> = got
        .iter()
        .enumerate()
        .filter(|(_, c)| c.load(Ordering::SeqCst) != 1)
        .map(|(i, _)| i)
        .collect();
    assert!(
        got.iter().all(|c| c.load(Ordering::SeqCst) <= 1),
        "a value came back twice"
    );
    assert!(left.len() <= 4, "values lost: {left:?}");
}
