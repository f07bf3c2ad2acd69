//! gort::catch (Go's recover) and Goexit: a Goexit is not a panic and goes
//! on through catch, as Go's recover() returns nil during a Goexit; so
//! does the end of a runtime, which ends goroutines the same way.

use std::time::Duration;

use gort::{Builder, Chan};

/// A goroutine whose function runs `gort::goexit()` inside `catch` ends
/// (its join says so) instead of carrying on after the catch.
#[gort::test(both)]
unsafe fn catch_does_not_stop_goexit() {
    let after: Chan<bool> = Chan::new(1);
    let a = after.clone();
    let h = gort::spawn(move || {
        let r = gort::catch(|| gort::goexit());
        // Not reached: the Goexit went on through catch.
        a.send(r.is_err());
    });
    assert!(h.join().is_err(), "the goroutine ended by Goexit");
    assert!(after.try_recv().is_err(), "the code after catch ran");
}

/// The end of a runtime ends a goroutine that waits inside `catch` (a
/// handler loop around a receive): the catch does not swallow that end,
/// so `block_on` returns instead of waiting for the goroutine forever.
#[test]
fn the_end_of_a_runtime_goes_through_catch() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        Builder::new().block_on(|| {
            let c: Chan<i32> = Chan::new(0);
            gort::go(move || {
                loop {
                    let c = c.clone();
                    let _ = gort::catch(std::panic::AssertUnwindSafe(move || c.recv()));
                }
            });
            gort::time::sleep(Duration::from_millis(10));
        });
        let _ = done_tx.send(());
    });
    assert!(
        done_rx.recv_timeout(Duration::from_secs(10)).is_ok(),
        "block_on did not return: the catch loop swallowed the runtime's end"
    );
}

/// A recovered panic's value, taken out, is the panic's value.
#[gort::test(both)]
unsafe fn catch_returns_the_value() {
    let r = gort::catch(|| std::panic::panic_any(7u32)).unwrap_err();
    assert_eq!(r.text(), "7");
    assert_eq!(r.into_payload().downcast_ref::<u32>(), Some(&7));
    assert_eq!(gort::catch(|| 5).unwrap(), 5);
}
