//! Go's `net` package for goroutines: TCP, UDP and Unix sockets whose
//! blocking-style operations park the goroutine, not the thread.
//!
//! On an OS layer with a network poller (Linux: epoll, a port of
//! `netpoll_epoll.go`), sockets are non-blocking and registered with the
//! runtime's poller; an operation that would block parks the goroutine in
//! `IO wait` until the descriptor is ready (Go's `internal/poll.FD`). On an
//! OS layer without one (Plan 9, Go's `netpoll_stub.go`), each operation is
//! a blocking system call inside `entersyscall`/`exitsyscall`, as Go's
//! Plan 9 port does: the thread blocks, sysmon hands its P to another.
//!
//! Deadlines are Go's: absolute instants (`set_read_deadline`,
//! `set_write_deadline`, `set_deadline`; `None` clears), after which
//! pending and future operations fail with Go's `i/o timeout`
//! ([`std::io::ErrorKind::TimedOut`]) until the deadline is moved.
//! [`TcpStream::close`] (and the same on the other types) is Go's `Close`:
//! it wakes every goroutine blocked on the socket with `use of closed
//! network connection`, and later operations fail the same way; the
//! descriptor itself is closed when the last handle is dropped, so it
//! cannot be reused under an operation still in flight.
//!
//! Errors of TCP and Unix streams, listeners and dials are Go's: an
//! [`OpError`] inside the `io::Error` (of the cause's kind) that prints as
//! Go's (`read tcp 127.0.0.1:5000->127.0.0.1:41234: read: connection
//! reset by peer`), and [`is_closed`] / [`is_timeout`] are Go's
//! `errors.Is(err, net.ErrClosed)` / `os.ErrDeadlineExceeded`
//! ([`os_error_of`] gives the errno behind one). The cross-check pair
//! `net_error_text` compares the texts with Go's.
//!
//! Name resolution (`"localhost:8080"`) calls the system resolver as a
//! blocking system call on the scheduler's stack, as Go's cgo resolver runs
//! on the system stack: a resolver's deep stack never lands on a goroutine's.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::os::unix::net::SocketAddr as UnixSocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use runtime_p::netpoll::{
    self, POLL_ERR_CLOSING, POLL_ERR_NOT_POLLABLE, POLL_ERR_TIMEOUT, POLL_NO_ERROR, PollDesc,
};

/// Go's `net.ErrClosed` text.
pub const ERR_CLOSED: &str = "use of closed network connection";
/// Go's `os.ErrDeadlineExceeded` text.
pub const ERR_TIMEOUT: &str = "i/o timeout";

/// Go's `net.ErrClosed`: the error of an operation on a closed socket
/// (`use of closed network connection`). Recognise it with [`is_closed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrClosed;

impl std::fmt::Display for ErrClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(ERR_CLOSED)
    }
}

impl std::error::Error for ErrClosed {}

/// Go's `os.ErrDeadlineExceeded`: an operation passed its deadline
/// (`i/o timeout`, `ErrorKind::TimedOut`). Recognise it with
/// [`is_timeout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrDeadlineExceeded;

impl std::fmt::Display for ErrDeadlineExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(ERR_TIMEOUT)
    }
}

impl std::error::Error for ErrDeadlineExceeded {}

/// Go's `errCanceled` (net.go): a dial whose context was cancelled
/// (`operation was canceled`, `ErrorKind::Interrupted`); Go's
/// `errors.Is(err, context.Canceled)` holds for it. Recognise it with
/// [`is_canceled`]. A context whose deadline passed gives
/// [`ErrDeadlineExceeded`] instead, as Go's `mapErr` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrCanceled;

impl std::fmt::Display for ErrCanceled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("operation was canceled")
    }
}

impl std::error::Error for ErrCanceled {}

/// Go's `net.OpError`: what failed, on which network and addresses, and
/// why; it prints as Go's does (`read tcp 127.0.0.1:5000->127.0.0.1:41234:
/// i/o timeout`, `dial tcp 127.0.0.1:1: connect: connection refused`). The
/// `io::Error`s of gort's sockets carry one, with the kind of the cause.
#[derive(Debug)]
pub struct OpError {
    /// `read`, `write`, `accept`, `dial`.
    pub op: &'static str,
    /// `tcp`, `unix`.
    pub net: &'static str,
    /// The local address, where Go prints one.
    pub source: Option<String>,
    /// The remote address (the listener's for `accept`).
    pub addr: Option<String>,
    /// The cause.
    pub err: io::Error,
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.op, self.net)?;
        if let Some(s) = &self.source {
            write!(f, " {s}")?;
        }
        if let Some(a) = &self.addr {
            let sep = if self.source.is_some() { "->" } else { " " };
            write!(f, "{sep}{a}")?;
        }
        write!(f, ": {}", self.err)
    }
}

impl std::error::Error for OpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.err)
    }
}

/// The innermost cause of a gort socket error (through [`OpError`]s).
fn cause_of(e: &io::Error) -> &io::Error {
    match e.get_ref().and_then(|i| i.downcast_ref::<OpError>()) {
        Some(op) => cause_of(&op.err),
        None => e,
    }
}

/// Go's `errors.Is(err, net.ErrClosed)`: whether `e` says the socket was
/// closed (by this side: `close` and the goroutines blocked on it).
pub fn is_closed(e: &io::Error) -> bool {
    cause_of(e).get_ref().is_some_and(|i| i.is::<ErrClosed>())
}

/// Go's `errors.Is(err, os.ErrDeadlineExceeded)`: whether `e` is a
/// deadline or timeout that passed.
pub fn is_timeout(e: &io::Error) -> bool {
    cause_of(e)
        .get_ref()
        .is_some_and(|i| i.is::<ErrDeadlineExceeded>())
}

/// Go's `errors.Is(err, context.Canceled)` for a dial: whether `e` says
/// the dial's context was cancelled ([`ErrCanceled`]).
pub fn is_canceled(e: &io::Error) -> bool {
    cause_of(e).get_ref().is_some_and(|i| i.is::<ErrCanceled>())
}

/// mapErr: port of net.mapErr (net.go): a context's error as a dial
/// reports it.
fn map_ctx_err(e: crate::context::Error) -> io::Error {
    match e {
        crate::context::Error::DeadlineExceeded => timeout_err(),
        crate::context::Error::Canceled => io::Error::new(io::ErrorKind::Interrupted, ErrCanceled),
    }
}

/// Go's `wrapSyscallError` inside an [`OpError`]: an OS error prints as
/// `{syscall}: {Go's text}` (strerror's, with Go's lower-case first
/// letter); gort's own errors as they are. The kind is the cause's.
fn op_error(
    op: &'static str,
    net: &'static str,
    syscall: &'static str,
    source: Option<String>,
    addr: Option<String>,
    err: io::Error,
) -> io::Error {
    let kind = err.kind();
    let err = match err.raw_os_error() {
        Some(n) => {
            // SAFETY: strerror returns a valid C string for any errno.
            let text = unsafe { std::ffi::CStr::from_ptr(libc::strerror(n)) }
                .to_string_lossy()
                .into_owned();
            let mut chars = text.chars();
            let text = match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect::<String>(),
                None => text,
            };
            io::Error::new(
                kind,
                SyscallError {
                    syscall,
                    text,
                    errno: n,
                },
            )
        }
        None => err,
    };
    io::Error::new(
        kind,
        OpError {
            op,
            net,
            source,
            addr,
            err,
        },
    )
}

/// Go's `os.SyscallError`: `{syscall}: {text}`.
#[derive(Debug)]
struct SyscallError {
    syscall: &'static str,
    text: String,
    errno: i32,
}

impl std::fmt::Display for SyscallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.syscall, self.text)
    }
}

impl std::error::Error for SyscallError {}

impl SyscallError {
    /// The errno, for `raw_os_error` callers (see [`os_error_of`]).
    fn errno(&self) -> i32 {
        self.errno
    }
}

