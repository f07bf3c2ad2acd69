//! The main demo: 100,000 goroutines each compute the Collatz stopping time
//! of one number and hand it back through a JoinHandle; main adds them up
//! and checks the total against a sequential computation.
//!
//! Run: `cargo run --release -p gort --example demo`

use std::time::Instant;

const N: u64 = 100_000;

fn collatz_steps(mut n: u64) -> u64 {
    let mut steps = 0;
    while n != 1 {
        n = if n.is_multiple_of(2) {
            n / 2
        } else {
            3 * n + 1
        };
        steps += 1;
    }
    steps
}

#[gort::main]
fn main() {
    let start = Instant::now();
    let handles: Vec<_> = (1..=N)
        .map(|i| gort::spawn(move || collatz_steps(i)))
        .collect();
    let live = gort::num_goroutine();
    let total: u64 = handles
        .into_iter()
        .map(|h| h.join().expect("goroutine ended by goexit"))
        .sum();
    let elapsed = start.elapsed();

    let expected: u64 = (1..=N).map(collatz_steps).sum();
    println!("goroutines spawned:    {N}");
    println!(
        "live at peak:          {live} (GOMAXPROCS={})",
        gort::gomaxprocs(0)
    );
    println!("sum of Collatz steps:  {total}");
    println!("sequential check:      {expected}");
    println!(
        "elapsed:               {:.1} ms",
        elapsed.as_secs_f64() * 1e3
    );
    if total != expected {
        eprintln!("MISMATCH");
        gort::exit(1);
    }
    println!("OK");
}
