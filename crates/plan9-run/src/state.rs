//! What the loader keeps per Plan 9 process, and what all the processes of
//! one program share.
//!
//! Each Plan 9 process is a single-threaded Linux process. Its private
//! state ([`Private`]) lives in ordinary memory, so `rfork` copies it; the
//! loader touches it only from its signal handlers, which block one
//! another, and before the binary starts. The shared state ([`Shared`]) is
//! a `MAP_SHARED` memfd mapping made before the first process starts, at
//! the same address in every process, and holds only atomics.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};

/// Plan 9's `ERRMAX`: the longest error string or note, NUL included.
pub const ERRMAX: usize = 128;
/// Notes a process may have pending (Plan 9's `NNOTE`).
pub const NNOTE: usize = 5;
/// Processes one program may have at once.
pub const MAXPROC: usize = 1024;
/// File descriptors the loader tracks a kind for.
pub const MAXFD: usize = 4096;

/// One process's entry in the shared table: its Linux pid (which is its
/// Plan 9 pid), and its note queue.
#[repr(C)]
pub struct ProcSlot {
    /// 0: free; -1: reserved by a parent whose `rfork` has not returned.
    pub pid: AtomicI32,
    /// Bumped after each note is queued: a process waiting in a system
    /// call waits on this word too (`futex_waitv`), so a note posted after
    /// its last look still ends the wait.
    pub seq: AtomicU32,
    lock: AtomicU32,
    head: AtomicU32,
    tail: AtomicU32,
    msgs: UnsafeCell<[[u8; ERRMAX]; NNOTE]>,
}

/// What a file descriptor is, where it is not a plain host file.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdKind {
    Host = 0,
    /// `/dev/bintime`: reads give the time.
    Bintime = 1,
    /// A directory: reads give Plan 9 directory entries.
    Dir = 2,
    /// `/proc/N/note`: writes post a note to N.
    Note = 3,
    /// `/proc/N/ctl`: `kill` ends N.
    Ctl = 4,
}

/// A descriptor's kind and argument (the pid, for notes and ctl).
#[repr(C)]
pub struct FdSlot {
    kind: AtomicU32,
    arg: AtomicU64,
}

/// The state all processes of a program share.
#[repr(C)]
pub struct Shared {
    /// The current break (`brk_`).
    pub brk: AtomicU64,
    /// Pid of the first process, whose `exits` string is the program's.
    pub main_pid: AtomicI32,
    /// The first process's `exits` string, its length in `exit_len`.
    pub exit_len: AtomicU32,
    pub exit_msg: [AtomicU32; ERRMAX / 4],
    pub procs: [ProcSlot; MAXPROC],
    pub fds: [FdSlot; MAXFD],
}

// SAFETY: every field is an atomic but the note messages, which are only
// touched under the slot's spin lock (`ProcSlot::with_lock`).
unsafe impl Sync for ProcSlot {}

impl ProcSlot {
    fn with_lock<R>(&self, f: impl FnOnce(&mut [[u8; ERRMAX]; NNOTE]) -> R) -> R {
        while self
            .lock
            .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        // SAFETY: the lock is held, so no other process or handler is in
        // the messages; it is released below before returning.
        let r = f(unsafe { &mut *self.msgs.get() });
        self.lock.store(0, Ordering::Release);
        r
    }

    /// Queues a note; false if the queue was full (Plan 9 drops it).
    pub fn post(&self, msg: &[u8]) -> bool {
        let ok = self.with_lock(|m| {
            let (h, t) = (
                self.head.load(Ordering::Relaxed),
                self.tail.load(Ordering::Relaxed),
            );
            if t.wrapping_sub(h) as usize >= NNOTE {
                return false;
            }
            let slot = &mut m[t as usize % NNOTE];
            let n = msg.len().min(ERRMAX - 1);
            slot.fill(0);
            slot[..n].copy_from_slice(&msg[..n]);
            self.tail.store(t.wrapping_add(1), Ordering::Relaxed);
            true
        });
        if ok {
            self.seq.fetch_add(1, Ordering::SeqCst);
            futex_wake_shared(&self.seq, i32::MAX);
        }
        ok
    }

