//! Cross-check: Stop and Reset results with Go 1.23 timer semantics.

use std::time::Duration;

use gort::time::{Timer, after_func, sleep};

pub fn main() {
    crate::run(0, || {
        let t = Timer::new(Duration::from_secs(3600));
        println!("len/cap {} {}", t.c().len(), t.c().cap());
        println!("stop active: {}", t.stop());
        println!("stop stopped: {}", t.stop());
        println!("reset stopped: {}", t.reset(Duration::from_millis(5)));
        t.c().recv();
        println!("fired");
        println!("reset fired: {}", t.reset(Duration::from_millis(1)));
        sleep(Duration::from_millis(20));
        println!("stop expired unread: {}", t.stop());
        gort::select! {
            recv(t.c()) -> _v => println!("stale value"),
            default => println!("no stale value"),
        }
        let fired: gort::Chan<bool> = gort::Chan::new(1);
        let f2 = fired.clone();
        let f = after_func(Duration::from_secs(3600), move || f2.send(true));
        println!("afterfunc stop: {}", f.stop());
        println!("afterfunc reset: {}", f.reset(Duration::from_millis(1)));
        println!("afterfunc ran: {}", fired.recv().unwrap());
    })
}
