//! Cross-check: a Stringer panic value prints its String() text (Rust:
//! a Display value raised with gort::panic_display).

struct Celsius(f64);

impl std::fmt::Display for Celsius {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "too hot: {}C", self.0)
    }
}

pub fn main() {
    crate::run(0, || gort::panic_display(Celsius(451.0)))
}
