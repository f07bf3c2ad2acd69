//! Cross-check: at GOMAXPROCS=8, sixteen goroutines each locked to a
//! thread of its own and all blocked at once need sixteen Ms; each sums a
//! range, and main collects the sums once all have run.
//! Same synchronisation as the Go program (wait groups and a channel).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

pub fn main() {
    crate::run(8, || {
        const N: i64 = 16;
        let ready = Arc::new(gort::sync::WaitGroup::new());
        let done = Arc::new(gort::sync::WaitGroup::new());
        let sums: Arc<Vec<AtomicI64>> = Arc::new((0..N).map(|_| AtomicI64::new(0)).collect());
        let start: gort::Chan<bool> = gort::Chan::new(0);
        for i in 0..N {
            ready.add(1);
            done.add(1);
            let (ready, done, sums, start) = (ready.clone(), done.clone(), sums.clone(), start.clone());
            gort::go(move || {
                gort::lock_os_thread();
                ready.done();
                start.recv();
                let s: i64 = (i * 1000..(i + 1) * 1000).sum();
                sums[i as usize].store(s, Ordering::SeqCst);
                gort::unlock_os_thread();
                done.done();
            });
        }
        ready.wait();
        start.close();
        done.wait();
        let total: i64 = sums.iter().map(|s| s.load(Ordering::SeqCst)).sum();
        println!("goroutines: {N} total: {total}");
    })
}
