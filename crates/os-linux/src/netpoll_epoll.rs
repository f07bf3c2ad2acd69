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
        // SAFETY: plain system calls; results are checked.
        unsafe {
            let epfd = libc::epoll_create1(libc::EPOLL_CLOEXEC);
            if epfd < 0 {
                return Err(format!(
                    "runtime: netpollinit failed: epoll_create1: {}",
                    std::io::Error::last_os_error()
                ));
            }
            let evfd = libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK);
            if evfd < 0 {
                let e = std::io::Error::last_os_error();
                libc::close(epfd);
                return Err(format!("runtime: netpollinit failed: eventfd: {e}"));
            }
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: BREAK_COOKIE,
            };
            if libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, evfd, &mut ev) < 0 {
                let e = std::io::Error::last_os_error();
                libc::close(evfd);
                libc::close(epfd);
                return Err(format!("runtime: netpollinit failed: epoll_ctl: {e}"));
            }
            Ok(Epoll {
                epfd,
                evfd,
                wake_sig: AtomicU32::new(0),
                users: AtomicUsize::new(0),
            })
        }
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

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
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
        // SAFETY: a valid event struct; the kernel checks fd.
        if unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
            errno()
        } else {
            0
        }
    }

    fn close_entered(&self, fd: i32) -> i32 {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: as above.
        if unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_DEL, fd, &mut ev) } < 0 {
            errno()
        } else {
            0
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
            // SAFETY: events has room for 128 entries.
            let n = unsafe { libc::epoll_wait(self.epfd, events.as_mut_ptr(), 128, waitms) };
            if n >= 0 {
                break n as usize;
            }
            let e = errno();
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
        let one: u64 = 1;
        loop {
            // SAFETY: writing 8 bytes from an 8-byte value.
            let n = unsafe { libc::write(self.evfd, (&raw const one).cast(), 8) };
            if n == 8 {
                return;
            }
            match errno() {
                libc::EINTR => continue,
                // The counter is full: a wake-up is pending anyway.
                libc::EAGAIN => return,
                e => {
                    runtime_g::throw::print(&format!(
                        "runtime: netpollBreak write failed with {e}\n"
                    ));
                    runtime_g::throw("runtime: netpollBreak write failed");
                }
            }
        }
    }
}
