//! Stack-overflow detection: the SIGSEGV/SIGBUS half of Go's
//! `sighandler` (signal_unix.go) and `newstack`'s overflow report (stack.go).
//!
//! A goroutine that runs past its stack touches the guard page below
//! `stack.lo`. The handler runs on the thread's alternate signal stack (the
//! faulting stack is unusable), maps the fault address to a stack with the
//! lock-free arena registry, prints Go's report and exits with status 2:
//!
//! ```text
//! runtime: goroutine stack exceeds 8388608-byte limit
//! runtime: sp=0x… stack=[0x…, 0x…]
//! fatal error: stack overflow
//!
//! goroutine 7 [running]:
//! ```
//!
//! Up to that header it is async-signal-safe: no allocation, no locks,
//! only atomics, a const-initialised thread-local read, `write(2)` and
//! `_exit(2)`. The frames that follow come from the hook the scheduler
//! installs ([`set_overflow_traceback`]): it walks the stack with the
//! platform unwinder (lock-free with glibc 2.35+ and libgcc 12+) and hands
//! the addresses to a thread that symbolizes them.
//!
//! Any other fault on a goroutine is reported as Go's `sigpanic` reports
//! it: a fault below address 0x1000 as `panic: runtime error: invalid
//! memory address or nil pointer dereference`, anything else as
//! `unexpected fault address 0x…` / `fatal error: fault`, each followed by
//! Go's `[signal SIGSEGV: segmentation violation code=… addr=… pc=…]` line
//! and the goroutine header, exit 2. (Go's nil-dereference panic can be
//! recovered; gort cannot unwind out of a signal handler, so it ends the
//! program as an unrecovered panic would.) A fault on a scheduler stack
//! (g0) far from its stack pointer is Go's `fatal error: unexpected signal
//! during runtime execution`. Faults on threads that are not gort's, and
//! those near a g0's stack pointer (an overflow of a thread's own stack),
//! go to the handler that was installed before (std's guard-page reporter,
//! or the default action).

use core::cell::Cell;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

use crate::stack::guard_hit;
use crate::throw::write_stderr;
use crate::tls::getg;

static INSTALL: Once = Once::new();
static PREV: OnceLock<[libc::sigaction; 2]> = OnceLock::new();

/// Size of the alternate signal stack gort gives its threads.
const ALTSTACK_SIZE: usize = 64 * 1024;

/// Installs the process-wide SIGSEGV/SIGBUS handler (once).
pub fn install_stack_overflow_handler() {
    INSTALL.call_once(|| {
        let _ = PREV.set(install_handlers([libc::SIGSEGV, libc::SIGBUS], handler));
    });
}

/// The signature of gort's `SA_SIGINFO` signal handlers.
pub type SigHandler = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);

/// Installs `f` for each of `sigs`, on the alternate signal stack, and
/// returns the actions it replaced (for [`chain_to`]).
pub fn install_handlers<const N: usize>(
    sigs: [libc::c_int; N],
    f: SigHandler,
) -> [libc::sigaction; N] {
    // SAFETY: sigaction is plain old data; all-zero is a valid value.
    let mut prev: [libc::sigaction; N] = unsafe { core::mem::zeroed() };
    for (i, sig) in sigs.into_iter().enumerate() {
        // SAFETY: we build a valid sigaction for a handler with the
        // SA_SIGINFO signature and install it; prev receives the old one.
        unsafe {
            let mut sa: libc::sigaction = core::mem::zeroed();
            sa.sa_sigaction = f as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, &mut prev[i]);
        }
    }
    prev
}

struct AltStack(usize);

impl Drop for AltStack {
    fn drop(&mut self) {
        if self.0 == 0 {
            return;
        }
        // SAFETY: disable the alternate stack we installed on this thread
        // before unmapping it; the thread is exiting.
        unsafe {
            let ss = libc::stack_t {
                ss_sp: core::ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: ALTSTACK_SIZE,
            };
            libc::sigaltstack(&ss, core::ptr::null_mut());
            libc::munmap(self.0 as *mut libc::c_void, ALTSTACK_SIZE);
        }
    }
}

