//! Cross-check: 10 levels of goroutines, each starting the next and waiting
//! for its result.

fn level(n: u32) -> u32 {
    if n == 10 {
        return n;
    }
    n + gort::spawn(move || level(n + 1)).join().unwrap()
}

pub fn main() {
    crate::run(0, || {
        println!("sum {}", gort::spawn(|| level(1)).join().unwrap());
    })
}
