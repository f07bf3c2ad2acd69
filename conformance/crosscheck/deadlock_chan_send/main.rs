//! Cross-check: main sends on a channel nobody receives from.

pub fn main() {
    crate::run(0, || {
        let c = gort::Chan::new(0);
        c.send(1);
    })
}
