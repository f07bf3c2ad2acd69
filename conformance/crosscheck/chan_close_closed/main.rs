//! Cross-check: closing a closed channel panics.

pub fn main() {
    crate::run(0, || {
        let c: gort::Chan<i32> = gort::Chan::new(0);
        c.close();
        c.close();
    })
}
