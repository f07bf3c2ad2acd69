//! Cross-check (testprog ThreadExhaustion): locked goroutines each hold a
//! thread; going over set_max_threads ends the program.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn main() {
    crate::run(0, || {
        gort::set_max_threads(10);
        let started = Arc::new(AtomicUsize::new(0));
        for i in 0..100 {
            let s = started.clone();
            gort::go(move || {
                gort::lock_os_thread();
                s.fetch_add(1, Ordering::Release);
                runtime_p::block();
            });
            while started.load(Ordering::Acquire) <= i {
                gort::gosched();
            }
        }
    })
}
