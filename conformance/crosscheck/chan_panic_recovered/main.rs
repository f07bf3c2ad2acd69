//! Cross-check: channel misuse panics can be recovered (catch_unwind), with
//! Go's messages.

use std::panic::{AssertUnwindSafe, catch_unwind};

fn try_(name: &str, f: impl FnOnce()) {
    let r = catch_unwind(AssertUnwindSafe(f));
    let msg = match r {
        Ok(()) => "<nil>".to_string(),
        Err(p) => p
            .downcast_ref::<gort::RuntimeError>()
            .map(|e| e.to_string())
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default(),
    };
    println!("{name}: {msg}");
}

pub fn main() {
    crate::run(0, || {
        let closed = gort::Chan::new(1);
        closed.close();
        let nilc: gort::Chan<i32> = gort::Chan::nil();
        try_("send", || closed.send(1));
        try_("close", || closed.close());
        try_("close nil", || nilc.close());
        try_("select send", || {
            gort::select! {
                send(closed, 1) => {}
                default => {}
            }
        });
        match closed.recv() {
            Some(v) => println!("recv: {v} true"),
            None => println!("recv: 0 false"),
        }
    })
}
