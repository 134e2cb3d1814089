//! The code `#[derive(Wire)]` and `#[service]` generate names everything by absolute path: it
//! builds without the prelude, with the runtime renamed, next to user items that shadow std
//! names, and under strict lints. Each test also packs and unpacks, or serves and calls, so the
//! generated code is run, not just compiled.

#![no_implicit_prelude]
#![deny(
    missing_docs,
    missing_debug_implementations,
    unused_qualifications,
    unused_results,
    unused_imports,
    unused_extern_crates,
    unused_lifetimes,
    unreachable_pub,
    trivial_casts,
    trivial_numeric_casts,
    single_use_lifetimes,
    non_ascii_idents,
    let_underscore_drop,
    rust_2018_idioms,
    clippy::all,
    clippy::pedantic
)]

extern crate rpc_runtime as renamed;

/// Items that take the names of std's prelude items, so a generated path that is not absolute
/// would find these instead.
#[allow(dead_code)]
pub mod shadows {
    /// Not `core::result::Result`.
    #[derive(::core::fmt::Debug)]
    pub struct Result;
    /// Not `core::option::Option`.
    #[derive(::core::fmt::Debug)]
    pub struct Option;
    /// Not `Ok`.
    #[derive(::core::fmt::Debug)]
    pub struct Ok;
    /// Not `Err`.
    #[derive(::core::fmt::Debug)]
    pub struct Err;
    /// Not `Some`.
    #[derive(::core::fmt::Debug)]
    pub struct Some;
    /// Not `None`.
    #[derive(::core::fmt::Debug)]
    pub struct None;
    /// Not `Vec`.
    #[derive(::core::fmt::Debug)]
    pub struct Vec;
    /// Not `String`.
    #[derive(::core::fmt::Debug)]
    pub struct String;
    /// Not `Box`.
    #[derive(::core::fmt::Debug)]
    pub struct Box;
    /// Not `core::convert::From`.
    pub trait From {}
    /// Not `core::convert::Into`.
    pub trait Into {}
    /// Not `core::default::Default`.
    pub trait Default {}
    /// Not `core::marker::Sized`.
    pub trait Sized {}
    /// Not `core::clone::Clone`.
    pub trait Clone {}
    /// Not `core::iter::Iterator`.
    pub trait Iterator {}
    /// Not `core::ops::Drop`.
    pub trait Drop {}
}

// Shadow the std macros generated code might name without a path. `#[macro_use]` keeps them
// in textual scope for the rest of the crate.
#[macro_use]
#[allow(unused_macros)]
mod shadow_macros {
    macro_rules! panic {
        ($($t:tt)*) => {
            ::core::compile_error!("generated code used an unqualified `panic!`")
        };
    }
    macro_rules! assert {
        ($($t:tt)*) => {
            ::core::compile_error!("generated code used an unqualified `assert!`")
        };
    }
    macro_rules! unreachable {
        ($($t:tt)*) => {
            ::core::compile_error!("generated code used an unqualified `unreachable!`")
        };
    }
}

pub mod service;
pub mod wire;
