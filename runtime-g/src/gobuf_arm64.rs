//! The aarch64 context switch: a port, in spirit, of `gogo`, `mcall`,
//! `systemstack` and `goexit` from `runtime/asm_arm64.s`.
//!
//! As on x86_64 (`gobuf.rs`), Go saves almost nothing at a switch (its ABI
//! has no callee-saved registers), while Rust follows AAPCS64, under which
//! a callee must preserve x19-x28, the frame pointer x29, the link register
//! x30, the low halves d8-d15 of v8-v15, and FPCR. gort saves exactly those
//! on the goroutine's own stack when it leaves it; `Gobuf.sp` points at the
//! save area, which keeps SP 16-byte aligned:
//!
//! ```text
//!  gobuf.sp ─▶ +0    FPCR | pad
//!              +16   d8  d9
//!              +32   d10 d11
//!              +48   d12 d13
//!              +64   d14 d15
//!              +80   x19 x20
//!              +96   x21 x22
//!              +112  x23 x24
//!              +128  x25 x26
//!              +144  x27 x28
//!              +160  x29 x30   ◀─ gobuf.bp (a frame record); gobuf.pc = x30
//!              +176  the goroutine's SP before the switch (the CFA)
//! ```
//!
//! `gogo` loads that area and returns to the saved x30. A new goroutine
//! gets a hand-built area whose x30 is [`goexit`], with the entry function
//! in x20 and its argument in x19.

use core::arch::naked_asm;

use crate::G;
use crate::gobuf::Gobuf;

/// Size of the save area (see the module docs).
const FRAME: usize = 176;

/// gostartcall: port of runtime.gostartcall (sys_arm64.go). Prepares
/// `buf`, on a fresh stack ending at `hi`, so that [`gogo`] starts
/// `entry(gp)` on it with [`goexit`] as the outermost frame.
///
/// # Safety
/// `[hi - 256, hi)` must be writable memory owned by `gp` and not in use.
pub unsafe fn gostartcall(
    buf: &mut Gobuf,
    hi: usize,
    entry: unsafe extern "C" fn(*mut G) -> !,
    gp: *mut G,
) {
    let top = (hi - 32) & !15;
    let sp = top - FRAME;
    let mut words = [0u64; FRAME / 8];
    // FPCR 0: round to nearest, no traps, as a new thread has it.
    words[80 / 8] = gp as usize as u64; // x19: goexit's argument
    words[88 / 8] = entry as usize as u64; // x20: the entry goexit calls
    words[160 / 8] = 0; // x29: end of the frame-pointer chain
    words[168 / 8] = goexit as *const () as usize as u64; // x30
    // SAFETY: the caller guarantees [hi-256, hi) is writable and unused;
    // sp..sp+176 lies inside it and is 16-byte aligned.
    unsafe { core::ptr::copy_nonoverlapping(words.as_ptr(), sp as *mut u64, words.len()) };
    *buf = Gobuf {
        sp,
        pc: goexit as *const () as usize,
        g: gp as usize,
        ctxt: 0,
        bp: 0,
    };
}

/// goexit: port of runtime.goexit (asm_arm64.s): the outermost frame of
/// every goroutine. It calls the entry function left in x20 with the G
/// left in x19 (see [`gostartcall`]); the entry never returns.
#[unsafe(naked)]
pub extern "C" fn goexit() -> ! {
    naked_asm!(
        ".cfi_startproc",
        ".cfi_undefined x30",
        "mov x29, #0",
        "mov x0, x19",
        "blr x20",
        "brk #0",
        ".cfi_endproc",
    )
}

/// gogo: port of runtime.gogo (asm_arm64.s). Resumes the context saved in
/// `buf` and never returns to the caller; the caller's stack is abandoned.
///
/// # Safety
/// As for the x86_64 `gogo`: `buf` holds an unresumed context saved by
/// [`mcall_switch`] or built by [`gostartcall`], and the caller's frames
/// own nothing that needs dropping.
#[unsafe(naked)]
pub unsafe extern "C" fn gogo(buf: *const Gobuf) -> ! {
    naked_asm!(
        ".cfi_startproc",
        "ldr x9, [x0]",
        "mov sp, x9",
        "ldr x9, [sp]",
        "msr fpcr, x9",
        "ldp d8, d9, [sp, #16]",
        "ldp d10, d11, [sp, #32]",
        "ldp d12, d13, [sp, #48]",
        "ldp d14, d15, [sp, #64]",
        "ldp x19, x20, [sp, #80]",
        "ldp x21, x22, [sp, #96]",
        "ldp x23, x24, [sp, #112]",
        "ldp x25, x26, [sp, #128]",
        "ldp x27, x28, [sp, #144]",
        "ldp x29, x30, [sp, #160]",
        "add sp, sp, #176",
        "ret",
        ".cfi_endproc",
    )
}