    /// Takes the oldest pending note.
    pub fn take(&self) -> Option<[u8; ERRMAX]> {
        self.with_lock(|m| {
            let (h, t) = (
                self.head.load(Ordering::Relaxed),
                self.tail.load(Ordering::Relaxed),
            );
            if h == t {
                return None;
            }
            self.head.store(h.wrapping_add(1), Ordering::Relaxed);
            Some(m[h as usize % NNOTE])
        })
    }

    /// Whether a note is pending.
    pub fn pending(&self) -> bool {
        self.with_lock(|_| self.head.load(Ordering::Relaxed) != self.tail.load(Ordering::Relaxed))
    }

    /// Empties the slot for reuse.
    pub fn clear(&self) {
        self.with_lock(|_| {
            let t = self.tail.load(Ordering::Relaxed);
            self.head.store(t, Ordering::Relaxed);
        });
    }
}

impl Shared {
    /// Reserves a free process slot.
    pub fn reserve_slot(&self) -> Option<usize> {
        (0..MAXPROC).find(|&i| {
            self.procs[i]
                .pid
                .compare_exchange(0, -1, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
        })
    }

    /// The slot of live process `pid`.
    pub fn slot_of(&self, pid: i32) -> Option<&ProcSlot> {
        if pid <= 0 {
            return None;
        }
        self.procs
            .iter()
            .find(|s| s.pid.load(Ordering::SeqCst) == pid)
    }

    /// The pids of all live processes.
    pub fn live_pids(&self) -> Vec<i32> {
        self.procs
            .iter()
            .map(|s| s.pid.load(Ordering::SeqCst))
            .filter(|&p| p > 0)
            .collect()
    }

    pub fn fd_kind(&self, fd: i32) -> (FdKind, u64) {
        let Some(s) = usize::try_from(fd).ok().and_then(|i| self.fds.get(i)) else {
            return (FdKind::Host, 0);
        };
        let k = match s.kind.load(Ordering::SeqCst) {
            1 => FdKind::Bintime,
            2 => FdKind::Dir,
            3 => FdKind::Note,
            4 => FdKind::Ctl,
            _ => FdKind::Host,
        };
        (k, s.arg.load(Ordering::SeqCst))
    }

    pub fn set_fd_kind(&self, fd: i32, kind: FdKind, arg: u64) {
        if let Some(s) = usize::try_from(fd).ok().and_then(|i| self.fds.get(i)) {
            s.arg.store(arg, Ordering::SeqCst);
            s.kind.store(kind as u32, Ordering::SeqCst);
        }
    }

    /// Records the program's exit string.
    pub fn set_exit_msg(&self, msg: &[u8]) {
        let n = msg.len().min(ERRMAX - 1);
        let mut buf = [0u8; ERRMAX];
        buf[..n].copy_from_slice(&msg[..n]);
        for (i, w) in self.exit_msg.iter().enumerate() {
            let b = [buf[4 * i], buf[4 * i + 1], buf[4 * i + 2], buf[4 * i + 3]];
            w.store(u32::from_ne_bytes(b), Ordering::SeqCst);
        }
        self.exit_len.store(n as u32, Ordering::SeqCst);
    }

    /// The program's exit string, once its first process has exited.
    pub fn exit_msg(&self) -> Vec<u8> {
        let n = self.exit_len.load(Ordering::SeqCst) as usize;
        let mut out = Vec::with_capacity(ERRMAX);
        for w in &self.exit_msg {
            out.extend_from_slice(&w.load(Ordering::SeqCst).to_ne_bytes());
        }
        out.truncate(n);
        out
    }
}

/// Wakes up to `n` waiters on `word`, in any process (not a private
/// futex: the word is in shared memory).
pub fn futex_wake_shared(word: &AtomicU32, n: i32) {
    // SAFETY: FUTEX_WAKE on a valid, aligned word.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, n);
    }
}

/// A cell for the per-process state: each Plan 9 process is one Linux
/// thread, and its state is touched only by the start-up code before any
/// handler, and by its own signal handlers under the rule of [`get`]
/// (Self::get).
pub struct ProcCell<T>(UnsafeCell<T>);

// SAFETY: each process has its own copy (private memory, copied by fork)
// and a single thread; see the type's comment for why accesses never
// overlap.
unsafe impl<T> Sync for ProcCell<T> {}

