//! The race on hardware: the child's side of each protocol in our own
//! x86_64 assembly, run on Linux with the process semantics that matter.
//!
//! - **old** (amd64 before 9f012e1): after the system call the child reads
//!   `stack`, `mm` and `gg` from the caller's frame. That frame is shared
//!   memory (a goroutine stack in the heap), modelled by one [`Race`]
//!   frame that the parent fills for each M in turn, and the child is a
//!   `clone(CLONE_VM)` thread on the parent's own stack pointer, as an
//!   `RFMEM` child was on a goroutine stack. A child that is scheduled after
//!   the parent wrote the next M's arguments starts the wrong M.
//! - **386** (the interim fix, CL 64140043): the same child, but the
//!   arguments are loaded into registers before the system call; Linux
//!   copies the registers into the child, as the 386 Plan 9 kernel did.
//! - **new** (9f012e1): `rfork` on the scheduler's stack, the child reading
//!   `mp` from its own copy of that frame: `fork()` gives the child a private
//!   copy-on-write stack at the same address, which is Plan 9's stack
//!   segment, while the counters live in a `MAP_SHARED` mapping, which
//!   stands for the memory `RFMEM` shares. The parent scribbles over its
//!   frame right after the call; the child never sees it.
//! - **new on a shared stack** (the counterfactual): the same child code
//!   as new, but the child is a `clone(CLONE_VM)` thread, so the frame it
//!   reads is the parent's: it fails like old. The private stack is what
//!   makes 9f012e1 right.
//!
//! Children never use the stack: each records what it started with
//! (`lock inc` into the shared counters) and exits, so that two children
//! that got the same stack cannot corrupt each other. The tests are in
//! `tests/hardware_race.rs`; `docs/plan9-race.md` explains the race.

use core::sync::atomic::{AtomicU64, Ordering};

/// What the parent and its children share: the old protocol's argument
/// frame (reused for every M, as a goroutine's frame is by successive
/// `newosproc` calls) and the children's records. Lives in a `MAP_SHARED`
/// mapping, so that forked children write into the parent's copy.
#[repr(C)]
pub struct Race {
    /// `stack`, `mm`, `gg` of the M being started (offsets 0, 8, 16).
    pub frame: [AtomicU64; 3],
    /// `started[m]`: how many children ran `mstart` for M `m` (24).
    started: *const AtomicU64,
    /// `on_stack[s]`: how many children switched to stack `s` (32).
    on_stack: *const AtomicU64,
    /// Children whose `g` was not their M's g0 (40).
    pub mismatched: AtomicU64,
    /// Children that finished (48).
    pub exited: AtomicU64,
    /// The number of Ms (56): the child's bound.
    n: usize,
    len: usize,
}

// The offsets the assembly uses.
const _: () = {
    assert!(core::mem::offset_of!(Race, frame) == 0);
    assert!(core::mem::offset_of!(Race, started) == 24);
    assert!(core::mem::offset_of!(Race, on_stack) == 32);
    assert!(core::mem::offset_of!(Race, mismatched) == 40);
    assert!(core::mem::offset_of!(Race, exited) == 48);
    assert!(core::mem::offset_of!(Race, n) == 56);
};

/// How one batch of starts ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Ms started.
    pub starts: usize,
    /// Ms no child started.
    pub never_started: usize,
    /// Ms started by more than one child.
    pub started_twice: usize,
    /// Stacks used by more than one child.
    pub stack_shared: usize,
    /// Children that ran with another M's g0.
    pub mismatched: usize,
    /// Children that did not finish within the wait.
    pub missing: usize,
}

impl Outcome {
    /// Whether some M was started wrongly (as opposed to children that did
    /// not finish in time).
    pub fn raced(&self) -> bool {
        self.never_started + self.started_twice + self.stack_shared + self.mismatched > 0
    }

    /// Whether the invariant held for every M: each started once, by one
    /// child, on its own stack, with its own g0.
    pub fn ok(&self) -> bool {
        self.never_started == 0
            && self.started_twice == 0
            && self.stack_shared == 0
            && self.mismatched == 0
            && self.missing == 0
    }
}

/// The protocols run on hardware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HwProtocol {
    Old,
    Old386,
    New,
    NewOnSharedStack,
}

