//! Goroutine stacks: port, in purpose, of `stackalloc`/`stackfree`
//! (`runtime/stack.go`), re-designed for Rust.
//!
//! Go copies stacks to grow them. Rust cannot (its frames hold pointers into
//! the stack), so a gort stack is a fixed slot of address space — 8 MiB by
//! default, as much as a Linux main thread gets — of which only the touched
//! pages cost memory. Address space is cheap (a million such stacks take 8
//! TiB of the 128 TiB a process has); what bounds a program is the number
//! of *mappings*: one `mmap` plus one guard per stack would split into two
//! VMAs each, and Linux's default `vm.max_map_count` of 65530 would cap a
//! program near 32,000 goroutines.
//!
//! So stacks are carved out of large `MAP_NORESERVE` arenas (doubling up
//! to 1 GiB, 127 default stacks) and each slot's lowest page becomes a guard with
//! `madvise(MADV_GUARD_INSTALL)` (Linux 6.13+), which marks page-table entries
//! and does not split the VMA. On older kernels the guard falls back to
//! `mprotect(PROT_NONE)`, which does split it; when that hits
//! `vm.max_map_count` the runtime says so and how to raise it.
//!
//! ```text
//!  arena base                                            arena end
//!  | guard | stack 0 ........ | guard | stack 1 ........ | ...
//!          ^lo            hi^         ^lo            hi^
//! ```
//!
//! Page tables are the other cost of big slots: a parked goroutine touches
//! the top pages of its slot, and each 2 MiB of address space that holds a
//! touched page needs its own 4 KiB page-table page, so a parked goroutine
//! costs one page-table page besides its stack pages. Not two: the top of
//! one stack and the guard of the next share a page-table page unless
//! their boundary is a multiple of 2 MiB, and a default slot (8 MiB and a
//! guard page) is not, so only one boundary in 512 is. Arenas are marked
//! `MADV_NOHUGEPAGE`, so that a machine with transparent huge pages set to
//! `always` does not back a stack's first touch with 2 MiB.
//!
//! Where the address space is limited (`ulimit -v`, or strict overcommit),
//! [`default_stack_size`] picks smaller stacks and says so.
//!
//! Stack overflow is detected by the SIGSEGV handler (see [`crate::signal`]),
//! which maps a fault address to a slot with [`guard_hit`] using a lock-free
//! registry of arenas, since it runs in a signal handler.
//!
//! Rejected: one `mmap` per stack (the map-count cap above, and a syscall per
//! goroutine); growing stacks by copying (unsound for Rust); segmented stacks
//! (need compiler support).

use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::throw::{fatal_error, print};

/// Page size assumed for guards and rounding (x86_64 Linux).
pub const PAGE_SIZE: usize = 4096;
/// Bytes of guard below every stack. One page suffices: rustc emits stack
/// probes for frames larger than a page, so no frame can step over it.
pub const GUARD_SIZE: usize = PAGE_SIZE;
/// Default usable goroutine stack size: a Linux main thread's 8 MiB, so that
/// recursion a few MiB deep works on any goroutine. Only touched pages cost
/// memory; see the module docs for the page-table cost.
pub const DEFAULT_STACK_SIZE: usize = 8 << 20;
/// The smallest default [`default_stack_size`] picks under a tight
/// address-space limit.
const MIN_DEFAULT_STACK_SIZE: usize = 64 * 1024;
/// Smallest stack `stackalloc` hands out.
pub const MIN_STACK_SIZE: usize = 16 * 1024;
/// Address space reserved by the largest arenas.
const ARENA_BYTES: usize = 1 << 30;
/// Slots in a class's first arena (see [`new_arena`]).
const FIRST_ARENA_SLOTS: usize = 64;
/// Smallest arena tried when the address space is tight (`ulimit -v`).
const MIN_ARENA_SLOTS: usize = 4;
/// Capacity of the signal-safe arena registry.
const MAX_ARENAS: usize = 1 << 16;

/// Linux's `MADV_GUARD_INSTALL` (6.13+); not yet in every libc release.
const MADV_GUARD_INSTALL: libc::c_int = 102;

/// Bounds of a goroutine stack: port of `stack` (runtime2.go). The usable
/// range is `[lo, hi)`; the guard page sits just below `lo`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stack {
    pub lo: usize,
    pub hi: usize,
}

impl Stack {
    /// Usable size in bytes.
    pub fn size(&self) -> usize {
        self.hi - self.lo
    }
}

