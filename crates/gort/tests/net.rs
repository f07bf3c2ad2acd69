//! gort::net (issue 10): ports of Go's net tests for TCP/UDP basics,
//! deadlines and close-while-blocked, the runtime's TestNetpollBreak, an fd
//! leak check and the 10,000-connection echo stress test. They run on
//! either OS layer (`GORT_OS=plan9`: no poller, blocking system calls).

mod common;
use common::{fd_targets, open_fds, run, serve_echo};

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gort::net::{
    ERR_CLOSED, ERR_TIMEOUT, TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream,
};

fn plan9() -> bool {
    std::env::var("GORT_OS").as_deref() == Ok("plan9")
}

/// A connected pair over loopback.
fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let c = gort::spawn(move || TcpStream::connect(addr).unwrap());
    let (s, _) = l.accept().unwrap();
    (c.join().unwrap(), s)
}

/// Go's `errors.Is(err, net.ErrClosed)`, and the message ends as Go's.
fn is_closed(e: &std::io::Error) -> bool {
    gort::net::is_closed(e) && e.to_string().ends_with(ERR_CLOSED)
}

/// Go's `errors.Is(err, os.ErrDeadlineExceeded)`, with the kind and Go's
/// message.
fn is_timeout(e: &std::io::Error) -> bool {
    gort::net::is_timeout(e)
        && e.kind() == ErrorKind::TimedOut
        && e.to_string().ends_with(ERR_TIMEOUT)
}

#[test]
fn tcp_echo_round_trip() {
    run(2, || {
        let (mut c, mut s) = pair();
        let h = gort::spawn(move || {
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).unwrap();
            s.write_all(&buf[..n]).unwrap();
        });
        c.write_all(b"hello, gort").unwrap();
        let mut buf = [0u8; 64];
        let n = c.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello, gort");
        h.join().unwrap();
        assert!(c.local_addr().unwrap().ip().is_loopback());
        assert_eq!(c.peer_addr().unwrap().ip().to_string(), "127.0.0.1");
    });
}

// go-test: TestTCPBig (tcpsock_test.go)
#[test]
fn test_tcp_big() {
    run(2, || {
        let (c, s) = pair();
        const N: usize = 4 << 20;
        let h = gort::spawn(move || {
            let data: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
            (&s).write_all(&data).unwrap();
        });
        let mut got = Vec::with_capacity(N);
        let mut buf = vec![0u8; 64 << 10];
        while got.len() < N {
            let n = c.read(&mut buf).unwrap();
            assert!(n > 0, "early EOF after {}", got.len());
            got.extend_from_slice(&buf[..n]);
        }
        h.join().unwrap();
        assert!(got.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
    });
}

// go-test: TestNetpollDeadlock (crash_test.go)
// testprognet's NetpollDeadlock dials a closed port in the package's
// init, the poller's first use, and main then prints "done". Adapted
// (Rust has no init): a fresh runtime's main goroutine dials a port
// nobody listens on as its first act (the poller starts for it) and goes
// on; the dial fails with "connection refused" and nothing hangs.
#[test]
fn test_netpoll_deadlock() {
    // A port that was free a moment ago: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let done = run(2, move || {
        let err = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        "done"
    });
    assert_eq!(done, "done");
}

// go-test: TestNetpollWaiters (crash_test.go)
// testprognet's NetpollWaiters: a reader and a writer goroutine on one
// connection, each waiting in the poller now and then; after both end,
// no goroutine is counted as waiting in the poller (`netpollWaiters`),
// which the scheduler reads to decide whether to poll.
#[gort::test(both)]
unsafe fn test_netpoll_waiters() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let wg = Arc::new(gort::sync::WaitGroup::new());
    wg.add(1);
    let w = wg.clone();
    gort::go(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 64];
        while conn.read(&mut buf).unwrap() > 0 {}
        drop(conn);
        w.done();
    });
    wg.add(1);
    let w = wg.clone();
    gort::go(move || {
        let conn = TcpStream::connect(addr).unwrap();
        for i in 0..10 {
            conn.write(format!("{i}\n").as_bytes()).unwrap();
            gort::time::sleep(Duration::from_millis(1));
        }
        drop(conn);
        w.done();
    });
    wg.wait();
    let v = runtime_p::sched()
        .netpoll
        .waiters
        .load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(v, 0, "current waiters {v}");
}

// go-test: TestZeroByteRead (net_test.go)
#[test]
fn test_zero_byte_read() {
    run(1, || {
        let (c, s) = pair();
        (&s).write_all(b"x").unwrap();
        let mut none = [0u8; 0];
        assert_eq!(c.read(&mut none).unwrap(), 0);
        let mut one = [0u8; 1];
        assert_eq!(c.read(&mut one).unwrap(), 1);
    });
}

// go-test: TestCloseRead (net_test.go)
#[test]
fn test_close_read() {
    run(1, || {
        let (c, _s) = pair();
        c.shutdown(Shutdown::Read).unwrap();
        let mut b = [0u8; 8];
        // After CloseRead a read returns EOF (0), never blocks.
        assert_eq!(c.read(&mut b).unwrap(), 0);
    });
}

// go-test: TestCloseWrite (net_test.go)
#[test]
fn test_close_write() {
    run(2, || {
        let (c, s) = pair();
        let h = gort::spawn(move || {
            let mut all = Vec::new();
            (&s).read_to_end(&mut all).unwrap();
            // The peer half-closed: we can still answer.
            (&s).write_all(b"bye").unwrap();
            all
        });
        (&c).write_all(b"last words").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut reply = Vec::new();
        (&c).read_to_end(&mut reply).unwrap();
        assert_eq!(h.join().unwrap(), b"last words");
        assert_eq!(reply, b"bye");
        assert!(c.write(b"more").is_err(), "a write after CloseWrite fails");
    });
}