thread_local! {
    static ALT: Cell<bool> = const { Cell::new(false) };
    static ALT_OWNED: core::cell::RefCell<AltStack> = const { core::cell::RefCell::new(AltStack(0)) };
}

/// Gives the calling thread an alternate signal stack of
/// [`ALTSTACK_SIZE`] if it has none or a smaller one (part of Go's
/// `minit`/`minitSignalStack`). std gives the threads it creates a stack
/// of a few KiB, enough for its own overflow message; gort's overflow
/// report unwinds the overflowing goroutine's stack from the handler and
/// needs more, so it installs its own (std's is left mapped, and std
/// unmaps it at thread exit as usual).
pub fn minit_signal_stack() {
    if ALT.with(|a| a.replace(true)) {
        return;
    }
    // SAFETY: query the current alternate stack into a local.
    let mut cur: libc::stack_t = unsafe { core::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::sigaltstack(core::ptr::null(), &mut cur) };
    // A stack of our size or more (std's are smaller) is kept; the
    // overflow report unwinds the goroutine's stack on it.
    if cur.ss_flags & libc::SS_DISABLE == 0 && cur.ss_size >= ALTSTACK_SIZE {
        return;
    }
    // SAFETY: a fresh anonymous mapping, used only as this thread's
    // signal stack and unmapped when the thread exits (AltStack::drop).
    unsafe {
        let p = libc::mmap(
            core::ptr::null_mut(),
            ALTSTACK_SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            // A smaller stack (std's) stays; an overflow report's
            // unwind may then run off it, and the process dies by SIGSEGV
            // without the frames.
            return;
        }
        let ss = libc::stack_t {
            ss_sp: p,
            ss_flags: 0,
            ss_size: ALTSTACK_SIZE,
        };
        if libc::sigaltstack(&ss, core::ptr::null_mut()) != 0 {
            libc::munmap(p, ALTSTACK_SIZE);
            return;
        }
        ALT_OWNED.with(|a| a.borrow_mut().0 = p as usize);
    }
}

/// Formats `v` in hex with a `0x` prefix into `buf`; returns the text.
pub fn hex(v: usize, buf: &mut [u8; 20]) -> &[u8] {
    let digits = b"0123456789abcdef";
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = digits[v & 15];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    i -= 1;
    buf[i] = b'x';
    i -= 1;
    buf[i] = b'0';
    &buf[i..]
}

/// Formats `v` in decimal into `buf`; returns the text.
pub fn dec(v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some(s) = guard_hit(addr) {
        report_overflow(s.lo, s.hi, ctx);
    }
    report_fault(sig, info, ctx);
    chain(sig, info, ctx);
}