/// The errno behind a gort socket error, if an OS error caused it
/// (`io::Error::raw_os_error` of the cause).
pub fn os_error_of(e: &io::Error) -> Option<i32> {
    let c = cause_of(e);
    c.raw_os_error().or_else(|| {
        c.get_ref()
            .and_then(|i| i.downcast_ref::<SyscallError>())
            .map(SyscallError::errno)
    })
}

fn closed_err() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, ErrClosed)
}

fn timeout_err() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, ErrDeadlineExceeded)
}

/// convertErr of internal/poll.
fn poll_err(code: i32) -> io::Error {
    match code {
        POLL_ERR_CLOSING => closed_err(),
        POLL_ERR_TIMEOUT => timeout_err(),
        POLL_ERR_NOT_POLLABLE => io::Error::other("not pollable"),
        _ => io::Error::other(format!("unexpected poll error {code}")),
    }
}

fn os_err(errno: i32) -> io::Error {
    io::Error::from_raw_os_error(errno)
}

/// The system calls of this module, each made together with its errno
/// read in one out-of-line step: the value, or the errno it set.
///
/// A goroutine that parks can resume on another OS thread, and errno is
/// per thread, but std declares `__errno_location()` side-effect free, so
/// the compiler may compute errno's address once and reuse it: a release
/// build of the old `NetFd::io` loop (call, park on EAGAIN, call again,
/// read errno) called it once, before the loop, and after a park read the
/// errno of the thread it had parked on (seen: a read after a peer reset
/// parked forever, having read that thread's EAGAIN).
/// Inside these `#[inline(never)]` helpers nothing parks, so the errno they
/// read belongs to the call they made; callers only ever see the returned
/// value. Nothing else in this module reads errno (std calls made through
/// [`NetFd::with_std`] read it inside std, in an out-of-line frame).
mod sys {
    use std::os::fd::RawFd;

    /// The calling thread's errno.
    fn errno() -> i32 {
        // SAFETY: __errno_location returns the calling thread's errno slot,
        // valid for reads for the thread's lifetime.
        unsafe { *libc::__errno_location() }
    }

    /// A `-1`-and-errno result as a value or the errno (called inside the
    /// helpers, right after their call).
    fn cvt(r: isize) -> Result<usize, i32> {
        if r < 0 { Err(errno()) } else { Ok(r as usize) }
    }

    /// Checks that `len` bytes of `T` may be read or written (socket
    /// addresses are passed as a value and the length the kernel uses).
    fn check_len<T>(len: libc::socklen_t) {
        assert!(len as usize <= size_of::<T>(), "address length too large");
    }

    #[inline(never)]
    pub fn socket(family: i32, ty: i32) -> Result<RawFd, i32> {
        // SAFETY: plain system call.
        cvt(unsafe { libc::socket(family, ty, 0) } as isize).map(|fd| fd as RawFd)
    }

    #[inline(never)]
    pub fn fcntl_getfl(fd: RawFd) -> Result<i32, i32> {
        // SAFETY: F_GETFL takes no argument.
        cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) } as isize).map(|f| f as i32)
    }

    #[inline(never)]
    pub fn fcntl_setfl(fd: RawFd, flags: i32) -> Result<(), i32> {
        // SAFETY: F_SETFL takes an int.
        cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } as isize).map(drop)
    }

    /// `setsockopt` with `val` as the option value.
    #[inline(never)]
    pub fn setsockopt<T>(fd: RawFd, level: i32, name: i32, val: &T) -> Result<(), i32> {
        // SAFETY: val is valid for reads of its size.
        let r = unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                (val as *const T).cast(),
                size_of::<T>() as libc::socklen_t,
            )
        };
        cvt(r as isize).map(drop)
    }

    /// `getsockopt` of an int option.
    #[inline(never)]
    pub fn getsockopt_int(fd: RawFd, level: i32, name: i32) -> Result<i32, i32> {
        let mut v: libc::c_int = 0;
        let mut l = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: v has room for an int, l says so.
        let r = unsafe { libc::getsockopt(fd, level, name, (&raw mut v).cast(), &mut l) };
        cvt(r as isize).map(|_| v)
    }

    /// `bind` to the first `len` bytes of `sa` (a socket address).
    #[inline(never)]
    pub fn bind<T>(fd: RawFd, sa: &T, len: libc::socklen_t) -> Result<(), i32> {
        check_len::<T>(len);
        // SAFETY: sa is valid for reads of len bytes.
        cvt(unsafe { libc::bind(fd, (sa as *const T).cast(), len) } as isize).map(drop)
    }

    #[inline(never)]
    pub fn listen(fd: RawFd, backlog: i32) -> Result<(), i32> {
        // SAFETY: plain system call.
        cvt(unsafe { libc::listen(fd, backlog) } as isize).map(drop)
    }

    /// `connect` to the first `len` bytes of `sa` (a socket address).
    #[inline(never)]
    pub fn connect<T>(fd: RawFd, sa: &T, len: libc::socklen_t) -> Result<(), i32> {
        check_len::<T>(len);
        // SAFETY: sa is valid for reads of len bytes.
        cvt(unsafe { libc::connect(fd, (sa as *const T).cast(), len) } as isize).map(drop)
    }

    /// `accept4`, with the peer's address written to `ss` and its length
    /// to `len`.
    #[inline(never)]
    pub fn accept4(
        fd: RawFd,
        ss: &mut libc::sockaddr_storage,
        len: &mut libc::socklen_t,
        flags: i32,
    ) -> Result<RawFd, i32> {
        *len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: ss has room for len bytes; len is a valid in-out length.
        let r =
            unsafe { libc::accept4(fd, (ss as *mut libc::sockaddr_storage).cast(), len, flags) };
        cvt(r as isize).map(|fd| fd as RawFd)
    }

    #[inline(never)]
    pub fn recv(fd: RawFd, buf: &mut [u8], flags: i32) -> Result<usize, i32> {
        // SAFETY: buf is valid for writes of its length.
        cvt(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) })
    }

    #[inline(never)]
    pub fn send(fd: RawFd, buf: &[u8], flags: i32) -> Result<usize, i32> {
        // SAFETY: buf is valid for reads of its length.
        cvt(unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), flags) })
    }

    /// `recvfrom`, with the sender's address written to `ss` and its length
    /// to `len`.
    #[inline(never)]
    pub fn recvfrom(
        fd: RawFd,
        buf: &mut [u8],
        flags: i32,
        ss: &mut libc::sockaddr_storage,
        len: &mut libc::socklen_t,
    ) -> Result<usize, i32> {
        *len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: buf and ss are valid for writes of their lengths; len is
        // a valid in-out length.
        cvt(unsafe {
            libc::recvfrom(
                fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                flags,
                (ss as *mut libc::sockaddr_storage).cast(),
                len,
            )
        })
    }

    /// `sendto` the first `len` bytes of `sa` (a socket address).
    #[inline(never)]
    pub fn sendto<T>(
        fd: RawFd,
        buf: &[u8],
        flags: i32,
        sa: &T,
        len: libc::socklen_t,
    ) -> Result<usize, i32> {
        check_len::<T>(len);
        // SAFETY: buf is valid for reads of its length, sa of len bytes.
        cvt(unsafe {
            libc::sendto(
                fd,
                buf.as_ptr().cast(),
                buf.len(),
                flags,
                (sa as *const T).cast(),
                len,
            )
        })
    }
}

/// The shared state of a socket: port of `internal/poll.FD` (with its
/// `pollDesc`), and of Go's close protocol, simplified by Rust's ownership:
/// the descriptor lives as long as any handle does.
struct NetFd {
    fd: RawFd,
    /// The poller registration; `None` on an OS layer without a poller.
    pd: Option<&'static PollDesc>,
    /// `Close` was called.
    closed: AtomicBool,
    /// Go's `fdMutex` read and write locks: one goroutine at a time waits
    /// for each direction (a descriptor's `rg`/`wg` hold one G each);
    /// others queue here, parked.
    rlock: crate::sync::Mutex<()>,
    wlock: crate::sync::Mutex<()>,
    /// The blocking (stub) mode's reads (0) and writes (1): deadline and
    /// blocked thread (the poller keeps its own deadlines).
    stub: [std::sync::Mutex<StubDir>; 2],
    /// The local and remote names for errors (Go's `netFD.laddr` and
    /// `raddr`), taken at the first error: the descriptor stays open until
    /// the last handle goes, so errors after a `close` still name both
    /// ends as Go's do.
    names: std::sync::OnceLock<(Option<String>, Option<String>)>,
    /// A TCP stream's peer as connect or accept knew it (Go's `raddr`),
    /// which `getpeername` no longer gives once the peer reset.
    peer: std::sync::OnceLock<SocketAddr>,
}

