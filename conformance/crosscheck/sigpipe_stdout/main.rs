//! Cross-check: a write to standard output whose reader has gone (as in
//! `prog | head -1`) ends the program by SIGPIPE, silently. The program
//! makes that pipe itself: fd 1 becomes the write end of a pipe whose read
//! end is closed.

pub fn main() {
    crate::run(0, || {
        let mut fds = [0; 2];
        // SAFETY: pipe, close and dup2 on descriptors this program owns;
        // fd 1 is replaced before anything else writes to it.
        unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            libc::close(fds[0]);
            assert_eq!(libc::dup2(fds[1], 1), 1);
        }
        println!("lost");
        // Not reached: the write raised SIGPIPE.
        std::process::exit(3);
    })
}
