//! The abstract machine: memory that `rfork(RFMEM)` shares, a private stack
//! segment per process that it copies, registers that a system call may or
//! may not preserve, and a handful of instructions — enough to write the
//! parent and child halves of `newosproc`/`tstart_plan9`.

/// A value in memory or a register, encoded in one byte so that states are
/// small and hash fast.
pub type Val = u8;

/// Nothing written yet.
pub const ZERO: Val = 0;
/// An arbitrary value: what a clobbered register holds.
pub const JUNK: Val = 1;
/// The address of `mstart`.
pub const MSTART: Val = 2;
/// The same virtual address in every process: the stack pointer inside the
/// private stack segment (`USTKTOP` region). Which memory it names depends
/// on the process that uses it.
pub const OWN_STACK_SP: Val = 3;
/// A goroutine stack in the shared heap (where `newosproc` ran before the
/// fix).
pub const SHARED_GSTACK_SP: Val = 4;

/// The M created for the k-th `newosproc` (k = 1, 2).
pub const fn m(k: u8) -> Val {
    10 + k
}
/// That M's g0.
pub const fn g0(k: u8) -> Val {
    20 + k
}
/// The g0 stack the parent allocated in the heap for that M (old protocol).
pub const fn stk(k: u8) -> Val {
    30 + k
}
/// "The private stack segment of process `pid`" (what `OWN_STACK_SP` means
/// when process `pid` stores it).
pub const fn priv_sp(pid: u8) -> Val {
    50 + pid
}
/// A process id.
pub const fn pid(p: u8) -> Val {
    60 + p
}

/// Human-readable name of a value.
pub fn name(v: Val) -> String {
    match v {
        ZERO => "0".into(),
        JUNK => "junk".into(),
        MSTART => "mstart".into(),
        OWN_STACK_SP => "SP(private segment)".into(),
        SHARED_GSTACK_SP => "SP(shared goroutine stack)".into(),
        11..=19 => format!("M{}", v - 10),
        21..=29 => format!("g0(M{})", v - 20),
        31..=39 => format!("stk{}", v - 30),
        51..=59 => format!("private stack of pid {}", v - 50),
        61..=69 => format!("pid {}", v - 60),
        _ => format!("?{v}"),
    }
}

/// Shared cells (data, BSS and heap: shared by `RFMEM`).
pub mod shared {
    /// `newosproc`'s outgoing arguments to `rfork`, in its caller's frame on
    /// a heap goroutine stack (old protocol): `stack+16(SP)`, `mm+24(SP)`,
    /// `gg+32(SP)`, `fn+40(SP)`.
    pub const FRAME_STK: u8 = 0;
    pub const FRAME_MM: u8 = 1;
    pub const FRAME_GG: u8 = 2;
    pub const FRAME_FN: u8 = 3;
    /// `m(k).g0` for k = 1, 2.
    pub const fn m_g0(k: u8) -> u8 {
        3 + k
    }
    /// `m(k).procid`.
    pub const fn m_procid(k: u8) -> u8 {
        5 + k
    }
    /// `g0(k).stack.hi`.
    pub const fn g0_stack_hi(k: u8) -> u8 {
        7 + k
    }
    pub const N: usize = 10;
}

/// Cells of the private stack segment (copied, copy-on-write, by `rfork`).
pub mod private {
    /// `newosproc`'s argument `mp`, in its frame on g0 (new protocol):
    /// `newm+0(FP)` as `tstart_plan9` reads it.
    pub const FRAME_MP: u8 = 0;
    /// `_tos->pid`, written by the kernel on every return to user mode.
    pub const TOS_PID: u8 = 1;
    pub const N: usize = 2;
}

/// Registers the protocols use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    Ax = 0,
    Bx = 1,
    Cx = 2,
    Dx = 3,
    Si = 4,
}
pub const NREG: usize = 5;

impl Reg {
    pub fn name(self) -> &'static str {
        ["AX", "BX", "CX", "DX", "SI"][self as usize]
    }
}

/// Operand of a store.
#[derive(Clone, Copy, Debug)]
pub enum Src {
    Const(Val),
    Reg(Reg),
}

/// A field reached through a pointer held in a register.
#[derive(Clone, Copy, Debug)]
pub enum Field {
    /// `m->g0`
    MG0,
    /// `m->procid`
    MProcid,
}

/// One instruction. `note` fields tie it to the Go source it models.
#[derive(Clone, Copy, Debug)]
pub enum Ins {
    StoreShared(u8, Src),
    StorePrivate(u8, Src),
    LoadShared(Reg, u8),
    LoadPrivate(Reg, u8),
    /// `dst = obj->field` (obj must hold an M).
    LoadField(Reg, Reg, Field),
    /// `obj->field = src` (obj must hold an M).
    StoreField(Reg, Field, Reg),
    /// `g->stack.hi = SP` (g must hold a g0), as tstart_plan9 does.
    G0StackFromSp(Reg),
    /// `dst = g->stack.hi` (g must hold a g0): the heap stack `malg(8192)`
    /// gave it.
    LoadG0StackHi(Reg, Reg),
    /// `SP = reg`.
    SetSp(Reg),
    /// The TLS g slot = reg.
    SetTlsG(Reg),
    /// `rfork(RFPROC|RFMEM|RFNOWAIT)`: AX = child pid in the parent, 0 in
    /// the child.
    Rfork,
    /// `if AX == 0 goto target` (the child's branch after rfork).
    JzChild(usize),
    /// Enter `mstart` with M in `m`, g in `g`, through function `fn`: the
    /// point where the invariant is checked.
    Mstart {
        m: Reg,
        g: Reg,
        func: Option<Reg>,
    },
    /// The parent is done.
    Halt,
}

/// An instruction with the line of Go it stands for.
#[derive(Clone, Copy, Debug)]
pub struct Line {
    pub ins: Ins,
    pub note: &'static str,
}

/// What a system call leaves in the child's registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegSemantics {
    /// The 386 Plan 9 kernel copies the parent's Ureg into the child: all
    /// registers but AX (0) arrive intact.
    Preserved386,
    /// "Plan 9 makes no promises about the register state after a system
    /// call" (amd64, arm): each register may arrive intact or clobbered.
    NoPromiseAmd64,
}

pub const MAXPROC: usize = 3;

/// One process (a Plan 9 proc; an M once it runs `mstart`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Proc {
    pub live: bool,
    pub halted: bool,
    /// Process id (1 = the parent).
    pub pid: u8,
    /// For a child: which `newosproc` call created it (1 or 2), i.e. the M
    /// it must run.
    pub for_m: u8,
    pub pc: u8,
    pub regs: [Val; NREG],
    pub sp: Val,
    pub tls_g: Val,
    pub private: [Val; private::N],
}

/// A state of the whole machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct State {
    pub shared: [Val; shared::N],
    pub procs: [Proc; MAXPROC],
    pub forks: u8,
}

impl State {
    /// Bytes that identify the state (for interning).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.shared);
        out.push(self.forks);
        for p in &self.procs {
            out.extend_from_slice(&[
                p.live as u8,
                p.halted as u8,
                p.pid,
                p.for_m,
                p.pc,
                p.sp,
                p.tls_g,
            ]);
            out.extend_from_slice(&p.regs);
            out.extend_from_slice(&p.private);
        }
    }
}
