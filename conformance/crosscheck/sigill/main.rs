//! Cross-check: an illegal instruction (UD2) on a goroutine is reported as
//! Go reports a synchronous signal: its name, PC, m and sigcode, the
//! instruction bytes, the goroutine's frames, the others, the registers,
//! exit 2.

/// Executes UD2, as Go's `ill` (ill_amd64.s) does.
#[inline(never)]
fn ill() {
    // SAFETY: UD2 (aarch64: UDF, its permanently undefined instruction)
    // raises SIGILL, whose handler ends the process: control never comes
    // back to Rust code.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        core::arch::asm!("ud2");
        #[cfg(target_arch = "aarch64")]
        core::arch::asm!("udf #0");
    }
}

pub fn main() {
    crate::run(0, || {
        let done = gort::Chan::<bool>::new(0);
        let tx = done.clone();
        gort::go(move || {
            ill();
            tx.send(true);
        });
        done.recv();
    })
}
