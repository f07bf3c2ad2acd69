//! gort::net under faults (issue 17): a connection reset while it waits in
//! the listen queue is still accepted and reports the reset on its first
//! read (Go's behaviour), and a thousand goroutines parked in `read` or
//! `write` all return an error promptly when their peers reset, at
//! GOMAXPROCS 2 and 8, leaving no descriptor behind. A goroutine resumes
//! on whichever thread runs it next, so these also check that an error
//! code is read on the thread that made the failing call (see `sys` in
//! `gort::net`); the compiler only reuses errno's address in optimised
//! builds, so the release runs are the ones that would catch a regression.
//!
//! The many-connection cases run in a child process each, alone, so that
//! counting `/proc/self/fd` sees only their descriptors.

mod common;
use common::{fd_targets, open_fds, run, serve_echo};

use std::io::{ErrorKind, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gort::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// Sets `SO_LINGER {on, 0}` and closes: the peer gets an RST, not a FIN.
fn reset(c: TcpStream) {
    c.set_linger(Some(0)).unwrap();
    drop(c);
}

/// A client resets its connection while it is still in the listen queue:
/// `accept` returns it anyway (with the client's address, although the
/// socket is no longer connected), and the first read reports the reset,
/// as in Go. Before, `accept` asked `getpeername`, which fails with
/// ENOTCONN on such a socket, and the accept itself failed.
#[test]
fn reset_before_accept_is_accepted_and_reads_reset() {
    run(2, || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let c = TcpStream::connect(addr).unwrap();
        let client = c.local_addr().unwrap();
        reset(c);
        // The RST is handled by the loopback device at once; give it a
        // moment anyway before the accept.
        gort::time::sleep(Duration::from_millis(20));
        let (s, peer) = l.accept().expect("accept of a reset connection");
        assert_eq!(peer, client);
        let mut b = [0u8; 8];
        let e = s.read(&mut b).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
        // The reset is reported once; the connection then reads as ended.
        assert_eq!(s.read(&mut b).unwrap(), 0);

        // The listener goes on serving.
        let h = gort::spawn(move || {
            let c = TcpStream::connect(addr).unwrap();
            (&c).write_all(b"ok").unwrap();
        });
        let (s, _) = l.accept().unwrap();
        let mut b = [0u8; 2];
        std::io::Read::read_exact(&mut &s, &mut b).unwrap();
        assert_eq!(&b, b"ok");
        h.join().unwrap();
    });
}

