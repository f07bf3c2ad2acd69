//! Port of Go's Plan 9 runtime layer (go1.27 `runtime/os_plan9.go`,
//! `os2_plan9.go`, `sys_plan9_amd64.s`) behind runtime-m's `Os` trait.
//!
//! | Go | here |
//! |---|---|
//! | `mStackIsSystemAllocated()` = true | [`Plan9::m_stack_is_system_allocated`] |
//! | `newosproc`: `rfork(RFPROC\|RFMEM\|RFNOWAIT)`, child → `tstart_plan9(mp)` | [`Plan9::newosproc`], [`tstart_plan9`] |
//! | `semasleep`: `tsemacquire(&m.waitsemacount, max(1, ns/1e6))`, or a `semacquire` loop | [`Plan9::semasleep`] |
//! | `semawakeup`: `semrelease(&m.waitsemacount, 1)` | [`Plan9::semawakeup`] |
//! | `osyield` = `sleep(0)`, `usleep` = `sleep(max(1, µs/1000))` | same |
//! | `nanotime1`: word 3 of `/dev/bintime` | [`Plan9::nanotime`] |
//! | `exit`: `goexitsall` (`go: exit <status>` to every other M), `exits(status)` | [`Plan9::exit`] |
//! | `sighandler` for `go: exit` | [`handle_note`] |
//!
//! Notes from `lock_sema.go` and the runtime mutex from `lock_spinbit.go`
//! run on `semasleep`/`semawakeup` (runtime-m's `SleepKind::Sema`).

use core::sync::atomic::{AtomicU32, Ordering};

use runtime_g::{STACK_GUARD, throw};
use runtime_m::M;
use runtime_m::m::ALLM;
use runtime_m::os::{Os, SleepKind};

use crate::sys;

/// Size of the g0 stack `tstart_plan9` carves below its stack pointer
/// (Go's 64 KiB). The personality's stack segment ([`sys::CHILD_STACK_SIZE`])
/// is larger; `tstart_plan9` checks that the 64 KiB are really there.
pub const G0_STACK: usize = 64 * 1024;

/// The Plan 9 OS layer.
pub struct Plan9;

/// The one instance to install.
pub static PLAN9: Plan9 = Plan9;

/// Installs the Plan 9 layer as the process's OS layer.
pub fn install() -> Result<(), String> {
    runtime_m::os::install(&PLAN9)
}

/// tstart_plan9: port of runtime·tstart_plan9 (sys_plan9_amd64.s), the
/// child's side of `newosproc`. The M pointer arrives by value (the 9f012e1
/// invariant: the child never reads the parent's stack); g0's stack is the
/// top 64 KiB below the child's own stack pointer; `procid` comes from
/// `_tos`; then `mstart`. When the M exits, `mstart` returns here and the
/// process ends (`exits(nil)`, by returning to the personality).
pub fn tstart_plan9(arg: usize) {
    let mp = arg as *mut M;
    let sp = runtime_g::arch::current_sp();
    // SAFETY: mp is the fresh M newosproc handed to this process alone; its
    // g0 has no stack yet (malg(-1)) and nobody else touches it.
    unsafe {
        // This process names itself in the M before it runs it: the M may
        // be given back for reuse (m::mfree) before the parent's rfork
        // returns, and whoever reuses it reaps this process first.
        (*mp).thread = sys::tos_pid() as usize;
        let g0 = (*mp).g0;
        let hi = sp;
        let lo = hi - G0_STACK;
        // Is the carved stack really inside this process's stack segment?
        let (seg_lo, seg_len) = sys::up().stack;
        if seg_len != 0 && (lo < seg_lo + 4096 || hi > seg_lo + seg_len) {
            runtime_g::throw::print(&format!(
                "runtime: tstart_plan9: g0 stack [{lo:#x}, {hi:#x}) is not inside the process's stack segment [{:#x}, {:#x})\n",
                seg_lo + 4096,
                seg_lo + seg_len
            ));
            throw("tstart_plan9: stack segment too small");
        }
        (*g0).stack = runtime_g::Stack { lo, hi };
        // Go sets both guards to lo, and mstart0 then moves them to
        // lo + stackGuard since the bounds are known.
        (*g0).stackguard0 = lo + STACK_GUARD;
        (*g0).stackguard1 = (*g0).stackguard0;
        (*mp).procid = sys::tos_pid() as u64;
        // Go installs g0 in TLS here, then stackcheck: SP must lie inside
        // the stack of the g the TLS slot now names, read back through the
        // slot, not from our locals. runtime-m's mstart installs g0 itself
        // and refuses a thread whose slot is already set, so the slot is
        // emptied again after the check.
        runtime_g::tls::setg(g0);
        let ok = runtime_g::tls::stackcheck();
        runtime_g::tls::setg(core::ptr::null_mut());
        if !ok {
            throw("tstart_plan9: stackcheck: SP is not on the new M's g0 stack");
        }
        runtime_m::proc::mstart_on_new_thread(mp);
    }
    // M exit: the process ends (the personality treats the return as
    // exits(nil)).
}

