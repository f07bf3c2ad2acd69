//! A small program to look at in a trace viewer: a ping-pong over
//! unbuffered channels, workers contending for a Mutex, and sleepers.
//!
//! ```text
//! GORT_TRACE=trace.json cargo run --release -p gort --example trace
//! ```
//! then open `trace.json` in <https://ui.perfetto.dev> (or chrome://tracing).

use std::sync::Arc;
use std::time::Duration;

#[gort::main(gomaxprocs = 2)]
fn main() {
    // Ping-pong: two goroutines handing a counter back and forth.
    let ping: gort::Chan<u32> = gort::Chan::new(0);
    let pong: gort::Chan<u32> = gort::Chan::new(0);
    let (pi, po) = (ping.clone(), pong.clone());
    gort::go(move || {
        while let Some(v) = pi.recv() {
            po.send(v + 1);
        }
    });
    // Four workers contending for a Mutex, each sleeping a little between
    // turns.
    let mu = Arc::new(gort::sync::Mutex::new(0u64));
    let wg = Arc::new(gort::sync::WaitGroup::new());
    for w in 0..4u64 {
        let mu = mu.clone();
        wg.go(move || {
            for i in 0..20u64 {
                let mut g = mu.lock();
                // Hold the lock for a moment of real work.
                let mut x = *g;
                for k in 0..20_000u64 {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(k ^ w ^ i);
                }
                *g = x;
                drop(g);
                gort::time::sleep(Duration::from_micros(200 + 50 * w));
            }
        });
    }
    let mut v = 0;
    for _ in 0..200 {
        ping.send(v);
        v = pong.recv().unwrap();
    }
    ping.close();
    wg.wait();
    println!("ping-pong reached {v}; workers done");
}
