//! Cross-check: locking a mutex twice with nothing else running.

pub fn main() {
    crate::run(0, || {
        let mu = gort::sync::RawMutex::new();
        mu.lock();
        mu.lock();
    })
}
