//! Cross-check: goexit runs the goroutine's destructors (Go: deferred
//! calls) and skips the rest; other goroutines carry on.
//! Same synchronisation as the Go program (channels, not join handles).

/// The deferred call: prints, then tells main.
struct Deferred(gort::Chan<bool>);

impl Drop for Deferred {
    fn drop(&mut self) {
        println!("deferred");
        self.0.send(true);
    }
}

pub fn main() {
    crate::run(0, || {
        let done: gort::Chan<bool> = gort::Chan::new(0);
        let d = done.clone();
        gort::go(move || {
            let _d = Deferred(d);
            gort::goexit();
        });
        done.recv();
        println!("after");
    })
}
