//! Cross-check: a writer waiting for a reader that never leaves.

pub fn main() {
    crate::run(0, || {
        let mu = gort::sync::RawRwMutex::new();
        mu.rlock();
        mu.lock();
    })
}
