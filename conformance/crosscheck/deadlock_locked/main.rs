//! Cross-check: a thread-locked main goroutine blocked forever; the header
//! says "locked to thread", and locking does not hide the deadlock.

pub fn main() {
    crate::run(0, || {
        gort::lock_os_thread();
        runtime_p::block();
    })
}
