//! Cross-check: a three-stage pipeline over unbuffered channels.

pub fn main() {
    crate::run(0, || {
        let gen_c: gort::Chan<i64> = gort::Chan::new(0);
        let sq: gort::Chan<i64> = gort::Chan::new(0);
        let g = gen_c.clone();
        gort::go(move || {
            for i in 1..=1000 {
                g.send(i);
            }
            g.close();
        });
        let (g, s) = (gen_c.clone(), sq.clone());
        gort::go(move || {
            for v in &g {
                s.send(v * v);
            }
            s.close();
        });
        let (mut sum, mut n) = (0i64, 0);
        for v in &sq {
            sum += v;
            n += 1;
        }
        println!("{n} {sum}");
    })
}