/// The Unix-socket twin: a client that connects and closes before the
/// server accepts is accepted, and reads as ended.
#[test]
fn unix_closed_before_accept_is_accepted() {
    let dir = std::env::temp_dir().join(format!("gort-net-faults-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("s.sock");
    let _ = std::fs::remove_file(&path);
    let p = path.clone();
    run(2, move || {
        let l = UnixListener::bind(&p).unwrap();
        drop(UnixStream::connect(&p).unwrap());
        let s = l.accept().expect("accept of a closed connection");
        let mut b = [0u8; 8];
        assert_eq!(s.read(&mut b).unwrap(), 0);
    });
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir(&dir);
}

/// Raises the soft descriptor limit to the hard one; returns the new soft
/// limit.
fn raise_nofile() -> u64 {
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        if r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        r.rlim_cur
    }
}

/// Socket buffer size for the waiting-in-write case: small buffers on both
/// sides (the kernel doubles the value) so that a thousand blocked writers
/// hold little kernel memory.
const SMALL_BUF: libc::c_int = 4096;

fn set_buf(fd: i32, opt: libc::c_int) {
    let v = SMALL_BUF;
    // SAFETY: an int option value for a socket we own.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&raw const v).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "setsockopt");
}

/// A client connection with a small receive buffer, set before connecting
/// so that the window it offers is small too. The connect is a blocking
/// one (loopback, to a listener with room in its queue: immediate).
#[inline(never)]
fn small_client(addr: SocketAddr) -> TcpStream {
    let SocketAddr::V4(a) = addr else {
        panic!("IPv4 only")
    };
    // SAFETY: plain system call.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: fd is ours; from here on the std stream owns it.
    let std = unsafe { std::net::TcpStream::from_raw_fd(fd) };
    set_buf(fd, libc::SO_RCVBUF);
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: a.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(a.ip().octets()),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sin is a sockaddr_in of the length given.
    let r = unsafe {
        libc::connect(
            fd,
            (&raw const sin).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "connect: {}", std::io::Error::last_os_error());
    TcpStream::from_std(std).unwrap()
}

/// What the server goroutines wait in.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Wait {
    Read,
    Write,
}

/// What every write-side server tries to send at once: far more than the
/// small buffers hold, so the write parks.
static BIG: [u8; 1 << 20] = [0; 1 << 20];

/// How each server goroutine's call ended, and when.
type Results = Arc<Mutex<Vec<(std::io::Result<()>, Instant)>>>;

/// One batch of `n` connections whose server goroutines all wait (in
/// `read`, or in `write` with a full send buffer), then every client
/// resets. Every server goroutine must return an error within 1 s of the
/// last reset. Returns how long the slowest took.
fn reset_batch(n: usize, wait: Wait) -> Duration {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    if wait == Wait::Write {
        // Accepted sockets inherit the listener's send buffer size.
        set_buf(l.as_raw_fd(), libc::SO_SNDBUF);
    }
    let addr = l.local_addr().unwrap();
    let waiting = Arc::new(AtomicUsize::new(0));
    let results: Results = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let c = match wait {
            Wait::Read => TcpStream::connect(addr).unwrap(),
            Wait::Write => small_client(addr),
        };
        clients.push(c);
        let (s, _) = l.accept().unwrap();
        let (waiting, results) = (waiting.clone(), results.clone());
        gort::go(move || {
            waiting.fetch_add(1, Ordering::Release);
            // Nothing is ever sent to the server and the client never
            // reads: either call can only park, then fail.
            let r = match wait {
                Wait::Read => {
                    let mut b = [0u8; 64];
                    match s.read(&mut b) {
                        Ok(k) => Err(std::io::Error::other(format!("read returned {k}"))),
                        Err(e) => Err(e),
                    }
                }
                Wait::Write => (&s).write_all(&BIG),
            };
            let at = Instant::now();
            results.lock().unwrap().push((r, at));
        });
    }
    // Every server goroutine has started its call; once started it runs
    // until it parks (nothing else can stop it), so a short sleep sees
    // them all parked. (A reset that came first would be reported by the
    // call itself, which the checks below accept as well.)
    let t = Instant::now();
    while waiting.load(Ordering::Acquire) < n {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "server goroutines did not start"
        );
        gort::time::sleep(Duration::from_millis(1));
    }
    gort::time::sleep(Duration::from_millis(50));
    if let Some((r, _)) = results.lock().unwrap().first() {
        panic!("{wait:?}: a server returned before any reset: {r:?}");
    }
    for c in clients {
        reset(c);
    }
    let reset_at = Instant::now();
    // Bounded wait: a goroutine that missed its wake-up is reported, not
    // waited for.
    while results.lock().unwrap().len() < n && reset_at.elapsed() < Duration::from_secs(10) {
        gort::time::sleep(Duration::from_millis(1));
    }
    let results = std::mem::take(&mut *results.lock().unwrap());
    assert_eq!(
        results.len(),
        n,
        "{wait:?}: {} of {n} server goroutines never returned after their peers reset",
        n - results.len()
    );
    let mut slowest = Duration::ZERO;
    for (r, at) in &results {
        let e = r.as_ref().expect_err("a server call succeeded");
        let ok = match wait {
            Wait::Read => e.kind() == ErrorKind::ConnectionReset,
            // The first send after the reset fails with ECONNRESET, later
            // ones with EPIPE.
            Wait::Write => matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
        };
        assert!(ok, "{wait:?}: unexpected error {e} ({:?})", e.kind());
        slowest = slowest.max(at.saturating_duration_since(reset_at));
    }
    assert!(
        slowest < Duration::from_secs(1),
        "{wait:?}: a server goroutine took {slowest:?} to see its reset"
    );
    slowest
}