// go-test: TestConnClose (net_test.go)
#[test]
fn test_conn_close() {
    run(1, || {
        let (c, _s) = pair();
        c.close().unwrap();
        let mut b = [0u8; 4];
        assert!(is_closed(&c.read(&mut b).unwrap_err()));
        assert!(is_closed(&c.write(b"x").unwrap_err()));
        assert!(is_closed(&c.close().unwrap_err()), "a second Close fails");
    });
}

// go-test: TestCloseUnblocksRead (net_test.go)
#[test]
fn test_close_unblocks_read() {
    run(2, || {
        let (c, _s) = pair();
        let c2 = c.clone();
        let h = gort::spawn(move || {
            let mut b = [0u8; 8];
            c2.read(&mut b)
        });
        gort::time::sleep(Duration::from_millis(50));
        c.close().unwrap();
        let e = h.join().unwrap().unwrap_err();
        assert!(is_closed(&e), "{e}");
    });
}

// go-test: TestCloseUnblocksReadUDP (net_test.go)
#[test]
fn test_close_unblocks_read_udp() {
    run(2, || {
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        let u2 = u.clone();
        let h = gort::spawn(move || {
            let mut b = [0u8; 8];
            u2.recv_from(&mut b)
        });
        gort::time::sleep(Duration::from_millis(50));
        u.close().unwrap();
        let e = h.join().unwrap().unwrap_err();
        assert!(is_closed(&e), "{e}");
    });
}

// go-test: TestListenerClose (net_test.go)
#[test]
fn test_listener_close() {
    run(2, || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let l2 = l.clone();
        let h = gort::spawn(move || l2.accept().map(|_| ()));
        gort::time::sleep(Duration::from_millis(50));
        l.close().unwrap();
        let e = h.join().unwrap().unwrap_err();
        assert!(is_closed(&e), "{e}");
        assert!(is_closed(&l.accept().unwrap_err()));
    });
}

/// Go's testVariousDeadlines: a server that reads a byte and closes; for
/// each timeout from 1 ns to 1 s, three connections whose deadline ends
/// a read loop with a timeout.
fn various_deadlines() {
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    let server = ln.clone();
    gort::go(move || {
        while let Ok((c, _)) = server.accept() {
            // Waits for the client to close.
            let _ = c.read(&mut [0u8; 1]);
        }
    });
    for ns in [
        1u64,
        2,
        5,
        50,
        100,
        200,
        500,
        750,
        1_000,
        5_000,
        25_000,
        250_000,
        500_000,
        1_000_000,
        5_000_000,
        100_000_000,
        250_000_000,
        500_000_000,
        1_000_000_000,
    ] {
        let timeout = Duration::from_nanos(ns);
        for run in 0..3 {
            let c = TcpStream::connect(addr).unwrap();
            let t0 = Instant::now();
            c.set_deadline(Some(t0 + timeout)).unwrap();
            // io.Copy(io.Discard, c)
            let mut buf = [0u8; 512];
            let (n, err) = {
                let mut n = 0;
                loop {
                    match c.read(&mut buf) {
                        Ok(0) => break (n, None),
                        Ok(k) => n += k,
                        Err(e) => break (n, Some(e)),
                    }
                }
            };
            drop(c);
            match err {
                Some(e) if is_timeout(&e) => {}
                other => panic!("{timeout:?} {run}/3: Copy = {n}, {other:?}; want timeout"),
            }
        }
    }
    ln.close().unwrap();
}

// go-test: TestVariousDeadlines1Proc (timeout_test.go)
#[gort::test(both)]
unsafe fn test_various_deadlines_1proc() {
    let prev = gort::gomaxprocs(1);
    various_deadlines();
    gort::gomaxprocs(prev);
}

// go-test: TestVariousDeadlines4Proc (timeout_test.go)
#[gort::test(both)]
unsafe fn test_various_deadlines_4proc() {
    let prev = gort::gomaxprocs(4);
    various_deadlines();
    gort::gomaxprocs(prev);
}

// go-test: TestReadWriteProlongedTimeout (timeout_test.go)
// Concurrent deadline changes on one connection while it reads and
// writes. Go skips it on Plan 9, and so does this on the Plan 9 layer.
#[gort::test(both)]
unsafe fn test_read_write_prolonged_timeout() {
    if std::env::var("GORT_OS").as_deref() == Ok("plan9") {
        return;
    }
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    let handler = gort::spawn(move || {
        let (c, _) = ln.accept().unwrap();
        let wg = Arc::new(gort::sync::WaitGroup::new());
        wg.add(2);
        let (r, w) = (c.clone(), c.clone());
        let wr = wg.clone();
        gort::go(move || {
            let mut b = [0u8; 1];
            loop {
                r.set_read_deadline(Some(Instant::now() + Duration::from_secs(3600)))
                    .unwrap();
                // Go's Read ends with an error at EOF too.
                if r.read(&mut b).is_ok_and(|n| n > 0) {
                    continue;
                }
                break;
            }
            wr.done();
        });
        let ww = wg.clone();
        gort::go(move || {
            let b = [0u8; 1];
            loop {
                w.set_write_deadline(Some(Instant::now() + Duration::from_secs(3600)))
                    .unwrap();
                if w.write(&b).is_err() {
                    break;
                }
            }
            ww.done();
        });
        wg.wait();
        drop(c);
    });
    let c = TcpStream::connect(addr).unwrap();
    let mut b = [0u8; 1];
    for _ in 0..1000 {
        let _ = c.write(&b);
        let _ = c.read(&mut b);
    }
    drop(c);
    handler.join().unwrap();
}

