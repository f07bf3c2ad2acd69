//! Cross-check: an integer panic value prints as a number.

pub fn main() {
    crate::run(0, || std::panic::panic_any(42i64))
}
