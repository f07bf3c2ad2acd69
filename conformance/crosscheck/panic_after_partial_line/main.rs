//! Cross-check: a partial stdout line printed before a fatal panic is not
//! lost (std's stdout buffer is flushed on the fatal path).

pub fn main() {
    crate::run(0, || {
        print!("partial line, no newline");
        panic!("boom");
    })
}
