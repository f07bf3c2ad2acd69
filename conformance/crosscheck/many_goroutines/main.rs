//! Cross-check: 100,000 goroutines each compute a value; main sums them.

pub fn main() {
    crate::run(0, || {
        const N: u64 = 100_000;
        let hs: Vec<_> = (0..N)
            .map(|i| gort::spawn(move || i * i % 1_000_003))
            .collect();
        let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
        println!("goroutines {N} sum {sum}");
    })
}
