//! Where the scheduler puts goroutines, in a trace: the three workloads of
//! issue 16's comparison of the two scheduler modes, at GOMAXPROCS=2.
//!
//! ```text
//! GORT_TRACE=pingpong.json cargo run --release -p gort --example placement -- pingpong
//! GORT_TRACE=pingpong-mig.json cargo run --release -p gort --example placement -- pingpong migrating
//! cargo run --release -p gort-bench --bin trace-svg -- pingpong.json pingpong.svg
//! ```
//! - `pingpong`: two goroutines hand a counter back and forth over two
//!   unbuffered channels (the benchmark `pingpong_unbuffered`).
//! - `pairs`: four such pairs at once, each pair on its own channels.
//! - `server`: an echo server on `gort::net` (a goroutine per connection)
//!   and, in the same runtime, eight client goroutines doing round trips.
//!
//! It prints, per goroutine, on how many threads (Ms) it ran; the trace
//! shows when and where. In the safe mode a goroutine runs on one thread
//! from its first run; in the migrating mode it may resume on any.

use std::io::{Read, Write};
use std::time::Instant;

use gort::Chan;

fn pingpong(rounds: u32) {
    let ping: Chan<u32> = Chan::new(0);
    let pong: Chan<u32> = Chan::new(0);
    let (pi, po) = (ping.clone(), pong.clone());
    gort::go(move || {
        while let Some(v) = pi.recv() {
            po.send(v + 1);
        }
    });
    let mut v = 0;
    for _ in 0..rounds {
        ping.send(v);
        v = pong.recv().unwrap();
    }
    ping.close();
    assert_eq!(v, rounds);
}

fn pairs(pairs: usize, rounds: u32) {
    let wg = std::sync::Arc::new(gort::sync::WaitGroup::new());
    for _ in 0..pairs {
        wg.go(move || pingpong(rounds));
    }
    wg.wait();
}

fn server(clients: usize, rounds: usize) {
    let l = gort::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let addr = l.local_addr().unwrap();
    gort::go(move || {
        while let Ok((c, _)) = l.accept() {
            gort::go(move || {
                let mut buf = [0u8; 64];
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
    });
    let wg = std::sync::Arc::new(gort::sync::WaitGroup::new());
    for _ in 0..clients {
        wg.go(move || {
            let mut c = gort::net::TcpStream::connect(addr).expect("connect");
            let _ = c.set_nodelay(true);
            let mut buf = [0u8; 64];
            for i in 0..rounds {
                let msg = [i as u8; 64];
                c.write_all(&msg).unwrap();
                c.read_exact(&mut buf).unwrap();
                assert_eq!(buf, msg);
            }
        });
    }
    wg.wait();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().cloned().unwrap_or_else(|| "pingpong".into());
    let migrating = args.iter().any(|a| a == "migrating");
    let b = if migrating {
        // SAFETY: the workloads touch no thread-local state in functions
        // that park (the migrating mode's contract).
        unsafe { gort::Builder::new().migrating() }
    } else {
        gort::Builder::new()
    };
    let t = Instant::now();
    b.gomaxprocs(2).block_on(move || match which.as_str() {
        "pingpong" => pingpong(20_000),
        "pairs" => pairs(4, 5_000),
        "server" => server(8, 2_000),
        other => {
            eprintln!("placement: unknown workload {other:?} (pingpong, pairs or server)");
            gort::exit(2);
        }
    });
    eprintln!(
        "placement: {} mode, {:?}",
        if migrating { "migrating" } else { "safe" },
        t.elapsed()
    );
}
