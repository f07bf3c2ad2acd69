//! The epoll poller's shutdown: calls in flight on other threads finish,
//! the descriptors are closed once, and calls after it do nothing. One
//! test in this binary, so that no other test reuses a descriptor number
//! between the shutdown and the checks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use os_linux::netpoll_epoll::Epoll;
use runtime_m::os::Netpoller;

fn is_open(fd: i32) -> bool {
    // SAFETY: F_GETFD only inspects the descriptor table.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn shutdown_closes_once_and_later_calls_do_nothing() {
    let before = open_fds();
    let ep = Arc::new(Epoll::new().unwrap());
    assert_eq!(open_fds(), before + 2, "an epoll descriptor and an eventfd");
    let (epfd, evfd) = ep.fds();
    // A socket registered before the shutdown.
    let mut sv = [0i32; 2];
    // SAFETY: socketpair fills the two-element array.
    let r = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, sv.as_mut_ptr()) };
    assert_eq!(r, 0);
    assert_eq!(ep.open(sv[0], 7), 0);

    // Threads polling and waking while the poller shuts down.
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let (ep, stop) = (ep.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut calls = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    if i % 2 == 0 {
                        ep.poll(0, &mut |_, _, _| {});
                    } else {
                        ep.wake();
                    }
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    ep.shutdown();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        assert!(w.join().unwrap() > 0);
    }
    assert!(!is_open(epfd), "epoll descriptor closed");
    assert!(!is_open(evfd), "eventfd closed");
    assert_eq!(open_fds(), before + 2, "only the socket pair is left");

    // After the shutdown: nothing touches the closed numbers.
    assert_eq!(ep.close(sv[0]), 0);
    assert_eq!(ep.open(sv[1], 8), libc::EBADF);
    let mut seen = 0;
    ep.poll(-1, &mut |_, _, _| seen += 1); // returns at once
    assert_eq!(seen, 0);
    ep.wake();
    ep.shutdown(); // idempotent
    drop(Arc::try_unwrap(ep).ok().expect("last reference"));
    assert_eq!(open_fds(), before + 2, "dropping does not close again");
    // SAFETY: our socket pair.
    unsafe {
        libc::close(sv[0]);
        libc::close(sv[1]);
    }
    assert_eq!(open_fds(), before);
}