// go-test: TestReadWriteDeadlineRace (timeout_test.go)
#[gort::test(both)]
unsafe fn test_read_write_deadline_race() {
    const N: usize = 1000;
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(ln.local_addr().unwrap()).unwrap();
    let wg = Arc::new(gort::sync::WaitGroup::new());
    wg.add(3);
    let (c1, w1) = (c.clone(), wg.clone());
    gort::go(move || {
        let tic = gort::time::Ticker::new(Duration::from_micros(2));
        for _ in 0..N {
            let d = Instant::now() + Duration::from_micros(2);
            if c1.set_read_deadline(Some(d)).is_err() {
                break;
            }
            if c1.set_write_deadline(Some(d)).is_err() {
                break;
            }
            tic.c().recv();
        }
        tic.stop();
        w1.done();
    });
    let (c2, w2) = (c.clone(), wg.clone());
    gort::go(move || {
        let mut b = [0u8; 1];
        for _ in 0..N {
            let _ = c2.read(&mut b); // timeouts expected
        }
        w2.done();
    });
    let (c3, w3) = (c.clone(), wg.clone());
    gort::go(move || {
        let b = [0u8; 1];
        for _ in 0..N {
            let _ = c3.write(&b); // timeouts expected
        }
        w3.done();
    });
    wg.wait();
    drop(ln);
}

// go-test: TestConcurrentSetDeadline (timeout_test.go)
// Go's issue 35367: deadlines made steadily earlier from 8 goroutines on
// 10 connections, which reorders the timer heap all the time.
#[gort::test(both)]
unsafe fn test_concurrent_set_deadline() {
    const GOROUTINES: u64 = 8;
    const CONNS: u64 = 10;
    const TRIES: u64 = 100;
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    let c: Arc<Vec<TcpStream>> = Arc::new(
        (0..CONNS)
            .map(|_| TcpStream::connect(addr).unwrap())
            .collect(),
    );
    let wg = Arc::new(gort::sync::WaitGroup::new());
    wg.add(GOROUTINES as i32);
    let now = Instant::now();
    for i in 0..GOROUTINES {
        let (c, wg) = (c.clone(), wg.clone());
        gort::go(move || {
            for j in (1..=TRIES).rev() {
                for k in 0..CONNS {
                    let extra = Duration::from_secs(i * j * k);
                    c[k as usize]
                        .set_read_deadline(Some(now + Duration::from_secs(7200) + extra))
                        .unwrap();
                    c[k as usize]
                        .set_write_deadline(Some(now + Duration::from_secs(3600) + extra))
                        .unwrap();
                }
            }
            wg.done();
        });
    }
    wg.wait();
    drop(ln);
}

// go-test: TestReadTimeoutFluctuation (timeout_test.go)
// A read past its deadline returns a timeout no sooner than the deadline
// and at most 10% after it, with Go's retries at longer timeouts on a slow
// machine (from 1 ms up to 4 s).
#[gort::test(both)]
unsafe fn test_read_timeout_fluctuation() {
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(ln.local_addr().unwrap()).unwrap();
    let mut d = Duration::from_millis(1);
    let max = Duration::from_secs(4);
    let mut b = [0u8; 256];
    loop {
        let t0 = Instant::now();
        let deadline = t0 + d;
        c.set_read_deadline(Some(deadline)).unwrap();
        let r = c.read(&mut b);
        let t1 = Instant::now();
        match r {
            Err(e) => assert!(is_timeout(&e), "Read did not return a timeout: {e}"),
            Ok(n) => panic!("Read did not return (0, timeout): ({n}, nil)"),
        }
        let actual = t1 - t0;
        assert!(
            t1 >= deadline,
            "Read took {actual:?}; expected at least {d:?}"
        );
        if actual > d * 11 / 10 {
            assert!(
                actual < max,
                "Read took {actual:?}; expected at most {:?}",
                d * 11 / 10
            );
            d = (actual * 5 / 4).min(max);
            continue;
        }
        break;
    }
    drop(ln);
}

// go-test: TestReadTimeout (timeout_test.go)
#[test]
fn test_read_timeout() {
    run(2, || {
        let (c, s) = pair();
        (&s).write_all(b"READ TIMEOUT TEST").unwrap();
        // Go's table: a deadline in the past fails at once, twice; a data
        // read in between is not affected by a cleared deadline.
        for off in [-5_000i64, 50] {
            let d = if off < 0 {
                Instant::now() - Duration::from_millis((-off) as u64)
            } else {
                Instant::now() + Duration::from_millis(off as u64)
            };
            c.set_read_deadline(Some(d)).unwrap();
            let mut b = [0u8; 64];
            let start = Instant::now();
            loop {
                match c.read(&mut b) {
                    Ok(n) => assert!(n > 0),
                    Err(e) => {
                        assert!(is_timeout(&e), "{e}");
                        break;
                    }
                }
            }
            if off > 0 {
                let took = start.elapsed();
                assert!(
                    took >= Duration::from_millis(40),
                    "timed out too early: {took:?}"
                );
                assert!(
                    took < Duration::from_secs(5),
                    "timed out too late: {took:?}"
                );
            }
            // A timed-out read stays timed out until the deadline moves.
            assert!(is_timeout(&c.read(&mut b).unwrap_err()));
        }
        c.set_read_deadline(None).unwrap();
        (&s).write_all(b"again").unwrap();
        let mut b = [0u8; 16];
        assert_eq!(c.read(&mut b).unwrap(), 5);
    });
}