/// The body run in each child: 1,000 connections (in batches that fit the
/// descriptor limit) at `procs` Ps, then a check that every descriptor
/// was given back. (On the Plan 9 layer, without a poller, each waiting
/// server holds a thread blocked in its system call: 1,000 threads.)
fn reset_while_waiting(procs: usize, wait: Wait) {
    let n: usize = 1_000;
    let limit = raise_nofile() as usize;
    // Two descriptors a connection, and room for the runtime's own.
    let batch = n.min(limit.saturating_sub(128) / 2);
    assert!(batch >= 16, "descriptor limit too low: {limit}");
    // The first instance makes the descriptors that live as long as the
    // process (the SIGQUIT dumper's pipe): warm up with one.
    run(1, || ());
    let before = open_fds();
    let start = Instant::now();
    let slowest = run(procs, move || {
        let mut slowest = Duration::ZERO;
        let mut done = 0;
        while done < n {
            let k = batch.min(n - done);
            slowest = slowest.max(reset_batch(k, wait));
            done += k;
        }
        slowest
    });
    let took = start.elapsed();
    // The server goroutines close their sockets as they return, and the
    // instance's last thread closes the poller after block_on returns: a
    // leak stays for the whole 10 s.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut now = open_fds();
    while now != before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
        now = open_fds();
    }
    assert_eq!(now, before, "descriptors leaked: {:?}", fd_targets());
    println!(
        "{wait:?} at GOMAXPROCS {procs}: {n} connections in batches of {batch}, \
         slowest return {slowest:?} after the resets, {took:?} in all"
    );
}

/// Runs case `case` of [`reset_child`] in a child process of its own.
fn in_child(case: &str) {
    let out = test_child::Child::test("reset_child")
        .env("GORT_NET_FAULTS_CASE", case)
        .run();
    assert_eq!(out.code, Some(0), "{}", out.combined());
    assert!(out.stdout.contains("1 passed"), "{}", out.combined());
    // The timings, for `--nocapture`.
    for l in out.stdout.lines().filter(|l| l.contains("GOMAXPROCS")) {
        println!("{l}");
    }
}

#[test]
fn reset_while_waiting_in_read_2_procs() {
    in_child("read 2");
}

#[test]
fn reset_while_waiting_in_read_8_procs() {
    in_child("read 8");
}

#[test]
fn reset_while_waiting_in_write_2_procs() {
    in_child("write 2");
}

#[test]
fn reset_while_waiting_in_write_8_procs() {
    in_child("write 8");
}

/// The child of the `reset_while_waiting_*` tests: the case is in
/// `GORT_NET_FAULTS_CASE` ("read 2", "write 8", ...).
#[test]
#[ignore]
fn reset_child() {
    let Ok(case) = std::env::var("GORT_NET_FAULTS_CASE") else {
        return;
    };
    let (wait, procs) = case.split_once(' ').unwrap();
    let wait = match wait {
        "read" => Wait::Read,
        "write" => Wait::Write,
        w => panic!("unknown case {w}"),
    };
    reset_while_waiting(procs.parse().unwrap(), wait);
}

/// Soak (issue 17): an echo server (a goroutine per connection) under 64
/// client threads that connect, echo a few messages and hang up, one in
/// ten with a reset while the server waits in `read`. Descriptors and
/// goroutines must stay flat: every 10 s the clients pause between
/// connections, and within 2 s everything but the listener (and its accept
/// loop) is gone, at every pause, so nothing grew. (Sampling the counts
/// while clients run measured the connections in flight, which follow the
/// load on the machine: window means moved 61 -> 69 goroutines in a CI
/// run that leaked nothing.) `GORT_SOAK_SECS` sets the length (120 by
/// default; scripts/test.sh runs 40). Ignored by a plain `cargo test`; runs
/// in a child process of its own for the descriptor counts.
#[test]
#[ignore = "soak; run with --ignored (GORT_SOAK_SECS=120 by default)"]
fn soak_with_resetting_clients_stays_flat() {
    let out = test_child::Child::test("soak_child")
        .env(
            "GORT_SOAK_SECS",
            &std::env::var("GORT_SOAK_SECS").unwrap_or_else(|_| "120".into()),
        )
        .run();
    for l in out
        .stdout
        .lines()
        .filter_map(|l| l.find("soak:").map(|i| &l[i..]))
    {
        println!("{l}");
    }
    assert_eq!(out.code, Some(0), "{}", out.combined());
    assert!(out.stdout.contains("1 passed"), "{}", out.combined());
}

