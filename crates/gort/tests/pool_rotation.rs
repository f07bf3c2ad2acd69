//! `gort::sync::Pool`'s automatic rotation (Go's collector does it there):
//! a binary of its own, since the test shortens the process-wide period.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gort::sync::Pool;
use gort::time::sleep;

/// A value that counts its drops.
struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// With the period shortened, values nobody takes are dropped by later
/// puts, on the putting goroutine, without a call to `cleanup`.
#[gort::test(both)]
unsafe fn pool_rotates_on_its_own() {
    gort::sync::pool::set_cleanup_period(Duration::from_millis(1));
    let p: Pool<Counted> = Pool::new();
    let cln = Arc::new(AtomicUsize::new(0));
    for _ in 0..1000 {
        p.put(Counted(cln.clone()));
    }
    let t = Instant::now();
    while cln.load(Ordering::SeqCst) < 1000 && t.elapsed() < Duration::from_secs(10) {
        sleep(Duration::from_millis(2));
        for _ in 0..300 {
            p.put(Counted(cln.clone()));
        }
    }
    assert!(
        cln.load(Ordering::SeqCst) >= 1000,
        "the pool never rotated: {} values dropped",
        cln.load(Ordering::SeqCst)
    );
}
