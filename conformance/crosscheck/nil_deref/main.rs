//! Cross-check: a nil pointer dereference on a goroutine is reported as
//! Go's runtime error panic with the signal line, exit 2. (Go's can be
//! recovered; gort's ends the program, as an unrecovered one does.)

pub fn main() {
    crate::run(0, || {
        // A store to address 0 done by the CPU, as `*p = 1` is in Go: the
        // instruction faults and the fault handler ends the process, so
        // control never comes back to Rust code.
        // SAFETY: the asm touches no Rust-visible state; it does not
        // return (the SIGSEGV handler exits).
        unsafe {
            #[cfg(target_arch = "x86_64")]
            core::arch::asm!("mov qword ptr [{0}], 1", in(reg) 0usize);
            #[cfg(target_arch = "aarch64")]
            core::arch::asm!("str xzr, [{0}]", in(reg) 0usize);
        }
    })
}