/// How guard pages are installed on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardMode {
    /// Not decided yet (no stack allocated).
    Unknown,
    /// `madvise(MADV_GUARD_INSTALL)`: no VMA split.
    GuardInstall,
    /// `mprotect(PROT_NONE)`: one VMA split per stack.
    Mprotect,
}

static GUARD_MODE: AtomicU8 = AtomicU8::new(0);

/// The guard mechanism chosen at the first stack allocation.
pub fn guard_mode() -> GuardMode {
    match GUARD_MODE.load(Ordering::Relaxed) {
        1 => GuardMode::GuardInstall,
        2 => GuardMode::Mprotect,
        _ => GuardMode::Unknown,
    }
}

/// Signal-safe registry of arenas: entries are written once, before `NARENAS`
/// is published with release ordering, and never change afterwards.
static ARENA_BASE: [AtomicUsize; MAX_ARENAS] = [const { AtomicUsize::new(0) }; MAX_ARENAS];
static ARENA_LEN: [AtomicUsize; MAX_ARENAS] = [const { AtomicUsize::new(0) }; MAX_ARENAS];
static ARENA_SLOT: [AtomicUsize; MAX_ARENAS] = [const { AtomicUsize::new(0) }; MAX_ARENAS];
static NARENAS: AtomicUsize = AtomicUsize::new(0);

/// If `addr` lies in the guard page of a goroutine stack, returns that stack.
/// Async-signal-safe: atomics only.
pub fn guard_hit(addr: usize) -> Option<Stack> {
    let n = NARENAS.load(Ordering::Acquire);
    for i in 0..n {
        let base = ARENA_BASE[i].load(Ordering::Relaxed);
        let len = ARENA_LEN[i].load(Ordering::Relaxed);
        if addr < base || addr >= base + len {
            continue;
        }
        let slot = ARENA_SLOT[i].load(Ordering::Relaxed);
        let start = base + (addr - base) / slot * slot;
        if addr < start + GUARD_SIZE {
            return Some(Stack {
                lo: start + GUARD_SIZE,
                hi: start + slot,
            });
        }
        return None;
    }
    None
}

/// One size class: arenas of equal slots, and the stacks given back.
struct Class {
    /// Usable size of each stack of this class.
    size: usize,
    /// Guard + stack.
    slot: usize,
    /// Next uncarved slot in the current arena, and that arena's end.
    next: usize,
    end: usize,
    /// Arenas reserved so far: each is twice the previous one, from
    /// [`FIRST_ARENA_SLOTS`] slots up to [`ARENA_BYTES`].
    arenas: u32,
    /// Stacks returned by `stackfree`, guards still installed (LIFO, so the
    /// most recently touched, cache-warm stacks are reused first).
    free: Vec<usize>,
    /// Stacks returned by `stackfree_lazy` whose pages are still committed:
    /// reused first (no page faults), released in coalesced batches by
    /// [`scavenge`].
    dirty: Vec<usize>,
}

/// How many dirty stacks a class keeps before `stackfree_lazy` releases
/// them itself. Below that, sysmon's pass every 100 ms releases them, off
/// the goroutines' path: a burst of exits used to release them here every
/// 4,096, each batch a storm of `madvise` calls whose TLB shoot-downs
/// interrupted every running thread (100,000 sleepers of 0–100 ms were
/// 32 ms late on average at GOMAXPROCS=2, Go 3.6 ms; now under 1 ms). The
/// cost is memory: up to this many exited goroutines' stacks stay
/// committed until the next pass, as Go keeps stacks in its pools until
/// its scavenger returns them.
pub const DIRTY_MAX: usize = 65536;

/// Pool of all classes. A leaf lock: held for a few instructions or one
/// `mmap`, never across a goroutine switch.
static POOL: Mutex<Vec<Class>> = Mutex::new(Vec::new());

/// Rounds a requested size to the page-multiple usable size `stackalloc`
/// gives out.
pub fn round_stack_size(n: usize) -> usize {
    n.max(MIN_STACK_SIZE).next_multiple_of(PAGE_SIZE)
}

