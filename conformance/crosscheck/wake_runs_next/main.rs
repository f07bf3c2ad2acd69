//! Cross-check: a goroutine woken by the one that finishes runs next
//! (runnext), ahead of older runnable goroutines: goroutine 1 never runs.

use std::sync::{Arc, Mutex};

pub fn main() {
    crate::run(1, || {
        let o = Arc::new(Mutex::new(Vec::<i32>::new()));
        let o1 = o.clone();
        gort::go(move || o1.lock().unwrap().push(1));
        let o2 = o.clone();
        gort::spawn(move || o2.lock().unwrap().push(2))
            .join()
            .unwrap();
        o.lock().unwrap().push(3);
        let v: Vec<String> = o.lock().unwrap().iter().map(|x| x.to_string()).collect();
        println!("[{}]", v.join(" "));
    })
}
