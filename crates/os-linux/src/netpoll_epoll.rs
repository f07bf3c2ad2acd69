//! The Linux network poller: port of `netpoll_epoll.go` (`netpollinit`,
//! `netpollopen`, `netpollclose`, `netpoll`, `netpollBreak`).
//!
//! One epoll instance per runtime instance, with an eventfd registered for
//! `netpollBreak`. Descriptors are registered edge-triggered for reading
//! and writing at once (`EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET`), as Go does,
//! so each readiness change is reported once and the runtime keeps the
//! state in the descriptor's `pollDesc`.

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use runtime_m::os::Netpoller;

/// The cookie of the eventfd's registration: no `pollDesc` has it (they are
/// tagged pointers, never all ones).
const BREAK_COOKIE: u64 = u64::MAX;

/// `Epoll::users`: set by `shutdown`; the low bits count calls in flight.
const CLOSED: usize = 1 << (usize::BITS - 1);

pub struct Epoll {
    epfd: i32,
    /// The eventfd `wake` writes to.
    evfd: i32,
    /// Set while a wake-up is pending (`netpollWakeSig`), so that many
    /// `wake` calls cost one write.
    wake_sig: AtomicU32,
    /// Calls in flight, plus [`CLOSED`] once the instance has shut down.
    /// Invariant: `epfd` and `evfd` are open until the count is zero with
    /// `CLOSED` set; whoever makes it so (`shutdown`, or the last call to
    /// leave after it) closes them, exactly once. No call enters once
    /// `CLOSED` is set, so a descriptor number is never used after the
    /// kernel may have handed it to someone else.
    users: AtomicUsize,
}

impl Epoll {
    /// netpollinit.
    pub fn new() -> Result<Epoll, String> {
        let fail = |what: &str, e: i32| {
            format!(
                "runtime: netpollinit failed: {what}: {}",
                std::io::Error::from_raw_os_error(e)
            )
        };
        let epfd = sys::epoll_create1().map_err(|e| fail("epoll_create1", e))?;
        let evfd = match sys::eventfd() {
            Ok(fd) => fd,
            Err(e) => {
                // SAFETY: our new descriptor, shared with nobody.
                unsafe { libc::close(epfd) };
                return Err(fail("eventfd", e));
            }
        };
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: BREAK_COOKIE,
        };
        if let Err(e) = sys::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, evfd, &mut ev) {
            // SAFETY: our new descriptors, shared with nobody.
            unsafe {
                libc::close(evfd);
                libc::close(epfd);
            }
            return Err(fail("epoll_ctl", e));
        }
        Ok(Epoll {
            epfd,
            evfd,
            wake_sig: AtomicU32::new(0),
            users: AtomicUsize::new(0),
        })
    }

    /// The epoll descriptor and the eventfd (for tests that check they
    /// are closed).
    pub fn fds(&self) -> (i32, i32) {
        (self.epfd, self.evfd)
    }

    /// Runs `f` as a call in flight (counted in `users`), or returns
    /// `None` without running it once the poller has shut down.
    fn entered<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
        let mut v = self.users.load(Ordering::Relaxed);
        loop {
            if v & CLOSED != 0 {
                return None;
            }
            match self
                .users
                .compare_exchange_weak(v, v + 1, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(cur) => v = cur,
            }
        }
        let r = f();
        if self.users.fetch_sub(1, Ordering::AcqRel) - 1 == CLOSED {
            self.release();
        }
        Some(r)
    }

    fn release(&self) {
        // SAFETY: reached once (see `users`), with no call in flight and
        // none to come: the descriptors are ours to close.
        unsafe {
            libc::close(self.evfd);
            libc::close(self.epfd);
        }
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // A poller that never shut down (an instance cannot be dropped
        // today, but the type should not leak if one is); a no-op after
        // `shutdown`.
        self.shutdown();
    }
}

/// The system calls of the poller, each with its errno read in the same
/// out-of-line step (the value, or the errno it set). Nothing here parks a
/// goroutine today, but `open` and `close` are called from goroutines that
/// park around them, and errno's address must never be computed before a
/// park and used after it (a goroutine may resume on another thread; see
/// `gort::net`'s `sys`): so the errno is read here and only here.
mod sys {
    fn errno() -> i32 {
        // SAFETY: __errno_location returns the calling thread's errno slot,
        // valid for reads for the thread's lifetime.
        unsafe { *libc::__errno_location() }
    }

    #[inline(never)]
    pub fn epoll_create1() -> Result<i32, i32> {
        // SAFETY: plain system call.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 { Err(errno()) } else { Ok(fd) }
    }

    /// The poller's wake-up eventfd (non-blocking).
    #[inline(never)]
    pub fn eventfd() -> Result<i32, i32> {
        // SAFETY: plain system call.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 { Err(errno()) } else { Ok(fd) }
    }

    #[inline(never)]
    pub fn epoll_ctl(epfd: i32, op: i32, fd: i32, ev: &mut libc::epoll_event) -> Result<(), i32> {
        // SAFETY: ev is a valid event struct; the kernel checks the
        // descriptors.
        if unsafe { libc::epoll_ctl(epfd, op, fd, ev) } < 0 {
            Err(errno())
        } else {
            Ok(())
        }
    }

