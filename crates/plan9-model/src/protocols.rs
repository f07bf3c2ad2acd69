//! The parent and child code of each protocol, as instructions of the
//! abstract machine. The parent creates two Ms in a row (`newm` called
//! twice), as a real program starting its first threads does; both children
//! must start `mstart` with their own M.

use crate::machine::Src::Const;
use crate::machine::{
    Field, Ins, Line, MSTART, Reg, SHARED_GSTACK_SP, g0, m, private, shared, stk,
};
use Ins::*;
use Reg::*;

/// Which protocol, and how the child finds its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Before 9f012e1, amd64 code (`sys_plan9_amd64.s` at 11966928): the
    /// child reads `mm`, `gg`, `fn` and `stack` from the caller's frame,
    /// SP-relative, *after* the system call. `newosproc` ran on an ordinary
    /// goroutine stack, which lives in the heap that RFMEM shares.
    OldFrame,
    /// Before 9f012e1, after CL 64140043: the arguments are loaded into
    /// registers *before* the system call and the child uses the registers.
    /// Correct only if the kernel preserves registers in the child (386).
    OldRegisters,
    /// 9f012e1: `rfork` takes only flags and runs on g0, whose stack is the
    /// per-process segment that rfork copies; the child finds `mp` in its
    /// own copy of the frame and `tstart_plan9` makes that stack its g0.
    New,
    /// Not a protocol Go ever ran: the 9f012e1 child code with `newosproc`
    /// called on an ordinary goroutine stack. It shows that "rfork runs only
    /// on g0" is what makes the new protocol safe (and that the checker is
    /// not vacuous).
    NewOnGoroutineStack,
    /// Not a protocol Go ever ran: 9f012e1's first half alone. `rfork` runs
    /// on g0, but g0 stacks still come from `malg(8192)` in the shared heap
    /// (the fix's second half is `malg(-1)`: no heap stack, the child
    /// carves g0 out of its private segment). The parent is an M other
    /// than m0 starting another M from its g0, as any M may (`startm`);
    /// its frame is then in the heap, and the child, which switches to its
    /// g0's heap stack, reads `mp` from the parent's frame.
    NewHeapG0,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::OldFrame => {
                "old (amd64: child reads rfork's arguments from the caller's frame)"
            }
            Protocol::OldRegisters => {
                "old (386: arguments loaded into registers before the system call)"
            }
            Protocol::New => "new (9f012e1: rfork on the scheduler stack, tstart_plan9)",
            Protocol::NewOnGoroutineStack => {
                "9f012e1's second half only: malg(-1) and tstart_plan9, but newosproc on a shared goroutine stack"
            }
            Protocol::NewHeapG0 => {
                "9f012e1's first half only: rfork on g0, but g0 stacks from malg(8192) in the heap"
            }
        }
    }
}

/// The shared memory the program starts with: each M's g0 pointer, written
/// by `allocm` before `newosproc` runs (and, with `malg(8192)`, each g0's
/// heap stack).
pub fn initial_shared(p: Protocol) -> [u8; shared::N] {
    let mut s = [0; shared::N];
    s[shared::m_g0(1) as usize] = g0(1);
    s[shared::m_g0(2) as usize] = g0(2);
    if p == Protocol::NewHeapG0 {
        s[shared::g0_stack_hi(1) as usize] = stk(1);
        s[shared::g0_stack_hi(2) as usize] = stk(2);
    }
    s
}

/// The stack the parent runs `newosproc` on.
pub fn parent_sp(p: Protocol) -> u8 {
    match p {
        Protocol::New => crate::machine::OWN_STACK_SP,
        Protocol::OldFrame
        | Protocol::OldRegisters
        | Protocol::NewOnGoroutineStack
        | Protocol::NewHeapG0 => SHARED_GSTACK_SP,
    }
}

fn l(ins: Ins, note: &'static str) -> Line {
    Line { ins, note }
}

