//! Cross-check: gomaxprocs(n) returns the previous value; 0 only reports.

pub fn main() {
    crate::run(2, || {
        println!("{}", gort::gomaxprocs(3));
        println!("{}", gort::gomaxprocs(0));
        println!("{}", gort::gomaxprocs(1));
        println!("{}", gort::gomaxprocs(0));
    })
}
