//! Cross-check: a panicking Once.Do still counts as done.

use std::panic::{AssertUnwindSafe, catch_unwind};

pub fn main() {
    crate::run(0, || {
        let once = gort::sync::Once::new();
        let r = catch_unwind(AssertUnwindSafe(|| once.call(|| panic!("first"))));
        let msg = r
            .err()
            .and_then(|p| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        println!("recovered: {msg}");
        let mut ran = false;
        once.call(|| ran = true);
        println!("second Do ran: {ran}");
    })
}
