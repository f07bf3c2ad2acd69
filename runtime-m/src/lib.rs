//! # runtime-m: the machine
//!
//! Port of the M half of Go's runtime (go1.27): the `m` descriptor and
//! `allocm`/`mcommoninit`, thread start-up (`mstart`, `mstart0`, `mstart1`,
//! `minit`), the Go-side halves of `mcall` and `systemstack`, and the
//! runtime's internal lock (`lock_spinbit.go`), notes (`lock_futex.go`,
//! `lock_sema.go`) and the OS boundary (the [`Os`] trait).
//!
//! ## Vocabulary
//! - **M** — an OS thread able to run Go code. It runs the scheduler on its
//!   **g0** and user goroutines on their own stacks.
//! - **m0** — the first M of a runtime: the thread that started it. Its g0
//!   comes from `malg(-1)`: no stack of its own, it uses the thread's stack,
//!   whose bounds `mstart0` reads from the OS.
//!
//! ## Design
//! - An M belongs to one runtime instance (`m.sched`), so several runtimes
//!   can live in one process (each test of a test binary runs its own).
//! - The scheduler itself lives in runtime-p; `mstart1` reaches it through
//!   a hook, keeping dependencies one way (g ← m ← p).
//! - `mcall` restarts g0 from the SP recorded by `mstart1` each time, as Go
//!   does, so the scheduler's stack never grows across rounds. Code on g0
//!   must own nothing with a destructor when it switches away: g0 frames are
//!   abandoned, never unwound.
//! - Internal locks block the thread (futex), never a goroutine, and are
//!   never held across a switch.
//!
//! Creating Ms (`newm`), their idle list and the spinning protocol live in
//! runtime-p (`mp.rs`), which knows the Ps; starting the OS thread is the OS
//! layer's `newosproc` ([`os::Os`]).
#![deny(unsafe_op_in_unsafe_fn)]

pub mod lock_spinbit;
pub mod loom;
pub mod m;
pub mod note;
pub mod os;
pub mod proc;

pub use lock_spinbit::{
    MUTEX_ACTIVE_SPIN_COUNT, MUTEX_ACTIVE_SPIN_SIZE, Mutex, MutexGuard, RawMutex, ncpu, osyield,
    procyield, semasleep, semawakeup,
};
pub use m::{M, allocm, cheaprand, cheaprandn, getm};
pub use note::{Note, noteclear, notesleep, notetsleep, notewakeup, notewakeup_idempotent};
pub use os::{Os, SleepKind, os};
pub use proc::{mcall, mcall_g, mreturn, mstart, set_schedule_hook, systemstack};
pub use runtime_g::{getg, setg};