#[test]
#[ignore = "entry point of soak_with_resetting_clients_stays_flat's child"]
fn soak_child() {
    use std::io::Read;
    use std::sync::atomic::AtomicBool;
    let secs: u64 = std::env::var("GORT_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120)
        .max(20);
    const CLIENTS: usize = 64;
    let (fds0, checkpoints, served, resets) = run(2, move || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        // With the listener and the poller's own descriptors.
        let fds0 = open_fds();
        let served = Arc::new(AtomicUsize::new(0));
        let sv = served.clone();
        // A reset may fail a write: that ends the connection, as any end.
        serve_echo(l, move |_| {
            sv.fetch_add(1, Ordering::Relaxed);
        });
        let stop = Arc::new(AtomicBool::new(false));
        // Checkpoints: the clients pause between connections (`paused`
        // counts them), so that nothing is in flight.
        let pause = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicUsize::new(0));
        let resets = Arc::new(AtomicUsize::new(0));
        let clients: Vec<_> = (0..CLIENTS as u64)
            .map(|t| {
                let (stop, resets) = (stop.clone(), resets.clone());
                let (pause, paused) = (pause.clone(), paused.clone());
                std::thread::spawn(move || {
                    let mut n = t;
                    while !stop.load(Ordering::Relaxed) {
                        if pause.load(Ordering::Acquire) {
                            paused.fetch_add(1, Ordering::AcqRel);
                            while pause.load(Ordering::Acquire) {
                                std::thread::sleep(Duration::from_millis(2));
                            }
                            paused.fetch_sub(1, Ordering::AcqRel);
                        }
                        n = n
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let Ok(mut c) = std::net::TcpStream::connect(addr) else {
                            std::thread::sleep(Duration::from_millis(5));
                            continue;
                        };
                        let _ = c.set_nodelay(true);
                        let mut buf = [0u8; 64];
                        for _ in 0..(1 + (n >> 33) % 8) {
                            if c.write_all(&[7; 64]).is_err() || c.read_exact(&mut buf).is_err() {
                                break;
                            }
                        }
                        if (n >> 40) % 10 == 0 {
                            // The server waits in read: reset under it.
                            socket2_linger0(&c);
                            drop(c);
                            resets.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        // Every 10 s, pause the clients and let the server finish what is
        // in flight; then what is left is what the run leaked.
        let mut checkpoints = Vec::new();
        let mut elapsed = 0;
        while elapsed < secs {
            let step = 10.min(secs - elapsed);
            gort::time::sleep(Duration::from_secs(step));
            elapsed += step;
            pause.store(true, Ordering::Release);
            while paused.load(Ordering::Acquire) < CLIENTS {
                gort::time::sleep(Duration::from_millis(5));
            }
            let t = Instant::now();
            let mut at = (open_fds(), gort::num_goroutine());
            while (at.0 > fds0 || at.1 > 2) && t.elapsed() < Duration::from_secs(2) {
                gort::time::sleep(Duration::from_millis(20));
                at = (open_fds(), gort::num_goroutine());
            }
            checkpoints.push((elapsed, served.load(Ordering::Relaxed), at));
            pause.store(false, Ordering::Release);
        }
        stop.store(true, Ordering::Relaxed);
        gort::syscall::blocking(move || {
            for c in clients {
                c.join().unwrap();
            }
        });
        (
            fds0,
            checkpoints,
            served.load(Ordering::Relaxed),
            resets.load(Ordering::Relaxed),
        )
    });
    println!(
        "soak: {secs} s, {served} connections served, {resets} reset by the client; \
         at each pause (s, served, descriptors, goroutines): {:?}; baseline {fds0} \
         descriptors, 2 goroutines (the listener's accept loop and main)",
        checkpoints
            .iter()
            .map(|&(t, n, (f, g))| (t, n, f, g))
            .collect::<Vec<_>>()
    );
    assert!(resets > 0 && served > resets);
    // Flat: at every pause, with nothing in flight, everything but the
    // listener is gone: no growth at all over the run.
    for &(t, _, (fds, gs)) in &checkpoints {
        assert!(fds <= fds0, "at {t} s: {fds} descriptors, baseline {fds0}");
        assert!(gs <= 2, "at {t} s: {gs} goroutines, baseline 2");
    }
}

/// `SO_LINGER {on, 0}` on a std stream (the client side), so that closing
/// it sends an RST.
fn socket2_linger0(c: &std::net::TcpStream) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a correctly sized option value.
    let r = unsafe {
        libc::setsockopt(
            c.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const l).cast(),
            core::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0);
}
