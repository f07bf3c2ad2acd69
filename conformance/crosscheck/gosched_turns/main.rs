//! Cross-check: two goroutines and main taking turns through gosched on
//! one P.

pub fn main() {
    crate::run(1, || {
        let hs: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                gort::spawn(move || {
                    for i in 0..3 {
                        println!("{name} {i}");
                        gort::gosched();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        println!("main done");
    })
}
