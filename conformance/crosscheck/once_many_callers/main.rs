//! Cross-check: ten goroutines call Once's call; the function runs once
//! and every caller returns after it finished.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

static ONCE: gort::sync::Once = gort::sync::Once::new();

pub fn main() {
    crate::run(0, || {
        let calls = Arc::new(AtomicI32::new(0));
        let after = Arc::new(AtomicI32::new(0));
        let wg = Arc::new(gort::sync::WaitGroup::new());
        for _ in 0..10 {
            wg.add(1);
            let (calls, after, wg) = (calls.clone(), after.clone(), wg.clone());
            gort::go(move || {
                ONCE.call(|| {
                    calls.fetch_add(1, Ordering::SeqCst);
                });
                if calls.load(Ordering::SeqCst) == 1 {
                    after.fetch_add(1, Ordering::SeqCst);
                }
                wg.done();
            });
        }
        wg.wait();
        println!(
            "calls: {} returned after it: {}",
            calls.load(Ordering::SeqCst),
            after.load(Ordering::SeqCst)
        );
    })
}