/// Go's report of a fault that is not a goroutine stack overflow (see the
/// module docs). Returns only for faults it leaves to the previous handler.
fn report_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let gp = getg();
    if gp.is_null() {
        return; // not a gort thread
    }
    // SAFETY: the kernel passes valid siginfo and ucontext to SA_SIGINFO
    // handlers; the registers are plain slots.
    let (code, addr, pc, sp) = unsafe {
        (
            (*info).si_code,
            (*info).si_addr() as usize,
            crate::arch::ctx_pc(ctx),
            crate::arch::ctx_sp(ctx),
        )
    };
    // SAFETY: a non-null g slot points at a live G; goid and stack are
    // plain words written before the G ran.
    let (goid, lo, hi) = unsafe { ((*gp).goid, (*gp).stack.lo, (*gp).stack.hi) };
    let on_goroutine = goid != 0 && lo <= sp && sp < hi;
    if !on_goroutine && addr.abs_diff(sp) < 256 << 10 {
        return; // likely a thread's own stack overflowing: std reports it
    }
    // Another thread already reporting wins; we sleep until it exits.
    crate::throw::start_dying();
    let mut b = [0u8; 20];
    if on_goroutine && addr < 0x1000 {
        write_stderr(b"panic: runtime error: invalid memory address or nil pointer dereference\n");
    } else if on_goroutine {
        write_stderr(b"unexpected fault address ");
        write_stderr(hex(addr, &mut b));
        write_stderr(b"\nfatal error: fault\n");
    } else {
        write_stderr(b"fatal error: unexpected signal during runtime execution\n");
    }
    write_stderr(if sig == libc::SIGBUS {
        b"[signal SIGBUS: bus error code="
    } else {
        b"[signal SIGSEGV: segmentation violation code="
    });
    write_stderr(hex(code as u32 as usize, &mut b));
    write_stderr(b" addr=");
    write_stderr(hex(addr, &mut b));
    write_stderr(b" pc=");
    write_stderr(hex(pc, &mut b));
    write_stderr(b"]\n");
    if crate::throw::no_traceback() && on_goroutine {
        // GOTRACEBACK=none: Go's panic ends here, without a goroutine.
        crate::throw::exit_fatal();
    }
    write_stderr(b"\n");
    if on_goroutine {
        // Go's sigpanic makes this a panic of the goroutine: its frames
        // and `created by` follow the header (the dumper exits; on return
        // they could not be printed).
        running_header(goid);
        // A nil dereference is Go's panic; any other address, its throw
        // (`fatal error: fault`), which lists every goroutine.
        let kind = if addr < 0x1000 {
            Fault::Panic
        } else {
            Fault::Throw(None)
        };
        fault_frames(pc, gp, kind);
        crate::throw::exit_fatal();
    }
    running_header_and_exit(0)
}

/// The end of a report from a signal handler: the faulting goroutine's
/// header and the fatal exit (see [`running_header`]).
fn running_header_and_exit(goid: u64) -> ! {
    running_header(goid);
    crate::throw::exit_fatal()
}

/// The faulting goroutine's header (Go's `goroutine N [running]:`), or
/// `runtime stack:` for a scheduler stack (`goid == 0`).
/// Async-signal-safe.
pub fn running_header(goid: u64) {
    let mut b = [0u8; 20];
    if goid != 0 {
        write_stderr(b"goroutine ");
        write_stderr(dec(goid, &mut b));
        write_stderr(b" [running]:\n");
    } else {
        write_stderr(b"runtime stack:\n");
    }
}

/// Prints the frames of a goroutine whose stack overflowed, from the
/// signal handler that caught it: `hook(pc, gp)` with the faulting PC.
/// It prints Go's `runtime stack:` section, the goroutine's header (see
/// [`running_header`]) and its frames. It returns only if it could not
/// print the frames (the header is out then); otherwise it ends the
/// process itself. The scheduler installs it (the symbolizer lives
/// there); 0 until then.
static OVERFLOW_TRACEBACK: AtomicUsize = AtomicUsize::new(0);

/// The signature of the routine [`set_overflow_traceback`] installs.
pub type OverflowTraceback = fn(pc: usize, gp: *mut crate::G);

/// Installs the routine that prints an overflowing goroutine's frames
/// after the report's first lines (see [`OverflowTraceback`]). It runs in
/// the SIGSEGV handler, on the thread's alternate signal stack, and must be
/// async-signal-safe up to the point where it hands the work to another
/// thread.
pub fn set_overflow_traceback(f: OverflowTraceback) {
    OVERFLOW_TRACEBACK.store(f as usize, Ordering::Release);
}