const CLONE_THREAD_FLAGS: u64 = (libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM) as u64;

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
core::arch::global_asm!(
    // The child's record: rcx = stack, rdx = mm, rsi = gg, rbx = &Race.
    // No stack use; ends the thread (or the forked process). A value past
    // the Ms made (a scribbled frame) counts as a wrong g0 and nothing
    // else.
    ".p2align 4",
    "gort_p9hw_record:",
    "cmp rdx, [rbx + 56]",
    "jae 6f",
    "cmp rcx, [rbx + 56]",
    "jae 6f",
    "mov rax, [rbx + 24]",
    "lock inc qword ptr [rax + rdx*8]",
    "mov rax, [rbx + 32]",
    "lock inc qword ptr [rax + rcx*8]",
    "cmp rdx, rsi",
    "je 2f",
    "lock inc qword ptr [rbx + 40]",
    "2:",
    "lock inc qword ptr [rbx + 48]",
    "mov eax, 60",
    "xor edi, edi",
    "syscall",
    "ud2",
    "6:",
    "lock inc qword ptr [rbx + 40]",
    "jmp 2b",
    // old: rfork(flags, stk, mm, gg, fn) from a goroutine stack. rdi =
    // &Race. The child reads the arguments from the frame after the call.
    ".globl gort_p9hw_old_rfork",
    ".p2align 4",
    "gort_p9hw_old_rfork:",
    "push rbx",
    "mov rbx, rdi",
    "mov eax, 56",
    "mov rdi, {thread}",
    "xor esi, esi",
    "xor edx, edx",
    "xor r10d, r10d",
    "xor r8d, r8d",
    "syscall",
    "test rax, rax",
    "jz 3f",
    "pop rbx",
    "ret",
    "3:",
    "mov rcx, [rbx + 0]",
    "mov rdx, [rbx + 8]",
    "mov rsi, [rbx + 16]",
    "jmp gort_p9hw_record",
    // 386: the arguments go into registers before the call; the child
    // uses its copies of the registers.
    ".globl gort_p9hw_386_rfork",
    ".p2align 4",
    "gort_p9hw_386_rfork:",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "mov rbx, rdi",
    "mov r12, [rbx + 0]",
    "mov r13, [rbx + 8]",
    "mov r14, [rbx + 16]",
    "mov eax, 56",
    "mov rdi, {thread}",
    "xor esi, esi",
    "xor edx, edx",
    "xor r10d, r10d",
    "xor r8d, r8d",
    "syscall",
    "test rax, rax",
    "jz 4f",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "ret",
    "4:",
    "mov rcx, r12",
    "mov rdx, r13",
    "mov rsi, r14",
    "jmp gort_p9hw_record",
    // new: rfork(flags) on the scheduler's stack. rdi = the address of
    // `mp` in the caller's frame, rsi = &Race, rdx = clone flags (SIGCHLD:
    // a fork; the thread flags: the counterfactual). The child reads `mp`
    // from the frame at that address: its own copy after a fork, the
    // parent's after a CLONE_VM clone. tstart_plan9 then runs mstart(mp)
    // with mp's g0 on the child's own stack (its stack is mp's, by
    // construction).
    ".globl gort_p9hw_new_rfork",
    ".p2align 4",
    "gort_p9hw_new_rfork:",
    "push rbx",
    "push r12",
    "mov r12, rdi",
    "mov rbx, rsi",
    "mov rdi, rdx",
    "mov eax, 56",
    "xor esi, esi",
    "xor edx, edx",
    "xor r10d, r10d",
    "xor r8d, r8d",
    "syscall",
    "test rax, rax",
    "jz 5f",
    "pop r12",
    "pop rbx",
    "ret",
    "5:",
    "mov rdx, [r12]",
    "mov rsi, rdx",
    "mov rcx, rdx",
    "jmp gort_p9hw_record",
    thread = const CLONE_THREAD_FLAGS,
);

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
unsafe extern "C" {
    fn gort_p9hw_old_rfork(race: *const Race) -> i64;
    fn gort_p9hw_386_rfork(race: *const Race) -> i64;
    fn gort_p9hw_new_rfork(mp_slot: *const u64, race: *const Race, flags: u64) -> i64;
}

/// A [`Race`] and its counters in one `MAP_SHARED` anonymous mapping.
struct Shared {
    race: *mut Race,
    /// Children may still write into it (they did not all finish): never
    /// unmapped then, so that a late one cannot fault or write into a
    /// mapping made later at the same address.
    keep: bool,
}

impl Shared {
    fn new(n: usize) -> std::io::Result<Shared> {
        let len = core::mem::size_of::<Race>() + 2 * n * 8;
        // SAFETY: a fresh anonymous shared mapping; no existing memory.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let race = p.cast::<Race>();
        // SAFETY: the mapping is zeroed, large enough and aligned to a page;
        // the arrays follow the header.
        unsafe {
            let arrays = p
                .cast::<u8>()
                .add(core::mem::size_of::<Race>())
                .cast::<AtomicU64>();
            (*race).started = arrays;
            (*race).on_stack = arrays.add(n);
            (*race).n = n;
            (*race).len = len;
        }
        Ok(Shared { race, keep: false })
    }

