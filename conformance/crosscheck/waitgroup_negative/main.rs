//! Cross-check: a negative WaitGroup counter panics.

pub fn main() {
    crate::run(0, || {
        let wg = gort::sync::WaitGroup::new();
        wg.add(1);
        wg.done();
        wg.done();
    })
}
