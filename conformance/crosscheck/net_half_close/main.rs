//! Cross-check: after the client closes its write side, the server reads
//! to EOF and can still answer on the open half.

use std::net::Shutdown;

use gort::net::{TcpListener, TcpStream};

/// Reads until EOF (Go's io.ReadAll).
fn read_all(c: &TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        match c.read(&mut buf).unwrap() {
            0 => return String::from_utf8(out).unwrap(),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}

pub fn main() {
    crate::run(0, || {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        gort::go(move || {
            let (c, _) = ln.accept().unwrap();
            println!("server read: {} <nil>", read_all(&c));
            c.write(b"bye").unwrap();
            drop(c);
        });
        let c = TcpStream::connect(addr).unwrap();
        c.write(b"hello").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        // The server prints before it closes, so before this read ends.
        println!("client read: {} <nil>", read_all(&c));
    })
}
