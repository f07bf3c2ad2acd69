//! Cross-check: a closed buffered channel delivers its values, then the zero
//! value with ok == false (None here).

pub fn main() {
    crate::run(0, || {
        let c = gort::Chan::new(4);
        c.send(10);
        c.send(20);
        c.send(30);
        c.close();
        println!("{} {}", c.len(), c.cap());
        for _ in 0..5 {
            match c.recv() {
                Some(v) => println!("{v} true"),
                None => println!("0 false"),
            }
        }
        println!("{} {}", c.len(), c.cap());
    })
}