impl NetFd {
    /// Takes ownership of `fd` (a socket) for this runtime: non-blocking
    /// and registered with the poller, or blocking without one.
    fn new(fd: RawFd) -> io::Result<NetFd> {
        runtime_p::require_goroutine("net");
        let s = runtime_p::sched();
        let has_poller = netpoll::has_poller(s);
        let pd = set_nonblocking(fd, has_poller).and_then(|()| {
            if has_poller {
                netpoll::poll_open(fd).map(Some).map_err(os_err)
            } else {
                Ok(None)
            }
        });
        let pd = match pd {
            Ok(pd) => pd,
            Err(e) => {
                // SAFETY: fd is ours (the caller gave it to us) and not
                // registered.
                unsafe { libc::close(fd) };
                return Err(e);
            }
        };
        Ok(NetFd {
            fd,
            pd,
            closed: AtomicBool::new(false),
            rlock: crate::sync::Mutex::new(()),
            wlock: crate::sync::Mutex::new(()),
            stub: Default::default(),
            names: std::sync::OnceLock::new(),
            peer: std::sync::OnceLock::new(),
        })
    }

    fn check_open(&self) -> io::Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(closed_err())
        } else {
            Ok(())
        }
    }

    /// `recv(2)` through [`NetFd::io`].
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.fd;
        self.io(b'r', || sys::recv(fd, buf, 0))
    }

    /// `send(2)` without SIGPIPE (a broken pipe is an `EPIPE` error).
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.fd;
        self.io(b'w', || sys::send(fd, buf, libc::MSG_NOSIGNAL))
    }

    /// Runs `op` (a non-blocking system call from [`sys`]: its value or
    /// its errno) until it does not say EAGAIN, parking in between; without
    /// a poller, runs it once as a blocking system call.
    fn io(&self, mode: u8, mut op: impl FnMut() -> Result<usize, i32> + Send) -> io::Result<usize> {
        // A preemption point, as Go's system calls are (exitsyscall honours
        // a request to yield): a loop of reads or writes that never has to
        // wait would otherwise keep its P for good (the stall detector
        // named one in the test suite).
        runtime_p::preempt_check();
        self.check_open()?;
        let _turn = if mode == b'w' {
            self.wlock.lock()
        } else {
            self.rlock.lock()
        };
        // Closed while we queued.
        self.check_open()?;
        match self.pd {
            Some(pd) => {
                let e = netpoll::poll_reset(pd, mode);
                if e != POLL_NO_ERROR {
                    return Err(poll_err(e));
                }
                loop {
                    match op() {
                        Ok(n) => return Ok(n),
                        Err(libc::EINTR) => continue,
                        Err(libc::EAGAIN) => {
                            let e = netpoll::poll_wait(pd, mode);
                            if e != POLL_NO_ERROR {
                                return Err(poll_err(e));
                            }
                        }
                        Err(e) => return Err(os_err(e)),
                    }
                }
            }
            None => self.blocking_io(mode, op),
        }
    }

    /// The stub's operation: a blocking system call in `entersyscall`, with
    /// the deadline as the socket's receive or send timeout. A deadline
    /// moved while the call blocks interrupts it (see [`interrupt`]), and
    /// the loop starts over with the new one.
    ///
    /// No move of the deadline is missed: the call arms itself (reads the
    /// deadline, sets the socket's timeout, publishes its thread) under the
    /// direction's lock, and `set_deadline` stores the new deadline under
    /// the same lock, so either the call reads the new deadline, or
    /// `set_deadline` finds its thread. Then `set_deadline` also sets the
    /// socket's timeout itself before it signals: a call that had not yet
    /// entered the kernel when the signal came (and so was not interrupted)
    /// starts with the new timeout, and one that had entered it is
    /// interrupted. The thread is withdrawn under the lock too, and the
    /// signal sent under it, so that a signal reaches the thread only
    /// between its arming and its withdrawal (in the call, or waiting for
    /// the lock, which retries).
    fn blocking_io(
        &self,
        mode: u8,
        mut op: impl FnMut() -> Result<usize, i32> + Send,
    ) -> io::Result<usize> {
        /// How a pass ends, short of success.
        enum Stop {
            /// The deadline has passed.
            Passed,
            /// Interrupted, or the socket's timeout expired, with a
            /// deadline set or moved since the arming: look again.
            Again,
            Err(i32),
        }
        /// Withdraws the published thread, under the lock, when the call
        /// returns or unwinds.
        struct Disarm<'a>(&'a std::sync::Mutex<StubDir>);
        impl Drop for Disarm<'_> {
            fn drop(&mut self) {
                lock_stub(self.0).thread = 0;
            }
        }
        let idx = usize::from(mode == b'w');
        install_interrupt_signal();
        loop {
            let dir = &self.stub[idx];
            let fd = self.fd;
            let r = crate::syscall::blocking(|| {
                let (had_deadline, moves) = {
                    let mut st = lock_stub(dir);
                    let Some(tv) = socket_timeout(st.deadline) else {
                        return Err(Stop::Passed);
                    };
                    sys::setsockopt(fd, libc::SOL_SOCKET, timeout_opt(idx), &tv)
                        .map_err(Stop::Err)?;
                    // SAFETY: gettid has no preconditions.
                    st.thread = unsafe { libc::gettid() };
                    (st.deadline.is_some(), st.moves)
                };
                let disarm = Disarm(dir);
                let r = op();
                drop(disarm);
                r.map_err(|e| {
                    // EAGAIN with no deadline, ever: the descriptor was
                    // made non-blocking behind our back; say so.
                    let moved = had_deadline || lock_stub(dir).moves != moves;
                    match e {
                        libc::EINTR => Stop::Again,
                        libc::EAGAIN if moved => Stop::Again,
                        e => Stop::Err(e),
                    }
                })
            });
            if self.closed.load(Ordering::Acquire) {
                // Close shut the socket down under us (Go's Plan 9 port
                // reports the close, not what the call returned).
                return Err(closed_err());
            }
            match r {
                Ok(n) => return Ok(n),
                Err(Stop::Passed) => return Err(timeout_err()),
                Err(Stop::Again) => continue,
                Err(Stop::Err(e)) => return Err(os_err(e)),
            }
        }
    }

    fn set_deadline(&self, d: Option<Instant>, mode: u8) -> io::Result<()> {
        self.check_open()?;
        match self.pd {
            Some(pd) => {
                // Go's setDeadlineImpl: relative ns, -1 for "already".
                let rel = match d {
                    None => 0,
                    Some(t) => {
                        let now = Instant::now();
                        if t <= now {
                            -1
                        } else {
                            i64::try_from((t - now).as_nanos())
                                .unwrap_or(i64::MAX)
                                .max(1)
                        }
                    }
                };
                netpoll::poll_set_deadline(pd, rel, mode);
            }
            None => {
                let mut failed = None;
                for (i, m) in [b'r', b'w'].into_iter().enumerate() {
                    if mode == m || mode == b'r'.wrapping_add(b'w') {
                        // The other half of blocking_io's protocol.
                        let mut st = lock_stub(&self.stub[i]);
                        st.deadline = d;
                        st.moves = st.moves.wrapping_add(1);
                        if st.thread != 0 {
                            // A deadline already past: the shortest
                            // timeout (0 would mean none).
                            let tv = socket_timeout(d).unwrap_or(libc::timeval {
                                tv_sec: 0,
                                tv_usec: 1,
                            });
                            if let Err(e) =
                                sys::setsockopt(self.fd, libc::SOL_SOCKET, timeout_opt(i), &tv)
                            {
                                // The call re-arms after the signal and
                                // meets the error itself.
                                failed.get_or_insert(e);
                            }
                            interrupt(st.thread);
                        }
                    }
                }
                if let Some(e) = failed {
                    return Err(os_err(e));
                }
            }
        }
        Ok(())
    }

    /// Go's `Close`: wakes every goroutine blocked on the socket; the
    /// descriptor is closed when the last handle goes.
    fn close(&self) -> io::Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Err(closed_err());
        }
        match self.pd {
            Some(pd) => netpoll::poll_unblock(pd),
            None => {
                // Blocked system calls return when the socket is shut
                // down (accept with EINVAL, reads with 0 or an error).
                // SAFETY: our descriptor.
                unsafe { libc::shutdown(self.fd, libc::SHUT_RDWR) };
            }
        }
        Ok(())
    }

    /// Unregisters without closing (for `into_std`).
    fn release(self) -> RawFd {
        let mut me = std::mem::ManuallyDrop::new(self);
        if let Some(pd) = me.pd.take() {
            if !me.closed.swap(true, Ordering::AcqRel) {
                netpoll::poll_unblock(pd);
            }
            netpoll::poll_close(pd);
        }
        let fd = me.fd;
        // SAFETY: the fields are dropped once here (ManuallyDrop skips the
        // Drop impl); the mutexes own nothing else.
        unsafe {
            core::ptr::drop_in_place(&mut me.stub);
            core::ptr::drop_in_place(&mut me.rlock);
            core::ptr::drop_in_place(&mut me.wlock);
            core::ptr::drop_in_place(&mut me.names);
        }
        let _ = set_nonblocking(fd, false);
        fd
    }

    /// Runs `f` on a std view of the socket (for the calls std has). Out
    /// of line, so that the errno std reads is read in this frame or a
    /// deeper one, never through an address computed before a park in a
    /// caller (see [`sys`]).
    #[inline(never)]
    fn with_std<T, R>(&self, f: impl FnOnce(&T) -> R) -> R
    where
        T: FromRawFd + IntoRawFd,
    {
        // A borrowed view for option calls: never closes the fd.
        // SAFETY: fd is a live socket we own; the view is not dropped.
        let v = std::mem::ManuallyDrop::new(unsafe { T::from_raw_fd(self.fd) });
        f(&v)
    }
}

