//! Cross-check: a deferred call that recovers a panic and then calls
//! Goexit ends its goroutine quietly; main's Goexit then ends in Go's
//! deadlock report, exit 2. Go's deferred recover is gort::catch; the
//! Goexit comes while the recovered panic is still on the chain. (Goexit
//! in a deferred call that does not recover has no Rust form: a destructor
//! cannot end a Rust unwind; see crash.rs test_goexit_in_panic.)

pub fn main() {
    crate::run(0, || {
        gort::go(|| {
            let _recovered = gort::catch(|| panic!("hello"));
            gort::goexit();
        });
        gort::goexit();
    })
}
