//! `gobuf` and the x86_64 context switch: a port, in spirit, of `gogo`,
//! `mcall`, `systemstack` and `goexit` from `runtime/asm_amd64.s`. The
//! aarch64 twin is in `gobuf_arm64.rs` (asm_arm64.s).
//!
//! Go's ABI has no callee-saved registers, so Go's `gogo` restores only SP,
//! BP, the closure context and PC. Rust code follows the SysV ABI, in which a
//! callee must preserve RBX, RBP, R12–R15, the MXCSR control bits and the x87
//! control word. gort therefore saves exactly those on the goroutine's own
//! stack when it leaves it, and records in the `Gobuf` the stack pointer of
//! that save area together with the resume PC and BP (for tracebacks):
//!
//! ```text
//!  gobuf.sp ─▶ +0   MXCSR (4 bytes) | x87 CW (2 bytes) | pad
//!              +8   R15
//!              +16  R14
//!              +24  R13
//!              +32  R12
//!              +40  RBX
//!              +48  RBP       ◀─ gobuf.bp points here (a frame record)
//!              +56  return PC ◀─ gobuf.pc is a copy of this
//! ```
//!
//! `gogo` pops that area and returns into the saved PC. A new goroutine gets
//! a hand-built area whose return PC is [`goexit`], the frame at the base of
//! every goroutine stack: it calls the scheduler's entry function and marks
//! the end of the stack for unwinders (`.cfi_undefined rip`, RBP = 0), so gdb,
//! `perf` and backtraces stop cleanly there.
//!
//! Nothing here touches thread-local storage: the callers in runtime-m set
//! the TLS `g` with [`crate::setg`] before switching.

#[cfg(target_arch = "x86_64")]
use core::arch::naked_asm;

#[cfg(target_arch = "x86_64")]
use crate::G;

/// Saved execution context of a goroutine: port of `gobuf` (runtime2.go).
///
/// Invariant: while the owning G is not running, `sp` points at a save area
/// laid out as in the module docs, inside `[g.stack.lo, g.stack.hi)`; while it
/// runs, the fields are stale.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct Gobuf {
    /// Stack pointer of the save area (see module docs).
    pub sp: usize,
    /// Where execution resumes (copy of the saved return PC).
    pub pc: usize,
    /// The G this buffer belongs to (`*mut G`).
    pub g: usize,
    /// Go's closure-context register. gort boxes closures in the G instead,
    /// so this is always 0; kept for layout parity.
    pub ctxt: usize,
    /// Saved frame pointer of the switch frame, for tracebacks.
    pub bp: usize,
}

/// Default MXCSR (all exceptions masked, round to nearest) and x87 control
/// word (64-bit precision, all exceptions masked), as a new thread has them.
#[cfg(target_arch = "x86_64")]
const INITIAL_FPCTL: u64 = 0x1F80 | (0x037F << 32);

/// Size of the hand-built save area of a new goroutine (see module docs).
#[cfg(target_arch = "x86_64")]
const START_FRAME: usize = 64;

/// gostartcall: port of runtime.gostartcall (sys_x86.go). Prepares `buf`, on
/// a fresh stack ending at `hi`, so that [`gogo`] starts `entry(gp)` on it
/// with [`goexit`] as the outermost frame.
///
/// # Safety
/// `[hi - 128, hi)` must be writable memory owned by `gp` and not in use.
#[cfg(target_arch = "x86_64")]
pub unsafe fn gostartcall(
    buf: &mut Gobuf,
    hi: usize,
    entry: unsafe extern "C" fn(*mut G) -> !,
    gp: *mut G,
) {
    // 16-byte aligned, with a little room above for debuggers that peek past
    // the outermost frame (Go reserves a few words for the same reason).
    let top = (hi - 32) & !15;
    let sp = top - START_FRAME;
    let words: [u64; 8] = [
        INITIAL_FPCTL,
        0,                                   // R15
        0,                                   // R14
        entry as usize as u64,               // R13: the entry function goexit calls
        gp as usize as u64,                  // R12: its argument
        0,                                   // RBX
        0,                                   // RBP: end of the frame-pointer chain
        goexit as *const () as usize as u64, // return PC
    ];
    // SAFETY: the caller guarantees [hi-128, hi) is writable and unused;
    // sp..sp+64 lies inside it and is 8-byte aligned.
    unsafe { core::ptr::copy_nonoverlapping(words.as_ptr(), sp as *mut u64, words.len()) };
    *buf = Gobuf {
        sp,
        pc: goexit as *const () as usize,
        g: gp as usize,
        ctxt: 0,
        bp: 0,
    };
}

