//! Cross-check: main waits (a join is a one-shot channel receive) for a
//! goroutine that blocks forever.
//! Same synchronisation as the Go program (channels, not join handles).

pub fn main() {
    crate::run(0, || {
        let c: gort::Chan<i32> = gort::Chan::new(0);
        let tx = c.clone();
        gort::go(move || {
            // Go's `c <- 1` after `select {}` is never reached; the
            // goroutine holds the channel all the same.
            let _c = tx;
            runtime_p::block();
        });
        c.recv();
    })
}
