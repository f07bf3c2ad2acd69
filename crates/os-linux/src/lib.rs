//! # os-linux: Go's Linux OS layer for gort
//!
//! Port of the policy of Go's `os_linux.go` and `lock_futex.go` behind
//! runtime-m's [`Os`] trait:
//!
//! - `mStackIsSystemAllocated()` is false: `allocm` gives every M but m0 a
//!   g0 from `malg(G0_STACK_SIZE)`, and [`Linux::newosproc`] starts the
//!   thread on exactly that stack (`pthread_attr_setstack`, so that glibc
//!   sets up the thread's TLS as usual, and Rust thread-locals work on g0).
//! - Sleep and wake are futexes (`FUTEX_WAIT_PRIVATE`/`FUTEX_WAKE_PRIVATE`);
//!   the per-M semaphore is `lock_futex.go`'s counting semaphore on
//!   `m.waitsema`.
//!
//! - The network poller is epoll (`netpoll_epoll.go`): [`netpoll_epoll`].
//!
//! Go's Linux port starts threads with `clone` directly; gort uses pthreads
//! so that libc (and Rust's std, through it) knows every thread — glibc puts
//! its thread descriptor and static TLS at the top of the stack it is given,
//! which is why g0 stacks are generous.

use core::sync::atomic::AtomicU32;

use runtime_m::os::{Netpoller, Os, SleepKind};

pub mod netpoll_epoll;
use runtime_m::{M, note};

/// g0 stack size for Ms started by the runtime. Go uses 16 KiB of Go stack
/// (its functions are small and it can grow goroutine stacks); g0 here runs
/// Rust scheduler code, formatting in `throw`, and glibc keeps the thread's
/// TLS block at the top of it. 256 KiB of address space, committed lazily;
/// `g0_stack_use` in this crate's tests measures the real high-water mark.
pub const G0_STACK_SIZE: usize = 256 * 1024;

/// The Linux OS layer.
pub struct Linux;

/// The one instance to install.
pub static LINUX: Linux = Linux;

/// Installs the Linux layer as the process's OS layer.
pub fn install() -> Result<(), String> {
    runtime_m::os::install(&LINUX)
}

extern "C" fn thread_start(arg: *mut libc::c_void) -> *mut libc::c_void {
    let mp: *mut M = arg.cast();
    // SAFETY: newosproc passes the fresh M it was given; this thread is the
    // one started for it. The thread names itself in the M before it runs
    // it: the M may be given back for reuse (m::mfree) before the parent's
    // pthread_create returns, and whoever reuses it joins this thread.
    unsafe {
        (*mp).thread = libc::pthread_self() as usize;
        runtime_m::proc::mstart_on_new_thread(mp)
    };
    core::ptr::null_mut()
}

/// `membarrier` commands (linux/membarrier.h; not in the libc crate).
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

