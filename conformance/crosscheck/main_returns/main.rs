//! Cross-check: main returning ends the program at once, exit 0, while
//! another goroutine still runs.
//! Same synchronisation as the Go program (channels, not join handles).

pub fn main() {
    crate::run(1, || {
        gort::go(|| {
            loop {
                gort::gosched();
            }
        });
        let c: gort::Chan<i32> = gort::Chan::new(0);
        let tx = c.clone();
        gort::go(move || tx.send(21 * 2));
        println!("answer {}", c.recv().unwrap());
    })
}
