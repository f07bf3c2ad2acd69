//! Cross-check: Go 1.23's timer channels. A timer that fired but whose
//! value nobody received is still pending: stop says so and drops the
//! value; reset of a timer whose value was received reports it was not
//! pending.

use std::time::Duration;

pub fn main() {
    crate::run(0, || {
        let t = gort::time::Timer::new(Duration::from_millis(1));
        gort::time::sleep(Duration::from_millis(20));
        println!("stop: {}", t.stop());
        gort::select! {
            recv(t.c()) -> _v => println!("stale value"),
            default => println!("no stale value"),
        }
        println!("reset: {}", t.reset(Duration::from_millis(1)));
        t.c().recv();
        println!("fired");
        println!("reset after receive: {}", t.reset(Duration::from_secs(3600)));
        println!("stop: {}", t.stop());
    })
}
