//! Cross-check: waiting on the channel of a stopped timer, with nothing
//! else to run, is a deadlock.

use std::time::Duration;

pub fn main() {
    crate::run(0, || {
        let t = gort::time::Timer::new(Duration::from_secs(3600));
        t.stop();
        t.c().recv();
    })
}
