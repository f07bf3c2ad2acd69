//! Cross-check: a channel timer nobody waits on does not hide a deadlock
//! (Go 1.23 timers).

use std::time::Duration;

pub fn main() {
    crate::run(0, || {
        let _t = gort::time::after(Duration::from_secs(3600));
        let c: gort::Chan<i32> = gort::Chan::new(0);
        c.recv();
    })
}
