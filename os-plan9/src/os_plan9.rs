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

/// The stack pointer of the caller.
#[inline(always)]
fn current_sp() -> usize {
    let sp: usize;
    // SAFETY: reads RSP; no memory access, no flags changed.
    unsafe {
        core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    sp
}

/// tstart_plan9: port of runtime·tstart_plan9 (sys_plan9_amd64.s), the
/// child's side of `newosproc`. The M pointer arrives by value (the 9f012e1
/// invariant: the child never reads the parent's stack); g0's stack is the
/// top 64 KiB below the child's own stack pointer; `procid` comes from
/// `_tos`; then `mstart`. When the M exits, `mstart` returns here and the
/// process ends (`exits(nil)`, by returning to the personality).
pub fn tstart_plan9(arg: usize) {
    let mp = arg as *mut M;
    let sp = current_sp();
    // SAFETY: mp is the fresh M newosproc handed to this process alone; its
    // g0 has no stack yet (malg(-1)) and nobody else touches it.
    unsafe {
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
        (*mp).procid = sys::tos().pid as u64;
        // stackcheck: SP must lie inside the bounds just set.
        let now = current_sp();
        if !(lo < now && now < hi + 1) {
            throw("tstart_plan9: stackcheck failed");
        }
        // Go installs g0 in TLS here; runtime-m's mstart does it (setg) as
        // its first step on this thread.
        runtime_m::proc::mstart_on_new_thread(mp);
    }
    // M exit: the process ends (the personality treats the return as
    // exits(nil)).
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
    let me = sys::tos().pid;
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

    fn locked_exit_kills_thread(&self) -> bool {
        // Go's gdestroy keeps the thread on Plan 9 (golang.org/issue/22227).
        false
    }

    unsafe fn newosproc(&self, mp: *mut M) -> Result<(), String> {
        let pid = sys::rfork(
            sys::RFPROC | sys::RFMEM | sys::RFNOWAIT,
            Some((tstart_plan9, mp as usize)),
        );
        if pid < 0 {
            runtime_g::throw::print(&format!("runtime: rfork: {}\n", sys::errstr_string()));
            throw("newosproc: rfork failed");
        }
        Ok(())
    }

    fn osyield(&self) {
        sys::sleep(0);
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
        sys::tos().pid as u64
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
