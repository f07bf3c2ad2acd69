//! Cross-check: infinite recursion in main runs into the guard page.

#[inline(never)]
#[allow(unconditional_recursion)] // the point of the program
fn f(n: u64) -> u64 {
    let mut buf = std::hint::black_box([0u8; 256]);
    buf[(n % 256) as usize] = n as u8;
    f(n + 1) + std::hint::black_box(buf)[3] as u64
}

pub fn main() {
    crate::run(0, || {
        f(0);
    })
}
