//! Cross-check: waiting on a Cond nobody will signal.

pub fn main() {
    crate::run(0, || {
        let m = gort::sync::Mutex::new(());
        let c = gort::sync::Cond::new();
        let mut g = m.lock();
        c.wait(&mut g);
    })
}