/// stackalloc: port of runtime.stackalloc (stack.go). Returns a stack of at
/// least `n` usable bytes with a guard page below it. On exhaustion it ends
/// the program with a message that names what ran out and how to raise it.
pub fn stackalloc(n: usize) -> Stack {
    let size = round_stack_size(n);
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let idx = match pool.iter().position(|c| c.size == size) {
        Some(i) => i,
        None => {
            pool.push(Class {
                size,
                slot: size + GUARD_SIZE,
                next: 0,
                end: 0,
                arenas: 0,
                free: Vec::new(),
                dirty: Vec::new(),
            });
            pool.len() - 1
        }
    };
    let class = &mut pool[idx];
    if let Some(lo) = class.dirty.pop() {
        return Stack { lo, hi: lo + size };
    }
    if let Some(lo) = class.free.pop() {
        return Stack { lo, hi: lo + size };
    }
    if class.next + class.slot > class.end {
        let (base, len) = new_arena(class.slot, class.arenas);
        class.arenas += 1;
        class.next = base;
        class.end = base + len;
    }
    let start = class.next;
    class.next += class.slot;
    install_guard(start);
    Stack {
        lo: start + GUARD_SIZE,
        hi: start + class.slot,
    }
}

/// stackfree: port of runtime.stackfree (stack.go). Gives `s` back to its
/// class; its pages are released to the OS so that an exited deep recursion
/// does not keep its memory.
///
/// # Safety
/// `s` must come from [`stackalloc`] and nothing may use it any more.
pub unsafe fn stackfree(s: Stack) {
    // SAFETY: the caller guarantees nothing uses the stack; MADV_DONTNEED on
    // an anonymous private mapping only drops its contents. Guard markers
    // survive MADV_DONTNEED, and the range excludes the guard page anyway.
    unsafe { libc::madvise(s.lo as *mut libc::c_void, s.size(), libc::MADV_DONTNEED) };
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    match pool.iter_mut().find(|c| c.size == s.size()) {
        Some(c) => c.free.push(s.lo),
        None => fatal_error("stackfree: stack of unknown size"),
    }
}

/// Gives `s` back without releasing its pages: the next `stackalloc` of
/// its size reuses it warm. sysmon releases such stacks together every
/// 100 ms ([`scavenge`]), and so does this call once a class holds
/// [`DIRTY_MAX`] of them, so that a burst of goroutine exits costs a few
/// coalesced `madvise` calls (and TLB shoot-downs) off its path instead
/// of one per stack on it. Go's equivalent is keeping stacks in its stack
/// pools until the scavenger returns memory in the background.
///
/// # Safety
/// As for [`stackfree`].
pub unsafe fn stackfree_lazy(s: Stack) {
    let full = {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        match pool.iter_mut().find(|c| c.size == s.size()) {
            Some(c) => {
                c.dirty.push(s.lo);
                c.dirty.len() >= DIRTY_MAX
            }
            None => fatal_error("stackfree: stack of unknown size"),
        }
    };
    if full {
        scavenge();
    }
}

/// [`stackfree_lazy`] for several stacks under one hold of the pool's lock,
/// and never releasing pages itself (sysmon's next pass does): for
/// callers that hold the scheduler's lock (an idle P's cached stacks).
///
/// # Safety
/// As for [`stackfree`], for each stack.
pub unsafe fn stackfree_lazy_batch(stacks: impl Iterator<Item = Stack>) {
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    for s in stacks {
        match pool.iter_mut().find(|c| c.size == s.size()) {
            Some(c) => c.dirty.push(s.lo),
            None => fatal_error("stackfree: stack of unknown size"),
        }
    }
}

/// Releases the pages of every dirty stack (see [`stackfree_lazy`]),
/// coalescing stacks that are adjacent in their arena into one `madvise`
/// (the guard pages between them keep their guard: guard markers survive
/// `MADV_DONTNEED`, and a `PROT_NONE` guard has no pages to drop). Returns
/// how many stacks were released. sysmon calls it periodically.
pub fn scavenge() -> usize {
    // Take the dirty lists under the lock; release outside it.
    let mut work: Vec<(usize, usize, Vec<usize>)> = {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        pool.iter_mut()
            .filter(|c| !c.dirty.is_empty())
            .map(|c| (c.size, c.slot, core::mem::take(&mut c.dirty)))
            .collect()
    };
    let mut n = 0;
    for (size, slot, stacks) in work.iter_mut() {
        stacks.sort_unstable();
        let mut i = 0;
        while i < stacks.len() {
            let mut j = i;
            while j + 1 < stacks.len() && stacks[j + 1] == stacks[j] + *slot {
                j += 1;
            }
            let lo = stacks[i];
            let hi = stacks[j] + *size;
            // SAFETY: every stack in [lo, hi) is free (nobody uses it until
            // it is back in the pool); DONTNEED on an anonymous private
            // mapping only drops contents; the guards in between survive.
            unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_DONTNEED) };
            i = j + 1;
        }
        n += stacks.len();
    }
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    for (size, _, stacks) in work {
        if let Some(c) = pool.iter_mut().find(|c| c.size == size) {
            c.free.extend(stacks);
        }
    }
    n
}

