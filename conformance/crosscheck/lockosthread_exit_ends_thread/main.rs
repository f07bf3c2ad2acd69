//! Cross-check: a goroutine that exits while locked to its thread takes the
//! thread with it (the thread ends; no other goroutine runs on it).

use std::time::Duration;

pub fn main() {
    crate::run(0, || {
        // Keeps the goroutine off the main thread, which Go would wedge
        // instead of ending.
        gort::lock_os_thread();
        let tids: gort::Chan<i32> = gort::Chan::new(0);
        let t = tids.clone();
        gort::go(move || {
            gort::lock_os_thread();
            // SAFETY: gettid(2) has no preconditions.
            t.send(unsafe { libc::gettid() });
        });
        let tid = tids.recv().unwrap();
        let mut gone = false;
        for _ in 0..200 {
            if gone {
                break;
            }
            gort::time::sleep(Duration::from_millis(10));
            gone = std::fs::metadata(format!("/proc/self/task/{tid}")).is_err();
        }
        println!("thread gone: {gone}");
    })
}