/// goexit: port of runtime.goexit (asm_amd64.s): the outermost frame of
/// every goroutine. It calls the entry function left in R13 with the G left
/// in R12 (see [`gostartcall`]); the entry never returns.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub extern "C" fn goexit() -> ! {
    naked_asm!(
        ".cfi_startproc",
        ".cfi_undefined rip",
        "xor ebp, ebp",
        "mov rdi, r12",
        "call r13",
        "ud2",
        ".cfi_endproc",
    )
}

/// gogo: port of runtime.gogo (asm_amd64.s). Resumes the context saved in
/// `buf` and never returns to the caller; the caller's stack is abandoned.
///
/// # Safety
/// `buf` must hold a context saved by [`mcall_switch`] or built by
/// [`gostartcall`] that has not been resumed since, and the caller's frames
/// must own nothing that needs dropping (they are abandoned).
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub unsafe extern "C" fn gogo(buf: *const Gobuf) -> ! {
    naked_asm!(
        ".cfi_startproc",
        "mov rsp, [rdi]",
        "ldmxcsr [rsp]",
        "fldcw [rsp + 4]",
        "add rsp, 8",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
        ".cfi_endproc",
    )
}

/// The switch half of runtime.mcall (asm_amd64.s): saves the caller's
/// context into `save`, moves to stack `newsp` (or stays on the current stack
/// when `newsp` is 0) and calls `f(arg)` there. `f` must not return; the
/// caller resumes only when something calls [`gogo`] on `save`, and then this
/// function returns to it normally.
///
/// # Safety
/// `save` must be valid for writes; `newsp`, if non-zero, must be the top of
/// a stack that nothing else uses; `f` must never return.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub unsafe extern "C" fn mcall_switch(
    save: *mut Gobuf,
    newsp: usize,
    f: unsafe extern "C" fn(*mut u8),
    arg: *mut u8,
) {
    naked_asm!(
        ".cfi_startproc",
        "push rbp",
        ".cfi_adjust_cfa_offset 8",
        ".cfi_rel_offset rbp, 0",
        "mov rbp, rsp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "sub rsp, 8",
        "stmxcsr [rsp]",
        "fnstcw [rsp + 4]",
        "mov [rdi], rsp", // gobuf.sp
        "mov rax, [rsp + 56]",
        "mov [rdi + 8], rax",  // gobuf.pc
        "mov [rdi + 32], rbp", // gobuf.bp
        "test rsi, rsi",
        "jz 2f",
        "mov rsp, rsi",
        "xor ebp, ebp", // a fresh chain on the new stack
        "2:",
        "and rsp, -16",
        "mov rdi, rcx",
        "call rdx",
        "ud2",
        ".cfi_endproc",
    )
}

