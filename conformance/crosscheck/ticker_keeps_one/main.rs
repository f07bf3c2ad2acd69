//! Cross-check: a ticker nobody reads keeps one tick for its reader and
//! drops the rest (Go 1.23's timer channels).

use std::time::Duration;

pub fn main() {
    crate::run(0, || {
        let t = gort::time::Ticker::new(Duration::from_millis(100));
        gort::time::sleep(Duration::from_secs(1));
        let mut n = 0;
        loop {
            gort::select! {
                recv(t.c()) -> _v => { n += 1; continue; },
                default => {},
            }
            break;
        }
        t.stop();
        println!("ticks waiting: {n}");
    })
}
