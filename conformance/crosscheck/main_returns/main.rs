//! Cross-check: main returning ends the program at once, exit 0, while
//! another goroutine still runs.

pub fn main() {
    crate::run(1, || {
        gort::go(|| {
            loop {
                gort::gosched();
            }
        });
        let h = gort::spawn(|| 21 * 2);
        println!("answer {}", h.join().unwrap());
    })
}