/// Number of dirty (committed, free) stacks, for tests.
pub fn dirty_stacks() -> usize {
    let pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    pool.iter().map(|c| c.dirty.len()).sum()
}

/// Reserves the `nth` arena of a class of slots of `slot` bytes and
/// registers it. Arenas double from [`FIRST_ARENA_SLOTS`] slots to
/// [`ARENA_BYTES`], so that a class with few stacks (the g0s', a size that
/// one `spawn_with_stack_size` asked) reserves little, which matters under
/// `ulimit -v`. Tries smaller arenas when the address space is limited.
fn new_arena(slot: usize, nth: u32) -> (usize, usize) {
    // 2^24 doublings are far past ARENA_BYTES for any slot; capping the
    // shift keeps the bits from being shifted out.
    let mut slots = (FIRST_ARENA_SLOTS << nth.min(24))
        .min(ARENA_BYTES / slot)
        .max(MIN_ARENA_SLOTS);
    loop {
        let len = slots * slot;
        // SAFETY: an anonymous private reservation at an address of the
        // kernel's choosing; it aliases nothing.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            let base = p as usize;
            // Not fatal if refused (THP disabled, old kernel): it only
            // keeps huge pages away from stacks.
            // SAFETY: advice on our own fresh reservation.
            unsafe { libc::madvise(base as *mut libc::c_void, len, libc::MADV_NOHUGEPAGE) };
            register_arena(base, len, slot);
            return (base, len);
        }
        let err = std::io::Error::last_os_error();
        if slots > MIN_ARENA_SLOTS {
            slots = (slots / 4).max(MIN_ARENA_SLOTS);
            continue;
        }
        print(&format!(
            "runtime: cannot reserve {len} bytes of address space for goroutine stacks: mmap: {err}\n\
             runtime: the address-space limit (ulimit -v / RLIMIT_AS) or strict overcommit \
             (vm.overcommit_memory=2) refused it; raise the limit, or give goroutines smaller \
             stacks with gort::Builder::stack_size\n"
        ));
        fatal_error("runtime: cannot allocate memory for goroutine stacks");
    }
}

/// The default goroutine stack size for this process, and, when it is
/// smaller than [`DEFAULT_STACK_SIZE`], a note that says why.
///
/// Without a limit on the address space it is [`DEFAULT_STACK_SIZE`]. Under
/// `RLIMIT_AS` (`ulimit -v`), or with strict overcommit
/// (`vm.overcommit_memory=2`, which counts reservations against
/// `CommitLimit` less what is already committed), stacks get at most half
/// of that budget, sized for 4,096 goroutines: the largest power of two
/// not above `budget / 2 / 4096`, at least 64 KiB. With `ulimit -v
/// 2000000` that is 128 KiB.
pub fn default_stack_size() -> (usize, Option<String>) {
    let mut budget = usize::MAX;
    let mut what = "";
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut rl) } == 0
        && rl.rlim_cur != libc::RLIM_INFINITY
    {
        budget = rl.rlim_cur as usize;
        what = "the address-space limit (RLIMIT_AS, `ulimit -v`)";
    }
    let strict =
        std::fs::read_to_string("/proc/sys/vm/overcommit_memory").is_ok_and(|s| s.trim() == "2");
    if strict
        && let Some(limit) = commit_limit()
        && limit < budget
    {
        budget = limit;
        what = "strict overcommit (vm.overcommit_memory=2, CommitLimit)";
    }
    if budget == usize::MAX {
        return (DEFAULT_STACK_SIZE, None);
    }
    let per = budget / 2 / 4096;
    if per >= DEFAULT_STACK_SIZE {
        return (DEFAULT_STACK_SIZE, None);
    }
    let size = if per <= MIN_DEFAULT_STACK_SIZE {
        MIN_DEFAULT_STACK_SIZE
    } else {
        1 << (usize::BITS - 1 - per.leading_zeros())
    };
    let note = format!(
        "gort: {what} is {} MiB, so goroutine stacks are {} KiB instead of {} MiB; \
         raise the limit, or choose a size with gort::Builder::stack_size\n",
        budget >> 20,
        size >> 10,
        DEFAULT_STACK_SIZE >> 20
    );
    (size, Some(note))
}

