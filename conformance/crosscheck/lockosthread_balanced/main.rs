//! Cross-check: lock_os_thread nests, unlock_os_thread undoes one level,
//! extra unlocks are no-ops, and a goroutine with balanced calls exits
//! normally.

pub fn main() {
    crate::run(0, || {
        gort::spawn(|| {
            gort::lock_os_thread();
            gort::lock_os_thread();
            gort::unlock_os_thread();
            gort::gosched();
            gort::unlock_os_thread();
            gort::unlock_os_thread();
            println!("balanced");
        })
        .join()
        .unwrap();
        // The joined goroutine may still be on its way out; Go's channel
        // send happens before its exit too, so count after it has gone.
        while gort::num_goroutine() > 1 {
            gort::gosched();
        }
        println!("{}", gort::num_goroutine());
    })
}
