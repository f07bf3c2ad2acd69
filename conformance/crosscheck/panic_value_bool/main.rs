//! Cross-check: a bool panic value, from a goroutine.

pub fn main() {
    crate::run(0, || {
        let done: gort::Chan<bool> = gort::Chan::new(0);
        gort::go(|| std::panic::panic_any(true));
        done.recv();
    })
}