    #[inline(never)]
    pub fn epoll_wait(
        epfd: i32,
        events: &mut [libc::epoll_event],
        timeout_ms: i32,
    ) -> Result<usize, i32> {
        let max = events.len().min(i32::MAX as usize) as i32;
        // SAFETY: events has room for max entries.
        let n = unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), max, timeout_ms) };
        if n < 0 { Err(errno()) } else { Ok(n as usize) }
    }

    /// Adds `v` to the eventfd's counter.
    #[inline(never)]
    pub fn eventfd_write(evfd: i32, v: u64) -> Result<(), i32> {
        // SAFETY: writing 8 bytes from an 8-byte value.
        let n = unsafe { libc::write(evfd, (&raw const v).cast(), 8) };
        if n == 8 {
            Ok(())
        } else if n < 0 {
            Err(errno())
        } else {
            Err(libc::EIO)
        }
    }
}

impl Netpoller for Epoll {
    fn open(&self, fd: i32, data: u64) -> i32 {
        self.entered(|| self.open_entered(fd, data))
            .unwrap_or(libc::EBADF)
    }

    fn close(&self, fd: i32) -> i32 {
        // After the shutdown: closing the epoll descriptor dropped every
        // registration.
        self.entered(|| self.close_entered(fd)).unwrap_or(0)
    }

    fn poll(&self, delay: i64, ready: &mut dyn FnMut(u64, u8, bool)) {
        self.entered(|| self.poll_entered(delay, ready));
    }

    fn wake(&self) {
        self.entered(|| self.wake_entered());
    }

    fn shutdown(&self) {
        if self.users.fetch_or(CLOSED, Ordering::AcqRel) == 0 {
            self.release();
        }
    }
}

/// The calls proper, made inside `entered`.
impl Epoll {
    fn open_entered(&self, fd: i32, data: u64) -> i32 {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: data,
        };
        match sys::epoll_ctl(self.epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) {
            Ok(()) => 0,
            Err(e) => e,
        }
    }

    fn close_entered(&self, fd: i32) -> i32 {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        match sys::epoll_ctl(self.epfd, libc::EPOLL_CTL_DEL, fd, &mut ev) {
            Ok(()) => 0,
            Err(e) => e,
        }
    }

    fn poll_entered(&self, delay: i64, ready: &mut dyn FnMut(u64, u8, bool)) {
        // Go's conversion: at least 1 ms for a positive delay, capped.
        let waitms: i32 = if delay < 0 {
            -1
        } else if delay == 0 {
            0
        } else if delay < 1_000_000 {
            1
        } else if delay < 1_000_000_000_000_000 {
            (delay / 1_000_000) as i32
        } else {
            1_000_000_000
        };
        // SAFETY: epoll_event is plain old data.
        let mut events: [libc::epoll_event; 128] = unsafe { core::mem::zeroed() };
        let n = loop {
            let e = match sys::epoll_wait(self.epfd, &mut events, waitms) {
                Ok(n) => break n,
                Err(e) => e,
            };
            if e != libc::EINTR {
                runtime_g::throw::print(&format!(
                    "runtime: netpoll failed: epoll_wait on fd {} failed with {e}\n",
                    self.epfd
                ));
                runtime_g::throw("runtime: netpoll failed");
            }
            // An interrupted wait with a timeout returns so that the
            // caller recomputes it (Go does the same).
            if waitms > 0 {
                return;
            }
        };
        for ev in &events[..n] {
            let (bits, data) = (ev.events, ev.u64);
            if bits == 0 {
                continue;
            }
            if data == BREAK_COOKIE {
                if bits != libc::EPOLLIN as u32 {
                    runtime_g::throw(
                        "runtime: netpoll: eventfd ready for something other than read",
                    );
                }
                if delay != 0 {
                    // Consume the wake-up only in a blocking poll, as Go
                    // does: a non-blocking one leaves it for the sleeper.
                    let mut buf = [0u8; 8];
                    // SAFETY: reading 8 bytes into an 8-byte buffer.
                    unsafe { libc::read(self.evfd, buf.as_mut_ptr().cast(), 8) };
                    self.wake_sig.store(0, Ordering::Release);
                }
                continue;
            }
            let mut mode = 0u8;
            let rd = (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32;
            let wr = (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32;
            if bits & rd != 0 {
                mode += b'r';
            }
            if bits & wr != 0 {
                mode += b'w';
            }
            if mode != 0 {
                ready(data, mode, bits == libc::EPOLLERR as u32);
            }
        }
    }

    fn wake_entered(&self) {
        if self
            .wake_sig
            .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        loop {
            match sys::eventfd_write(self.evfd, 1) {
                Ok(()) => return,
                Err(libc::EINTR) => continue,
                // The counter is full: a wake-up is pending anyway.
                Err(libc::EAGAIN) => return,
                Err(e) => {
                    runtime_g::throw::print(&format!(
                        "runtime: netpollBreak write failed with {e}\n"
                    ));
                    runtime_g::throw("runtime: netpollBreak write failed");
                }
            }
        }
    }
}
