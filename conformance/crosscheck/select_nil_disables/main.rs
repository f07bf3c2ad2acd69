//! Cross-check: setting a case's channel to nil turns the case off.

use gort::{Chan, select};

pub fn main() {
    crate::run(0, || {
        let mut a: Chan<i32> = Chan::new(0);
        let mut b: Chan<i32> = Chan::new(0);
        let a2 = a.clone();
        gort::go(move || {
            for _ in 0..100 {
                a2.send(1);
            }
            a2.close();
        });
        let b2 = b.clone();
        gort::go(move || {
            for _ in 0..50 {
                b2.send(2);
            }
            b2.close();
        });
        let (mut na, mut nb) = (0, 0);
        while !a.is_nil() || !b.is_nil() {
            select! {
                recv(a) -> v => match v {
                    Some(v) => na += v,
                    None => a = Chan::nil(),
                },
                recv(b) -> v => match v {
                    Some(v) => nb += v,
                    None => b = Chan::nil(),
                },
            }
        }
        println!("{na} {nb}");
    })
}
