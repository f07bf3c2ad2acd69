//! Cross-check: try_lock takes a free mutex and fails on a held one.

use gort::sync::RawMutex;

static MU: RawMutex = RawMutex::new();

pub fn main() {
    crate::run(0, || {
        println!("{}", MU.try_lock());
        println!("{}", MU.try_lock());
        MU.unlock();
        println!("{}", MU.try_lock());
        let done: gort::Chan<bool> = gort::Chan::new(0);
        let d = done.clone();
        gort::go(move || d.send(MU.try_lock()));
        println!("other goroutine: {}", done.recv().unwrap());
    })
}
