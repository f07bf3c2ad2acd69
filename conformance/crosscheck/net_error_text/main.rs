//! Cross-check: the text of network errors (Go's net.OpError): a refused
//! dial, a read of a reset connection, a read and a write on a closed
//! connection, a read past its deadline, an accept on a closed listener,
//! a second close of a connection and of a listener.
//! The ephemeral addresses print as L (local), R (remote) and A
//! (listener).

use std::time::{Duration, Instant};

use gort::net::{TcpListener, TcpStream, is_closed, is_timeout};

fn show(what: &str, err: std::io::Error, names: &[(String, &str)]) {
    let mut s = err.to_string();
    for (addr, name) in names {
        s = s.replace(addr.as_str(), name);
    }
    println!(
        "{what}: {s} (closed={} timeout={})",
        is_closed(&err),
        is_timeout(&err)
    );
}

pub fn main() {
    crate::run(0, || {
        let err = TcpStream::connect("127.0.0.1:1").unwrap_err();
        show("dial", err, &[]);

        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        let accepted: gort::Chan<TcpStream> = gort::Chan::new(0);
        {
            let (ln, a) = (ln.clone(), accepted.clone());
            gort::go(move || {
                while let Ok((c, _)) = ln.accept() {
                    a.send(c);
                }
            });
        }
        let dial = || {
            let c = TcpStream::connect(addr).unwrap();
            let s = accepted.recv().unwrap();
            let names = [
                (c.local_addr().unwrap().to_string(), "L"),
                (c.peer_addr().unwrap().to_string(), "R"),
            ];
            (c, s, names)
        };

        // The server reads a byte, then resets the connection (linger 0;
        // gort closes the descriptor with its last handle).
        let (c, s, names) = dial();
        c.write(b"x").unwrap();
        s.read(&mut [0u8; 1]).unwrap();
        s.set_linger(Some(0)).unwrap();
        drop(s);
        let err = c.read(&mut [0u8; 1]).unwrap_err();
        show("read after reset", err, &names);
        c.close().unwrap();
        let err = c.read(&mut [0u8; 1]).unwrap_err();
        show("read after close", err, &names);
        let err = c.write(b"x").unwrap_err();
        show("write after close", err, &names);
        let err = c.close().unwrap_err();
        show("second close", err, &names);

        let (c, s, names) = dial();
        c.set_read_deadline(Some(Instant::now() - Duration::from_secs(1)))
            .unwrap();
        let err = c.read(&mut [0u8; 1]).unwrap_err();
        show("read past deadline", err, &names);
        drop((c, s));

        let ln_names = [(addr.to_string(), "A")];
        ln.close().unwrap();
        let err = ln.accept().unwrap_err();
        show("accept after close", err, &ln_names);
        let err = ln.close().unwrap_err();
        show("listener second close", err, &ln_names);
    })
}
