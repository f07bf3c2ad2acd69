//! `#[gort::main]` and `#[gort::test]`: run a function as the main goroutine
//! of a gort runtime.
//!
//! By default both run the function in gort's safe scheduler mode and take
//! a safe `fn`. The `migrating` flag opts into Go's migrating scheduler and
//! then requires `unsafe fn`: that `unsafe` accepts the migrating mode's
//! contract (see `gort::Builder::migrating`). The body itself is an
//! ordinary safe closure; it gets no `unsafe` context from the declaration.

mod select;

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ItemFn, Meta, ReturnType, Token};

/// Which scheduler modes a `#[gort::main]`/`#[gort::test]` runs in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Modes {
    Safe,
    Migrating,
    Both,
}

/// Builder settings accepted as attribute arguments:
/// `#[gort::main(gomaxprocs = 2, stack_size = 1048576)]`, plus the mode
/// flags `migrating` and (tests only) `both`.
fn builder_calls(args: TokenStream, what: &str) -> syn::Result<(TokenStream2, Modes)> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse(args)?;
    let mut calls = TokenStream2::new();
    let mut modes = Modes::Safe;
    for m in metas {
        if let Meta::Path(p) = &m {
            if p.is_ident("migrating") {
                modes = Modes::Migrating;
                continue;
            }
            if p.is_ident("both") && what == "test" {
                modes = Modes::Both;
                continue;
            }
        }
        let Meta::NameValue(nv) = m else {
            return Err(syn::Error::new(
                m.span(),
                "expected `gomaxprocs = N`, `stack_size = N`, `migrating` or (tests) `both`",
            ));
        };
        let value: &Expr = &nv.value;
        if nv.path.is_ident("gomaxprocs") {
            calls.extend(quote! { .gomaxprocs(#value) });
        } else if nv.path.is_ident("stack_size") {
            calls.extend(quote! { .stack_size(#value) });
        } else {
            return Err(syn::Error::new(
                nv.path.span(),
                "unknown setting; expected `gomaxprocs` or `stack_size`",
            ));
        }
    }
    Ok((calls, modes))
}

fn check_signature(f: &ItemFn, what: &str, modes: Modes) -> syn::Result<()> {
    match (modes, f.sig.unsafety.is_some()) {
        (Modes::Safe, true) => {
            return Err(syn::Error::new(
                f.sig.fn_token.span(),
                format!(
                    "#[gort::{what}] runs in the safe scheduler mode, which needs no `unsafe`: \
                     drop it, or write #[gort::{what}(migrating)] to opt into Go's migrating \
                     scheduler (see the `gort` crate docs, section \"Soundness\")"
                ),
            ));
        }
        (Modes::Migrating | Modes::Both, false) => {
            return Err(syn::Error::new(
                f.sig.fn_token.span(),
                format!(
                    "#[gort::{what}(migrating)] needs `unsafe fn`: the migrating scheduler moves \
                     goroutines between OS threads at any park, and writing `unsafe` accepts \
                     its contract (see `gort::Builder::migrating`)"
                ),
            ));
        }
        _ => {}
    }
    if !f.sig.inputs.is_empty() {
        return Err(syn::Error::new(
            f.sig.inputs.span(),
            format!("#[gort::{what}] functions take no arguments"),
        ));
    }
    if f.sig.asyncness.is_some() {
        return Err(syn::Error::new(
            f.sig.span(),
            "gort runs goroutines, not futures: drop `async`",
        ));
    }
    Ok(())
}

/// Runs `fn main()` as the main goroutine of a gort runtime, as Go runs
/// `main.main`: when it returns the process exits (status 0, or 1 if it
/// returns an `Err`), whatever other goroutines are doing.
///
/// ```ignore
/// #[gort::main]
/// fn main() {
///     let h = gort::spawn(|| 6 * 7);
///     println!("{}", h.join().unwrap());
/// }
/// ```
///
/// The runtime is in the safe scheduler mode. `#[gort::main(migrating)]
/// unsafe fn main()` opts into Go's migrating scheduler; the `unsafe`
/// accepts the contract of `gort::Builder::migrating`.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, "main")
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

/// Runs `fn` as a test whose body is the main goroutine of a fresh gort
/// runtime; the test ends when the body returns.
///
/// A panic in the body (the main goroutine) fails the test as usual, so
/// assertions and `#[should_panic]` work. A panic that escapes any *other*
/// goroutine ends the whole test process with Go's report and status 2, as
/// it would end a Go program.
///
/// `#[gort::test(migrating)] unsafe fn` runs the test in the migrating
/// mode only; `#[gort::test(both)] unsafe fn name` makes two tests, `name`
/// (safe mode) and `name_migrating`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, "test")
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

fn expand(args: TokenStream, item: TokenStream, what: &str) -> syn::Result<TokenStream2> {
    let (calls, modes) = builder_calls(args, what)?;
    let f: ItemFn = syn::parse(item)?;
    check_signature(&f, what, modes)?;
    let attrs = &f.attrs;
    let vis = &f.vis;
    let name = &f.sig.ident;
    let body = &f.block;
    let ret = match &f.sig.output {
        ReturnType::Default => quote! { () },
        ReturnType::Type(_, t) => quote! { #t },
    };
    let span = Span::call_site();
    let builder = |migrating: bool| {
        if migrating {
            quote_spanned! {span=>
                // SAFETY: the `unsafe` on the annotated function is the
                // program's acceptance of the migrating mode's contract.
                unsafe { ::gort::Builder::new() #calls .migrating() }
            }
        } else {
            quote_spanned! {span=> ::gort::Builder::new() #calls }
        }
    };
    let out = if what == "main" {
        let b = builder(modes == Modes::Migrating);
        quote_spanned! {span=>
            #(#attrs)*
            #vis fn #name() {
                let __gort_main = move || -> #ret #body;
                #b.run_main(__gort_main)
            }
        }
    } else {
        let one = |fname: &syn::Ident, migrating: bool| {
            let b = builder(migrating);
            quote_spanned! {span=>
                #[::core::prelude::v1::test]
                #(#attrs)*
                #vis fn #fname() -> #ret {
                    let __gort_test = move || -> #ret #body;
                    #b.block_on(__gort_test)
                }
            }
        };
        match modes {
            Modes::Safe => one(name, false),
            Modes::Migrating => one(name, true),
            Modes::Both => {
                let m = syn::Ident::new(&format!("{name}_migrating"), name.span());
                let a = one(name, false);
                let b = one(&m, true);
                quote! { #a #b }
            }
        }
    };
    Ok(out)
}

/// Go's `select` statement; see `gort::select!` for the documentation.
#[proc_macro]
pub fn select(input: TokenStream) -> TokenStream {
    match syn::parse::<select::Select>(input) {
        Ok(sel) => select::expand(sel).into(),
        Err(e) => e.to_compile_error().into(),
    }
}
