//! Cross-check: Unlock of an RWMutex held for reading is a fatal error.

pub fn main() {
    crate::run(0, || {
        let mu = gort::sync::RawRwMutex::new();
        mu.rlock();
        mu.unlock();
    })
}