/// `newosproc` pushing the old `rfork`'s arguments for the k-th M.
fn push_rfork_args(v: &mut Vec<Line>, k: u8) {
    v.push(l(
        StoreShared(shared::FRAME_STK, Const(stk(k))),
        "newosproc: push stk (heap g0 stack) for rfork",
    ));
    v.push(l(
        StoreShared(shared::FRAME_MM, Const(m(k))),
        "newosproc: push mp",
    ));
    v.push(l(
        StoreShared(shared::FRAME_GG, Const(g0(k))),
        "newosproc: push mp->g0",
    ));
    v.push(l(
        StoreShared(shared::FRAME_FN, Const(MSTART)),
        "newosproc: push runtime·mstart",
    ));
}

/// The parent's end: back to the scheduler, plus padding so that the child
/// code starts at `child`.
fn parent_done(v: &mut Vec<Line>, child: usize) {
    v.push(l(Halt, "parent: back to the scheduler"));
    while v.len() < child {
        v.push(l(Halt, "(padding)"));
    }
    assert_eq!(v.len(), child);
}

/// Where the child's g0 stack comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum G0Stack {
    /// `malg(-1)`: `tstart_plan9` makes the current stack the g0's.
    FromSp,
    /// `malg(8192)`: the child switches to the g0's heap stack.
    Heap,
}

/// 9f012e1's parent (twice) and `tstart_plan9`, with `mp` stored and loaded
/// by the given instructions and the g0 stack from `g0_stack`.
fn rfork_flags_only(store_mp: fn(u8) -> Line, load_mp: Line, g0_stack: G0Stack) -> Vec<Line> {
    const CHILD: usize = 8;
    let mut v = Vec::new();
    for k in 1..=2 {
        v.push(store_mp(k));
        v.push(l(
            Rfork,
            "rfork(RFPROC|RFMEM|RFNOWAIT): SYSCALL, flags only",
        ));
        v.push(l(
            JzChild(CHILD),
            "if pid == 0 { tstart_plan9(mp) }; parent returns",
        ));
    }
    parent_done(&mut v, CHILD);
    v.push(load_mp);
    v.push(l(
        LoadField(Dx, Cx, Field::MG0),
        "tstart_plan9: MOVQ m_g0(CX), DX",
    ));
    match g0_stack {
        G0Stack::FromSp => v.push(l(
            G0StackFromSp(Dx),
            "tstart_plan9: g0.stack.hi = SP; lo = SP - 64K",
        )),
        G0Stack::Heap => {
            v.push(l(
                LoadG0StackHi(Si, Dx),
                "tstart: MOVQ g_stack+stack_hi(DX), SI (malg(8192)'s stack)",
            ));
            v.push(l(
                SetSp(Si),
                "tstart: MOVQ SI, SP (switch to g0's heap stack)",
            ));
        }
    }
    v.push(l(
        LoadPrivate(Ax, private::TOS_PID),
        "tstart_plan9: MOVQ _tos(SB), AX; MOVL 64(AX), AX",
    ));
    v.push(l(
        StoreField(Cx, Field::MProcid, Ax),
        "tstart_plan9: MOVQ AX, m_procid(CX)",
    ));
    v.push(l(SetTlsG(Dx), "tstart_plan9: get_tls(BX); MOVQ DX, g(BX)"));
    v.push(l(
        Mstart {
            m: Cx,
            g: Dx,
            func: None,
        },
        "tstart_plan9: CALL runtime·stackcheck; CALL runtime·mstart",
    ));
    v
}

