//! Cross-check: a panicking goroutine runs its destructors (Go: deferred
//! calls, innermost first) before the program dies with the panic report.
//! Same synchronisation as the Go program (channels, not join handles).

struct Deferred(&'static str);

impl Drop for Deferred {
    fn drop(&mut self) {
        println!("{}", self.0);
    }
}

pub fn main() {
    crate::run(0, || {
        let done: gort::Chan<bool> = gort::Chan::new(0);
        let d = done.clone();
        gort::go(move || {
            // Go's `done <- true` after the inner function is never
            // reached; the goroutine holds the channel all the same.
            let _done = d;
            let _outer = Deferred("outer deferred");
            // Go's inner `func() { … }()`.
            #[allow(clippy::redundant_closure_call)]
            (|| {
                let _inner = Deferred("inner deferred");
                panic!("boom in goroutine");
            })();
        });
        done.recv();
    })
}
