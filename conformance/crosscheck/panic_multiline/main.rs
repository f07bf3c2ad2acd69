//! Cross-check: continuation lines of a panic message are indented by a tab.

pub fn main() {
    crate::run(0, || panic!("line1\nline2"))
}
