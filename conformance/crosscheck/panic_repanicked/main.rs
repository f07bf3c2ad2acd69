//! Cross-check: a recovered value raised again (panic(recover())) is
//! reported once, marked [recovered, repanicked], exit 2. Go's deferred
//! recover is gort::catch around the code it guards.

pub fn main() {
    crate::run(0, || {
        gort::catch(|| panic!("message")).unwrap_err().repanic();
    })
}
