//! `select!`: Go's `select` statement, in crossbeam-channel's syntax.
//!
//! ```text
//! select! {
//!     recv(c1) -> v => body,        // v: Option<T>; None = closed and drained
//!     recv(c2) => body,             // value received and dropped
//!     send(c3, value) => body,
//!     default => body,              // at most one
//! }
//! ```
//!
//! The expansion evaluates every channel expression and every value to send
//! once, in source order (Go's rule), puts each case's value slot on the
//! stack, calls `gort::__private::select` with the send cases first (the
//! order Go's compiler gives `selectgo`), and then runs the chosen arm's
//! body inline, so `break`, `continue`, `return` and `?` in a body act on
//! the code around the `select!`. Unsent values are dropped before the body
//! runs.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Pat, Token, braced, parenthesized};

enum Kind {
    Recv { chan: Expr, pat: Option<Pat> },
    Send { chan: Expr, value: Expr },
    Default,
}

struct Arm {
    kind: Kind,
    body: Expr,
}

pub struct Select {
    arms: Vec<Arm>,
}

impl Parse for Select {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut arms = Vec::new();
        let mut seen_default = false;
        while !input.is_empty() {
            let name: syn::Ident = input.parse()?;
            let kind = match name.to_string().as_str() {
                "recv" => {
                    let args;
                    parenthesized!(args in input);
                    let chan: Expr = args.parse()?;
                    if !args.is_empty() {
                        return Err(args.error("expected `recv(channel)`"));
                    }
                    let pat = if input.peek(Token![->]) {
                        input.parse::<Token![->]>()?;
                        Some(Pat::parse_single(input)?)
                    } else {
                        None
                    };
                    Kind::Recv { chan, pat }
                }
                "send" => {
                    let args;
                    parenthesized!(args in input);
                    let chan: Expr = args.parse()?;
                    args.parse::<Token![,]>()?;
                    let value: Expr = args.parse()?;
                    if !args.is_empty() {
                        return Err(args.error("expected `send(channel, value)`"));
                    }
                    Kind::Send { chan, value }
                }
                "default" => {
                    if seen_default {
                        return Err(syn::Error::new(name.span(), "multiple defaults in select"));
                    }
                    seen_default = true;
                    Kind::Default
                }
                _ => {
                    return Err(syn::Error::new(
                        name.span(),
                        "expected `recv(..)`, `send(..)` or `default`",
                    ));
                }
            };
            input.parse::<Token![=>]>()?;
            let body: Expr = if input.peek(syn::token::Brace) {
                let content;
                let brace = braced!(content in input);
                let stmts = content.call(syn::Block::parse_within)?;
                let _ = input.parse::<Option<Token![,]>>()?;
                Expr::Block(syn::ExprBlock {
                    attrs: Vec::new(),
                    label: None,
                    block: syn::Block {
                        brace_token: brace,
                        stmts,
                    },
                })
            } else {
                let e: Expr = input.parse()?;
                if !input.is_empty() {
                    input.parse::<Token![,]>()?;
                }
                e
            };
            arms.push(Arm { kind, body });
        }
        Ok(Select { arms })
    }
}

pub fn expand(sel: Select) -> TokenStream2 {
    let site = Span::mixed_site();
    let mut evals = TokenStream2::new();
    let mut slots = Vec::new(); // (ident, is_send, arm index)
    let mut default_body = None;
    for (i, arm) in sel.arms.iter().enumerate() {
        let slot = format_ident!("__gort_select_slot{}", i, span = site);
        match &arm.kind {
            Kind::Recv { chan, .. } => {
                let c = format_ident!("__gort_select_chan{}", i, span = site);
                evals.extend(quote! {
                    let #c = &(#chan);
                    let mut #slot = ::gort::__private::RecvSlot::new(#c);
                });
                slots.push((slot, false, i));
            }
            Kind::Send { chan, value } => {
                let c = format_ident!("__gort_select_chan{}", i, span = site);
                evals.extend(quote! {
                    let #c = &(#chan);
                    let mut #slot = ::gort::__private::SendSlot::new(#c, #value);
                });
                slots.push((slot, true, i));
            }
            Kind::Default => default_body = Some(&arm.body),
        }
    }
    if slots.is_empty() {
        return match default_body {
            Some(body) => quote! { { #body } },
            None => quote! { ::gort::__private::block() },
        };
    }
    // Send cases first, in source order, then receive cases.
    let mut ordered: Vec<&(syn::Ident, bool, usize)> = slots.iter().filter(|s| s.1).collect();
    ordered.extend(slots.iter().filter(|s| !s.1));
    // Function-call syntax, so that no trait in scope at the call site can
    // take part in method lookup on the slots.
    let case_exprs = ordered.iter().map(|(slot, is_send, _)| {
        if *is_send {
            quote! { ::gort::__private::SendSlot::case(&mut #slot) }
        } else {
            quote! { ::gort::__private::RecvSlot::case(&mut #slot) }
        }
    });
    let block = default_body.is_none();
    let all_slots: Vec<&syn::Ident> = slots.iter().map(|s| &s.0).collect();
    let drops = quote! { #( ::core::mem::drop(#all_slots); )* };
    let chosen = syn::Ident::new("__gort_select_chosen", site);
    let mut match_arms = TokenStream2::new();
    for (pos, (slot, is_send, arm_i)) in ordered.iter().enumerate() {
        let arm = &sel.arms[*arm_i];
        let body = &arm.body;
        let bind = match &arm.kind {
            Kind::Recv { pat: Some(p), .. } if !is_send => quote! { let #p = #slot.take(); },
            _ => quote! {},
        };
        match_arms.extend(quote! {
            ::core::option::Option::Some(#pos) => {
                #bind
                #drops
                #body
            }
        });
    }
    let default_arm = match default_body {
        Some(body) => quote! { ::core::option::Option::None => { #drops #body } },
        None => quote! {},
    };
    let unreachable = quote! {
        _ => ::core::unreachable!("gort::select: impossible case")
    };
    quote! {
        {
            #evals
            // SAFETY: each slot is one this expansion made above; it gives
            // its one case to this one select, send cases first, and is not
            // given to another. The block holds no user expression.
            let #chosen = unsafe { ::gort::__private::select([#(#case_exprs),*], #block) };
            match #chosen {
                #match_arms
                #default_arm
                #unreachable
            }
        }
    }
}
