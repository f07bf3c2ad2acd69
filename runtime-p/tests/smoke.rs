use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

mod common;

#[test]
fn smoke() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    common::run(1, move || {
        for _ in 0..1000 {
            let n3 = n2.clone();
            runtime_p::newproc(Box::new(move || {
                n3.fetch_add(1, Ordering::Relaxed);
                runtime_p::gosched();
                n3.fetch_add(1, Ordering::Relaxed);
            }));
        }
        while n2.load(Ordering::Relaxed) < 2000 {
            runtime_p::gosched();
        }
    });
    assert_eq!(n.load(Ordering::Relaxed), 2000);
}
