//! Cross-check: a panic with a value of a named type of a printable kind
//! prints the type and the value (Go: main.MyInt(93); gort: the Rust path,
//! which the harness reads as main.). Go's named type is a tuple struct,
//! raised with gort::panic_debug.

#[derive(Debug)]
#[allow(dead_code)] // read through Debug
struct MyInt(i64);

pub fn main() {
    crate::run(0, || gort::panic_debug(MyInt(93)))
}
