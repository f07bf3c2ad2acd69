//! What the network test files share: a runtime that returns to the test,
//! and the process's open descriptors.
#![allow(dead_code)]

/// Runs `f` as the main goroutine of a fresh runtime with `procs` Ps and
/// returns its result, in the scheduler mode `GORT_SCHED` names (the safe
/// mode unless it says `migrating`), as the conformance report runs each
/// mode.
pub fn run<T: Send + 'static>(procs: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
    let b = gort::Builder::new().gomaxprocs(procs);
    let b = if std::env::var("GORT_SCHED").as_deref() == Ok("migrating") {
        // SAFETY: these tests keep the migrating mode's contract: no
        // thread-local, `!Send` value or std stdout lock is held across a
        // park in them.
        unsafe { b.migrating() }
    } else {
        b
    };
    b.block_on(f)
}

/// Number of open descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// What each open descriptor is (for messages when a count is off).
pub fn fd_targets() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| format!("{:?}", std::fs::read_link(e.path()).unwrap_or_default()))
        .collect()
}

/// An echo server on `l`, as Go's `net.Listen` + `go handle(conn)`: a
/// goroutine per connection writes back what it reads until the peer hangs
/// up or a read fails, then calls `done` with the outcome (a failed write
/// is an error). Returns once the goroutine that accepts is started.
pub fn serve_echo(
    l: gort::net::TcpListener,
    done: impl Fn(std::io::Result<()>) + Clone + Send + 'static,
) {
    use std::io::Write;
    gort::go(move || {
        while let Ok((c, _)) = l.accept() {
            let done = done.clone();
            gort::go(move || {
                let mut buf = [0u8; 256];
                let r = loop {
                    match c.read(&mut buf) {
                        Ok(0) | Err(_) => break Ok(()),
                        Ok(n) => {
                            if let Err(e) = (&c).write_all(&buf[..n]) {
                                break Err(e);
                            }
                        }
                    }
                };
                done(r);
            });
        }
    });
}
