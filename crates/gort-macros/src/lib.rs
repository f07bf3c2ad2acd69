//! `#[gort::main]` and `#[gort::test]`: run a function as the main goroutine
//! of a gort runtime.
//!
//! Both require the function to be declared `unsafe fn`. That `unsafe` is
//! the program's one acknowledgement of gort's thread-local contract (see
//! the `gort` crate docs, "Soundness"): goroutines move between OS threads
//! at any park, so code on them must not keep a `thread_local!` reference
//! across a park. The body itself is an ordinary safe closure; it gets no
//! `unsafe` context from the declaration.

mod select;

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ItemFn, Meta, ReturnType, Token};

/// Builder settings accepted as attribute arguments:
/// `#[gort::main(gomaxprocs = 2, stack_size = 1048576)]`.
fn builder_calls(args: TokenStream) -> syn::Result<TokenStream2> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse(args)?;
    let mut calls = TokenStream2::new();
    for m in metas {
        let Meta::NameValue(nv) = m else {
            return Err(syn::Error::new(
                m.span(),
                "expected `gomaxprocs = N` or `stack_size = N`",
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
    Ok(calls)
}

fn require_unsafe(f: &ItemFn, what: &str) -> syn::Result<()> {
    if f.sig.unsafety.is_none() {
        return Err(syn::Error::new(
            f.sig.fn_token.span(),
            format!(
                "#[gort::{what}] needs `unsafe fn`: writing `unsafe` accepts gort's thread-local \
                 contract (goroutines may move between OS threads at any park, so no \
                 `thread_local!` reference may be held across one; use `gort::goroutine_local!`). \
                 See the `gort` crate docs, section \"Soundness\"."
            ),
        ));
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

/// Runs `unsafe fn main()` as the main goroutine of a gort runtime, as Go
/// runs `main.main`: when it returns the process exits (status 0, or 1 if it
/// returns an `Err`), whatever other goroutines are doing.
///
/// ```ignore
/// #[gort::main]
/// unsafe fn main() {
///     let h = gort::spawn(|| 6 * 7);
///     println!("{}", h.join().unwrap());
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, "main")
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

/// Runs `unsafe fn` as a test whose body is the main goroutine of a fresh
/// gort runtime; the test ends when the body returns.
///
/// A panic in the body (the main goroutine) fails the test as usual, so
/// assertions and `#[should_panic]` work. A panic that escapes any *other*
/// goroutine ends the whole test process with Go's report and status 2, as
/// it would end a Go program.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, "test")
        .unwrap_or_else(|e| e.to_compile_error())
        .into()
}

fn expand(args: TokenStream, item: TokenStream, what: &str) -> syn::Result<TokenStream2> {
    let calls = builder_calls(args)?;
    let f: ItemFn = syn::parse(item)?;
    require_unsafe(&f, what)?;
    let attrs = &f.attrs;
    let vis = &f.vis;
    let name = &f.sig.ident;
    let body = &f.block;
    let ret = match &f.sig.output {
        ReturnType::Default => quote! { () },
        ReturnType::Type(_, t) => quote! { #t },
    };
    let span = Span::call_site();
    let out = if what == "main" {
        quote_spanned! {span=>
            #(#attrs)*
            #vis fn #name() {
                let __gort_main = move || -> #ret #body;
                // SAFETY: the `unsafe` on this function is the program's
                // acceptance of gort's thread-local contract.
                unsafe { ::gort::Builder::new() #calls .run_main(__gort_main) }
            }
        }
    } else {
        quote_spanned! {span=>
            #[::core::prelude::v1::test]
            #(#attrs)*
            #vis fn #name() -> #ret {
                let __gort_test = move || -> #ret #body;
                // SAFETY: the `unsafe` on this function is the test's
                // acceptance of gort's thread-local contract.
                unsafe { ::gort::Builder::new() #calls .block_on(__gort_test) }
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
