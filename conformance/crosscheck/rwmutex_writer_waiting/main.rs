//! Cross-check: a writer waiting for an RWMutex keeps new readers out
//! (try_rlock fails) until it has had its turn.

use std::time::Duration;

use gort::sync::RawRwMutex;

static RW: RawRwMutex = RawRwMutex::new();

pub fn main() {
    crate::run(0, || {
        RW.rlock();
        let done: gort::Chan<bool> = gort::Chan::new(0);
        let d = done.clone();
        gort::go(move || {
            RW.lock();
            RW.unlock();
            d.send(true);
        });
        // Long enough for the writer to be waiting.
        gort::time::sleep(Duration::from_millis(200));
        println!("reader while a writer waits: {}", RW.try_rlock());
        RW.runlock();
        done.recv();
        println!("writer done");
        println!("reader after: {}", RW.try_rlock());
    })
}