impl Drop for NetFd {
    fn drop(&mut self) {
        if let Some(pd) = self.pd {
            if !self.closed.swap(true, Ordering::AcqRel) {
                netpoll::poll_unblock(pd);
            }
            netpoll::poll_close(pd);
        }
        // SAFETY: the last handle: nobody uses fd any more.
        unsafe { libc::close(self.fd) };
    }
}

/// One direction of a socket in the blocking (stub) mode, under its lock
/// (see `NetFd::blocking_io`).
#[derive(Default)]
struct StubDir {
    deadline: Option<Instant>,
    /// How many times `set_deadline` has set it.
    moves: u64,
    /// The thread blocked in the direction's system call, or 0.
    thread: i32,
}

/// Locks a direction's state (no code panics under it, but a poisoned
/// lock's state is whole either way).
fn lock_stub(m: &std::sync::Mutex<StubDir>) -> std::sync::MutexGuard<'_, StubDir> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The socket option that bounds a blocking read (0) or write (1).
fn timeout_opt(idx: usize) -> i32 {
    if idx == 1 {
        libc::SO_SNDTIMEO
    } else {
        libc::SO_RCVTIMEO
    }
}

/// The socket timeout for a deadline (zero: none), or `None` if the
/// deadline has passed.
///
/// Linux keeps socket timeouts on its timer wheel, which rounds a timeout
/// up to its level's granularity: up to an eighth of the timeout (32 ms
/// late for 300 ms at HZ=250). So a timeout longer than 64 ms is cut to
/// seven eighths of the time left, and the caller, woken before the
/// deadline, sets the rest: the last piece is short enough for a
/// one-tick granularity, as Go's own timers would be.
fn socket_timeout(deadline: Option<Instant>) -> Option<libc::timeval> {
    let t = match deadline {
        None => Duration::ZERO,
        Some(d) => {
            let now = Instant::now();
            if d <= now {
                return None;
            }
            let left = d - now;
            if left > Duration::from_millis(64) {
                left - left / 8
            } else {
                // At least 1 µs: a zero timeout means none.
                left.max(Duration::from_micros(1))
            }
        }
    };
    Some(libc::timeval {
        tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_usec: t.subsec_micros() as libc::suseconds_t,
    })
}

/// Go's Plan 9 port interrupts a blocked read or write when its deadline
/// moves (`raio.Cancel` posts a note to the process doing the I/O). Here
/// the blocked thread gets SIGURG, whose handler does nothing and is
/// installed without `SA_RESTART`, so the system call fails with EINTR and
/// the operation re-reads its deadline. (A signal that comes before the
/// thread enters the call is lost; `set_deadline` has set the socket's
/// timeout for that case: see `NetFd::blocking_io`.)
fn interrupt(tid: i32) {
    if tid != 0 {
        // SAFETY: signalling a thread of this process; the handler is a
        // no-op.
        unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGURG) };
    }
}

fn install_interrupt_signal() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    extern "C" fn nothing(_: libc::c_int) {}
    ONCE.call_once(|| {
        // SAFETY: a valid sigaction with a handler that does nothing.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = nothing as *const () as usize;
            sa.sa_flags = libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGURG, &sa, std::ptr::null_mut());
        }
    });
}

fn set_nonblocking(fd: RawFd, on: bool) -> io::Result<()> {
    let fl = sys::fcntl_getfl(fd).map_err(os_err)?;
    let nfl = if on {
        fl | libc::O_NONBLOCK
    } else {
        fl & !libc::O_NONBLOCK
    };
    if nfl != fl {
        sys::fcntl_setfl(fd, nfl).map_err(os_err)?;
    }
    Ok(())
}

/// Resolves `addr` with the system resolver, on the scheduler's stack
/// inside a system call (see the module docs).
fn resolve<A: ToSocketAddrs + Send>(addr: A) -> io::Result<Vec<SocketAddr>> {
    crate::runtime_check("net: resolve");
    crate::syscall::blocking(move || {
        let lookup = move || addr.to_socket_addrs().map(|i| i.collect::<Vec<_>>());
        if runtime_g::getg().is_null() {
            // Safe mode: a helper thread, on its own (large) stack.
            lookup()
        } else {
            runtime_m::systemstack(lookup)
        }
    })
}

/// Go's `net.LookupIP`: the addresses of `host` (a name or an address
/// literal), in the resolver's order without repeats. The system resolver
/// runs off the goroutine's stack, as a blocking call (see the module
/// docs). A name that does not exist fails with Go's text, `lookup
/// {host}: no such host` (`ErrorKind::NotFound`).
pub fn lookup_ip(host: &str) -> io::Result<Vec<std::net::IpAddr>> {
    let addrs = resolve((host.to_string(), 0)).map_err(|e| {
        let msg = e.to_string();
        if msg.contains("not known") || msg.contains("No address associated") {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("lookup {host}: no such host"),
            )
        } else {
            io::Error::new(e.kind(), format!("lookup {host}: {msg}"))
        }
    })?;
    let mut ips: Vec<std::net::IpAddr> = Vec::with_capacity(addrs.len());
    for a in addrs {
        if !ips.contains(&a.ip()) {
            ips.push(a.ip());
        }
    }
    Ok(ips)
}

/// Go's `net.LookupHost`: [`lookup_ip`]'s addresses as strings.
pub fn lookup_host(host: &str) -> io::Result<Vec<String>> {
    Ok(lookup_ip(host)?.iter().map(|ip| ip.to_string()).collect())
}

