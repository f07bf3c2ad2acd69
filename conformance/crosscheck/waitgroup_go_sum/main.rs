//! Cross-check: WaitGroup.Go and a mutex-protected sum.

use std::sync::Arc;

pub fn main() {
    crate::run(0, || {
        let wg = Arc::new(gort::sync::WaitGroup::new());
        let sum = Arc::new(gort::sync::Mutex::new(0));
        for i in 1..=100 {
            let sum = sum.clone();
            wg.go(move || *sum.lock() += i);
        }
        wg.wait();
        println!("{}", *sum.lock());
    })
}
