//! # runtime-g: the goroutine
//!
//! Port of the G half of Go's runtime (go1.27): the `g` descriptor and its
//! status machine (`runtime2.go`, `casgstatus` in `proc.go`), `malg`,
//! goroutine stacks (`stack.go`), and the context switch of `asm_amd64.s`
//! (`gogo`, `mcall`, `systemstack`, `goexit`).
//!
//! ## Vocabulary
//! - **G** — a goroutine: a stack, a saved context (`Gobuf`) and a status.
//! - **g0** — the scheduler's own G on each M (OS thread). Scheduling code
//!   runs on g0's stack; user code never does.
//! - **gobuf** — what a switch saves: SP, PC, BP. Unlike Go, gort saves the
//!   SysV callee-saved registers and FP control words on the stack first.
//!
//! ## Design
//! - Stacks are fixed-size slots in large `MAP_NORESERVE` arenas with guard
//!   pages installed by `MADV_GUARD_INSTALL`, so a million goroutines fit in
//!   the default `vm.max_map_count` (see [`stack`]). Stacks are never copied:
//!   Rust frames hold pointers into their own stack. Overflow is caught by a
//!   signal handler that prints Go's report ([`signal`]).
//! - Switching is cooperative: a G leaves the CPU only inside a runtime call,
//!   through [`gobuf::mcall_switch`]; no signal ever interrupts Rust code to
//!   switch goroutines.
//! - The current G lives in one thread-local slot, read only through the
//!   out-of-line [`getg`]/[`setg`] ([`tls`]), because a goroutine can move to
//!   another thread at any switch.
//! - Gs are never freed (as in Go): a `*mut G` stays valid for the life of
//!   the process, which lets any thread read a G's atomic status.
//!
//! Rejected: a `Box<G>` owned by one queue (Go's protocols hand G pointers
//! between queues, Ms and wait lists lock-free; ownership is by status, see
//! [`status`]); thread-local caching of `g` in callers (unsound across
//! switches).
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(not(all(
    any(target_arch = "x86_64", target_arch = "aarch64"),
    target_os = "linux"
)))]
compile_error!("gort supports Linux on x86_64 and aarch64 only");

pub mod arch;
pub mod g;
pub mod gobuf;
pub mod signal;
pub mod stack;
pub mod status;
pub mod throw;
pub mod tls;

pub use g::{Ancestor, G, LabelSlot, Labels, Locals, STACK_GUARD, malg};
pub use gobuf::Gobuf;
pub use stack::Stack;
pub use status::{AtomicWaitReason, WaitReason, casgstatus, readgstatus};
pub use throw::{fatal_error, throw};
pub use tls::{getg, setg};
