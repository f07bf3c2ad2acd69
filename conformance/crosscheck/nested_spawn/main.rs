//! Cross-check: 10 levels of goroutines, each starting the next and waiting
//! for its result.
//! Same synchronisation as the Go program (channels, not join handles).

fn level(n: u32) -> u32 {
    if n == 10 {
        return n;
    }
    let c: gort::Chan<u32> = gort::Chan::new(0);
    let tx = c.clone();
    gort::go(move || tx.send(level(n + 1)));
    n + c.recv().unwrap()
}

pub fn main() {
    crate::run(0, || {
        let c: gort::Chan<u32> = gort::Chan::new(0);
        let tx = c.clone();
        gort::go(move || tx.send(level(1)));
        println!("sum {}", c.recv().unwrap());
    })
}
