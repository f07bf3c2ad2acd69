//! Cross-check: non-blocking operations through select with default.

use gort::select;

pub fn main() {
    crate::run(0, || {
        let c = gort::Chan::new(1);
        for i in 0..3 {
            select! {
                send(c, i) => println!("sent {i}"),
                default => println!("full {i}"),
            }
        }
        for _ in 0..2 {
            select! {
                recv(c) -> v => println!("got {}", v.unwrap()),
                default => println!("empty"),
            }
        }
        c.close();
        select! {
            recv(c) -> v => match v {
                Some(v) => println!("closed {v} true"),
                None => println!("closed 0 false"),
            },
            default => println!("not ready"),
        }
        let nilc: gort::Chan<i32> = gort::Chan::nil();
        select! {
            recv(nilc) -> _v => println!("nil ready?"),
            default => println!("nil never ready"),
        }
    })
}
