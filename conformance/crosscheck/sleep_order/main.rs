//! Cross-check: goroutines sleeping different durations wake in order.

use std::time::Duration;

pub fn main() {
    crate::run(0, || {
        let c: gort::Chan<u64> = gort::Chan::new(0);
        for ms in [50u64, 10, 40, 20, 30] {
            let c = c.clone();
            gort::go(move || {
                gort::time::sleep(Duration::from_millis(ms));
                c.send(ms);
            });
        }
        for _ in 0..5 {
            println!("{}", c.recv().unwrap());
        }
    })
}
