//! Cross-check: a select over two closed channels picks each about half of
//! the time (select chooses uniformly among the cases that are ready).

pub fn main() {
    crate::run(0, || {
        let a: gort::Chan<i32> = gort::Chan::new(0);
        let b: gort::Chan<i32> = gort::Chan::new(0);
        a.close();
        b.close();
        let (mut na, mut nb) = (0, 0);
        for _ in 0..10000 {
            gort::select! {
                recv(a) -> _v => { na += 1; },
                recv(b) -> _v => { nb += 1; },
            }
        }
        println!("fair: {}", na > 4000 && nb > 4000);
    })
}
