//! Cross-check: a channel buffer that cannot exist panics.

pub fn main() {
    crate::run(0, || {
        let n = 1usize << 62;
        let _c: gort::Chan<i64> = gort::Chan::new(n);
    })
}