/// Flags of Go's Plan 9 `sigtable` entries (sigtab_plan9.go).
const SIG_NOTIFY: u8 = 1;
const SIG_KILL: u8 = 2;
const SIG_THROW: u8 = 4;
const SIG_PANIC: u8 = 8;
const SIG_GOEXIT: u8 = 16;

/// Go's `sigtable` for Plan 9: the first prefix that matches wins.
const SIGTABLE: [(&[u8], u8); 15] = [
    (b"sys: trap: debug exception", SIG_THROW),
    (b"sys: trap: invalid opcode", SIG_THROW),
    (b"sys: trap: fault read", SIG_PANIC),
    (b"sys: trap: fault write", SIG_PANIC),
    (b"sys: trap: divide error", SIG_PANIC),
    (b"sys: fp:", SIG_PANIC),
    (b"sys: trap:", SIG_PANIC),
    (b"sys: write on closed pipe", SIG_NOTIFY),
    (b"sys:", SIG_THROW),
    (b"go: exit ", SIG_GOEXIT),
    (b"kill", SIG_KILL),
    (b"interrupt", SIG_NOTIFY | SIG_KILL),
    (b"hangup", SIG_NOTIFY | SIG_KILL),
    (b"alarm", SIG_NOTIFY),
    (b"abort", SIG_NOTIFY | SIG_THROW),
];

fn write_err(b: &[u8]) {
    runtime_g::throw::write_stderr(b);
}

/// The address in a fault note (`addr=0x…`), as Go's `sigpanic` parses it.
fn note_addr(note: &[u8]) -> Option<u64> {
    let i = note.windows(5).position(|w| w == b"addr=")? + 5;
    let rest = note[i..].strip_prefix(b"0x").unwrap_or(&note[i..]);
    let mut v: u64 = 0;
    let mut any = false;
    for &c in rest {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => break,
        };
        v = v.wrapping_mul(16) | d as u64;
        any = true;
    }
    any.then_some(v)
}

