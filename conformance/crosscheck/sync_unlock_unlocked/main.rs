//! Cross-check: unlocking an unlocked sync.Mutex is a fatal error.

pub fn main() {
    crate::run(0, || {
        let mu = gort::sync::RawMutex::new();
        mu.lock();
        mu.unlock();
        mu.unlock();
    })
}
