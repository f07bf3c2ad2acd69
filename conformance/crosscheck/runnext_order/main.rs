//! Cross-check: new goroutines go to runnext (the newest first), the older
//! ones to the local queue; gosched puts main on the global queue.

use std::sync::{Arc, Mutex};

pub fn main() {
    crate::run(1, || {
        let order = Arc::new(Mutex::new(Vec::new()));
        for n in ["A", "B", "C"] {
            let o = order.clone();
            gort::go(move || o.lock().unwrap().push(n));
        }
        gort::gosched();
        order.lock().unwrap().push("main");
        println!("[{}]", order.lock().unwrap().join(" "));
    })
}
