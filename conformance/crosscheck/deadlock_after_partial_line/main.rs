//! Cross-check: a partial stdout line printed before a fatal error (a
//! deadlock) is not lost.

pub fn main() {
    crate::run(0, || {
        print!("waiting...");
        let c: gort::Chan<i32> = gort::Chan::new(0);
        c.recv();
    })
}
