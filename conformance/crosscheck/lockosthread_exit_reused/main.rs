//! Cross-check: goroutines that exit while locked to their threads do not
//! stop the program: the threads end (Go on Linux; Go's Plan 9 port keeps
//! them), and the work after them runs either way.
//! Same synchronisation as the Go program (channels).

pub fn main() {
    crate::run(0, || {
        gort::lock_os_thread();
        let done: gort::Chan<i32> = gort::Chan::new(0);
        for i in 0..4 {
            let d = done.clone();
            gort::go(move || {
                gort::lock_os_thread();
                d.send(i);
            });
            println!("exited locked: {}", done.recv().unwrap());
        }
        let results: gort::Chan<i32> = gort::Chan::new(0);
        for i in 0..8 {
            let r = results.clone();
            gort::go(move || r.send(i * i));
        }
        let mut sum = 0;
        for _ in 0..8 {
            sum += results.recv().unwrap();
        }
        println!("sum after: {sum}");
    })
}
