//! Negative fixture of the harness itself: deliberately wrong (exits 0
//! where Go panics with status 2); the harness must catch it.

pub fn main() {
    crate::run(0, || {})
}
