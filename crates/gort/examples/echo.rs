//! An echo server on gort::net: one goroutine per connection, each parked
//! in `read` until data arrives (Go's net.Listen + go handle(conn)).
//!
//! ```text
//! cargo run --release -p gort --example echo -- 127.0.0.1:7000
//! ```
//! Running out of descriptors (EMFILE/ENFILE) does not stop the server: it
//! backs off and retries accepting, as Go's net/http does (5 ms, doubling
//! to 1 s).

use std::io::{ErrorKind, Write};
use std::time::Duration;

#[gort::main]
unsafe fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    let l = gort::net::TcpListener::bind(addr.as_str()).unwrap_or_else(|e| {
        eprintln!("echo: cannot listen on {addr}: {e}");
        std::process::exit(1)
    });
    eprintln!("echo: listening on {}", l.local_addr().unwrap());
    serve(&l, |c| {
        let mut buf = [0u8; 16 << 10];
        loop {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if (&c).write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

/// Go's `Server.Serve` accept loop: a goroutine per connection, and a
/// back-off on temporary errors such as running out of descriptors.
fn serve(l: &gort::net::TcpListener, handle: fn(gort::net::TcpStream)) {
    let mut delay = Duration::ZERO;
    loop {
        match l.accept() {
            Ok((c, _)) => {
                delay = Duration::ZERO;
                gort::go(move || handle(c));
            }
            Err(e) if temporary(&e) => {
                delay = if delay.is_zero() {
                    Duration::from_millis(5)
                } else {
                    (delay * 2).min(Duration::from_secs(1))
                };
                eprintln!("echo: accept error: {e}; retrying in {delay:?}");
                gort::time::sleep(delay);
            }
            Err(e) => {
                eprintln!("echo: accept: {e}");
                return;
            }
        }
    }
}

/// Go's `Temporary()` accept errors: out of descriptors, or a connection
/// aborted before it was accepted.
fn temporary(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
        || e.kind() == ErrorKind::ConnectionAborted
}
