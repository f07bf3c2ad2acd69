//! Cross-check: main waits (a join is a one-shot channel receive) for a
//! goroutine that blocks forever.

pub fn main() {
    crate::run(0, || {
        let h = gort::spawn(|| runtime_p::block());
        h.join().unwrap();
    })
}
