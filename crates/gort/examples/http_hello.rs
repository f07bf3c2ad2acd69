//! A minimal HTTP/1.1 "hello" server on gort::net (keep-alive, one
//! goroutine per connection): the server the benchmark loads with wrk.
//!
//! ```text
//! cargo run --release -p gort --example http_hello -- 127.0.0.1:8080
//! curl http://127.0.0.1:8080/
//! ```
//!
//! An error on one connection, or in accepting one, is logged to stderr
//! and the server goes on (accept errors back off first, 5 ms doubling to
//! 1 s, as Go's net/http does); only a listener that can no longer accept
//! stops it.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

#[gort::main]
fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let l = gort::net::TcpListener::bind(addr.as_str()).unwrap_or_else(|e| {
        eprintln!("http_hello: cannot listen on {addr}: {e}");
        gort::exit(1)
    });
    eprintln!("http_hello: listening on {}", l.local_addr().unwrap());
    let mut delay = Duration::ZERO;
    loop {
        match l.accept() {
            Ok((c, peer)) => {
                delay = Duration::ZERO;
                gort::go(move || serve_conn(c, peer));
            }
            Err(e) if listener_gone(&e) => {
                eprintln!("http_hello: accept: {e}; stopping");
                gort::exit(1);
            }
            Err(e) => {
                delay = if delay.is_zero() {
                    Duration::from_millis(5)
                } else {
                    (delay * 2).min(Duration::from_secs(1))
                };
                eprintln!("http_hello: accept error: {e}; retrying in {delay:?}");
                gort::time::sleep(delay);
            }
        }
    }
}

/// Whether an accept error means the listener cannot accept any more (it
/// was closed, or is not a listening socket). Anything else concerns one
/// connection or a passing shortage (descriptors, memory).
fn listener_gone(e: &std::io::Error) -> bool {
    gort::net::is_closed(e)
        || matches!(
            gort::net::os_error_of(e),
            Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK | libc::EOPNOTSUPP)
        )
}

/// Answers every request on the connection (requests end with an empty
/// line; no bodies), pipelined requests included. An error ends this
/// connection only, and is logged.
fn serve_conn(c: gort::net::TcpStream, peer: SocketAddr) {
    let _ = c.set_nodelay(true);
    let mut buf = vec![0u8; 8192];
    let mut have = 0;
    loop {
        match c.read(&mut buf[have..]) {
            Ok(0) => return,
            Ok(n) => have += n,
            Err(e) => {
                eprintln!("http_hello: {peer}: read: {e}");
                return;
            }
        }
        let mut start = 0;
        let mut out = Vec::new();
        while let Some(end) = memchr::memmem::find(&buf[start..have], b"\r\n\r\n") {
            out.extend_from_slice(RESPONSE);
            start += end + 4;
        }
        buf.copy_within(start..have, 0);
        have -= start;
        if have == buf.len() {
            return; // a request head larger than the buffer: give up
        }
        if !out.is_empty()
            && let Err(e) = (&c).write_all(&out)
        {
            eprintln!("http_hello: {peer}: write: {e}");
            return;
        }
    }
}
