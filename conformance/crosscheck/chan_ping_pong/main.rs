//! Cross-check: two goroutines ping-pong a counter over unbuffered channels.

pub fn main() {
    crate::run(0, || {
        let ping: gort::Chan<i32> = gort::Chan::new(0);
        let pong: gort::Chan<i32> = gort::Chan::new(0);
        let (pi, po) = (ping.clone(), pong.clone());
        gort::go(move || {
            for v in &pi {
                po.send(v + 1);
            }
            po.close();
        });
        let mut v = 0;
        for _ in 0..10000 {
            ping.send(v);
            v = pong.recv().unwrap();
        }
        ping.close();
        let ok = pong.recv().is_some();
        println!("{v} {ok}");
    })
}
