//! # os-plan9: Go's Plan 9 port, on a Plan 9 personality hosted on Linux
//!
//! Two layers, as on a real Plan 9 system:
//!
//! - [`sys`] — the kernel side: the Plan 9 system calls Go's runtime uses
//!   (`rfork`, `semacquire`/`tsemacquire`/`semrelease`, `errstr`, `sleep`,
//!   `nsec`, notes, `exits`, `_tos`), with their Plan 9 meaning and error
//!   strings, implemented on Linux.
//! - [`os_plan9`] — the runtime side: a port of Go's `os_plan9.go` and
//!   `sys_plan9_amd64.s` behind runtime-m's `Os` trait. This is where the
//!   project's origin lives, Go commit 9f012e1 ("runtime: call rfork on
//!   scheduler stack on Plan 9"): `mStackIsSystemAllocated()` is true, so
//!   every M's g0 comes from `malg(-1)` with no runtime stack; `newosproc`
//!   calls `rfork(RFPROC|RFMEM|RFNOWAIT)` with no stack argument, and the
//!   child runs `tstart_plan9(mp)`, which takes its stack bounds from its
//!   own stack pointer, its `procid` from `_tos`, and calls `mstart`.
//!
//! `docs/plan9.md` explains the Plan 9 model, what the personality emulates
//! and how, and why the 2014 race cannot happen here. Select the layer with
//! `GORT_OS=plan9` or `gort::Builder::os(gort::OsLayer::Plan9)`.
#![deny(unsafe_op_in_unsafe_fn)]

// The personality's note trampolines and `Ureg` are amd64's (Plan 9's
// amd64 port is what Go's Plan 9 layer targets here): on other
// architectures the crate is empty and gort's `OsLayer::Plan9` says so.
#[cfg(target_arch = "x86_64")]
pub mod os_plan9;
#[cfg(target_arch = "x86_64")]
pub mod sys;

#[cfg(target_arch = "x86_64")]
pub use os_plan9::{G0_STACK, PLAN9, Plan9, install};
