//! # plan9-model: the race that started gort
//!
//! Go commit 9f012e1 (2014), "runtime: call rfork on scheduler stack on
//! Plan 9", removed a race between a parent and the child it creates with
//! `rfork(RFPROC|RFMEM|RFNOWAIT)`. This crate is an executable model of the
//! two protocols and an exhaustive explorer of their interleavings.
//!
//! ## The machine ([`machine`])
//! - **Shared memory**: data, BSS and the heap — which holds goroutine
//!   stacks and the M structures — shared by `RFMEM`.
//! - **A private stack segment per process**, which `rfork` copies
//!   (copy-on-write) into the child at the same virtual address; it holds the
//!   g0 frame of the new protocol and `_tos` with the process's own pid.
//! - **Registers**: after the system call the child's registers are the
//!   parent's (the 386 kernel copies the Ureg), or, as Plan 9 promises
//!   nothing, each may be clobbered (amd64, arm).
//! - Instructions for loads, stores, `rfork`, the child's branch, and entering
//!   `mstart`, where the invariant is checked: *the child starts `mstart` with
//!   the M the parent created for it, with that M's g0, on its own stack*.
//!
//! ## The protocols ([`protocols`])
//! The parent creates two Ms in a row, as a starting program does.
//! - **old** (amd64, before the fix): the child reads `mm`, `gg`, `fn` and
//!   `stack` from the caller's frame after the system call. That frame is on
//!   a goroutine stack in the shared heap, so the parent, back from `rfork`,
//!   may overwrite it with the next M's arguments first.
//! - **old --regs=386** (the interim fix, CL 64140043): the arguments travel
//!   in registers loaded before the system call; correct exactly as long as
//!   the kernel preserves registers.
//! - **new** (9f012e1): `rfork` takes only flags and runs on g0, whose frame
//!   lives in the private segment; the child reads `mp` from its own copy,
//!   and `tstart_plan9` makes the current stack its g0 and takes `procid`
//!   from `_tos`.
//!
//! ## The explorer ([`explore`])
//! Breadth-first search over all interleavings and register outcomes;
//! states are encoded to bytes, interned in a `bumpalo` arena and looked up
//! in a `hashbrown` map. The first violation found therefore comes with a
//! shortest trace.

pub mod explore;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub mod hardware;
pub mod machine;
pub mod protocols;

pub use explore::{Verdict, ViolationClass, explore, explore_all};
pub use machine::RegSemantics;
pub use protocols::Protocol;