impl<T> ProcCell<T> {
    pub const fn new(v: T) -> Self {
        ProcCell(UnsafeCell::new(v))
    }

    /// # Safety
    /// No other reference from `get` may be live: call it only before the
    /// binary starts, from the SIGSYS and fault handlers (which block every
    /// other loader handler, and run only when the binary made a call or
    /// faulted), or from an asynchronous handler that interrupted the
    /// binary's own code ([`in_text`]); do not keep the reference past the
    /// handler.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get(&self) -> &mut T {
        // SAFETY: the caller promises exclusive access (see above).
        unsafe { &mut *self.0.get() }
    }
}

/// Memory layout of the loaded program.
#[derive(Clone, Copy, Debug, Default)]
pub struct Layout {
    pub text_start: u64,
    pub text_end: u64,
    /// The shared data, bss and heap segment.
    pub data_start: u64,
    pub heap_limit: u64,
    /// The private stack segment.
    pub stack_lo: u64,
    pub stack_hi: u64,
    /// Plan 9's `Tos`, at the top of the stack segment.
    pub tos: u64,
}

/// One process's private state.
pub struct Private {
    pub pid: i32,
    pub slot: usize,
    pub shared: *const Shared,
    pub layout: Layout,
    pub errstr: [u8; ERRMAX],
    /// The note handler `notify` registered (0: none).
    pub notify: u64,
    /// In the note handler: further notes wait for `noted`.
    pub notified: bool,
    /// The `Ureg` of the note being handled, in the binary's memory.
    pub ureg: u64,
    /// The interrupted floating-point state, put back by `noted`.
    pub fpsave: [u8; 4096],
    pub fplen: usize,
    /// The selector byte of Syscall User Dispatch.
    pub sud_selector: u8,
    /// Trace system calls to stderr (`PLAN9_RUN_TRACE=1`).
    pub trace: bool,
}

impl Private {
    pub const fn new() -> Self {
        Private {
            pid: 0,
            slot: 0,
            shared: core::ptr::null(),
            layout: Layout {
                text_start: 0,
                text_end: 0,
                data_start: 0,
                heap_limit: 0,
                stack_lo: 0,
                stack_hi: 0,
                tos: 0,
            },
            errstr: [0; ERRMAX],
            notify: 0,
            notified: false,
            ureg: 0,
            fpsave: [0; 4096],
            fplen: 0,
            sud_selector: 1,
            trace: false,
        }
    }

    pub fn shared(&self) -> &'static Shared {
        // SAFETY: set once at start-up to the shared mapping, which is
        // never unmapped while the process lives.
        unsafe { &*self.shared }
    }

    pub fn my_slot(&self) -> &'static ProcSlot {
        &self.shared().procs[self.slot]
    }

    pub fn set_errstr(&mut self, s: &str) {
        let n = s.len().min(ERRMAX - 1);
        self.errstr.fill(0);
        self.errstr[..n].copy_from_slice(&s.as_bytes()[..n]);
    }
}

impl Default for Private {
    fn default() -> Self {
        Self::new()
    }
}

/// The process's private state.
pub static PRIVATE: ProcCell<Private> = ProcCell::new(Private::new());

/// The binary's text bounds, for the asynchronous handlers: they may take
/// [`PRIVATE`] only when the interrupted pc is in the binary's text, which
/// means no other loader handler is running (a note or host signal can
/// also arrive while the loader waits in a system call, with those
/// signals unblocked, and must then leave the private state alone).
pub static TEXT_LO: AtomicU64 = AtomicU64::new(0);
pub static TEXT_HI: AtomicU64 = AtomicU64::new(0);
/// This process's slot in the shared table (set at start and by `rfork`
/// in the child), for a host signal's handler that interrupted the loader.
pub static MY_SLOT: core::sync::atomic::AtomicPtr<ProcSlot> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// Whether `pc` is in the binary's text.
pub fn in_text(pc: u64) -> bool {
    (TEXT_LO.load(Ordering::Relaxed)..TEXT_HI.load(Ordering::Relaxed)).contains(&pc)
}

/// Records the calling process's slot for [`MY_SLOT`].
pub fn set_my_slot(s: &'static ProcSlot) {
    MY_SLOT.store(s as *const ProcSlot as *mut ProcSlot, Ordering::SeqCst);
}
