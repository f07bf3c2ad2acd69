//! Cross-check: a select whose cases can never proceed.

pub fn main() {
    crate::run(0, || {
        let a: gort::Chan<i32> = gort::Chan::new(0);
        let b: gort::Chan<&str> = gort::Chan::new(0);
        gort::select! {
            recv(a) -> _v => {}
            send(b, "x") => {}
        }
    })
}
