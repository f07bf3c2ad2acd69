//! An echo server on gort::net: one goroutine per connection, each parked
//! in `read` until data arrives (Go's net.Listen + go handle(conn)).
//!
//! ```text
//! cargo run --release -p gort --example echo -- 127.0.0.1:7000
//! ```
//! An error on one connection, or in accepting one, does not stop the
//! server: it is logged to stderr and the server goes on. Accept errors
//! (out of descriptors, a connection that failed while being accepted)
//! back off before the next try, as Go's net/http does (5 ms, doubling to
//! 1 s); only a listener that can no longer accept ends the loop.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

#[gort::main]
fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    let l = gort::net::TcpListener::bind(addr.as_str()).unwrap_or_else(|e| {
        eprintln!("echo: cannot listen on {addr}: {e}");
        gort::exit(1)
    });
    eprintln!("echo: listening on {}", l.local_addr().unwrap());
    serve(&l, |c, peer| {
        let mut buf = [0u8; 16 << 10];
        loop {
            match c.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if let Err(e) = (&c).write_all(&buf[..n]) {
                        eprintln!("echo: {peer}: write: {e}");
                        return;
                    }
                }
                Err(e) => {
                    eprintln!("echo: {peer}: read: {e}");
                    return;
                }
            }
        }
    });
    eprintln!("echo: stopped");
    gort::exit(1);
}

/// Go's `Server.Serve` accept loop: a goroutine per connection; an accept
/// error is logged and followed by a back-off, and the loop goes on unless
/// the listener itself is gone.
fn serve(l: &gort::net::TcpListener, handle: fn(gort::net::TcpStream, SocketAddr)) {
    let mut delay = Duration::ZERO;
    loop {
        match l.accept() {
            Ok((c, peer)) => {
                delay = Duration::ZERO;
                gort::go(move || handle(c, peer));
            }
            Err(e) if listener_gone(&e) => {
                eprintln!("echo: accept: {e}");
                return;
            }
            Err(e) => {
                delay = if delay.is_zero() {
                    Duration::from_millis(5)
                } else {
                    (delay * 2).min(Duration::from_secs(1))
                };
                eprintln!("echo: accept error: {e}; retrying in {delay:?}");
                gort::time::sleep(delay);
            }
        }
    }
}

/// Whether an accept error means the listener cannot accept any more (it
/// was closed, or is not a listening socket): the only errors that end
/// the loop. Anything else concerns one connection or a passing shortage.
fn listener_gone(e: &std::io::Error) -> bool {
    gort::net::is_closed(e)
        || matches!(
            gort::net::os_error_of(e),
            Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK | libc::EOPNOTSUPP)
        )
}
