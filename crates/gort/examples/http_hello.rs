//! A minimal HTTP/1.1 "hello" server on gort::net (keep-alive, one
//! goroutine per connection): the server the benchmark loads with wrk.
//!
//! ```text
//! cargo run --release -p gort --example http_hello -- 127.0.0.1:8080
//! curl http://127.0.0.1:8080/
//! ```

use std::io::Write;

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

#[gort::main]
unsafe fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let l = gort::net::TcpListener::bind(addr.as_str()).unwrap_or_else(|e| {
        eprintln!("http_hello: cannot listen on {addr}: {e}");
        std::process::exit(1)
    });
    eprintln!("http_hello: listening on {}", l.local_addr().unwrap());
    loop {
        let (c, _) = match l.accept() {
            Ok(x) => x,
            Err(e) => {
                eprintln!("http_hello: accept: {e}");
                gort::time::sleep(std::time::Duration::from_millis(5));
                continue;
            }
        };
        gort::go(move || serve_conn(c));
    }
}

/// Answers every request on the connection (requests end with an empty
/// line; no bodies), pipelined requests included.
fn serve_conn(c: gort::net::TcpStream) {
    let _ = c.set_nodelay(true);
    let mut buf = vec![0u8; 8192];
    let mut have = 0;
    loop {
        match c.read(&mut buf[have..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => have += n,
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
        if !out.is_empty() && (&c).write_all(&out).is_err() {
            return;
        }
    }
}
