//! Cross-check: eight producers, one consumer, a counting close.

pub fn main() {
    crate::run(0, || {
        let c: gort::Chan<i64> = gort::Chan::new(16);
        let done: gort::Chan<bool> = gort::Chan::new(0);
        for p in 0..8 {
            let (c, done) = (c.clone(), done.clone());
            gort::go(move || {
                for i in 0..1000 {
                    c.send(p * 1000 + i);
                }
                done.send(true);
            });
        }
        let (c2, d2) = (c.clone(), done.clone());
        gort::go(move || {
            for _ in 0..8 {
                d2.recv();
            }
            c2.close();
        });
        let (mut sum, mut n) = (0i64, 0);
        for v in &c {
            sum += v;
            n += 1;
        }
        println!("{n} {sum}");
    })
}
