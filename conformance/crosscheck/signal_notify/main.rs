//! Cross-check: signal::notify delivers the signals asked for, on their
//! channel; ignore and reset change what happens to them; notify_context
//! ends its context with the signal as cause. (A signal nobody asked for
//! ends the program by the signal on Linux and by a note on Plan 9: the
//! test uncaught_sigint_ends_the_program checks both layers' forms.)

use std::time::Duration;

use gort::context;
use gort::signal::{self, Signal};

fn kill(s: Signal) {
    // SAFETY: kill(getpid(), s) signals this process.
    unsafe { libc::kill(libc::getpid(), s.0) };
}

pub fn main() {
    crate::run(0, || {
        let c = gort::Chan::new(1);
        signal::notify(&c, &[Signal::SIGUSR1, Signal::SIGUSR2]);
        kill(Signal::SIGUSR1);
        println!("got: {}", c.recv().unwrap());
        kill(Signal::SIGUSR2);
        println!("got: {}", c.recv().unwrap());

        signal::ignore(&[Signal::SIGUSR1]);
        println!("ignored: {}", signal::ignored(Signal::SIGUSR1));
        kill(Signal::SIGUSR1);
        gort::select! {
            recv(c) -> s => println!("unexpected: {}", s.unwrap()),
            recv(gort::time::after(Duration::from_millis(50))) -> _v => {
                println!("nothing delivered while ignored")
            }
        }
        signal::reset(&[Signal::SIGUSR1]);
        println!("ignored after reset: {}", signal::ignored(Signal::SIGUSR1));
        signal::stop(&c);

        let (ctx, stop) = signal::notify_context(&context::background(), &[Signal::SIGUSR2]);
        println!("{ctx}");
        kill(Signal::SIGUSR2);
        ctx.done().recv();
        println!(
            "ctx: {} / {}",
            ctx.err().unwrap(),
            context::cause(&ctx).unwrap()
        );
        stop.stop();
    })
}