/// sigtramp + sighandler: port of Go's Plan 9 note handling
/// (sys_plan9_amd64.s `sigtramp`, os3_plan9.go `sighandler`), registered
/// with `notify` by [`Plan9::initsig`]. Runs on the thread's signal stack
/// (Go's `m.gsignal`); async-signal-safe.
///
/// - A fault in a goroutine stack's guard page is the stack overflow Go
///   reports (`fatal error: stack overflow`).
/// - Other faults are Go's `sigpanic`: `panic: runtime error: invalid
///   memory address or nil pointer dereference` below 0x1000,
///   `unexpected fault address` and `fatal error: fault` above, then Go's
///   `[signal <sigtable name> code=0x0 addr=… pc=…]` line. gort cannot turn a fault into a Rust panic, so the program ends
///   with status 2, as an unrecovered Go panic does.
/// - `go: exit <status>` ends the process with that status; `kill`,
///   `interrupt` and `hangup` (nobody asks for notes: gort has no
///   `os/signal`) print the note and end the program with it; `alarm` and
///   closed-pipe notes are ignored (NCONT); other `sys:` notes throw.
fn sigtramp(ureg: &mut sys::Ureg, note: &[u8]) -> i32 {
    let entry = SIGTABLE.iter().find(|(p, _)| note.starts_with(p));
    let flags = entry.map_or(SIG_NOTIFY, |&(_, f)| f);
    let gp = runtime_g::getg();
    if gp.is_null() && flags & SIG_GOEXIT == 0 {
        write_err(b"runtime: signal received on thread not created by Go.\n");
        sys::exits_program("1");
    }
    if flags & SIG_GOEXIT != 0 {
        let status = &note[9..];
        sys::exits(core::str::from_utf8(status).unwrap_or("1"));
    }
    if flags & SIG_PANIC != 0 {
        let addr = note_addr(note).unwrap_or(0) as usize;
        if let Some(st) = runtime_g::stack::guard_hit(addr) {
            runtime_g::signal::report_stack_overflow(
                st.lo,
                st.hi,
                ureg.sp as usize,
                ureg.ip as usize,
            );
        }
        runtime_g::throw::start_dying();
        let mut t = [0u8; 20];
        if note.starts_with(b"sys: trap: fault") && addr < 0x1000 {
            write_err(b"panic: runtime error: invalid memory address or nil pointer dereference\n");
        } else if note.starts_with(b"sys: trap: fault") {
            write_err(b"unexpected fault address ");
            write_err(runtime_g::signal::hex(addr, &mut t));
            write_err(b"\nfatal error: fault\n");
        } else {
            write_err(b"panic: runtime error: integer divide by zero\n");
        }
        // Go's dopanic_m: `[signal <sigtable name> code=<sigcode0>
        // addr=<sigcode1> pc=<sigpc>]`; on Plan 9 sigcode0 is never set and
        // sigcode1 is the address parsed from the note (0 if none).
        write_err(b"[signal ");
        write_err(entry.map_or(note, |e| e.0));
        write_err(b" code=0x0 addr=");
        write_err(runtime_g::signal::hex(addr, &mut t));
        write_err(b" pc=");
        write_err(runtime_g::signal::hex(ureg.ip as usize, &mut t));
        write_err(b"]\n");
        if runtime_g::throw::no_traceback() {
            // GOTRACEBACK=none: the panic ends here, without a goroutine.
            sys::exits_program("2");
        }
        write_err(b"\n");
        // SAFETY: gp is this thread's running G (or g0); goid is a plain
        // word fixed while it lives.
        let goid = unsafe { if gp.is_null() { 0 } else { (*gp).goid } };
        if goid != 0 {
            write_err(b"goroutine ");
            write_err(runtime_g::signal::dec(goid, &mut t));
            write_err(b" [running]:\n");
            // Go's sigpanic: the goroutine's frames and `created by`; for a
            // fault at another address than nil, Go's throw, which lists
            // every goroutine.
            let far = note.starts_with(b"sys: trap: fault") && addr >= 0x1000;
            let kind = if far {
                runtime_g::signal::Fault::Throw(None)
            } else {
                runtime_g::signal::Fault::Panic
            };
            runtime_g::signal::fault_frames(ureg.ip as usize, gp, kind);
        }
        // Go's exit(2): goexitsall is skipped here because it allocates and
        // this is a signal handler; ending the host process ends every
        // other process too.
        sys::exits_program("2");
    }
    if flags & SIG_THROW != 0 {
        runtime_g::throw::start_dying();
        let mut t = [0u8; 20];
        write_err(note);
        write_err(b"\nPC=");
        write_err(runtime_g::signal::hex(ureg.ip as usize, &mut t));
        write_err(b"\n\n");
        // Go's sighandler Throw path: at GOTRACEBACK above none, the
        // goroutine's header and frames, the others, a blank line and the
        // registers (dumpregs).
        // SAFETY: gp is this thread's G (null-checked above); goid is a
        // plain word fixed while it lives.
        let goid = unsafe { (*gp).goid };
        if !runtime_g::throw::no_traceback() && goid != 0 {
            runtime_g::signal::running_header(goid);
            runtime_g::signal::fault_frames(
                ureg.ip as usize,
                gp,
                runtime_g::signal::Fault::Throw(Some((&sys::UREG_NAMES, &ureg.regs))),
            );
        }
        sys::exits_program("2");
    }
    if flags & SIG_KILL != 0 {
        // Go's Exit path: print the note, tell the other processes, and end
        // with the note as the status.
        write_err(note);
        write_err(b"\n");
        // (goexitsall is skipped as above: the host process ends.)
        sys::exits_program(core::str::from_utf8(note).unwrap_or("kill"));
    }
    sys::NCONT
}

/// What Go's `sighandler` does with a note the runtime receives while
/// blocked: `go: exit <status>` ends the process with that status (Go's
/// `_SigGoExit`); other notes are ignored here (Go would deliver them to
/// `os/signal`, which gort does not have).
pub fn handle_note() {
    while let Some(n) = sys::take_note() {
        if let Some(status) = n.strip_prefix("go: exit ") {
            sys::exits(status);
        }
    }
}

