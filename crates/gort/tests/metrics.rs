//! `gort::runtime::metrics()` (issue 9): the counts follow what the program
//! does.

use std::time::Duration;

#[test]
fn metrics_follow_the_program() {
    {
        gort::Builder::new().gomaxprocs(2).block_on(|| {
            let m0 = gort::runtime::metrics();
            assert_eq!(m0.procs, 2);
            assert_eq!(m0.local_runqueues.len(), 2);
            assert!(m0.threads >= 1, "{m0:?}");
            assert!(m0.goroutines >= 1, "{m0:?}");
            // Ten goroutines parked on a channel, one asleep.
            let c: gort::Chan<()> = gort::Chan::new(0);
            let wg = std::sync::Arc::new(gort::sync::WaitGroup::new());
            for _ in 0..10 {
                let c = c.clone();
                wg.go(move || {
                    c.recv();
                });
            }
            let sleeper = gort::spawn(|| gort::time::sleep(Duration::from_millis(200)));
            // Let them all reach their parks.
            while gort::runtime::metrics().parks < m0.parks + 11 {
                gort::time::sleep(Duration::from_millis(1));
            }
            let m1 = gort::runtime::metrics();
            assert!(m1.goroutines >= m0.goroutines + 11, "{m1:?}");
            assert!(m1.context_switches >= m0.context_switches + 11, "{m1:?}");
            assert!(m1.timers >= 1, "the sleeper's timer: {m1:?}");
            c.close();
            wg.wait();
            sleeper.join().unwrap();
            let m2 = gort::runtime::metrics();
            assert!(m2.goroutines <= m1.goroutines - 11, "{m1:?} then {m2:?}");
            assert!(m2.parks >= m1.parks, "counters never go back");
            assert!(m2.context_switches >= m1.context_switches);
        })
    }
}

#[test]
fn steals_are_counted() {
    {
        gort::Builder::new().gomaxprocs(2).block_on(|| {
            // Batches of busy goroutines on main's P: the other P's M finds
            // them by stealing. Retried because scheduling is not
            // deterministic; one batch is nearly always enough.
            for _ in 0..50 {
                let wg = std::sync::Arc::new(gort::sync::WaitGroup::new());
                for _ in 0..64 {
                    wg.go(|| {
                        let t = std::time::Instant::now();
                        while t.elapsed() < Duration::from_micros(50) {}
                    });
                }
                wg.wait();
                if gort::runtime::metrics().steals > 0 {
                    return;
                }
            }
            panic!("no steal in 50 batches: {:?}", gort::runtime::metrics());
        })
    }
}
