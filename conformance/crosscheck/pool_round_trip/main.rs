//! Cross-check: a sync::Pool round trip on one goroutine: the first put
//! fills the P's private slot, later ones its shared queue (taken back
//! last-in first-out), then `new` makes values; a pool without `new`
//! gives nothing (Go's nil).

use std::sync::atomic::{AtomicUsize, Ordering};

use gort::sync::Pool;

fn show<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or("<nil>".into(), |v| v.to_string())
}

pub fn main() {
    crate::run(0, || {
        let made = AtomicUsize::new(0);
        let p = Pool::with_new(|| format!("new{}", made.fetch_add(1, Ordering::SeqCst) + 1));
        // No output between the puts and the gets, as in the Go side
        // (there, a write may resume the goroutine on another P).
        for s in ["a", "b", "c"] {
            p.put(s.to_string());
        }
        let got: Vec<Option<String>> = (0..5).map(|_| p.get()).collect();
        for g in got {
            println!("get: {}", show(g));
        }
        let q: Pool<i32> = Pool::new();
        println!("without New: {}", show(q.get()));
        q.put(1);
        let (x, y) = (q.get(), q.get());
        println!("after a put: {} {}", show(x), show(y));
    })
}
