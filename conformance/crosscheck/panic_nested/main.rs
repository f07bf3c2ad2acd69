//! Cross-check: a panic while a panic unwinds (Rust: a destructor that
//! panics during the unwind) reports both values.

struct Deferred;

impl Drop for Deferred {
    fn drop(&mut self) {
        panic!("second");
    }
}

pub fn main() {
    crate::run(0, || {
        let _d = Deferred;
        panic!("first");
    })
}
