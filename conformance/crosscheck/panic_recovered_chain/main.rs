//! Cross-check: a panic raised while a recovered one's deferred call still
//! runs is reported after it: the recovered panic marked [recovered], the
//! new one indented below, exit 2. The recovery lasts while its
//! `Recovered` lives (Go: while the deferred call runs).

pub fn main() {
    crate::run(0, || {
        let _recovered = gort::catch(|| panic!("first panic"));
        panic!("second panic");
    })
}
