//! What differs between the architectures gort runs on, outside the
//! context switch ([`crate::gobuf`]): the registers of a signal's context,
//! in the order and under the names Go's `dumpregs` prints them
//! (signal_amd64.go, signal_arm64.go), and reading SP.

/// How many registers Go's `dumpregs` prints.
#[cfg(target_arch = "x86_64")]
pub const NREGS: usize = 21;
/// How many registers Go's `dumpregs` prints.
#[cfg(target_arch = "aarch64")]
pub const NREGS: usize = 34;

/// Go's `dumpregs` names, padded as it pads them (signal_amd64.go).
#[cfg(target_arch = "x86_64")]
pub static REG_NAMES: [&str; NREGS] = [
    "rax    ", "rbx    ", "rcx    ", "rdx    ", "rdi    ", "rsi    ", "rbp    ", "rsp    ",
    "r8     ", "r9     ", "r10    ", "r11    ", "r12    ", "r13    ", "r14    ", "r15    ",
    "rip    ", "rflags ", "cs     ", "fs     ", "gs     ",
];
/// Go's `dumpregs` names, padded as it pads them (signal_arm64.go).
#[cfg(target_arch = "aarch64")]
pub static REG_NAMES: [&str; NREGS] = [
    "r0      ", "r1      ", "r2      ", "r3      ", "r4      ", "r5      ", "r6      ", "r7      ",
    "r8      ", "r9      ", "r10     ", "r11     ", "r12     ", "r13     ", "r14     ", "r15     ",
    "r16     ", "r17     ", "r18     ", "r19     ", "r20     ", "r21     ", "r22     ", "r23     ",
    "r24     ", "r25     ", "r26     ", "r27     ", "r28     ", "r29     ", "lr      ", "sp      ",
    "pc      ", "fault   ",
];

/// Where the PC sits in [`dumpregs_values`].
#[cfg(target_arch = "x86_64")]
pub const PC_SLOT: usize = 16;
/// Where the PC sits in [`dumpregs_values`].
#[cfg(target_arch = "aarch64")]
pub const PC_SLOT: usize = 32;

/// The machine context of a signal's `ucontext_t`.
///
/// # Safety
/// As for [`ctx_pc`].
unsafe fn mcontext<'a>(ctx: *const libc::c_void) -> &'a libc::mcontext_t {
    // SAFETY: the caller's contract; the registers are plain slots.
    unsafe { &(*(ctx as *const libc::ucontext_t)).uc_mcontext }
}

/// The interrupted PC of a signal's context.
///
/// # Safety
/// `ctx` is the `ucontext_t` the kernel passed to an `SA_SIGINFO` handler.
#[inline]
pub unsafe fn ctx_pc(ctx: *const libc::c_void) -> usize {
    // SAFETY: the caller's contract.
    let m = unsafe { mcontext(ctx) };
    #[cfg(target_arch = "x86_64")]
    return m.gregs[libc::REG_RIP as usize] as usize;
    #[cfg(target_arch = "aarch64")]
    return m.pc as usize;
}

/// The interrupted SP of a signal's context.
///
/// # Safety
/// As for [`ctx_pc`].
#[inline]
pub unsafe fn ctx_sp(ctx: *const libc::c_void) -> usize {
    // SAFETY: the caller's contract.
    let m = unsafe { mcontext(ctx) };
    #[cfg(target_arch = "x86_64")]
    return m.gregs[libc::REG_RSP as usize] as usize;
    #[cfg(target_arch = "aarch64")]
    return m.sp as usize;
}

/// The interrupted frame pointer (RBP, x29) of a signal's context.
///
/// # Safety
/// As for [`ctx_pc`].
#[inline]
pub unsafe fn ctx_fp(ctx: *const libc::c_void) -> usize {
    // SAFETY: the caller's contract.
    let m = unsafe { mcontext(ctx) };
    #[cfg(target_arch = "x86_64")]
    return m.gregs[libc::REG_RBP as usize] as usize;
    #[cfg(target_arch = "aarch64")]
    return m.regs[29] as usize;
}

/// The registers of a signal's context in Go's `dumpregs` order
/// ([`REG_NAMES`]). Async-signal-safe.
///
/// # Safety
/// As for [`ctx_pc`].
pub unsafe fn dumpregs_values(ctx: *const libc::c_void) -> [usize; NREGS] {
    // SAFETY: the caller's contract.
    let m = unsafe { mcontext(ctx) };
    let mut regs = [0usize; NREGS];
    #[cfg(target_arch = "x86_64")]
    {
        let g = &m.gregs;
        let order = [
            libc::REG_RAX,
            libc::REG_RBX,
            libc::REG_RCX,
            libc::REG_RDX,
            libc::REG_RDI,
            libc::REG_RSI,
            libc::REG_RBP,
            libc::REG_RSP,
            libc::REG_R8,
            libc::REG_R9,
            libc::REG_R10,
            libc::REG_R11,
            libc::REG_R12,
            libc::REG_R13,
            libc::REG_R14,
            libc::REG_R15,
            libc::REG_RIP,
            libc::REG_EFL,
        ];
        for (slot, r) in regs.iter_mut().zip(order) {
            *slot = g[r as usize] as usize;
        }
        // cs, gs and fs share one slot: 16 bits each from the bottom.
        let csgsfs = g[libc::REG_CSGSFS as usize] as usize;
        regs[18] = csgsfs & 0xffff;
        regs[19] = (csgsfs >> 32) & 0xffff;
        regs[20] = (csgsfs >> 16) & 0xffff;
    }
    #[cfg(target_arch = "aarch64")]
    {
        for (slot, r) in regs.iter_mut().zip(m.regs.iter()) {
            *slot = *r as usize;
        }
        regs[31] = m.sp as usize;
        regs[32] = m.pc as usize;
        regs[33] = m.fault_address as usize;
    }
    regs
}

/// The caller's stack pointer.
#[inline(always)]
pub fn current_sp() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer; no memory access, no flags changed.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
        #[cfg(target_arch = "aarch64")]
        core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    sp
}