// go-test: TestReadTimeoutUnblocksRead (net_test.go)
#[test]
fn test_read_timeout_unblocks_read() {
    run(2, || {
        let (c, _s) = pair();
        let c2 = c.clone();
        let h = gort::spawn(move || {
            let mut b = [0u8; 8];
            c2.read(&mut b)
        });
        gort::time::sleep(Duration::from_millis(50));
        // Moving the deadline into the past wakes the blocked reader.
        c.set_read_deadline(Some(Instant::now())).unwrap();
        // (On the Plan 9 layer the blocked system call is interrupted, as
        // Go's Plan 9 port cancels it with a note.)
        let e = h.join().unwrap().unwrap_err();
        assert!(is_timeout(&e), "{e}");
    });
}

/// A deadline moved into the past just as a read starts to block is never
/// missed: on the Plan 9 layer, the read may have looked at its deadline
/// (none) and not yet entered its system call when the deadline moves.
/// Readers start at many offsets from the move; a missed move would block
/// its reader until a watchdog writes to the socket (after 10 s without
/// progress), and the read would return data instead of the timeout.
#[test]
fn deadline_moved_as_a_read_blocks_is_not_missed() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    run(2, || {
        let (c, s) = pair();
        let round = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let (r2, d2) = (round.clone(), done.clone());
        let watchdog = gort::spawn(move || {
            let (mut last, mut since) = (usize::MAX, Instant::now());
            let mut rescued = 0;
            while !d2.load(Ordering::Relaxed) {
                gort::time::sleep(Duration::from_millis(50));
                let now = r2.load(Ordering::Relaxed);
                if now != last {
                    (last, since) = (now, Instant::now());
                } else if since.elapsed() > Duration::from_secs(10) {
                    (&s).write_all(b"x").unwrap();
                    rescued += 1;
                    since = Instant::now();
                }
            }
            rescued
        });
        for i in 0..1000 {
            round.store(i, Ordering::Relaxed);
            c.set_read_deadline(None).unwrap();
            let c2 = c.clone();
            let h = gort::spawn(move || {
                let mut b = [0u8; 8];
                c2.read(&mut b)
            });
            // 0 to 99 µs, and every tenth round after a yield, so that the
            // move lands before, during and after the read's set-up.
            let wait = Duration::from_micros((i * 37 % 100) as u64);
            if i % 10 == 0 {
                gort::gosched();
            }
            let t = Instant::now();
            while t.elapsed() < wait {
                std::hint::spin_loop();
            }
            c.set_read_deadline(Some(Instant::now())).unwrap();
            match h.join().unwrap() {
                Err(e) => assert!(is_timeout(&e), "round {i}: {e}"),
                Ok(n) => panic!(
                    "round {i}: the moved deadline was missed (the read got {n} bytes from the watchdog)"
                ),
            }
        }
        done.store(true, Ordering::Relaxed);
        assert_eq!(watchdog.join().unwrap(), 0);
    });
}

// go-test: TestWriteTimeout (timeout_test.go)
#[test]
fn test_write_timeout() {
    run(2, || {
        let (c, _s) = pair();
        c.set_write_deadline(Some(Instant::now() + Duration::from_millis(100)))
            .unwrap();
        let chunk = vec![7u8; 64 << 10];
        let start = Instant::now();
        let e = loop {
            // Nobody reads: the socket buffers fill and the write blocks
            // until the deadline.
            if let Err(e) = c.write(&chunk) {
                break e;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "never timed out");
        };
        assert!(is_timeout(&e), "{e}");
    });
}

// go-test: TestAcceptTimeout (timeout_test.go)
#[test]
fn test_accept_timeout() {
    run(1, || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_deadline(Some(Instant::now() + Duration::from_millis(50)))
            .unwrap();
        let start = Instant::now();
        let e = l.accept().unwrap_err();
        assert!(is_timeout(&e), "{e}");
        assert!(start.elapsed() >= Duration::from_millis(40));
    });
}

// go-test: TestTCPConcurrentAccept (tcpsock_test.go)
#[test]
fn test_tcp_concurrent_accept() {
    run(2, || {
        const N: usize = 10;
        const ATTEMPTS: usize = 10 * N;
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let wg = Arc::new(gort::sync::WaitGroup::new());
        for _ in 0..N {
            let l = l.clone();
            wg.go(move || {
                while let Ok((c, _)) = l.accept() {
                    drop(c);
                }
            });
        }
        let mut ok = 0;
        for _ in 0..ATTEMPTS {
            if TcpStream::connect(addr).is_ok() {
                ok += 1;
            }
        }
        l.close().unwrap();
        wg.wait();
        assert_eq!(ok, ATTEMPTS, "{} of {ATTEMPTS} dials failed", ATTEMPTS - ok);
    });
}

// go-test: TestWriteToUDP (udpsock_test.go)
#[test]
fn test_write_to_udp() {
    run(2, || {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let baddr = b.local_addr().unwrap();
        let h = gort::spawn(move || {
            let mut buf = [0u8; 64];
            let (n, from) = b.recv_from(&mut buf).unwrap();
            b.send_to(&buf[..n], from).unwrap();
        });
        a.send_to(b"datagram", baddr).unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = a.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"datagram");
        assert_eq!(from, baddr);
        h.join().unwrap();
    });
}

// go-test: TestUDPReadTimeout (udpsock_test.go)
#[test]
fn test_udp_read_timeout() {
    run(1, || {
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        u.set_read_deadline(Some(Instant::now() + Duration::from_millis(30)))
            .unwrap();
        let mut b = [0u8; 8];
        assert!(is_timeout(&u.recv_from(&mut b).unwrap_err()));
    });
}

