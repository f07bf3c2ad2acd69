//! Cross-check: a read past its deadline fails with a timeout, and the
//! connection still works once the deadline is lifted.

use std::time::{Duration, Instant};

use gort::net::{TcpListener, TcpStream};

pub fn main() {
    crate::run(0, || {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        let timed_out: gort::Chan<bool> = gort::Chan::new(0);
        let t = timed_out.clone();
        gort::go(move || {
            let (c, _) = ln.accept().unwrap();
            // Writes only once the client's read has timed out.
            t.recv();
            c.write(b"x").unwrap();
            // Go's connection lives until the process ends.
            std::mem::forget(c);
        });
        let c = TcpStream::connect(addr).unwrap();
        c.set_read_deadline(Some(Instant::now() + Duration::from_millis(50)))
            .unwrap();
        let mut buf = [0u8; 1];
        let err = c.read(&mut buf).unwrap_err();
        println!("timeout: {}", err.kind() == std::io::ErrorKind::TimedOut);
        timed_out.send(true);
        c.set_read_deadline(None).unwrap();
        let n = c.read(&mut buf).unwrap();
        println!(
            "then read: {n} {} <nil>",
            std::str::from_utf8(&buf[..n]).unwrap()
        );
    })
}
