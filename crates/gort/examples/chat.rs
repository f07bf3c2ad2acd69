//! A chat server: each line a client sends goes to every other client.
//! It shows the pieces Go programs are built from: a context that a
//! signal cancels (`signal::notify_context`), an errgroup whose goroutines
//! end with it, and channels between them.
//!
//! ```text
//! cargo run --release -p gort --example chat -- 127.0.0.1:7001
//! nc 127.0.0.1 7001        (in two terminals; type lines)
//! ```
//! On SIGINT or SIGTERM it shuts down cleanly: the listener closes, every
//! client is told `server shutting down` and disconnected, every goroutine
//! returns, and the program exits with status 0 after printing what it
//! did (crates/gort/tests/chat_example.rs checks this).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;

use gort::Chan;
use gort::context::{self, Cause, Context};
use gort::net::{TcpListener, TcpStream};
use gort::signal::{self, Signal};
use gort::sync::errgroup::Group;

/// What the clients' goroutines tell the hub.
enum Event {
    Join(u64, Arc<TcpStream>),
    Line(u64, String),
    Leave(u64),
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7001".into());
    let code = gort::Builder::new().block_on(move || run(&addr));
    std::process::exit(code);
}

fn run(addr: &str) -> i32 {
    let ln = match TcpListener::bind(addr) {
        Ok(l) => Arc::new(l),
        Err(e) => {
            eprintln!("chat: cannot listen on {addr}: {e}");
            return 1;
        }
    };
    println!("chat: listening on {}", ln.local_addr().unwrap());
    let (ctx, stop) =
        signal::notify_context(&context::background(), &[Signal::SIGINT, Signal::SIGTERM]);
    let (g, ctx) = Group::<Cause>::with_context(&ctx);
    let events: Chan<Event> = Chan::new(64);

    // The listener closes when the context ends, which ends accept.
    {
        let (ln, ctx) = (ln.clone(), ctx.clone());
        g.go(move || {
            ctx.done().recv();
            let _ = ln.close();
            Ok(())
        });
    }
    // The hub: the clients and their lines.
    let disconnected: Chan<usize> = Chan::new(1);
    {
        let (ctx, events, disconnected) = (ctx.clone(), events.clone(), disconnected.clone());
        g.go(move || {
            disconnected.send(hub(&ctx, &events));
            Ok(())
        });
    }
    // Accept: a reader goroutine per client, in the group too.
    {
        let (ctx, g2) = (ctx.clone(), g.clone());
        g.go(move || {
            let mut id = 0;
            loop {
                let (conn, peer) = match ln.accept() {
                    Ok(c) => c,
                    Err(_) if ctx.err().is_some() => return Ok(()),
                    Err(e) => return Err(Arc::new(e)),
                };
                id += 1;
                let conn = Arc::new(conn);
                // Whatever happens to the hub, the shutdown ends this
                // client's read.
                let c = conn.clone();
                let unwatch = context::after_func(&ctx, move || {
                    let _ = c.shutdown(std::net::Shutdown::Read);
                });
                if !send_event(&ctx, &events, Event::Join(id, conn.clone())) {
                    return Ok(());
                }
                println!("chat: client {id} joined from {peer}");
                let (ctx, events) = (ctx.clone(), events.clone());
                g2.go(move || {
                    read_lines(&ctx, &events, id, &conn);
                    unwatch.stop();
                    Ok(())
                });
            }
        });
    }

    let res = g.wait();
    stop.stop();
    let n = disconnected.recv().unwrap_or(0);
    // The goroutines still on their way out (the signal watcher returns
    // right after its cancel) get a moment; the main one stays.
    let t = std::time::Instant::now();
    let mut left = gort::runtime::metrics().goroutines - 1;
    while left > 0 && t.elapsed() < std::time::Duration::from_secs(2) {
        gort::time::sleep(std::time::Duration::from_millis(1));
        left = gort::runtime::metrics().goroutines - 1;
    }
    match (&res, context::cause(&ctx)) {
        (Ok(()), Some(why)) => println!("chat: {why}"),
        (Err(e), _) => eprintln!("chat: {e}"),
        _ => {}
    }
    println!("chat: shut down; {n} clients disconnected, {left} goroutines left");
    if res.is_ok() && left == 0 { 0 } else { 1 }
}

/// Sends `ev` to the hub unless the server is shutting down.
fn send_event(ctx: &Context, events: &Chan<Event>, ev: Event) -> bool {
    gort::select! {
        send(events, ev) => true,
        recv(ctx.done()) -> _v => false,
    }
}

/// A client's reader: its lines to the hub, until it leaves or the
/// server shuts down (the hub then shuts the connection, which ends the
/// read).
fn read_lines(ctx: &Context, events: &Chan<Event>, id: u64, conn: &TcpStream) {
    for line in BufReader::new(conn).lines() {
        let Ok(line) = line else { break };
        if !send_event(ctx, events, Event::Line(id, line)) {
            return;
        }
    }
    send_event(ctx, events, Event::Leave(id));
}

/// The hub: relays each line to the other clients; at shutdown, says so
/// to every client and disconnects it. Returns how many it disconnected.
fn hub(ctx: &Context, events: &Chan<Event>) -> usize {
    let mut clients: HashMap<u64, Arc<TcpStream>> = HashMap::new();
    loop {
        gort::select! {
            recv(events) -> ev => match ev {
                Some(Event::Join(id, c)) => {
                    clients.insert(id, c);
                }
                Some(Event::Line(id, line)) => {
                    let msg = format!("{id}: {line}\n");
                    for (&to, c) in &clients {
                        if to != id {
                            // A client that does not read for a second
                            // misses the line (the hub never waits longer).
                            send_line(c, msg.as_bytes());
                        }
                    }
                }
                Some(Event::Leave(id)) => {
                    if let Some(c) = clients.remove(&id) {
                        let _ = c.close();
                    }
                }
                None => break,
            },
            recv(ctx.done()) -> _v => break,
        }
    }
    // Clients that joined while the shutdown began.
    while let Ok(ev) = events.try_recv() {
        match ev {
            Event::Join(id, c) => {
                clients.insert(id, c);
            }
            Event::Leave(id) => {
                clients.remove(&id);
            }
            Event::Line(..) => {}
        }
    }
    let n = clients.len();
    for c in clients.into_values() {
        send_line(&c, b"server shutting down\n");
        let _ = c.shutdown(std::net::Shutdown::Both);
    }
    n
}

/// Writes `msg` to a client, giving up after a second.
fn send_line(c: &TcpStream, msg: &[u8]) {
    let _ = c.set_write_deadline(Some(
        std::time::Instant::now() + std::time::Duration::from_secs(1),
    ));
    let mut w: &TcpStream = c;
    let _ = w.write_all(msg);
}
