//! Cross-check: goexit deep in a call chain unwinds every frame's
//! destructors (Go: deferred calls), innermost first, and the goroutine's
//! creator carries on.

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
        let _ = gort::spawn(|| level(1)).join();
        println!("main carries on");
    })
}
