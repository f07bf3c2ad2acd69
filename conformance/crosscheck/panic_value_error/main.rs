//! Cross-check: an error panic value prints its Error() text.

pub fn main() {
    crate::run(0, || {
        let e: Box<dyn std::error::Error + Send + Sync> = "disk full".into();
        std::panic::panic_any(e)
    })
}
