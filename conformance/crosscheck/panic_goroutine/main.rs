//! Cross-check: an unrecovered panic in another goroutine names that
//! goroutine (its id is normalised).

pub fn main() {
    crate::run(0, || {
        gort::go(|| panic!("in goroutine"));
        runtime_p::block();
    })
}