/// Tries `f` on each address `addr` resolves to, in order, and returns the
/// first success or the last error (`none` if there was no address), as
/// Go's dialer and `net.Listen` do.
fn each_addr<A: ToSocketAddrs + Send, T>(
    addr: A,
    none: &str,
    f: impl Fn(&SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = io::Error::new(io::ErrorKind::InvalidInput, none);
    for a in resolve(addr)? {
        match f(&a) {
            Ok(v) => return Ok(v),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn sockaddr(a: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match a {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage.
            unsafe { std::ptr::write((&raw mut ss).cast(), sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_in6 fits in sockaddr_storage.
            unsafe { std::ptr::write((&raw mut ss).cast(), sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

fn socket(family: i32, ty: i32) -> io::Result<RawFd> {
    sys::socket(family, ty | libc::SOCK_CLOEXEC).map_err(os_err)
}

/// Closes `fd` (a socket not yet handed to a [`NetFd`]) and returns `e`.
fn close_with(fd: RawFd, e: i32) -> io::Error {
    // SAFETY: the caller's descriptor, not yet shared.
    unsafe { libc::close(fd) };
    os_err(e)
}

fn family(a: &SocketAddr) -> i32 {
    if a.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    }
}

/// Connects `nfd` to `(sa, len)`: Go's `netFD.connect` (a non-blocking
/// connect, then a wait for writability and `SO_ERROR`), or a blocking
/// connect in a system call without a poller. With a `deadline`, the wait
/// ends there with Go's `i/o timeout` (Go sets the descriptor's write
/// deadline for the connect, as here).
fn connect_fd<T: Sync>(
    nfd: &NetFd,
    sa: &T,
    len: libc::socklen_t,
    deadline: Option<Instant>,
) -> io::Result<()> {
    let fd = nfd.fd;
    let Some(pd) = nfd.pd else {
        // No poller: a blocking connect in a system call, which Linux ends
        // at `SO_SNDTIMEO` with EINPROGRESS (EALREADY when called again
        // while the first attempt goes on), in pieces (see
        // socket_timeout). A connect interrupted by a signal goes on too.
        let mut again = false;
        loop {
            if deadline.is_some() {
                let Some(tv) = socket_timeout(deadline) else {
                    return Err(timeout_err());
                };
                sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDTIMEO, &tv).map_err(os_err)?;
            }
            match crate::syscall::blocking(|| sys::connect(fd, sa, len)) {
                Ok(()) => return Ok(()),
                // The attempt that an earlier call started has finished.
                Err(libc::EISCONN) if again => return Ok(()),
                Err(libc::EINPROGRESS | libc::EALREADY | libc::EAGAIN)
                    if deadline.is_some() || again => {}
                Err(libc::EINTR) => {}
                Err(e) => return Err(os_err(e)),
            }
            again = true;
        }
    };
    if deadline.is_some_and(|d| d <= Instant::now()) {
        return Err(timeout_err());
    }
    match sys::connect(fd, sa, len) {
        Ok(()) => Ok(()),
        Err(libc::EINPROGRESS | libc::EALREADY | libc::EINTR) => {
            if deadline.is_some() {
                nfd.set_deadline(deadline, b'w')?;
            }
            let r = loop {
                let w = netpoll::poll_wait(pd, b'w');
                if w != POLL_NO_ERROR {
                    break Err(poll_err(w));
                }
                match sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_ERROR) {
                    // The poller can wake us spuriously (Go's issues 14548
                    // and 19289: a fresh socket reports writable before
                    // its connect completes): connected only if it has a
                    // peer; otherwise wait again, as Go does.
                    Ok(0) if has_peer(fd) => break Ok(()),
                    Ok(0) => continue,
                    Ok(libc::EISCONN) => break Ok(()),
                    Ok(libc::EINPROGRESS | libc::EALREADY | libc::EINTR) => continue,
                    Ok(e) | Err(e) => break Err(os_err(e)),
                }
            };
            if deadline.is_some() && r.is_ok() {
                nfd.set_deadline(None, b'w')?;
            }
            r
        }
        Err(e) => Err(os_err(e)),
    }
}

/// Whether `fd` has a peer (`getpeername` succeeds): Go's check that a
/// connect the poller reported is really done.
fn has_peer(fd: RawFd) -> bool {
    // SAFETY: sockaddr_storage is plain old data.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: fd is our open socket; ss and len are valid for writing.
    unsafe {
        libc::getpeername(
            fd,
            (&mut ss as *mut libc::sockaddr_storage).cast(),
            &mut len,
        ) == 0
    }
}

/// partialDeadline: port of net.partialDeadline (dial.go): the deadline
/// for one of `left` addresses still to try, given the whole dial's: an
/// equal share of the time remaining, but at least two seconds when that
/// much remains, so that a slow first address does not starve the rest.
fn partial_deadline(now: Instant, deadline: Instant, left: usize) -> io::Result<Instant> {
    let remaining = deadline.saturating_duration_since(now);
    if remaining.is_zero() {
        return Err(timeout_err());
    }
    const SANE_MINIMUM: Duration = Duration::from_secs(2);
    let share = (remaining / left.max(1) as u32).max(SANE_MINIMUM.min(remaining));
    Ok(now + share)
}

/// Go's `net.Dialer` for TCP: [`dial`](Dialer::dial) connects with an
/// optional timeout and deadline (the earlier of the two ends the dial),
/// shared across the addresses a name resolves to as Go shares it
/// (`partialDeadline`). A dial that runs out of time fails with
/// `ErrorKind::TimedOut` and Go's `i/o timeout`.
///
/// ```no_run
/// use std::time::Duration;
/// gort::Builder::new().block_on(|| {
///     let d = gort::net::Dialer::new().timeout(Duration::from_secs(3));
///     let c = d.dial("127.0.0.1:8080");
///     # let _ = c;
/// });
/// ```
#[derive(Clone, Debug, Default)]
pub struct Dialer {
    timeout: Option<Duration>,
    deadline: Option<Instant>,
}

impl Dialer {
    /// A dialer without a timeout or deadline (Go's zero `Dialer`).
    pub fn new() -> Self {
        Dialer::default()
    }

    /// Go's `Dialer.Timeout`: the longest a dial may take, from its start.
    /// `Duration::ZERO` means already expired (Go's negative timeout; Go's
    /// zero, "no timeout", is a dialer without one).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    /// Go's `Dialer.Deadline`: the instant by which a dial must be done.
    pub fn deadline(mut self, t: Instant) -> Self {
        self.deadline = Some(t);
        self
    }

    /// deadline: port of net.(*Dialer).deadline (dial.go): the earlier of
    /// now + timeout and the deadline.
    fn effective_deadline(&self, now: Instant) -> Option<Instant> {
        // A timeout too large for an `Instant` is no limit.
        let by_timeout = self.timeout.and_then(|t| now.checked_add(t));
        match (by_timeout, self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Go's `Dialer.Dial("tcp", addr)`: resolves `addr` and tries each
    /// address in turn until one connects, within the dialer's time.
    pub fn dial<A: ToSocketAddrs + Send>(&self, addr: A) -> io::Result<TcpStream> {
        self.dial_with(None, addr)
    }

    /// Go's `Dialer.DialContext(ctx, "tcp", addr)`: [`dial`](Self::dial)
    /// that also ends when `ctx` does. Its deadline, if earlier, is the
    /// dial's; its cancellation interrupts a connect under way (Go's
    /// interrupter: the socket's write deadline moves to the past) and the
    /// dial fails with `operation was canceled` ([`is_canceled`]), or `i/o
    /// timeout` if the context's deadline passed. Without a poller (the
    /// Plan 9 layer's blocking connects) only the deadline applies.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use gort::context;
    /// gort::Builder::new().block_on(|| {
    ///     let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_secs(2));
    ///     let c = gort::net::Dialer::new().dial_context(&ctx, "127.0.0.1:8080");
    ///     cancel.cancel();
    ///     # let _ = c;
    /// });
    /// ```
    pub fn dial_context<A: ToSocketAddrs + Send>(
        &self,
        ctx: &crate::context::Context,
        addr: A,
    ) -> io::Result<TcpStream> {
        self.dial_with(Some(ctx), addr)
    }

    fn dial_with<A: ToSocketAddrs + Send>(
        &self,
        ctx: Option<&crate::context::Context>,
        addr: A,
    ) -> io::Result<TcpStream> {
        let now = Instant::now();
        // Go's Dialer.deadline: the context's deadline counts too.
        let deadline = match (self.effective_deadline(now), ctx.and_then(|c| c.deadline())) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return Err(timeout_err());
        }
        let addrs = resolve(addr)?;
        let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no addresses to connect to");
        for (i, a) in addrs.iter().enumerate() {
            // Go's dialSerial: a context that ended stops the dial here.
            if let Some(e) = ctx.and_then(|c| c.err()) {
                return Err(op_error(
                    "dial",
                    "tcp",
                    "",
                    None,
                    Some(a.to_string()),
                    map_ctx_err(e),
                ));
            }
            let part = match deadline {
                Some(d) => Some(partial_deadline(Instant::now(), d, addrs.len() - i)?),
                None => None,
            };
            match TcpStream::connect_addr(a, part, ctx) {
                Ok(c) => return Ok(c),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

/// A connected stream with Go's blocking-style API: reads and writes park
/// the goroutine. Cloning shares the connection (as Go shares a `net.Conn`
/// between goroutines).
#[derive(Clone)]
pub struct TcpStream {
    fd: Arc<NetFd>,
}

impl TcpStream {
    /// The error of `op` on this connection, as Go's `OpError`.
    fn op_err(&self, op: &'static str, e: io::Error) -> io::Error {
        let (l, r) = self.names();
        op_error(op, "tcp", op, l, r, e)
    }

    /// Go's `laddr` and `raddr`, for errors (see `NetFd::names`).
    fn names(&self) -> (Option<String>, Option<String>) {
        let name = |a: io::Result<SocketAddr>| a.ok().map(|a| a.to_string());
        self.fd
            .names
            .get_or_init(|| {
                let peer = match self.fd.peer.get() {
                    Some(&p) => Ok(p),
                    None => self.peer_addr(),
                };
                (name(self.local_addr()), name(peer))
            })
            .clone()
    }

    /// Go's `net.Dial("tcp", addr)`: tries each resolved address in turn.
    pub fn connect<A: ToSocketAddrs + Send>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, "no addresses to connect to", |a| {
            Self::connect_addr(a, None, None)
        })
    }

    /// std's `TcpStream::connect_timeout` (Go's `net.DialTimeout` for one
    /// address): gives up after `timeout` with `ErrorKind::TimedOut` (`i/o
    /// timeout`). A zero timeout is an `InvalidInput` error, as in std;
    /// [`Dialer`] has Go's forms (a deadline, several addresses).
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        Dialer::new().timeout(timeout).dial(addr)
    }

    /// One address of a dial, by `deadline`, interrupted when `ctx` ends
    /// (Go's `netFD.connect` with its context).
    fn connect_addr(
        a: &SocketAddr,
        deadline: Option<Instant>,
        ctx: Option<&crate::context::Context>,
    ) -> io::Result<TcpStream> {
        let dial = |call, e| op_error("dial", "tcp", call, None, Some(a.to_string()), e);
        let fd = socket(family(a), libc::SOCK_STREAM).map_err(|e| dial("socket", e))?;
        let nfd = Arc::new(NetFd::new(fd).map_err(|e| dial("socket", e))?);
        let (ss, len) = sockaddr(a);
        let r = match ctx {
            Some(c) if !c.done().is_nil() && nfd.pd.is_some() => {
                // Go's order: the dial's write deadline first, then the
                // interrupter, which moves it to the past when the context
                // ends and so wakes the connect's wait (a deadline set
                // after it could undo it).
                if let Some(d) = deadline {
                    if d <= Instant::now() {
                        return Err(dial("connect", timeout_err()));
                    }
                    nfd.set_deadline(Some(d), b'w')
                        .map_err(|e| dial("connect", e))?;
                }
                let (n2, fired) = (nfd.clone(), crate::Chan::<()>::new(1));
                let f2 = fired.clone();
                let stop = crate::context::after_func(c, move || {
                    let _ = n2.set_deadline(Some(Instant::now()), b'w');
                    f2.send(());
                });
                let r = connect_fd(&nfd, &ss, len, None);
                if !stop.stop() {
                    // It fired. As in Go's netFD.connect: a connect that
                    // succeeded, or whose wait the interrupter ended,
                    // reports the context's error; one that failed on its
                    // own (refused) keeps its error.
                    fired.recv();
                    if r.as_ref().is_ok() || r.as_ref().is_err_and(is_timeout) {
                        let e = c.err().expect("an after-func ran, so the context ended");
                        return Err(dial("", map_ctx_err(e)));
                    }
                }
                if deadline.is_some() && r.is_ok() {
                    nfd.set_deadline(None, b'w')
                        .map_err(|e| dial("connect", e))?;
                }
                r
            }
            _ => connect_fd(&nfd, &ss, len, deadline),
        };
        r.map_err(|e| dial("connect", e))?;
        let _ = nfd.peer.set(*a);
        Ok(TcpStream { fd: nfd })
    }

    /// The connection's local address (Go's `LocalAddr`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.with_std(|s: &std::net::TcpStream| s.local_addr())
    }

    /// Go's `RemoteAddr`: the peer as connect or accept knew it (also
    /// after the peer reset or this side closed, as in Go); for a stream
    /// from [`from_std`](TcpStream::from_std), `getpeername`'s.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self.fd.peer.get() {
            Some(&p) => Ok(p),
            None => self.fd.with_std(|s: &std::net::TcpStream| s.peer_addr()),
        }
    }

    /// Go's `SetNoDelay`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.fd
            .with_std(|s: &std::net::TcpStream| s.set_nodelay(on))
    }

    /// Sets the IP time-to-live of outgoing packets (`IP_TTL`).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.fd.with_std(|s: &std::net::TcpStream| s.set_ttl(ttl))
    }

    /// Go's `SetLinger`... the std subset: `SO_LINGER` off or on with a
    /// timeout in seconds.
    pub fn set_linger(&self, secs: Option<u32>) -> io::Result<()> {
        let l = libc::linger {
            l_onoff: i32::from(secs.is_some()),
            l_linger: secs.unwrap_or(0) as i32,
        };
        sys::setsockopt(self.fd.fd, libc::SOL_SOCKET, libc::SO_LINGER, &l).map_err(os_err)
    }
}

/// Accepts on `nfd`: Go's `FD.Accept`. Returns a connected descriptor
/// (non-blocking with a poller) and the peer's address from `accept4`'s
/// out-parameter: Linux fills it in even for a connection reset while it
/// was queued, where a later `getpeername` fails with `ENOTCONN`.
/// `ECONNABORTED` (a queued connection that went away) is retried, as Go
/// does.
fn accept_fd(nfd: &NetFd) -> io::Result<(RawFd, libc::sockaddr_storage)> {
    let fd = nfd.fd;
    let flags = if nfd.pd.is_some() {
        libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC
    } else {
        libc::SOCK_CLOEXEC
    };
    // SAFETY: sockaddr_storage is plain old data.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = 0;
    let n = nfd.io(b'r', || {
        loop {
            match sys::accept4(fd, &mut ss, &mut len, flags) {
                Err(libc::ECONNABORTED) => continue,
                r => return r.map(|fd| fd as usize),
            }
        }
    })?;
    Ok((n as RawFd, ss))
}

/// A TCP listener: Go's `net.Listen("tcp", addr)`; `accept` parks the
/// goroutine. `EMFILE`/`ENFILE` come back as errors (the listener stays
/// usable): a server loop should back off and retry, as Go's `net/http`
/// does (5 ms, doubling to 1 s).
#[derive(Clone)]
pub struct TcpListener {
    fd: Arc<NetFd>,
}

impl TcpListener {
    /// Go's `net.Listen("tcp", addr)`: binds and listens on the first
    /// resolved address that works (`SO_REUSEADDR` set, the system's
    /// `somaxconn` as the backlog).
    pub fn bind<A: ToSocketAddrs + Send>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr, "no addresses to bind", Self::bind_addr)
    }

    fn bind_addr(a: &SocketAddr) -> io::Result<TcpListener> {
        let fd = socket(family(a), libc::SOCK_STREAM)?;
        let (ss, len) = sockaddr(a);
        // Go sets SO_REUSEADDR too (a failure is ignored, as before).
        let one: libc::c_int = 1;
        let _ = sys::setsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, &one);
        if let Err(e) = sys::bind(fd, &ss, len).and_then(|()| sys::listen(fd, listen_backlog())) {
            return Err(close_with(fd, e));
        }
        Ok(TcpListener {
            fd: Arc::new(NetFd::new(fd)?),
        })
    }

    /// Go's `Accept`: the connection and its peer's address, as
    /// `accept4` reported it. A connection the peer reset while it waited
    /// in the queue is returned too; its first read reports the reset
    /// (`ECONNRESET`), as in Go.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (fd, ss) = accept_fd(&self.fd)
            .map_err(|e| op_error("accept", "tcp", "accept4", None, self.names().0, e))?;
        let nfd = NetFd::new(fd)?;
        let peer = from_sockaddr(&ss)?;
        let _ = nfd.peer.set(peer);
        let s = TcpStream { fd: Arc::new(nfd) };
        Ok((s, peer))
    }

    /// The address the listener is bound to (Go's `Addr`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.with_std(|s: &std::net::TcpListener| s.local_addr())
    }

    /// Go's `laddr`, for errors (see `NetFd::names`).
    fn names(&self) -> (Option<String>, Option<String>) {
        self.fd
            .names
            .get_or_init(|| (self.local_addr().ok().map(|a| a.to_string()), None))
            .clone()
    }

    /// Go's `SetDeadline` on a listener (for `accept`).
    pub fn set_deadline(&self, d: Option<Instant>) -> io::Result<()> {
        self.fd.set_deadline(d, b'r')
    }
}

