//! Cross-check: goexit runs the goroutine's destructors (Go: deferred
//! calls) and skips the rest; other goroutines carry on.

struct Deferred;

impl Drop for Deferred {
    fn drop(&mut self) {
        println!("deferred");
    }
}

pub fn main() {
    crate::run(0, || {
        let h = gort::spawn(|| {
            let _d = Deferred;
            gort::goexit();
        });
        let _ = h.join();
        println!("after");
    })
}