/// The rest of Go's report of a synchronous signal, after its first lines
/// and the goroutine's header: the goroutine's frames from the faulting
/// `pc`, its `created by`, then for a signal that throws (`Fault::Throw`)
/// the other goroutines and, with `regs`, the interrupted registers (names
/// as the OS's `dumpregs` prints them, values), and for one that panics
/// (`Fault::Panic`: a nil dereference, Go's sigpanic) the other goroutines
/// only under `GOTRACEBACK=all`, as for a panic; then exit 2. Installed by
/// the scheduler ([`set_fault_frames`]); without it, or if the frames
/// cannot be printed, this returns. Async-signal-safe up to the hand-off
/// to the scheduler's dumper thread. An OS layer's note handler calls it
/// (the Plan 9 layer's).
pub fn fault_frames(pc: usize, gp: *mut crate::G, kind: Fault<'_>) {
    let hook = FAULT_FRAMES.load(Ordering::Acquire);
    if hook != 0 {
        // SAFETY: only set_fault_frames stores here, from a FaultFrames.
        let f: FaultFrames = unsafe { core::mem::transmute(hook) };
        f(pc, gp, kind);
    }
}

/// What kind of report [`fault_frames`] completes.
#[derive(Clone, Copy)]
pub enum Fault<'a> {
    /// A signal that throws (SIGILL, SIGTRAP, a Plan 9 trap note), with
    /// the registers when known.
    Throw(Option<SignalRegs<'a>>),
    /// A fault Go turns into a panic (sigpanic).
    Panic,
}

/// The general registers of the context the kernel interrupted, in the
/// order Go's `dumpregs` prints them (amd64: ax, bx, cx, dx, di, si, bp,
/// sp, r8-r15, ip, flags, cs, fs, gs; arm64: r0-r29, lr, sp, pc, fault).
/// Async-signal-safe.
///
/// # Safety
/// `ctx` is the `ucontext_t` the kernel passed to an `SA_SIGINFO` handler.
pub unsafe fn dumpregs_values(ctx: *const libc::c_void) -> [usize; crate::arch::NREGS] {
    // SAFETY: the caller's contract.
    unsafe { crate::arch::dumpregs_values(ctx) }
}

/// Registers for [`fault_frames`]: each name with its padding, and the
/// values in the same order.
pub type SignalRegs<'a> = (
    &'static [&'static str; crate::arch::NREGS],
    &'a [usize; crate::arch::NREGS],
);

