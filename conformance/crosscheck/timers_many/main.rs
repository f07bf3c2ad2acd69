//! Cross-check: two thousand timers with deadlines spread over 50 ms each
//! fire once and never early; of a thousand more, the half that stop
//! reaches in time never run, and the other half all do.
//! Same synchronisation as the Go program (wait groups and atomics).

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use gort::time::{after_func, sleep};

pub fn main() {
    crate::run(0, || {
        const N: u64 = 2000;
        let wg = Arc::new(gort::sync::WaitGroup::new());
        let early = Arc::new(AtomicI32::new(0));
        let fired = Arc::new(AtomicI32::new(0));
        let start = Instant::now();
        for i in 0..N {
            let d = Duration::from_millis(i % 50);
            wg.add(1);
            let (wg, early, fired) = (wg.clone(), early.clone(), fired.clone());
            after_func(d, move || {
                if start.elapsed() < d {
                    early.fetch_add(1, Ordering::SeqCst);
                }
                fired.fetch_add(1, Ordering::SeqCst);
                wg.done();
            });
        }
        wg.wait();
        println!(
            "fired: {} early: {}",
            fired.load(Ordering::SeqCst),
            early.load(Ordering::SeqCst)
        );

        let ran = Arc::new(AtomicI32::new(0));
        let unstopped = Arc::new(gort::sync::WaitGroup::new());
        let mut ts = Vec::with_capacity(1000);
        for i in 0..1000u64 {
            if i % 2 == 1 {
                unstopped.add(1);
            }
            let (ran, unstopped) = (ran.clone(), unstopped.clone());
            ts.push(after_func(Duration::from_millis(500 + i % 50), move || {
                ran.fetch_add(1, Ordering::SeqCst);
                if i % 2 == 1 {
                    unstopped.done();
                }
            }));
        }
        let stopped = ts.iter().step_by(2).filter(|t| t.stop()).count();
        unstopped.wait();
        sleep(Duration::from_millis(100));
        println!("stopped: {stopped} ran: {}", ran.load(Ordering::SeqCst));
    })
}
