//! Issue 22's acceptance: the chat-server example (examples/chat.rs)
//! shuts down cleanly on SIGINT: every client is told and disconnected,
//! every goroutine exits, and the program exits with status 0.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The example's binary, which `cargo test` builds beside the tests.
fn example() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let p = dir.join("examples/chat");
    assert!(
        p.is_file(),
        "{} is missing: run the tests with `cargo test -p gort` (which builds the examples), \
         or `cargo build -p gort --example chat` first",
        p.display()
    );
    p
}

fn read_line(r: &mut impl BufRead) -> String {
    let mut s = String::new();
    r.read_line(&mut s).unwrap();
    s
}

#[test]
fn chat_server_shuts_down_cleanly_on_sigint() {
    let mut child = Command::new(example())
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let first = read_line(&mut out);
    let addr = first
        .trim()
        .strip_prefix("chat: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();

    let clients: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    for _ in 0..3 {
        assert!(
            read_line(&mut out).contains("joined"),
            "a client did not join"
        );
    }
    for c in &clients {
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    // A line from client 1 reaches clients 2 and 3, not 1.
    (&clients[0]).write_all(b"hello\n").unwrap();
    let mut readers: Vec<_> = clients.iter().map(BufReader::new).collect();
    assert_eq!(read_line(&mut readers[1]), "1: hello\n");
    assert_eq!(read_line(&mut readers[2]), "1: hello\n");

    // SAFETY: kill sends a signal to the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    for (i, r) in readers.iter_mut().enumerate() {
        let mut rest = String::new();
        // The shutdown notice, then end of file: disconnected.
        std::io::Read::read_to_string(r, &mut rest)
            .unwrap_or_else(|e| panic!("client {}: {e}", i + 1));
        assert_eq!(rest, "server shutting down\n", "client {}", i + 1);
    }
    // A shutdown that hangs fails here rather than stalling the run.
    let t = std::time::Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if t.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the chat server did not end within 30 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut tail = String::new();
    std::io::Read::read_to_string(&mut out, &mut tail).unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "stdout:\n{tail}\nstderr:\n{err}");
    assert!(tail.contains("chat: interrupt signal received\n"), "{tail}");
    assert!(
        tail.contains("chat: shut down; 3 clients disconnected, 0 goroutines left\n"),
        "{tail}"
    );
}