/// The code of a protocol. The parent starts at 0; a child continues after
/// the `Rfork` that created it.
pub fn program(p: Protocol) -> Vec<Line> {
    match p {
        Protocol::OldFrame => {
            const CHILD: usize = 14;
            let mut v = Vec::new();
            for k in 1..=2 {
                push_rfork_args(&mut v, k);
                v.push(l(
                    Rfork,
                    "rfork(RFPROC|RFMEM|RFNOWAIT, stk, mp, mp->g0, mstart): SYSCALL",
                ));
                v.push(l(JzChild(CHILD), "CMPQ AX, $0 (parent: RET; child: go on)"));
            }
            parent_done(&mut v, CHILD);
            v.push(l(
                LoadShared(Bx, shared::FRAME_MM),
                "child: MOVQ mm+24(SP), BX",
            ));
            v.push(l(
                LoadShared(Dx, shared::FRAME_GG),
                "child: MOVQ gg+32(SP), DX",
            ));
            v.push(l(
                LoadShared(Si, shared::FRAME_FN),
                "child: MOVQ fn+40(SP), SI",
            ));
            v.push(l(
                LoadShared(Cx, shared::FRAME_STK),
                "child: MOVQ stack+16(SP), CX",
            ));
            v.push(l(
                SetSp(Cx),
                "child: MOVQ CX, SP (switch to the new g0 stack)",
            ));
            v.push(l(SetTlsG(Dx), "child: set g (and m) in TLS"));
            v.push(l(
                Mstart {
                    m: Bx,
                    g: Dx,
                    func: Some(Si),
                },
                "child: CALL SI (mstart)",
            ));
            v
        }
        Protocol::OldRegisters => {
            const CHILD: usize = 22;
            let mut v = Vec::new();
            for k in 1..=2 {
                push_rfork_args(&mut v, k);
                v.push(l(
                    LoadShared(Bx, shared::FRAME_MM),
                    "rfork: MOVL mm, BX before INT $64",
                ));
                v.push(l(
                    LoadShared(Dx, shared::FRAME_GG),
                    "rfork: MOVL gg, DX before INT $64",
                ));
                v.push(l(
                    LoadShared(Si, shared::FRAME_FN),
                    "rfork: MOVL fn, SI before INT $64",
                ));
                v.push(l(
                    LoadShared(Cx, shared::FRAME_STK),
                    "rfork: MOVL stack, CX before INT $64",
                ));
                v.push(l(Rfork, "rfork: INT $64 (SYSCALL)"));
                v.push(l(JzChild(CHILD), "CMPL AX, $0 (parent: RET; child: go on)"));
            }
            parent_done(&mut v, CHILD);
            v.push(l(
                SetSp(Cx),
                "child: MOVL CX, SP (switch to the new g0 stack)",
            ));
            v.push(l(SetTlsG(Dx), "child: set g (and m) in TLS from DX, BX"));
            v.push(l(
                Mstart {
                    m: Bx,
                    g: Dx,
                    func: Some(Si),
                },
                "child: CALL SI (mstart)",
            ));
            v
        }
        Protocol::New => rfork_flags_only(
            |k| {
                l(
                    StorePrivate(private::FRAME_MP, Const(m(k))),
                    "newosproc on g0: mp in its frame (private stack segment)",
                )
            },
            l(
                LoadPrivate(Cx, private::FRAME_MP),
                "tstart_plan9: MOVQ newm+0(FP), CX (own copy of the frame)",
            ),
            G0Stack::FromSp,
        ),
        Protocol::NewHeapG0 => rfork_flags_only(
            |k| {
                l(
                    StoreShared(shared::FRAME_MM, Const(m(k))),
                    "newosproc on g0: mp in its frame (a malg(8192) stack: shared heap)",
                )
            },
            l(
                LoadShared(Cx, shared::FRAME_MM),
                "tstart: MOVQ newm+0(FP), CX (the parent's frame, in the heap)",
            ),
            G0Stack::Heap,
        ),
        Protocol::NewOnGoroutineStack => rfork_flags_only(
            |k| {
                l(
                    StoreShared(shared::FRAME_MM, Const(m(k))),
                    "newosproc on a goroutine stack: mp in its frame (shared heap)",
                )
            },
            l(
                LoadShared(Cx, shared::FRAME_MM),
                "tstart_plan9: MOVQ newm+0(FP), CX (shared frame)",
            ),
            G0Stack::FromSp,
        ),
    }
}
