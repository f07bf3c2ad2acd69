//! Cross-check: a receive from a nil channel blocks forever.

pub fn main() {
    crate::run(0, || {
        let c: gort::Chan<i32> = gort::Chan::nil();
        c.recv();
    })
}
