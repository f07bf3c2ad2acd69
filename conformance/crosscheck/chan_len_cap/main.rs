//! Cross-check: len and cap of a buffered channel as it fills, drains and
//! closes; a closed, drained channel yields nothing (Go: the zero value
//! and false).

pub fn main() {
    crate::run(0, || {
        let c: gort::Chan<i32> = gort::Chan::new(3);
        println!("{} {}", c.len(), c.cap());
        c.send(1);
        c.send(2);
        println!("{} {}", c.len(), c.cap());
        c.recv();
        println!("{} {}", c.len(), c.cap());
        c.close();
        println!("{} {}", c.len(), c.cap());
        for _ in 0..2 {
            match c.recv() {
                Some(v) => println!("{v} true"),
                None => println!("0 false"),
            }
        }
        println!("{} {}", c.len(), c.cap());
    })
}
