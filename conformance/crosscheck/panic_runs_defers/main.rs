//! Cross-check: a panicking goroutine runs its destructors (Go: deferred
//! calls, innermost first) before the program dies with the panic report.

struct Deferred(&'static str);

impl Drop for Deferred {
    fn drop(&mut self) {
        println!("{}", self.0);
    }
}

pub fn main() {
    crate::run(0, || {
        let h = gort::spawn(|| {
            let _outer = Deferred("outer deferred");
            {
                let _inner = Deferred("inner deferred");
                panic!("boom in goroutine");
            }
        });
        let _ = h.join();
    })
}
