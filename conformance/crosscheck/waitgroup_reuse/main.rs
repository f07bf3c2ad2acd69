//! Cross-check: one WaitGroup waited on for three rounds of goroutines.

use std::sync::Arc;

pub fn main() {
    crate::run(0, || {
        let wg = Arc::new(gort::sync::WaitGroup::new());
        // Go's one mu across the rounds, guarding each round's sum.
        let sum = Arc::new(gort::sync::Mutex::new(0));
        for round in 1..=3 {
            *sum.lock() = 0;
            for i in 1..=5 {
                wg.add(1);
                let (wg, sum) = (wg.clone(), sum.clone());
                gort::go(move || {
                    *sum.lock() += i * round;
                    wg.done();
                });
            }
            wg.wait();
            println!("round {round} sum {}", *sum.lock());
        }
    })
}
