//! Cross-check: a goroutine woken by the one that finishes runs next
//! (runnext), ahead of older runnable goroutines: goroutine 1 never runs.
//! Same synchronisation as the Go program (channels, not join handles).

use std::sync::{Arc, Mutex};

pub fn main() {
    crate::run(1, || {
        let o = Arc::new(Mutex::new(Vec::<i32>::new()));
        let done: gort::Chan<bool> = gort::Chan::new(0);
        let o1 = o.clone();
        gort::go(move || o1.lock().unwrap().push(1));
        let (o2, d) = (o.clone(), done.clone());
        gort::go(move || {
            o2.lock().unwrap().push(2);
            d.send(true);
        });
        done.recv();
        o.lock().unwrap().push(3);
        let v: Vec<String> = o.lock().unwrap().iter().map(|x| x.to_string()).collect();
        println!("[{}]", v.join(" "));
    })
}
