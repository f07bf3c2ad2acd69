//! Cross-check: close wakes every parked receiver with ok == false.

pub fn main() {
    crate::run(0, || {
        let c: gort::Chan<i32> = gort::Chan::new(0);
        let res: gort::Chan<bool> = gort::Chan::new(0);
        for _ in 0..5 {
            let (c, res) = (c.clone(), res.clone());
            gort::go(move || {
                let ok = c.recv().is_some();
                res.send(ok);
            });
        }
        while gort::num_goroutine() < 6 {
            gort::gosched();
        }
        c.close();
        let mut nok = 0;
        for _ in 0..5 {
            if !res.recv().unwrap() {
                nok += 1;
            }
        }
        println!("{nok} woken by close");
    })
}