/// Go's `listenerBacklog`: the system's `somaxconn`.
fn listen_backlog() -> i32 {
    static B: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *B.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(libc::SOMAXCONN)
    })
}

/// A UDP socket: Go's `net.ListenUDP`/`DialUDP`.
#[derive(Clone)]
pub struct UdpSocket {
    fd: Arc<NetFd>,
}

impl UdpSocket {
    /// Go's `net.ListenPacket("udp", addr)`: a socket bound to the first
    /// resolved address that works.
    pub fn bind<A: ToSocketAddrs + Send>(addr: A) -> io::Result<UdpSocket> {
        let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no addresses to bind");
        for a in resolve(addr)? {
            let fd = socket(family(&a), libc::SOCK_DGRAM)?;
            let (ss, len) = sockaddr(&a);
            if let Err(e) = sys::bind(fd, &ss, len) {
                last = close_with(fd, e);
                continue;
            }
            return Ok(UdpSocket {
                fd: Arc::new(NetFd::new(fd)?),
            });
        }
        Err(last)
    }

    /// Sets the socket's peer (Go's `DialUDP`): `send` and `recv` then use
    /// it, and datagrams from elsewhere are dropped by the kernel.
    pub fn connect<A: ToSocketAddrs + Send>(&self, addr: A) -> io::Result<()> {
        let a = resolve(addr)?
            .into_iter()
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
        let (ss, len) = sockaddr(&a);
        connect_fd(&self.fd, &ss, len, None)
    }

