//! Cross-check: broadcast wakes every goroutine waiting on a Cond.

use std::sync::Arc;

use gort::sync::{Cond, Mutex, WaitGroup};

pub fn main() {
    crate::run(0, || {
        // (ready, woken), guarded as Go's counters are by mu.
        let mu = Arc::new(Mutex::new((0, 0)));
        let c = Arc::new(Cond::new());
        let wg = Arc::new(WaitGroup::new());
        for _ in 0..5 {
            wg.add(1);
            let (mu, c, wg) = (mu.clone(), c.clone(), wg.clone());
            gort::go(move || {
                let mut g = mu.lock();
                g.0 += 1;
                c.wait(&mut g);
                g.1 += 1;
                drop(g);
                wg.done();
            });
        }
        let g = loop {
            let g = mu.lock();
            if g.0 == 5 {
                break g;
            }
            drop(g);
            gort::gosched();
        };
        c.broadcast();
        drop(g);
        wg.wait();
        println!("woken: {}", mu.lock().1);
    })
}
