//! Cross-check: a select whose send and receive cases are both ready picks
//! each about half of the time.

pub fn main() {
    crate::run(0, || {
        let a: gort::Chan<i32> = gort::Chan::new(1);
        let b: gort::Chan<i32> = gort::Chan::new(1);
        b.send(1);
        let (mut sends, mut recvs) = (0, 0);
        for _ in 0..10000 {
            gort::select! {
                send(a, 1) => {
                    sends += 1;
                    a.recv();
                },
                recv(b) -> v => {
                    recvs += 1;
                    b.send(v.unwrap());
                },
            }
        }
        println!("both: {}", sends > 4000 && recvs > 4000);
    })
}
