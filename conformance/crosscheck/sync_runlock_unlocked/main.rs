//! Cross-check: RUnlock of an unlocked RWMutex is a fatal error.

pub fn main() {
    crate::run(0, || gort::sync::RawRwMutex::new().runlock())
}