#[test]
fn unix_stream_round_trip() {
    run(2, || {
        let dir = std::env::temp_dir().join(format!("gort-unix-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("s{}", gort::goid()));
        let _ = std::fs::remove_file(&path);
        let l = UnixListener::bind(&path).unwrap();
        let p2 = path.clone();
        let h = gort::spawn(move || {
            let mut c = UnixStream::connect(&p2).unwrap();
            c.write_all(b"over unix").unwrap();
        });
        let mut s = l.accept().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"over unix");
        h.join().unwrap();
        let _ = std::fs::remove_file(&path);
    });
}

#[test]
fn from_std_and_back() {
    run(1, || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let l = TcpListener::from_std(l).unwrap();
        let h = gort::spawn(move || TcpStream::connect(addr).unwrap());
        let (s, _) = l.accept().unwrap();
        let c = h.join().unwrap();
        let mut std_c = c.into_std().map_err(|_| "shared").unwrap();
        std_c.write_all(b"std").unwrap();
        let mut b = [0u8; 3];
        (&s).read_exact(&mut b).unwrap();
        assert_eq!(&b, b"std");
    });
}

/// Nothing leaks: descriptors of closed connections are released (and the
/// poller's registrations reused). Counted in a child process of its own,
/// since the other tests of this binary open descriptors concurrently.
#[test]
fn no_fd_leak() {
    let out = test_child::Child::test("fd_leak_child").run();
    assert_eq!(out.code, Some(0), "{}", out.combined());
    assert!(out.stdout.contains("1 passed"), "{}", out.combined());
}

/// The body of [`no_fd_leak`] (run alone, in a child process).
#[test]
#[ignore]
fn fd_leak_child() {
    run(2, || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        // Warm up (the poller's own descriptors are made on first use).
        drop(TcpStream::connect(addr).unwrap());
        drop(l.accept().unwrap());
        let before = open_fds();
        for _ in 0..200 {
            let c = TcpStream::connect(addr).unwrap();
            let (s, _) = l.accept().unwrap();
            (&c).write_all(b"x").unwrap();
            let mut b = [0u8; 1];
            (&s).read_exact(&mut b).unwrap();
            c.close().unwrap();
        }
        assert_eq!(open_fds(), before, "descriptors leaked");
    });
}

/// A runtime instance that used the network gives back the poller's own
/// descriptors (epoll and eventfd) once its threads have exited: many
/// `block_on`s in one process (a test suite) do not run out of
/// descriptors. Counted in a child process, alone.
#[test]
fn no_fd_leak_across_instances() {
    let out = test_child::Child::test("fd_leak_instances_child").run();
    assert_eq!(out.code, Some(0), "{}", out.combined());
    assert!(out.stdout.contains("1 passed"), "{}", out.combined());
}

/// The body of [`no_fd_leak_across_instances`].
#[test]
#[ignore]
fn fd_leak_instances_child() {
    // The first instance makes the process-wide descriptors that live as
    // long as the process (the SIGQUIT dumper's pipe): warm up with one.
    run(1, || ());
    let before = open_fds();
    for i in 0..20 {
        let addr = run(2, || {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            let c = TcpStream::connect(addr).unwrap();
            let (s, _) = l.accept().unwrap();
            (&c).write_all(b"x").unwrap();
            let mut b = [0u8; 1];
            (&s).read_exact(&mut b).unwrap();
            addr
        });
        // block_on returns with m0; the instance's other threads leave
        // just after, and the last one closes the poller. A descriptor can
        // also exist for a moment while this runs (CI once counted one
        // more than the baseline whose link was already gone when listed),
        // so the count is read until it is right or time is up: a leak
        // stays for the whole 10 s.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut n = open_fds();
        while n != before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
            n = open_fds();
        }
        assert_eq!(
            n,
            before,
            "instance {i} (listening on {addr}) left descriptors open: {:?}",
            fd_targets()
        );
    }
}

