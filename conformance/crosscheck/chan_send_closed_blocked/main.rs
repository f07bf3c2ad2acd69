//! Cross-check: a sender parked on a channel panics when it is closed.

pub fn main() {
    crate::run(0, || {
        let c: gort::Chan<i32> = gort::Chan::new(0);
        let ready: gort::Chan<bool> = gort::Chan::new(0);
        let (c2, r2) = (c.clone(), ready.clone());
        gort::go(move || {
            r2.send(true);
            c2.send(1);
        });
        ready.recv();
        c.close();
        gort::select! {}
    })
}
