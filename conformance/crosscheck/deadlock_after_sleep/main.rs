//! Cross-check: a sleeping goroutine delays the deadlock report until it
//! has woken and finished.

use std::time::Duration;

pub fn main() {
    crate::run(0, || {
        let c: gort::Chan<i32> = gort::Chan::new(0);
        gort::go(|| {
            gort::time::sleep(Duration::from_millis(20));
            println!("slept");
        });
        c.recv();
    })
}
