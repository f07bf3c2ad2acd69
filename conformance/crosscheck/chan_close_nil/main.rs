//! Cross-check: closing a nil channel panics.

pub fn main() {
    crate::run(0, || {
        let c: gort::Chan<i32> = gort::Chan::nil();
        c.close();
    })
}