/// The switch half of runtime.systemstack (asm_amd64.s): runs `f(arg)` on
/// the stack whose top is `sp` and returns on the original stack. The frame
/// record and CFI chain the two stacks so that unwinders and gdb can walk
/// from the system stack back into the goroutine's.
///
/// # Safety
/// `sp` must be the top of a stack nothing else uses while `f` runs; `f` must
/// not unwind (it is `extern "C"`, so a panic aborts).
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub unsafe extern "C" fn systemstack_switch(
    sp: usize,
    f: unsafe extern "C" fn(*mut u8),
    arg: *mut u8,
) {
    naked_asm!(
        ".cfi_startproc",
        "push rbp",
        ".cfi_adjust_cfa_offset 8",
        ".cfi_rel_offset rbp, 0",
        "mov rbp, rsp",
        "push rbx",
        ".cfi_adjust_cfa_offset 8",
        ".cfi_rel_offset rbx, 0",
        "mov rbx, rsp",
        ".cfi_def_cfa_register rbx",
        "mov rsp, rdi",
        "and rsp, -16",
        "mov rdi, rdx",
        "call rsi",
        "mov rsp, rbx",
        ".cfi_def_cfa_register rsp",
        "pop rbx",
        ".cfi_adjust_cfa_offset -8",
        ".cfi_restore rbx",
        "pop rbp",
        ".cfi_adjust_cfa_offset -8",
        ".cfi_restore rbp",
        "ret",
        ".cfi_endproc",
    )
}

/// getcallersp: port of runtime.getcallersp (stubs.go): the stack pointer of
/// the caller at the point of the call.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub extern "C" fn getcallersp() -> usize {
    naked_asm!(
        ".cfi_startproc",
        "lea rax, [rsp + 8]",
        "ret",
        ".cfi_endproc"
    )
}

/// Runs `f(arg)` on the stack of a goroutine that is not running, below the
/// save area at `save_sp` (its `gobuf.sp`), and returns. Between the call
/// and its return, the CFI of this frame names the goroutine's saved context
/// as its caller — CFA `save_sp + 64`, the return PC at CFA−8 and the
/// callee-saved registers in their save slots (see the module docs) — so an
/// unwinder started inside `f` walks on into the goroutine's own frames, down
/// to [`goexit`]. This is how gort reads a parked goroutine's stack for
/// `runtime.Stack(all)` and the dumps of fatal errors, without a
/// hand-written unwinder: the platform's unwinder does the walking.
///
/// # Safety
/// The goroutine must stay off the CPU until this returns (its status is
/// held with the scan bit), `save_sp` must be its current `gobuf.sp`, and
/// its stack must have room below `save_sp` for `f` (256 bytes are skipped
/// first); `f` must not unwind.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub unsafe extern "C" fn call_on_parked_stack(
    save_sp: usize,
    f: unsafe extern "C" fn(*mut u8),
    arg: *mut u8,
) {
    naked_asm!(
        ".cfi_startproc",
        "push rbp",
        ".cfi_adjust_cfa_offset 8",
        ".cfi_rel_offset rbp, 0",
        "push rbx",
        ".cfi_adjust_cfa_offset 8",
        ".cfi_rel_offset rbx, 0",
        "push r12",
        ".cfi_adjust_cfa_offset 8",
        ".cfi_rel_offset r12, 0",
        "mov rbx, rsp", // our own frame, callee-saved across f
        "mov r12, rdi", // the save area, callee-saved across f
        // For unwinders, the caller is now the parked goroutine.
        ".cfi_remember_state",
        ".cfi_def_cfa r12, 64",
        ".cfi_offset rip, -8",
        ".cfi_offset rbp, -16",
        ".cfi_offset rbx, -24",
        ".cfi_offset r12, -32",
        ".cfi_offset r13, -40",
        ".cfi_offset r14, -48",
        ".cfi_offset r15, -56",
        "lea rsp, [rdi - 256]",
        "and rsp, -16",
        "mov rax, rsi",
        "mov rdi, rdx",
        "call rax",
        "mov rsp, rbx",
        ".cfi_restore_state",
        "pop r12",
        ".cfi_adjust_cfa_offset -8",
        "pop rbx",
        ".cfi_adjust_cfa_offset -8",
        "pop rbp",
        ".cfi_adjust_cfa_offset -8",
        "ret",
        ".cfi_endproc",
    )
}

#[cfg(target_arch = "aarch64")]
#[path = "gobuf_arm64.rs"]
mod arm64;
#[cfg(target_arch = "aarch64")]
pub use arm64::{
    call_on_parked_stack, getcallersp, goexit, gogo, gostartcall, mcall_switch, systemstack_switch,
};