/// goexitsall: port (os_plan9.go): posts `go: exit <status>` to every M's
/// process but the caller's.
fn goexitsall(status: &str) {
    let me = sys::tos_pid();
    let note = format!("go: exit {status}");
    let mut mp = ALLM.load(Ordering::Acquire);
    while !mp.is_null() {
        // SAFETY: Ms are never freed; procid is written once at start.
        let (pid, next) = unsafe { ((*mp).procid as i32, (*mp).alllink) };
        if pid != 0 && pid as u32 != me {
            let _ = sys::postnote(pid, &note);
        }
        mp = next;
    }
}

fn waitsem(mp: *mut M) -> *const i32 {
    // SAFETY: Ms are never freed; `waitsema` is Plan 9's waitsemacount, a
    // 32-bit word used only as this M's semaphore.
    unsafe {
        (&raw const (*mp).waitsema)
            .cast::<AtomicU32>()
            .cast::<i32>()
    }
}

// SAFETY: newosproc starts a process that runs tstart_plan9(mp) →
// mstart_on_new_thread(mp) on the personality's stack; semasleep and
// semawakeup are Plan 9's counting semaphore on m.waitsema, with the
// semantics lock_sema.go needs (a release before the sleep is remembered).
unsafe impl Os for Plan9 {
    fn name(&self) -> &'static str {
        "plan9"
    }

    fn m_stack_is_system_allocated(&self) -> bool {
        true
    }

    fn initsig(&self) {
        // Go's initsig on Plan 9: notify(sigtramp). The runtime's own
        // overflow handler gives way to note delivery.
        sys::notify(Some(sigtramp));
    }

    fn locked_exit_kills_thread(&self) -> bool {
        // Go's gdestroy keeps the thread on Plan 9 (golang.org/issue/22227).
        false
    }

    unsafe fn newosproc(&self, mp: *mut M) -> Result<(), String> {
        // 9f012e1's first half: rfork runs on the scheduler's stack (g0),
        // or on a thread that runs no goroutine (the template thread), so
        // that a child's copy of the parent's stack holds no goroutine's
        // frames. Checked, as a goroutine's stack here would be a bug.
        let g = runtime_g::getg();
        // SAFETY: a non-null g slot points at a live G; goid is 0 on g0s.
        if !g.is_null() && unsafe { (*g).goid } != 0 {
            throw("newosproc: not on g0 (rfork must run on the scheduler's stack)");
        }
        let pid = sys::rfork(
            sys::RFPROC | sys::RFMEM | sys::RFNOWAIT,
            Some((tstart_plan9, mp as usize)),
        );
        if pid < 0 {
            runtime_g::throw::print(&format!("runtime: rfork: {}\n", sys::errstr_string()));
            throw("newosproc: rfork failed");
        }
        // The child names itself in the M (tstart_plan9).
        let _ = pid;
        Ok(())
    }

    unsafe fn join_thread(&self, thread: usize) {
        // The process has left the runtime for good: wait for its end and
        // free its block and stack segment, as the kernel would.
        sys::reap(thread as i32);
    }

    fn osyield(&self) {
        sys::sleep(0);
    }

    fn process_barrier_init(&self) -> bool {
        sys::membarrier_init()
    }

    fn process_barrier(&self) {
        sys::membarrier();
    }

    fn usleep(&self, usec: u32) {
        sys::sleep((usec / 1000).max(1) as i32);
    }

    fn nanotime(&self) -> i64 {
        sys::bintime()[3] as i64
    }

    fn exit(&self, code: i32) -> ! {
        let status = if code == 0 {
            String::new()
        } else {
            code.to_string()
        };
        goexitsall(&status);
        sys::exits_program(&status)
    }

    fn gettid(&self) -> u64 {
        sys::tos_pid() as u64
    }

    fn sleep_kind(&self) -> SleepKind {
        SleepKind::Sema
    }

    unsafe fn semasleep(&self, mp: *mut M, ns: i64) -> i32 {
        let addr = waitsem(mp);
        if ns >= 0 {
            let ms = (ns / 1_000_000).clamp(1, u32::MAX as i64) as u32;
            // SAFETY: addr is mp's semaphore word.
            let r = unsafe { sys::tsemacquire(addr, ms) };
            if r == 1 {
                return 0; // success
            }
            if r < 0 {
                handle_note();
            }
            return -1; // timeout or interrupted
        }
        // SAFETY: as above.
        while unsafe { sys::semacquire(addr, true) } < 0 {
            // Interrupted by a note: act on it, then wait again.
            handle_note();
        }
        0
    }

    unsafe fn semawakeup(&self, mp: *mut M) {
        // SAFETY: mp's semaphore word.
        unsafe { sys::semrelease(waitsem(mp), 1) };
    }
}