/// What strict overcommit still allows: `CommitLimit` less
/// `Committed_AS` from `/proc/meminfo`, in bytes.
fn commit_limit() -> Option<usize> {
    let m = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<usize> {
        let line = m.lines().find(|l| l.starts_with(name))?;
        let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib << 10)
    };
    Some(field("CommitLimit:")?.saturating_sub(field("Committed_AS:")?))
}

fn register_arena(base: usize, len: usize, slot: usize) {
    let i = NARENAS.load(Ordering::Relaxed);
    if i == MAX_ARENAS {
        fatal_error("runtime: too many goroutine stack arenas");
    }
    ARENA_BASE[i].store(base, Ordering::Relaxed);
    ARENA_LEN[i].store(len, Ordering::Relaxed);
    ARENA_SLOT[i].store(slot, Ordering::Relaxed);
    // Publishes the three stores above to guard_hit. Only stackalloc (under
    // POOL) writes, so a plain store after the load is race-free.
    NARENAS.store(i + 1, Ordering::Release);
}

/// Makes the page at `start` a guard page.
///
/// `GORT_STACK_GUARD=mprotect` in the environment forces the fallback used
/// on kernels older than 6.13 (for testing it, and its limits, here).
fn install_guard(start: usize) {
    let mut mode = GUARD_MODE.load(Ordering::Relaxed);
    if mode == 0 && std::env::var_os("GORT_STACK_GUARD").is_some_and(|v| v == "mprotect") {
        GUARD_MODE.store(2, Ordering::Relaxed);
        mode = 2;
    }
    if mode != 2 {
        // SAFETY: [start, start+GUARD_SIZE) is an unused page of one of our
        // arenas; installing a guard there cannot affect other memory.
        let r =
            unsafe { libc::madvise(start as *mut libc::c_void, GUARD_SIZE, MADV_GUARD_INSTALL) };
        if r == 0 {
            GUARD_MODE.store(1, Ordering::Relaxed);
            return;
        }
        let err = std::io::Error::last_os_error();
        if mode == 1 || err.raw_os_error() != Some(libc::EINVAL) {
            print(&format!(
                "runtime: madvise(MADV_GUARD_INSTALL) on a goroutine stack failed: {err}\n"
            ));
            fatal_error("runtime: cannot install stack guard page");
        }
        // EINVAL on first use: the kernel predates Linux 6.13.
        GUARD_MODE.store(2, Ordering::Relaxed);
    }
    // SAFETY: as above; PROT_NONE on our own unused page.
    let r = unsafe { libc::mprotect(start as *mut libc::c_void, GUARD_SIZE, libc::PROT_NONE) };
    if r != 0 {
        let err = std::io::Error::last_os_error();
        let max = std::fs::read_to_string("/proc/sys/vm/max_map_count").unwrap_or_default();
        print(&format!(
            "runtime: cannot install a goroutine stack guard page: mprotect: {err}\n\
             runtime: this kernel lacks MADV_GUARD_INSTALL (Linux 6.13+), so every guard page \
             splits a mapping, and the process has reached vm.max_map_count ({}); raise it, e.g. \
             `sysctl -w vm.max_map_count=1048576`\n",
            max.trim()
        ));
        fatal_error("runtime: cannot allocate goroutine stack");
    }
}

/// Bounds of the calling OS thread's stack, for a g0 made by `malg(-1)` that
/// runs on it (port of the bounds half of runtime.mstart0 / `minit` on
/// systems where the OS allocates the thread stack).
pub fn current_thread_stack() -> Stack {
    // SAFETY: pthread_getattr_np fills `attr` for the calling thread; we
    // destroy it afterwards; all pointers are to locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = core::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            fatal_error("runtime: pthread_getattr_np failed on the current thread");
        }
        let mut addr: *mut libc::c_void = core::ptr::null_mut();
        let mut size: libc::size_t = 0;
        libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        // The lowest page of a pthread stack (or the main thread's
        // rlimit-sized region) is the guard or is not yet mapped; leave it.
        Stack {
            lo: addr as usize + GUARD_SIZE,
            hi: addr as usize + size,
        }
    }
}
