//! Cross-check: num_goroutine is 1 at start and counts blocked goroutines.

pub fn main() {
    crate::run(0, || {
        println!("{}", gort::num_goroutine());
        for _ in 0..5 {
            gort::go(|| runtime_p::block());
        }
        gort::gosched();
        println!("{}", gort::num_goroutine());
    })
}
