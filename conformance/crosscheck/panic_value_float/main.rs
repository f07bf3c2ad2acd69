//! Cross-check: float panic values print in Go's shortest form.

pub fn main() {
    crate::run(0, || std::panic::panic_any(1234567.0f64))
}
