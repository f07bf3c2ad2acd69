//! Cross-check: ranging over a channel that is never closed.

pub fn main() {
    crate::run(0, || {
        let c = gort::Chan::new(0);
        let c2 = c.clone();
        gort::go(move || {
            for i in 0..3 {
                c2.send(i);
            }
        });
        for v in &c {
            println!("{v}");
        }
    })
}