    fn count(&self, which: *const AtomicU64, i: usize) -> u64 {
        // SAFETY: i < n, inside the mapping.
        unsafe { (*which.add(i)).load(Ordering::SeqCst) }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        // SAFETY: our mapping, unused by now (every child finished).
        unsafe { libc::munmap(self.race.cast(), (*self.race).len) };
    }
}

/// Starts `n` Ms with `protocol` and reports what the children did.
/// Signals are blocked on the calling thread meanwhile: a clone child
/// shares its stack pointer, and a handler's frame there would be written
/// over the parent's stack.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub fn run(protocol: HwProtocol, n: usize) -> std::io::Result<Outcome> {
    let mut sh = Shared::new(n)?;
    // SAFETY: the mapping outlives this function unless every child is
    // done (`keep`); the reference is not used after `sh` drops.
    let race = unsafe { &*sh.race };
    // SAFETY: sigset operations on locals; pthread_sigmask on this thread.
    let old_mask = unsafe {
        let mut all: libc::sigset_t = core::mem::zeroed();
        let mut old: libc::sigset_t = core::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        old
    };
    let mut pids: Vec<libc::pid_t> = Vec::new();
    let mut result = Ok(());
    let mut launched = 0usize;
    for i in 0..n as u64 {
        // At most 256 children alive at once (a low process limit would
        // otherwise make clone fail).
        while launched - race.exited.load(Ordering::Acquire) as usize > 256 {
            std::thread::yield_now();
        }
        let r = match protocol {
            HwProtocol::Old | HwProtocol::Old386 => {
                // newosproc pushes this M's arguments into its frame.
                race.frame[0].store(i, Ordering::Relaxed);
                race.frame[1].store(i, Ordering::Relaxed);
                race.frame[2].store(i, Ordering::Relaxed);
                // SAFETY: the child only reads the frame and records into
                // the shared counters (i < n), without touching the stack.
                unsafe {
                    if protocol == HwProtocol::Old {
                        gort_p9hw_old_rfork(race)
                    } else {
                        gort_p9hw_386_rfork(race)
                    }
                }
            }
            HwProtocol::New | HwProtocol::NewOnSharedStack => {
                // `mp` in newosproc's frame, on this (scheduler) stack.
                let mut mp = core::hint::black_box(i);
                let flags = if protocol == HwProtocol::New {
                    libc::SIGCHLD as u64
                } else {
                    CLONE_THREAD_FLAGS
                };
                // SAFETY: as above; a forked child has its own copy of
                // this frame and of everything else, and writes only into
                // the MAP_SHARED counters.
                let pid = unsafe { gort_p9hw_new_rfork(&mp, race, flags) };
                // The parent scribbles over its frame at once.
                // SAFETY: a volatile store to our own local.
                unsafe { core::ptr::write_volatile(&mut mp, u64::MAX) };
                core::hint::black_box(&mp);
                if protocol == HwProtocol::New && pid > 0 {
                    pids.push(pid as libc::pid_t);
                    if pids.len() == 64 {
                        reap(&mut pids);
                    }
                }
                pid
            }
        };
        if r < 0 {
            result = Err(std::io::Error::from_raw_os_error(-r as i32));
            break;
        }
        launched += 1;
    }
    reap(&mut pids);
    // The children finish in microseconds; give them ten seconds.
    let started = launched;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while (race.exited.load(Ordering::SeqCst) as usize) < started
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // SAFETY: restoring the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old_mask, core::ptr::null_mut()) };
    sh.keep = (race.exited.load(Ordering::SeqCst) as usize) < started;
    result?;
    let mut out = Outcome {
        starts: n,
        never_started: 0,
        started_twice: 0,
        stack_shared: 0,
        mismatched: race.mismatched.load(Ordering::SeqCst) as usize,
        missing: started.saturating_sub(race.exited.load(Ordering::SeqCst) as usize),
    };
    for i in 0..n {
        match sh.count(race.started, i) {
            0 => out.never_started += 1,
            1 => {}
            _ => out.started_twice += 1,
        }
        if sh.count(race.on_stack, i) > 1 {
            out.stack_shared += 1;
        }
    }
    Ok(out)
}

/// Waits for the forked children `pids` (only ours: other tests of the
/// process may have children of their own).
fn reap(pids: &mut Vec<libc::pid_t>) {
    for pid in pids.drain(..) {
        // SAFETY: waitpid on our own child, without status.
        while unsafe { libc::waitpid(pid, core::ptr::null_mut(), 0) } < 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
        {}
    }
}