// go-test: TestNetpollBreak (proc_test.go)
#[test]
fn test_netpoll_break() {
    if plan9() {
        // Go's Plan 9 port uses the stub poller, whose break is tested
        // with the timers.
        return;
    }
    // Migrating mode, as Go runs it: the goroutine blocks its own thread in
    // the poller inside a system call (in the safe mode `blocking` would
    // run the poll on a helper thread instead), and main's loop only
    // yields when preempted.
    // SAFETY: the test touches no thread-local state around its parks.
    let b = unsafe { gort::Builder::new().migrating() };
    b.gomaxprocs(2).block_on(|| {
        let s = runtime_p::sched();
        assert!(runtime_p::netpoll::has_poller(s));
        let start = Instant::now();
        let tx = gort::Chan::<bool>::new(2);
        let t2 = tx.clone();
        gort::go(move || {
            t2.send(true);
            let s = runtime_p::sched();
            // Blocks this goroutine's thread in the poller for up to 10 s.
            gort::syscall::blocking(|| runtime_p::netpoll::netpoll(s, 10_000_000_000).0.len());
            t2.send(true);
        });
        tx.recv();
        loop {
            std::thread::sleep(Duration::from_micros(100));
            runtime_p::netpoll::netpoll_break(s);
            runtime_p::netpoll::netpoll_break(s);
            if tx.try_recv().is_ok() {
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "netpollBreak did not interrupt netpoll: slept for {:?}",
            start.elapsed()
        );
    });
}

/// Raises the soft descriptor limit to the hard one (the 10,000-connection
/// test needs about 20,000).
fn raise_nofile(want: u64) -> u64 {
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        if r.rlim_cur < want {
            r.rlim_cur = r.rlim_max.min(want.max(r.rlim_cur));
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        r.rlim_cur
    }
}

/// 10,000 concurrent connections to an echo server (1,000 on the Plan 9
/// layer, where each blocked connection holds a thread), every byte
/// echoed. The clients run in a child process (also on gort), so each
/// process needs about 10,000 descriptors, not 20,000. Release build:
/// `cargo test --release -p gort --test net -- --ignored`.
#[test]
#[ignore]
fn echo_10k_connections() {
    let n: usize = if plan9() { 1_000 } else { 10_000 };
    let limit = raise_nofile(n as u64 + 256);
    assert!(
        limit >= n as u64 + 64,
        "need {} descriptors, the hard limit allows {limit} (raise it with ulimit -Hn)",
        n + 64
    );
    let served = run(2, move || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let sv = served.clone();
        serve_echo(l.clone(), move |r| {
            r.unwrap();
            sv.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        let child = test_child::Child::test("echo_client_child")
            .env("GORT_ECHO_ADDR", &addr.to_string())
            .env("GORT_ECHO_N", &n.to_string())
            .spawn();
        let out = gort::syscall::blocking(|| child.wait_with_output()).unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        assert!(text.contains(&format!("echoed {n} of {n}")), "{text}");
        // Every server goroutine saw its client hang up.
        let t = Instant::now();
        while served.load(std::sync::atomic::Ordering::Relaxed) < n
            && t.elapsed() < Duration::from_secs(20)
        {
            gort::time::sleep(Duration::from_millis(5));
        }
        l.close().unwrap();
        served.load(std::sync::atomic::Ordering::Relaxed)
    });
    assert_eq!(served, n);
}

/// The clients of [`echo_10k_connections`]: `GORT_ECHO_N` connections to
/// `GORT_ECHO_ADDR`, all open at once, each echoing one message.
#[test]
#[ignore]
fn echo_client_child() {
    let Ok(addr) = std::env::var("GORT_ECHO_ADDR") else {
        return;
    };
    let n: usize = std::env::var("GORT_ECHO_N").unwrap().parse().unwrap();
    raise_nofile(n as u64 + 256);
    let ok = run(2, move || {
        let wg = Arc::new(gort::sync::WaitGroup::new());
        let ok = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let connected = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        // Every client connects first, then all talk at once.
        let gate = gort::Chan::<()>::new(0);
        for i in 0..n {
            let (ok, gate, connected, addr) =
                (ok.clone(), gate.clone(), connected.clone(), addr.clone());
            wg.go(move || {
                let c = TcpStream::connect(addr.as_str()).unwrap();
                connected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let _ = gate.recv(); // closed: go
                let msg = format!("connection {i} says hello");
                (&c).write_all(msg.as_bytes()).unwrap();
                let mut got = vec![0u8; msg.len()];
                (&c).read_exact(&mut got).unwrap();
                assert_eq!(got, msg.as_bytes());
                ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            });
        }
        while connected.load(std::sync::atomic::Ordering::Relaxed) < n {
            gort::time::sleep(Duration::from_millis(2));
        }
        println!("{n} connections open at once");
        gate.close();
        wg.wait();
        ok.load(std::sync::atomic::Ordering::Relaxed)
    });
    println!("echoed {ok} of {n}");
}

/// A program whose only goroutine waits for a connection is not
/// deadlocked: an M blocks in the poller on its behalf, so `checkdead`
/// stays quiet (Go's behaviour), and a client arriving later is served.
#[test]
fn io_wait_is_not_a_deadlock() {
    let out = test_child::Child::test("io_wait_child").run();
    assert!(!out.stderr.contains("deadlock"), "{}", out.stderr);
    assert_eq!(out.code, Some(0), "{}", out.combined());
    assert!(
        out.stdout.contains("served after 300 ms"),
        "{}",
        out.combined()
    );
}

/// The body of [`io_wait_is_not_a_deadlock`]: main blocks in accept with
/// nothing else to run (no timers); a plain thread, outside the runtime,
/// connects 300 ms later.
#[test]
#[ignore]
fn io_wait_child() {
    run(1, || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            c.write_all(b"late").unwrap();
        });
        let (c, _) = l.accept().unwrap();
        let mut b = [0u8; 4];
        (&c).read_exact(&mut b).unwrap();
        assert_eq!(&b, b"late");
        println!("served after 300 ms");
    });
}

