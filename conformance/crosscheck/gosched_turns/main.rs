//! Cross-check: two goroutines taking turns through gosched on one P. Which
//! of the two starts first is up to the scheduler, so the program prints
//! whether they alternated, and the lines sorted.
//! Same synchronisation as the Go program (channels, not join handles).

use std::sync::Arc;

pub fn main() {
    crate::run(1, || {
        let seq = Arc::new(gort::sync::Mutex::new(Vec::<String>::new()));
        let done: gort::Chan<bool> = gort::Chan::new(0);
        for name in ["a", "b"] {
            let (seq, done) = (seq.clone(), done.clone());
            gort::go(move || {
                for i in 0..3 {
                    seq.lock().push(format!("{name} {i}"));
                    gort::gosched();
                }
                done.send(true);
            });
        }
        done.recv();
        done.recv();
        let mut seq = seq.lock().clone();
        let alternated = seq.windows(2).all(|w| w[0].as_bytes()[0] != w[1].as_bytes()[0]);
        println!("alternated: {alternated}");
        seq.sort();
        for s in &seq {
            println!("{s}");
        }
        println!("main done");
    })
}