/// The signature of the routine [`set_fault_frames`] installs.
pub type FaultFrames = fn(pc: usize, gp: *mut crate::G, kind: Fault<'_>);

/// The routine behind [`fault_frames`]; 0 until the scheduler sets it.
static FAULT_FRAMES: AtomicUsize = AtomicUsize::new(0);

/// Installs the routine behind [`fault_frames`].
pub fn set_fault_frames(f: FaultFrames) {
    FAULT_FRAMES.store(f as usize, Ordering::Release);
}

fn report_overflow(lo: usize, hi: usize, ctx: *mut libc::c_void) -> ! {
    // SAFETY: for SA_SIGINFO handlers ctx points at the interrupted
    // ucontext_t.
    let (sp, pc) = unsafe { (crate::arch::ctx_sp(ctx), crate::arch::ctx_pc(ctx)) };
    report_stack_overflow(lo, hi, sp, pc)
}

/// Go's stack-overflow report (`runtime: goroutine stack exceeds N-byte
/// limit`, `fatal error: stack overflow`, the goroutine header and, once
/// the scheduler installed [`set_overflow_traceback`], its frames and the
/// other goroutines), then exit 2, for a fault at stack pointer `sp` and
/// instruction `pc` in the guard of the stack `[lo, hi)`. Called from a
/// signal handler on the faulting thread: an OS layer's fault handler may
/// call it (the Plan 9 layer does, from its note handler).
pub fn report_stack_overflow(lo: usize, hi: usize, sp: usize, pc: usize) -> ! {
    let hook = OVERFLOW_TRACEBACK.load(Ordering::Acquire);
    // With the hook, the goroutine's header comes after Go's `runtime
    // stack:` section, which the hook prints.
    let gp = overflow_header(lo, hi, sp, hook == 0);
    if !gp.is_null() && hook != 0 {
        // SAFETY: only set_overflow_traceback stores here, from an
        // OverflowTraceback.
        let f: OverflowTraceback = unsafe { core::mem::transmute(hook) };
        f(pc, gp);
    }
    crate::throw::exit_fatal()
}

/// The report's lines up to and, with `header` (or for a stack that is not
/// a goroutine's), including the goroutine's header; returns the
/// goroutine whose stack overflowed (null if the faulting thread's g is
/// not the owner of `[lo, hi)`).
fn overflow_header(lo: usize, hi: usize, sp: usize, header: bool) -> *mut crate::G {
    // Another thread already reporting wins; we sleep until it exits.
    crate::throw::start_dying();
    let mut b = [0u8; 20];
    write_stderr(b"runtime: goroutine stack exceeds ");
    write_stderr(dec((hi - lo) as u64, &mut b));
    write_stderr(b"-byte limit\nruntime: sp=");
    write_stderr(hex(sp, &mut b));
    write_stderr(b" stack=[");
    write_stderr(hex(lo, &mut b));
    write_stderr(b", ");
    write_stderr(hex(hi, &mut b));
    write_stderr(b"]\nfatal error: stack overflow\n\n");
    let gp = getg();
    let goid = if gp.is_null() {
        0
    } else {
        // SAFETY: a non-null g slot points at a live G (Gs are never freed);
        // goid and stack are plain words written before the G ran.
        unsafe { if (*gp).stack.lo == lo { (*gp).goid } else { 0 } }
    };
    if header || goid == 0 {
        running_header(goid);
    }
    if goid == 0 { core::ptr::null_mut() } else { gp }
}

/// Passes a fault that is not ours to the previous handler.
fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let idx = if sig == libc::SIGSEGV { 0 } else { 1 };
    // SAFETY: info and ctx come from the kernel to `handler`.
    unsafe { chain_to(PREV.get().map(|p| &p[idx]), sig, info, ctx) };
}

/// Passes signal `sig`, which is not gort's to handle, to `prev`, the
/// action installed before gort's (`None`: none was recorded). A handler
/// is called as the kernel would call it. With the default action, Go's
/// raisebadsignal: take it, by unblocking the signal and raising it again
/// (a fault would repeat by itself, but a trap or a signal sent by kill
/// would not). An ignored signal sent by another process stays ignored
/// (one the kernel raised for a fault would only repeat: it ends the
/// process). Async-signal-safe.
///
/// # Safety
/// `info` and `ctx` are what the kernel passed to the calling
/// `SA_SIGINFO` handler for `sig`.
pub unsafe fn chain_to(
    prev: Option<&libc::sigaction>,
    sig: libc::c_int,
    info: *mut libc::siginfo_t,
    ctx: *mut libc::c_void,
) {
    if let Some(p) = prev
        && p.sa_sigaction != libc::SIG_DFL
        && p.sa_sigaction != libc::SIG_IGN
    {
        if p.sa_flags & libc::SA_SIGINFO != 0 {
            // SAFETY: the previous handler was installed with the
            // SA_SIGINFO signature; we call it as the kernel would.
            let f: SigHandler = unsafe { core::mem::transmute(p.sa_sigaction) };
            f(sig, info, ctx);
        } else {
            // SAFETY: a plain one-argument handler.
            let f: extern "C" fn(libc::c_int) = unsafe { core::mem::transmute(p.sa_sigaction) };
            f(sig);
        }
        return;
    }
    // SAFETY: per the contract, info is the kernel's valid siginfo.
    let sent = unsafe { (*info).si_code } <= 0;
    if sent && prev.is_some_and(|p| p.sa_sigaction == libc::SIG_IGN) {
        return;
    }
    // SAFETY: installing SIG_DFL for the signal being handled, unblocking
    // it on this thread and raising it: the process ends by it.
    unsafe {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(sig, &sa, core::ptr::null_mut());
        let mut set: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, core::ptr::null_mut());
        libc::raise(sig);
    }
}
