//! Registers every cross-check program with the `xc` binary: for each
//! `crosscheck/<name>/main.rs` it writes a module declaration and an entry
//! of the `PROGRAMS` table into `$OUT_DIR/programs.rs`, so adding a pair is
//! adding its folder.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read when the script runs, not when it was compiled: a checkout
    // moved elsewhere reuses the compiled script.
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo");
    let dir = Path::new(&root).join("crosscheck");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("conformance/crosscheck is missing")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("main.rs").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    let mut out = String::new();
    for n in &names {
        let path = dir.join(n).join("main.rs");
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(out, "#[path = {:?}]\nmod {n};", path.display().to_string()).unwrap();
    }
    out.push_str("const PROGRAMS: &[(&str, fn())] = &[\n");
    for n in &names {
        writeln!(out, "    ({n:?}, {n}::main),").unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("programs.rs");
    std::fs::write(dest, out).unwrap();
}