/// Names go through the system resolver (on the scheduler's stack, in a
/// system call).
#[test]
fn resolves_localhost() {
    run(1, || {
        let l = TcpListener::bind("localhost:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = gort::spawn(move || TcpStream::connect(("localhost", port)).unwrap());
        let (_s, peer) = l.accept().unwrap();
        assert!(peer.ip().is_loopback());
        h.join().unwrap();
    });
}

/// A reset connection and a write to a closed peer surface as io errors of
/// their own kinds (ECONNRESET, EPIPE without a SIGPIPE), not as a crash
/// or a silent success.
#[test]
fn reset_and_broken_pipe_have_their_kinds() {
    run(2, || {
        // Reset: the peer closes with SO_LINGER 0, which sends an RST.
        let (c, s) = pair();
        s.set_linger(Some(0)).unwrap();
        drop(s);
        gort::time::sleep(Duration::from_millis(20));
        let mut b = [0u8; 8];
        let e = c.read(&mut b).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");

        // Broken pipe: keep writing to a peer that has gone.
        let (c, s) = pair();
        drop(s);
        gort::time::sleep(Duration::from_millis(20));
        let chunk = [1u8; 4096];
        let e = loop {
            if let Err(e) = c.write(&chunk) {
                break e;
            }
        };
        assert!(
            matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
            "{e}"
        );
    });
}

/// `block_on` returns while a goroutine is still parked in `accept` and
/// connection goroutines come and go: 500 runtimes in each scheduler mode,
/// each serving eight in-process clients at GOMAXPROCS 2. A shutdown whose
/// poller break was absorbed by the previous poller once left the next one
/// in `netpoll(-1)` for good (about one run in 300 in the migrating mode;
/// model: runtime-p/tests/loom_shutdown.rs). A watchdog fails the test
/// instead of letting it hang. It runs in a child process: the goroutines
/// still parked when main returns are not unwound, so the sockets they hold
/// stay open (issue 18), which would disturb the descriptor counts of the
/// tests running beside it.
#[test]
fn block_on_returns_with_a_goroutine_parked_in_the_poller() {
    if plan9() {
        return; // no poller on Plan 9: nothing parks in it
    }
    let out = test_child::Child::test("shutdown_with_parked_poller_child").run();
    assert_eq!(out.code, Some(0), "{}", out.combined());
    assert!(out.stdout.contains("1 passed"), "{}", out.combined());
}

#[test]
#[ignore = "entry point of block_on_returns_with_a_goroutine_parked_in_the_poller's child"]
fn shutdown_with_parked_poller_child() {
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = done.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(120));
        if !d.load(std::sync::atomic::Ordering::SeqCst) {
            eprintln!("block_on did not return within 120 s: a runtime hangs in its shutdown");
            std::process::abort();
        }
    });
    for round in 0..1000 {
        let b = if round % 2 == 0 {
            gort::Builder::new()
        } else {
            // SAFETY: the body touches no thread-local state around parks.
            unsafe { gort::Builder::new().migrating() }
        };
        b.gomaxprocs(2).block_on(|| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            serve_echo(l, |_| {});
            let wg = Arc::new(gort::sync::WaitGroup::new());
            for _ in 0..8 {
                wg.go(move || {
                    let mut c = TcpStream::connect(addr).unwrap();
                    let mut buf = [0u8; 16];
                    for i in 0..20u8 {
                        c.write_all(&[i; 16]).unwrap();
                        c.read_exact(&mut buf).unwrap();
                        assert_eq!(buf, [i; 16]);
                    }
                });
            }
            wg.wait();
        });
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// The poller starts with the first descriptor. An M that found no poller
/// just before, and went to sleep until the next timer (an hour away
/// here), must come back to wait in the poller: it used to sleep through
/// the I/O, and a connect to a listener of the same runtime hung (safe
/// mode, 2 Ps: about one runtime in ten).
#[test]
fn first_descriptor_wakes_an_m_sleeping_until_a_timer() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..40 {
            gort::Builder::new().gomaxprocs(2).block_on(|| {
                gort::go(|| gort::time::sleep(Duration::from_secs(3600)));
                // Let an idle M go to sleep until that timer.
                gort::time::sleep(Duration::from_millis(2));
                let l = TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = l.local_addr().unwrap();
                gort::go(move || {
                    let _ = l.accept();
                });
                let _c = TcpStream::connect(addr).unwrap();
            });
        }
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("a connect to a listener of the same runtime hung");
}

// go-test: TestDialTimeout (timeout_test.go)
// Go's table has negative timeouts; a Rust `Duration` cannot be negative,
// so an already-expired timeout is `Duration::ZERO` (the Dialer's docs)
// and Go's zero ("none") is a dialer without one. Deadlines keep Go's
// signed offsets. Go's parseDialError check of the error's structure is
// left out (gort's errors are `io::Error`s); the timeout check stays.
#[gort::test(both)]
unsafe fn test_dial_timeout() {
    // (timeout: None = Go's 0, Some(ZERO) = Go's negative; deadline offset
    // in ns, 0 = none)
    let tests: [(Option<Duration>, i128); 8] = [
        // Tests that dial timeouts, deadlines in the past work.
        (Some(Duration::ZERO), 0),
        (None, -5_000_000_000),
        (Some(Duration::ZERO), 5_000_000_000), // timeout over deadline
        (Some(Duration::ZERO), 0),
        (None, i64::MIN as i128),
        (Some(Duration::from_millis(1)), 0),
        (None, 1_000_000),
        (Some(Duration::from_millis(1)), 5_000_000_000), // timeout over deadline
    ];
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    for (initial_timeout, initial_delta) in tests {
        let mut timeout = initial_timeout;
        let mut delta = initial_delta;
        let (before, after, deadline, err) = loop {
            let mut d = gort::net::Dialer::new();
            if let Some(t) = timeout {
                d = d.timeout(t);
            }
            let now = Instant::now();
            let deadline = (delta != 0).then(|| {
                if delta > 0 {
                    now + Duration::from_nanos(delta as u64)
                } else {
                    // An Instant cannot go before the clock's start: the
                    // earliest one there is stands for Go's far past.
                    let back =
                        Duration::from_nanos(delta.unsigned_abs().min(u64::MAX as u128) as u64);
                    now.checked_sub(back).unwrap_or_else(|| earliest(now))
                }
            });
            if let Some(dl) = deadline {
                d = d.deadline(dl);
            }
            let before = Instant::now();
            let r = d.dial(addr);
            let after = Instant::now();
            match r {
                Err(e) => break (before, after, deadline, e),
                Ok(c) => {
                    // The kernel accepted on the listener's behalf: close
                    // and try a shorter timeout.
                    drop(c);
                    let t = timeout.unwrap_or_default();
                    assert!(
                        !(delta <= 1 && t <= Duration::from_nanos(1)),
                        "can't reduce Timeout or Deadline"
                    );
                    if delta > 1 {
                        delta /= 2;
                    }
                    if t > Duration::from_nanos(1) {
                        timeout = Some(t / 2);
                    }
                }
            }
        };
        if deadline.is_none_or(|d| after < d) {
            let delay = after - before;
            let t = timeout.unwrap_or_default();
            assert!(delay >= t, "Dial returned after {delay:?}; want ≥{t:?}");
        }
        assert!(
            is_timeout(&err),
            "{initial_timeout:?}/{initial_delta}: Dial: {err} (kind {:?}), want timeout",
            err.kind()
        );
    }
    drop(ln);
}

/// The earliest `Instant` at or before `now` that can be made.
fn earliest(now: Instant) -> Instant {
    let mut t = now;
    let mut step = Duration::from_secs(1 << 30);
    while step > Duration::ZERO {
        if let Some(e) = t.checked_sub(step) {
            t = e;
        } else {
            step /= 2;
        }
    }
    t
}

