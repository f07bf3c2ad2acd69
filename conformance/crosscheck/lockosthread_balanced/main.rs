//! Cross-check: lock_os_thread nests, unlock_os_thread undoes one level,
//! extra unlocks are no-ops, and a goroutine with balanced calls exits
//! normally.
//! Same synchronisation as the Go program (channels, not join handles).

pub fn main() {
    crate::run(0, || {
        let done: gort::Chan<bool> = gort::Chan::new(0);
        let d = done.clone();
        gort::go(move || {
            gort::lock_os_thread();
            gort::lock_os_thread();
            gort::unlock_os_thread();
            gort::gosched();
            gort::unlock_os_thread();
            gort::unlock_os_thread();
            println!("balanced");
            d.send(true);
        });
        done.recv();
        // The goroutine may still be on its way out after its send: count
        // after it has gone, as the Go twin does.
        while gort::num_goroutine() > 1 {
            gort::gosched();
        }
        println!("{}", gort::num_goroutine());
    })
}
