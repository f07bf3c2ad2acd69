//! Cross-check: 100,000 goroutines each compute a value; main sums them.
//! Same synchronisation as the Go program (a WaitGroup).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub fn main() {
    crate::run(0, || {
        const N: usize = 100_000;
        let res: Arc<Vec<AtomicU64>> = Arc::new((0..N).map(|_| AtomicU64::new(0)).collect());
        let wg = Arc::new(gort::sync::WaitGroup::new());
        for i in 0..N {
            wg.add(1);
            let (res, wg) = (res.clone(), wg.clone());
            gort::go(move || {
                let x = i as u64;
                res[i].store(x * x % 1_000_003, Ordering::Relaxed);
                wg.done();
            });
        }
        wg.wait();
        let sum: u64 = res.iter().map(|v| v.load(Ordering::Relaxed)).sum();
        println!("goroutines {N} sum {sum}");
    })
}
