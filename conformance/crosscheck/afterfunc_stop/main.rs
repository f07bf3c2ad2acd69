//! Cross-check: stopping an after_func timer before it fires keeps its
//! function from running; once it ran, stop reports false.

use std::time::Duration;

pub fn main() {
    crate::run(0, || {
        let ran: gort::Chan<&'static str> = gort::Chan::new(2);
        let r = ran.clone();
        let t = gort::time::after_func(Duration::from_secs(3600), move || r.send("late"));
        println!("stop: {}", t.stop());
        let r = ran.clone();
        let t2 = gort::time::after_func(Duration::from_millis(1), move || r.send("soon"));
        println!("ran: {}", ran.recv().unwrap());
        println!("stop after it ran: {}", t2.stop());
        gort::select! {
            recv(ran) -> s => println!("also ran: {}", s.unwrap()),
            recv(gort::time::after(Duration::from_millis(50))) -> _v => println!("nothing else ran"),
        }
    })
}