// SAFETY: newosproc starts a thread that calls mstart_on_new_thread(mp) on
// mp.g0's stack; the futex primitive has the documented semantics.
unsafe impl Os for Linux {
    fn name(&self) -> &'static str {
        "linux"
    }

    fn m_stack_is_system_allocated(&self) -> bool {
        false
    }

    unsafe fn newosproc(&self, mp: *mut M) -> Result<(), String> {
        // SAFETY: mp is a fresh M whose g0 has a runtime-allocated stack
        // that nothing else uses; pthread objects are locals.
        unsafe {
            let g0 = (*mp).g0;
            let (lo, hi) = ((*g0).stack.lo, (*g0).stack.hi);
            if lo == 0 {
                return Err("newosproc: g0 has no stack".into());
            }
            let mut attr: libc::pthread_attr_t = core::mem::zeroed();
            libc::pthread_attr_init(&mut attr);
            let r = libc::pthread_attr_setstack(&mut attr, lo as *mut libc::c_void, hi - lo);
            if r != 0 {
                libc::pthread_attr_destroy(&mut attr);
                return Err(format!("pthread_attr_setstack: errno={r}"));
            }
            let mut tid: libc::pthread_t = 0;
            let r = libc::pthread_create(&mut tid, &attr, thread_start, mp.cast());
            libc::pthread_attr_destroy(&mut attr);
            if r != 0 {
                return Err(format!("errno={r}"));
            }
            // Joinable: the M, with the g0 stack the thread runs on, is
            // reused once the thread has ended (join_thread); the thread
            // stores its own handle in the M (thread_start).
            let _ = tid;
        }
        Ok(())
    }

    unsafe fn join_thread(&self, thread: usize) {
        // SAFETY: per the trait's contract, a joinable thread of ours,
        // joined once; it is leaving, so this waits only for its exit.
        unsafe { libc::pthread_join(thread as libc::pthread_t, core::ptr::null_mut()) };
    }

    fn osyield(&self) {
        // SAFETY: no preconditions.
        unsafe { libc::sched_yield() };
    }

    fn process_barrier_init(&self) -> bool {
        // Registration is per process and idempotent; the first answer
        // stands (a seccomp filter or a kernel older than 4.14 says no).
        static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        // SAFETY: membarrier takes no pointers.
        *OK.get_or_init(|| unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
                0,
                0,
            ) == 0
        })
    }

    fn process_barrier(&self) {
        // SAFETY: as above; registered by process_barrier_init.
        let r =
            unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) };
        if r != 0 {
            runtime_g::throw("membarrier(PRIVATE_EXPEDITED) failed after registration");
        }
    }

    fn usleep(&self, usec: u32) {
        let ts = libc::timespec {
            tv_sec: (usec / 1_000_000) as i64,
            tv_nsec: (usec % 1_000_000) as i64 * 1000,
        };
        // SAFETY: a valid timespec; an interrupted sleep just returns early.
        unsafe { libc::nanosleep(&ts, core::ptr::null_mut()) };
    }

    fn nanotime(&self) -> i64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: writes the current monotonic time into a local.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        ts.tv_sec * 1_000_000_000 + ts.tv_nsec
    }

    fn exit(&self, code: i32) -> ! {
        // SAFETY: ends the process.
        unsafe { libc::_exit(code) }
    }

    fn gettid(&self) -> u64 {
        // SAFETY: no preconditions.
        unsafe { libc::gettid() as u64 }
    }

    fn sleep_kind(&self) -> SleepKind {
        SleepKind::Futex
    }

    fn futexsleep(&self, addr: &AtomicU32, val: u32, ns: i64) {
        let ts;
        let tsp = if ns < 0 {
            core::ptr::null()
        } else {
            ts = libc::timespec {
                tv_sec: ns / 1_000_000_000,
                tv_nsec: ns % 1_000_000_000,
            };
            &ts as *const libc::timespec
        };
        // SAFETY: FUTEX_WAIT_PRIVATE on a valid aligned u32 we borrow, with
        // a null or valid relative timeout; EINTR/EAGAIN/ETIMEDOUT are the
        // allowed spurious returns.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                addr.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                val,
                tsp,
            );
        }
    }

    fn futexwakeup(&self, addr: &AtomicU32, cnt: u32) {
        // SAFETY: FUTEX_WAKE_PRIVATE on a valid aligned u32.
        let r = unsafe {
            libc::syscall(
                libc::SYS_futex,
                addr.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                cnt,
            )
        };
        if r < 0 {
            runtime_g::throw("futexwakeup failed");
        }
    }

    unsafe fn semasleep(&self, mp: *mut M, ns: i64) -> i32 {
        // SAFETY: forwarded contract: mp is a live M.
        unsafe { note::futex_semasleep(mp, ns) }
    }

    unsafe fn semawakeup(&self, mp: *mut M) {
        // SAFETY: forwarded contract: mp is a live M.
        unsafe { note::futex_semawakeup(mp) }
    }

    fn netpoll_new(&self) -> Option<Result<Box<dyn Netpoller>, String>> {
        Some(netpoll_epoll::Epoll::new().map(|e| Box::new(e) as Box<dyn Netpoller>))
    }
}