/// `connect_timeout` against a listener whose accept queue is full (a
/// backlog of 0, nothing accepting): the kernel drops the SYNs, so the
/// connect can only end by its timeout, which it must keep within 10%
/// (issue 22's acceptance).
#[gort::test(both)]
unsafe fn connect_timeout_against_a_full_backlog() {
    let (_ln, addr, held) = full_backlog();
    let want = Duration::from_millis(500);
    for _ in 0..3 {
        let t = Instant::now();
        let e = TcpStream::connect_timeout(&addr, want).unwrap_err();
        let took = t.elapsed();
        assert!(is_timeout(&e), "{e}");
        assert!(
            took >= want && took <= want + want / 10,
            "connect_timeout({want:?}) took {took:?}"
        );
    }
    let e = TcpStream::connect_timeout(&addr, Duration::ZERO).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    drop(held);
}

/// A listener with a full accept queue (backlog 0, nothing accepting),
/// and the connections that filled it (to keep).
fn full_backlog() -> (std::net::TcpListener, std::net::SocketAddr, Vec<TcpStream>) {
    let ln = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&ln);
    // SAFETY: the listener's own open descriptor; a second listen only
    // sets the backlog.
    assert_eq!(unsafe { libc::listen(fd, 0) }, 0);
    // Fill the queue: connects succeed until it is full.
    let mut held = Vec::new();
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(c) => held.push(c),
            Err(e) => {
                assert!(is_timeout(&e), "filling the queue: {e}");
                break;
            }
        }
        assert!(held.len() < 64, "the accept queue never filled");
    }
    (ln, addr, held)
}

/// Go's DialContext: cancelling the context interrupts a connect that
/// cannot finish (Go's interrupter), with Go's `operation was canceled`;
/// a context deadline ends it with `i/o timeout` within 10%; a context
/// that has ended fails the dial at once; and a dial that succeeded is not
/// disturbed by a later cancel.
#[gort::test(both)]
unsafe fn dial_context_cancel_and_deadline() {
    use gort::context::{background, with_cancel, with_timeout};
    use gort::net::{Dialer, is_canceled};
    let (_ln, addr, held) = full_backlog();
    // Cancelling interrupts the connect where there is a poller (the Plan
    // 9 layer's connect is a blocking system call; only deadlines end it).
    if !plan9() {
        let (ctx, cancel) = with_cancel(&background());
        let c2 = cancel.clone();
        gort::time::after_func(Duration::from_millis(150), move || c2.cancel());
        let t = Instant::now();
        let e = Dialer::new().dial_context(&ctx, addr).unwrap_err();
        let took = t.elapsed();
        assert!(is_canceled(&e) && !is_timeout(&e), "{e}");
        assert_eq!(e.kind(), ErrorKind::Interrupted);
        assert_eq!(
            e.to_string(),
            format!("dial tcp {addr}: operation was canceled")
        );
        assert!(
            took >= Duration::from_millis(150) && took < Duration::from_millis(400),
            "the cancel took {took:?} to end the dial"
        );
    }
    // The context's deadline, shorter than the dialer's timeout.
    let want = Duration::from_millis(300);
    let (ctx, _cancel) = with_timeout(&background(), want);
    let t = Instant::now();
    let e = Dialer::new()
        .timeout(Duration::from_secs(10))
        .dial_context(&ctx, addr)
        .unwrap_err();
    let took = t.elapsed();
    assert!(is_timeout(&e), "{e}");
    assert!(
        took >= want && took <= want + want / 10,
        "dial_context with a {want:?} context took {took:?}"
    );
    // A context that has ended fails the dial at once.
    let e = Dialer::new().dial_context(&ctx, addr).unwrap_err();
    assert!(is_timeout(&e), "{e}");
    let (ctx, cancel) = with_cancel(&background());
    cancel.cancel();
    let t = Instant::now();
    let e = Dialer::new().dial_context(&ctx, addr).unwrap_err();
    assert!(is_canceled(&e), "{e}");
    assert_eq!(
        e.to_string(),
        format!("dial tcp {addr}: operation was canceled")
    );
    assert!(t.elapsed() < Duration::from_millis(50));
    drop(held);
    // A dial that succeeds, then its context is cancelled: the connection
    // works on (no deadline left behind).
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    serve_echo(l.clone(), |_| {});
    let (ctx, cancel) = with_cancel(&background());
    let mut c = Dialer::new()
        .timeout(Duration::from_secs(5))
        .dial_context(&ctx, addr)
        .unwrap();
    cancel.cancel();
    gort::time::sleep(Duration::from_millis(20));
    c.write_all(b"ping").unwrap();
    let mut b = [0u8; 4];
    c.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"ping");
    // The accept loop ends with its listener (on the Plan 9 layer it
    // blocks in a system call that only a close ends).
    drop(c);
    l.close().unwrap();
}

/// Go's LookupIP/LookupHost: `localhost` and address literals resolve
/// without repeats, from a goroutine (the resolver runs off its stack).
#[gort::test(both)]
unsafe fn lookup_ip_and_host() {
    let ips = gort::net::lookup_ip("localhost").unwrap();
    assert!(
        ips.contains(&"127.0.0.1".parse().unwrap()) || ips.contains(&"::1".parse().unwrap()),
        "{ips:?}"
    );
    let mut seen = ips.clone();
    seen.dedup();
    assert_eq!(seen.len(), ips.len(), "repeats in {ips:?}");
    assert_eq!(gort::net::lookup_host("127.0.0.1").unwrap(), ["127.0.0.1"]);
    assert_eq!(gort::net::lookup_host("::1").unwrap(), ["::1"]);
}
