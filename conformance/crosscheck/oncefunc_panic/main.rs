//! Cross-check: a panic in once_func's function comes back out of the call
//! re-raised (once_func recovers it to remember it): [recovered,
//! repanicked], exit 2.

pub fn main() {
    crate::run(0, || {
        let f = gort::sync::once_func(|| panic!("x"));
        f();
    })
}
