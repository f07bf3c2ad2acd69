//! Cross-check: a ticker delivers ticks until stopped, and none after.

use std::time::Duration;

pub fn main() {
    crate::run(0, || {
        let t = gort::time::Ticker::new(Duration::from_millis(5));
        let mut n = 0;
        for _ in 0..5 {
            t.c().recv();
            n += 1;
        }
        t.stop();
        gort::time::sleep(Duration::from_millis(20));
        gort::select! {
            recv(t.c()) -> _v => println!("tick after stop"),
            default => {}
        }
        println!("{n} ticks; len/cap {} {}", t.c().len(), t.c().cap());
    })
}