    /// Go's `WriteTo`: sends one datagram to `addr`, parking the goroutine
    /// while the send buffer is full.
    pub fn send_to<A: ToSocketAddrs + Send>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let a = resolve(addr)?
            .into_iter()
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
        let (ss, len) = sockaddr(&a);
        let fd = self.fd.fd;
        self.fd
            .io(b'w', || sys::sendto(fd, buf, libc::MSG_NOSIGNAL, &ss, len))
    }

    /// Go's `ReadFrom`: receives one datagram and its sender's address,
    /// parking the goroutine until one arrives (or the read deadline).
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let fd = self.fd.fd;
        // SAFETY: plain old data.
        let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len = 0;
        let n = self
            .fd
            .io(b'r', || sys::recvfrom(fd, buf, 0, &mut ss, &mut len))?;
        Ok((n, from_sockaddr(&ss)?))
    }

    /// Go's `Write` on a connected socket: sends one datagram to the peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.fd.write(buf)
    }

    /// Go's `Read` on a connected socket: receives one datagram from the
    /// peer.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd.read(buf)
    }

    /// The socket's local address (Go's `LocalAddr`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.with_std(|s: &std::net::UdpSocket| s.local_addr())
    }

    /// The address [`connect`](Self::connect) set (Go's `RemoteAddr`);
    /// `NotConnected` if none.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.fd.with_std(|s: &std::net::UdpSocket| s.peer_addr())
    }

    /// Go's `SetReadDeadline`: `recv` and `recv_from` fail with `i/o
    /// timeout` ([`is_timeout`]) once `d` passes; `None` clears it.
    pub fn set_read_deadline(&self, d: Option<Instant>) -> io::Result<()> {
        self.fd.set_deadline(d, b'r')
    }

    /// Go's `SetWriteDeadline`: `send` and `send_to` fail with `i/o
    /// timeout` once `d` passes; `None` clears it.
    pub fn set_write_deadline(&self, d: Option<Instant>) -> io::Result<()> {
        self.fd.set_deadline(d, b'w')
    }
}

fn from_sockaddr(ss: &libc::sockaddr_storage) -> io::Result<SocketAddr> {
    match ss.ss_family as i32 {
        libc::AF_INET => {
            // SAFETY: the family says it is a sockaddr_in.
            let sin: &libc::sockaddr_in = unsafe { &*(ss as *const _ as *const libc::sockaddr_in) };
            Ok(SocketAddr::from((
                sin.sin_addr.s_addr.to_ne_bytes(),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says it is a sockaddr_in6.
            let s6: &libc::sockaddr_in6 =
                unsafe { &*(ss as *const _ as *const libc::sockaddr_in6) };
            Ok(SocketAddr::V6(std::net::SocketAddrV6::new(
                s6.sin6_addr.s6_addr.into(),
                u16::from_be(s6.sin6_port),
                s6.sin6_flowinfo,
                s6.sin6_scope_id,
            )))
        }
        f => Err(io::Error::other(format!("unexpected address family {f}"))),
    }
}

/// A Unix-domain stream: Go's `net.Dial("unix", path)`.
#[derive(Clone)]
pub struct UnixStream {
    fd: Arc<NetFd>,
}

fn unix_sockaddr(path: &Path) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: plain old data.
    let mut sun: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let b = path.as_os_str().as_bytes();
    if b.len() >= sun.sun_path.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path must be shorter than SUN_LEN",
        ));
    }
    for (d, s) in sun.sun_path.iter_mut().zip(b) {
        *d = *s as libc::c_char;
    }
    let len = std::mem::offset_of!(libc::sockaddr_un, sun_path) + b.len() + 1;
    Ok((sun, len as libc::socklen_t))
}

impl UdpSocket {
    /// After `from_std`: nothing to remember.
    fn adopted(&self) {}

    /// A failed `close` as Go's `OpError` (`close udp 127.0.0.1:5000: …`).
    fn close_err(&self, e: io::Error) -> io::Error {
        let name = |a: io::Result<SocketAddr>| a.ok().map(|a| a.to_string());
        let (l, r) = (name(self.local_addr()), name(self.peer_addr()));
        match r {
            Some(r) => op_error("close", "udp", "close", l, Some(r), e),
            None => op_error("close", "udp", "close", None, l, e),
        }
    }
}

impl UnixListener {
    /// After `from_std`: nothing to remember.
    fn adopted(&self) {}

    /// A failed `close` as Go's `OpError` (`close unix /path: …`).
    fn close_err(&self, e: io::Error) -> io::Error {
        let path = self
            .fd
            .with_std(|s: &std::os::unix::net::UnixListener| s.local_addr())
            .ok()
            .map(|a| {
                a.as_pathname()
                    .map_or_else(|| "@".to_string(), |p| p.display().to_string())
            });
        op_error("close", "unix", "close", None, path, e)
    }
}

