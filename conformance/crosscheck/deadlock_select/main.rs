//! Cross-check: `select {}` (runtime block) in main with nothing else
//! alive is a deadlock.

pub fn main() {
    crate::run(0, || runtime_p::block())
}
