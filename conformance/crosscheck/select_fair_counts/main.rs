//! Cross-check: a select over two always-ready channels picks each about
//! half the time.

pub fn main() {
    crate::run(0, || {
        let a = gort::Chan::new(10001);
        let b = gort::Chan::new(10001);
        for _ in 0..10001 {
            a.send(1);
            b.send(2);
        }
        let mut na = 0;
        for _ in 0..10000 {
            gort::select! {
                recv(a) -> _v => na += 1,
                recv(b) -> _v => {}
            }
        }
        println!("{}", na > 4500 && na < 5500);
    })
}
