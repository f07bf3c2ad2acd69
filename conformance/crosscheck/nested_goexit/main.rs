//! Cross-check: goexit deep in a call chain unwinds every frame's
//! destructors (Go: deferred calls), innermost first, and the goroutine's
//! creator carries on.
//! Same synchronisation as the Go program (channels, not join handles).

/// Go's `defer func() { done <- true }()`.
struct SendOnDrop(gort::Chan<bool>);

impl Drop for SendOnDrop {
    fn drop(&mut self) {
        self.0.send(true);
    }
}

struct Leave(u32);

impl Drop for Leave {
    fn drop(&mut self) {
        println!("leave {}", self.0);
    }
}

fn level(n: u32) {
    let _d = Leave(n);
    if n == 3 {
        gort::goexit();
    }
    level(n + 1);
    println!("unreachable {n}");
}

pub fn main() {
    crate::run(0, || {
        let done: gort::Chan<bool> = gort::Chan::new(0);
        let d = done.clone();
        gort::go(move || {
            let _done = SendOnDrop(d);
            level(1);
        });
        done.recv();
        println!("main carries on");
    })
}
