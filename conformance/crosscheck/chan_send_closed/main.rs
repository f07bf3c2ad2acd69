//! Cross-check: a send on a closed channel panics.

pub fn main() {
    crate::run(0, || {
        let c = gort::Chan::new(1);
        c.close();
        c.send(1);
    })
}
