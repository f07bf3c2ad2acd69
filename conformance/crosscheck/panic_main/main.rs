//! Cross-check: an unrecovered panic in main.

pub fn main() {
    crate::run(0, || panic!("boom"))
}
