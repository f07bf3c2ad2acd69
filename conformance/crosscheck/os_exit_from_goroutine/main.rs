//! Cross-check: process exit with status 3 from a goroutine ends the
//! program silently with that status.

pub fn main() {
    crate::run(0, || {
        gort::go(|| std::process::exit(3));
        runtime_p::block();
    })
}
