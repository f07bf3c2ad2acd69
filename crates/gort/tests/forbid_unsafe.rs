//! A user crate that forbids `unsafe` can use `select!` (issue 17): the
//! macro's entry points are `unsafe fn`s, and the `unsafe` blocks of its
//! expansion, being an external macro's, do not trip the lint. If they
//! did, this file would not compile.
#![forbid(unsafe_code)]

use gort::Chan;

#[test]
fn select_compiles_and_runs_under_forbid_unsafe_code() {
    gort::Builder::new().block_on(|| {
        let a: Chan<u32> = Chan::new(1);
        let b: Chan<String> = Chan::new(1);
        b.send("hello".to_string());
        let mut got = Vec::new();
        for _ in 0..2 {
            gort::select! {
                send(a, 7) => got.push("sent".to_string()),
                recv(b) -> v => got.push(v.unwrap()),
            }
        }
        got.sort();
        assert_eq!(got, ["hello", "sent"]);
        let r = gort::select! {
            recv(a) -> v => v,
            default => None,
        };
        assert_eq!(r, Some(7));
    });
}
