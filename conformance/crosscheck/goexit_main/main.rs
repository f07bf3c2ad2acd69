//! Cross-check: main calls goexit; the others finish; then the runtime
//! reports that no goroutines are left.

pub fn main() {
    crate::run(0, || {
        for _ in 0..3 {
            gort::go(gort::gosched);
        }
        gort::goexit();
    })
}