impl UnixStream {
    /// After `from_std`: nothing to remember (its peer is read when asked).
    fn adopted(&self) {}

    /// A failed `close` as Go's `OpError` (`close unix @->/path: …`).
    fn close_err(&self, e: io::Error) -> io::Error {
        self.op_err("close", e)
    }
}

impl TcpListener {
    /// After `from_std`: nothing to remember.
    fn adopted(&self) {}

    /// A failed `close` as Go's `OpError` (`close tcp 127.0.0.1:5000: …`).
    fn close_err(&self, e: io::Error) -> io::Error {
        op_error("close", "tcp", "close", None, self.names().0, e)
    }
}

impl TcpStream {
    /// A failed `close` as Go's `OpError` (`close tcp a->b: …`).
    fn close_err(&self, e: io::Error) -> io::Error {
        self.op_err("close", e)
    }

    /// After `from_std`: the peer, as connect or accept would have
    /// recorded it (Go's `raddr`), while `getpeername` still answers.
    fn adopted(&self) {
        if let Ok(p) = self.fd.with_std(|s: &std::net::TcpStream| s.peer_addr()) {
            let _ = self.fd.peer.set(p);
        }
    }
}

impl UnixStream {
    /// The error of `op` on this connection, as Go's `OpError` (`read
    /// unix @->/path: …`; an unnamed end prints as Go's `@`).
    fn op_err(&self, op: &'static str, e: io::Error) -> io::Error {
        let (l, r) = self.names();
        op_error(op, "unix", op, l, r, e)
    }

    /// Go's `laddr` and `raddr`, for errors (see `NetFd::names`).
    fn names(&self) -> (Option<String>, Option<String>) {
        let name = |a: io::Result<UnixSocketAddr>| {
            a.ok().map(|a| {
                a.as_pathname()
                    .map_or_else(|| "@".to_string(), |p| p.display().to_string())
            })
        };
        self.fd
            .names
            .get_or_init(|| {
                let local = self
                    .fd
                    .with_std(|s: &std::os::unix::net::UnixStream| s.local_addr());
                (name(local), name(self.peer_addr()))
            })
            .clone()
    }

    /// Go's `net.Dial("unix", path)`: connects to the socket at `path`.
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let (sun, len) = unix_sockaddr(path.as_ref())?;
        let nfd = NetFd::new(socket(libc::AF_UNIX, libc::SOCK_STREAM)?)?;
        connect_fd(&nfd, &sun, len, None)?;
        Ok(UnixStream { fd: Arc::new(nfd) })
    }

    /// The peer's address (Go's `RemoteAddr`).
    pub fn peer_addr(&self) -> io::Result<UnixSocketAddr> {
        self.fd
            .with_std(|s: &std::os::unix::net::UnixStream| s.peer_addr())
    }
}

/// A Unix-domain listener: Go's `net.Listen("unix", path)`.
#[derive(Clone)]
pub struct UnixListener {
    fd: Arc<NetFd>,
}

impl UnixListener {
    /// Go's `net.Listen("unix", path)`: binds and listens at `path` (the
    /// file must not exist).
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let (sun, len) = unix_sockaddr(path.as_ref())?;
        let fd = socket(libc::AF_UNIX, libc::SOCK_STREAM)?;
        if let Err(e) = sys::bind(fd, &sun, len).and_then(|()| sys::listen(fd, listen_backlog())) {
            return Err(close_with(fd, e));
        }
        Ok(UnixListener {
            fd: Arc::new(NetFd::new(fd)?),
        })
    }

    /// Go's `Accept` (`ECONNABORTED` retried, as for TCP).
    pub fn accept(&self) -> io::Result<UnixStream> {
        let (fd, _) = accept_fd(&self.fd)?;
        Ok(UnixStream {
            fd: Arc::new(NetFd::new(fd)?),
        })
    }
}

macro_rules! debug_fd {
    ($($t:ident),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("fd", &self.fd.fd)
                    .field("closed", &self.fd.closed.load(Ordering::Relaxed))
                    .finish()
            }
        }
    )*};
}
debug_fd!(TcpStream, TcpListener, UdpSocket, UnixStream, UnixListener);

/// What every socket type has: Go's `Close`, conversions from and to the
/// std type (non-blocking and registered here, or blocking again), the
/// raw descriptor.
macro_rules! socket_common {
    ($($t:ident => $std:ty),* $(,)?) => {$(
        impl $t {
            /// Go's `Close`: every goroutine blocked on the socket wakes
            /// with `use of closed network connection`, and so do later
            /// operations; the descriptor is closed with the last handle.
            /// A second close fails as in Go (`close tcp a->b: use of
            /// closed network connection`, [`is_closed`]).
            pub fn close(&self) -> io::Result<()> {
                self.fd.close().map_err(|e| self.close_err(e))
            }

            /// Takes a std socket (made non-blocking and registered with
            /// the poller, where there is one).
            pub fn from_std(s: $std) -> io::Result<$t> {
                let t = $t {
                    fd: Arc::new(NetFd::new(s.into_raw_fd())?),
                };
                t.adopted();
                Ok(t)
            }

            /// Gives the socket back as a std one (blocking again). Fails,
            /// returning it, if other handles share it.
            pub fn into_std(self) -> Result<$std, $t> {
                match Arc::try_unwrap(self.fd) {
                    // SAFETY: release hands over ownership of the fd.
                    Ok(nfd) => Ok(unsafe { <$std>::from_raw_fd(nfd.release()) }),
                    Err(fd) => Err($t { fd }),
                }
            }
        }

        impl AsRawFd for $t {
            fn as_raw_fd(&self) -> RawFd {
                self.fd.fd
            }
        }
    )*};
}
socket_common!(
    TcpStream => std::net::TcpStream,
    TcpListener => std::net::TcpListener,
    UdpSocket => std::net::UdpSocket,
    UnixStream => std::os::unix::net::UnixStream,
    UnixListener => std::os::unix::net::UnixListener,
);

/// The connected-stream API shared by TCP and Unix streams: Go's `Read`,
/// `Write`, deadlines and half-close, and `std::io` on the stream and on a
/// shared reference to it (goroutines may read and write one connection at
/// once, as in Go).
macro_rules! stream_io {
    ($($t:ident => $std:ty),* $(,)?) => {$(
        impl $t {
            /// Go's `Read`: parks until data, EOF (0), an error, the
            /// deadline or a close.
            ///
            /// Errors are [`OpError`]s (`read tcp a->b: …`).
            pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
                self.fd.read(buf).map_err(|e| self.op_err("read", e))
            }

            /// Go's `Write` (one `send`; `write_all` loops). Errors are
            /// [`OpError`]s (`write tcp a->b: …`).
            pub fn write(&self, buf: &[u8]) -> io::Result<usize> {
                self.fd.write(buf).map_err(|e| self.op_err("write", e))
            }

            /// Go's `SetReadDeadline` (`None`: no deadline).
            pub fn set_read_deadline(&self, d: Option<Instant>) -> io::Result<()> {
                self.fd.set_deadline(d, b'r')
            }

            /// Go's `SetWriteDeadline`.
            pub fn set_write_deadline(&self, d: Option<Instant>) -> io::Result<()> {
                self.fd.set_deadline(d, b'w')
            }

            /// Go's `SetDeadline`: both directions.
            pub fn set_deadline(&self, d: Option<Instant>) -> io::Result<()> {
                self.fd.set_deadline(d, b'r'.wrapping_add(b'w'))
            }

            /// Go's `CloseRead`/`CloseWrite` (half-close), or both.
            pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
                self.fd.check_open()?;
                self.fd.with_std(|s: &$std| s.shutdown(how))
            }
        }

        impl Read for $t {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                $t::read(self, buf)
            }
        }

        impl Write for $t {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                $t::write(self, buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }

        impl Read for &$t {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                $t::read(self, buf)
            }
        }

        impl Write for &$t {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                $t::write(self, buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
    )*};
}
stream_io!(
    TcpStream => std::net::TcpStream,
    UnixStream => std::os::unix::net::UnixStream,
);
