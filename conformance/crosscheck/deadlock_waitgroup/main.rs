//! Cross-check: waiting on a WaitGroup nobody will finish.

pub fn main() {
    crate::run(0, || {
        let wg = gort::sync::WaitGroup::new();
        wg.add(1);
        wg.wait();
    })
}
