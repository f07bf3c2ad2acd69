//! Cross-check: a peer that closes with SO_LINGER 0 resets the connection;
//! the reader gets ECONNRESET, not EOF.

use gort::net::{TcpListener, TcpStream};

pub fn main() {
    crate::run(0, || {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        gort::go(move || {
            let (c, _) = ln.accept().unwrap();
            // After the client's byte, so that its connect has returned.
            c.read(&mut [0u8; 1]).unwrap();
            c.set_linger(Some(0)).unwrap();
            drop(c);
        });
        let c = TcpStream::connect(addr).unwrap();
        c.write(b"x").unwrap();
        let err = c.read(&mut [0u8; 1]).unwrap_err();
        println!(
            "reset: {}",
            err.kind() == std::io::ErrorKind::ConnectionReset
        );
    })
}