/// The switch half of runtime.mcall (asm_arm64.s): saves the caller's
/// context into `save`, moves to stack `newsp` (or stays below the save
/// area when `newsp` is 0) and calls `f(arg)` there. `f` must not return;
/// the caller resumes when something calls [`gogo`] on `save`.
///
/// # Safety
/// As for the x86_64 `mcall_switch`.
#[unsafe(naked)]
pub unsafe extern "C" fn mcall_switch(
    save: *mut Gobuf,
    newsp: usize,
    f: unsafe extern "C" fn(*mut u8),
    arg: *mut u8,
) {
    naked_asm!(
        ".cfi_startproc",
        "sub sp, sp, #176",
        ".cfi_def_cfa_offset 176",
        "stp x29, x30, [sp, #160]",
        ".cfi_offset x29, -16",
        ".cfi_offset x30, -8",
        "add x29, sp, #160",
        "stp x19, x20, [sp, #80]",
        "stp x21, x22, [sp, #96]",
        "stp x23, x24, [sp, #112]",
        "stp x25, x26, [sp, #128]",
        "stp x27, x28, [sp, #144]",
        "stp d8, d9, [sp, #16]",
        "stp d10, d11, [sp, #32]",
        "stp d12, d13, [sp, #48]",
        "stp d14, d15, [sp, #64]",
        "mrs x9, fpcr",
        "str x9, [sp]",
        "mov x9, sp",
        "str x9, [x0]",       // gobuf.sp
        "str x30, [x0, #8]",  // gobuf.pc
        "str x29, [x0, #32]", // gobuf.bp
        "cbz x1, 2f",
        "and x1, x1, #0xfffffffffffffff0",
        "mov sp, x1",
        "mov x29, #0", // a fresh chain on the new stack
        "2:",
        "mov x0, x3",
        "blr x2",
        "brk #0",
        ".cfi_endproc",
    )
}

/// The switch half of runtime.systemstack (asm_arm64.s): runs `f(arg)` on
/// the stack whose top is `sp` and returns on the original stack; the CFI
/// chains the two stacks for unwinders.
///
/// # Safety
/// As for the x86_64 `systemstack_switch`.
#[unsafe(naked)]
pub unsafe extern "C" fn systemstack_switch(
    sp: usize,
    f: unsafe extern "C" fn(*mut u8),
    arg: *mut u8,
) {
    naked_asm!(
        ".cfi_startproc",
        "stp x29, x30, [sp, #-32]!",
        ".cfi_def_cfa_offset 32",
        ".cfi_offset x29, -32",
        ".cfi_offset x30, -24",
        "mov x29, sp",
        "str x19, [sp, #16]",
        ".cfi_offset x19, -16",
        "mov x19, sp",
        ".cfi_def_cfa_register x19",
        "and x0, x0, #0xfffffffffffffff0",
        "mov sp, x0",
        "mov x0, x2",
        "blr x1",
        "mov sp, x19",
        ".cfi_def_cfa_register sp",
        "ldr x19, [sp, #16]",
        ".cfi_restore x19",
        "ldp x29, x30, [sp], #32",
        ".cfi_def_cfa_offset 0",
        ".cfi_restore x29",
        ".cfi_restore x30",
        "ret",
        ".cfi_endproc",
    )
}

/// getcallersp: port of runtime.getcallersp (stubs.go): the caller's
/// stack pointer at the call (`bl` leaves SP as it was).
#[unsafe(naked)]
pub extern "C" fn getcallersp() -> usize {
    naked_asm!(".cfi_startproc", "mov x0, sp", "ret", ".cfi_endproc")
}

/// Runs `f(arg)` on the stack of a goroutine that is not running, below
/// its save area at `save_sp`, with CFI that names the goroutine's saved
/// context as the caller (CFA `save_sp + 176`, x30 and x29 in the frame
/// record, x19-x28 and d8-d15 in their slots), so that the platform's
/// unwinder walks from `f` into the goroutine's frames (see the x86_64
/// twin).
///
/// # Safety
/// As for the x86_64 `call_on_parked_stack`.
#[unsafe(naked)]
pub unsafe extern "C" fn call_on_parked_stack(
    save_sp: usize,
    f: unsafe extern "C" fn(*mut u8),
    arg: *mut u8,
) {
    naked_asm!(
        ".cfi_startproc",
        "stp x29, x30, [sp, #-32]!",
        ".cfi_def_cfa_offset 32",
        ".cfi_offset x29, -32",
        ".cfi_offset x30, -24",
        "stp x19, x20, [sp, #16]",
        ".cfi_offset x19, -16",
        ".cfi_offset x20, -8",
        "mov x19, sp", // our own frame, callee-saved across f
        "mov x20, x0", // the save area, callee-saved across f
        // For unwinders, the caller is now the parked goroutine.
        ".cfi_remember_state",
        ".cfi_def_cfa x20, 176",
        ".cfi_offset x29, -16",
        ".cfi_offset x30, -8",
        ".cfi_offset x19, -96",
        ".cfi_offset x20, -88",
        ".cfi_offset x21, -80",
        ".cfi_offset x22, -72",
        ".cfi_offset x23, -64",
        ".cfi_offset x24, -56",
        ".cfi_offset x25, -48",
        ".cfi_offset x26, -40",
        ".cfi_offset x27, -32",
        ".cfi_offset x28, -24",
        ".cfi_offset d8, -160",
        ".cfi_offset d9, -152",
        ".cfi_offset d10, -144",
        ".cfi_offset d11, -136",
        ".cfi_offset d12, -128",
        ".cfi_offset d13, -120",
        ".cfi_offset d14, -112",
        ".cfi_offset d15, -104",
        "sub x9, x0, #256",
        "and x9, x9, #0xfffffffffffffff0",
        "mov sp, x9",
        "mov x9, x1",
        "mov x0, x2",
        "blr x9",
        "mov sp, x19",
        ".cfi_restore_state",
        "ldp x19, x20, [sp, #16]",
        "ldp x29, x30, [sp], #32",
        "ret",
        ".cfi_endproc",
    )
}
