//! Cross-check (testprog ThreadExhaustion): locked goroutines each hold a
//! thread; going over set_max_threads ends the program. The same
//! synchronisation as Go's: an unbuffered channel each goroutine sends on
//! once it holds its thread.

pub fn main() {
    crate::run(0, || {
        gort::set_max_threads(10);
        let c = gort::Chan::<i32>::new(0);
        for _ in 0..100 {
            let tx = c.clone();
            gort::go(move || {
                gort::lock_os_thread();
                tx.send(0);
                // Go's `select {}`.
                runtime_p::block();
            });
            c.recv();
        }
    })
}
