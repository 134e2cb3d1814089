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

/// The runtime under its own name, default path, shadowed names all around.
pub mod default_path {
    #[allow(unused_imports)]
    use crate::shadows::{
        Box, Clone, Default, Drop, Err, From, Into, Iterator, None, Ok, Option, Result, Sized,
        Some, String, Vec,
    };

    /// A record whose fields use every kind of generated code path.
    #[derive(::rpc_runtime::Wire, ::core::fmt::Debug, ::core::cmp::PartialEq)]
    pub struct Record {
        /// A plain number.
        pub id: u32,
        /// Padding.
        #[wire(pad)]
        pub reserved: [u8; 2],
        /// Text.
        pub name: ::rpc_runtime::FixedStr<8>,
        /// An enum.
        pub kind: Kind,
        /// A nested struct.
        pub nested: Nested,
        /// An array of nested structs.
        pub many: [Nested; 2],
    }

    /// A C-like enum.
    #[derive(
        ::rpc_runtime::Wire,
        ::core::fmt::Debug,
        ::core::cmp::PartialEq,
        ::core::clone::Clone,
        ::core::marker::Copy,
    )]
    #[repr(i16)]
    pub enum Kind {
        /// Negative.
        Minus = -1,
        /// Implicit zero.
        Zero,
    }

    /// A nested struct, tuple-shaped.
    #[derive(::rpc_runtime::Wire, ::core::fmt::Debug, ::core::cmp::PartialEq)]
    pub struct Nested(pub u8, pub bool);

    #[test]
    fn round_trip() {
        use ::rpc_runtime::Wire as _;

        let record = Record {
            id: 7,
            reserved: [0; 2],
            name: match ::rpc_runtime::FixedStr::new("hygiene") {
                ::core::result::Result::Ok(name) => name,
                ::core::result::Result::Err(e) => ::core::panic!("{e}"),
            },
            kind: Kind::Minus,
            nested: Nested(1, true),
            many: [Nested(2, false), Nested(3, true)],
        };
        ::std::assert_eq!(Record::FORMAT, "!I2x8shB?B?B?");
        let bytes = record.pack();
        ::std::assert_eq!(bytes.len(), Record::SIZE);
        ::std::assert_eq!(&bytes[..4], &[0, 0, 0, 7]);
        ::std::assert_eq!(&bytes[14..16], &[0xff, 0xff]);
        ::std::assert_eq!(Record::unpack(&bytes), ::core::result::Result::Ok(record));
        ::std::assert!(::core::result::Result::is_err(&Kind::unpack(&[0, 5])));
    }
}

/// User types named like std ones may themselves be Wire types and fields.
pub mod std_names {
    /// A Wire struct called `Option`.
    #[derive(::rpc_runtime::Wire, ::core::fmt::Debug, ::core::cmp::PartialEq)]
    #[wire(order = "<")]
    pub struct Option {
        /// Whether `value` is meaningful.
        pub present: bool,
        /// The value.
        pub value: u16,
    }

    /// A Wire enum called `Result`, with variants called `Ok` and `Err`.
    #[derive(
        ::rpc_runtime::Wire,
        ::core::fmt::Debug,
        ::core::cmp::PartialEq,
        ::core::clone::Clone,
        ::core::marker::Copy,
    )]
    #[repr(u8)]
    pub enum Result {
        /// Success.
        Ok = 0,
        /// Failure.
        Err = 1,
    }

    /// A record made of them.
    #[derive(::rpc_runtime::Wire, ::core::fmt::Debug, ::core::cmp::PartialEq)]
    #[wire(order = "<")]
    pub struct Reply {
        /// The user's `Result`.
        pub result: Result,
        /// The user's `Option`.
        pub option: Option,
    }

    #[test]
    fn round_trip() {
        use ::rpc_runtime::Wire as _;

        let reply = Reply {
            result: Result::Err,
            option: Option {
                present: true,
                value: 0x0102,
            },
        };
        ::std::assert_eq!(Reply::FORMAT, "<B?H");
        ::std::assert_eq!(reply.pack(), [1, 1, 2, 1]);
        ::std::assert_eq!(
            Reply::unpack(&reply.pack()),
            ::core::result::Result::Ok(reply)
        );
    }
}

/// User types named like the primitives the generated signatures use.
#[allow(non_camel_case_types, dead_code)]
pub mod primitive_names {
    /// Not the primitive `usize`.
    #[derive(::core::fmt::Debug)]
    pub struct usize;
    /// Not the primitive `u8`.
    #[derive(::core::fmt::Debug)]
    pub struct u8;
    /// Not the primitive `u16`.
    #[derive(::core::fmt::Debug)]
    pub struct u16;
    /// Not the primitive `str`.
    #[derive(::core::fmt::Debug)]
    pub struct str;

    /// Fields must name the primitives by path here; the derive must too.
    #[derive(::rpc_runtime::Wire, ::core::fmt::Debug, ::core::cmp::PartialEq)]
    pub struct Record {
        /// A byte.
        pub byte: ::core::primitive::u8,
        /// Padding spelled with the primitive's path.
        #[wire(pad)]
        pub reserved: [::core::primitive::u8; 1],
        /// An enum whose `#[repr(u16)]` means the primitive.
        pub kind: Kind,
    }

    /// `#[repr(u16)]` with a user type called `u16` in scope.
    #[derive(
        ::rpc_runtime::Wire,
        ::core::fmt::Debug,
        ::core::cmp::PartialEq,
        ::core::clone::Clone,
        ::core::marker::Copy,
    )]
    #[repr(u16)]
    pub enum Kind {
        /// One.
        One = 1,
    }

    #[test]
    fn round_trip() {
        use ::rpc_runtime::Wire as _;

        let record = Record {
            byte: 5,
            reserved: [0],
            kind: Kind::One,
        };
        ::std::assert_eq!(Record::FORMAT, "!BxH");
        ::std::assert_eq!(record.pack(), [5, 0, 0, 1]);
        ::std::assert_eq!(
            Record::unpack(&record.pack()),
            ::core::result::Result::Ok(record)
        );
    }
}

/// The runtime renamed with `extern crate rpc_runtime as renamed`, named by `#[wire(crate)]`.
pub mod renamed_crate {
    /// Names the runtime through the crate root's `extern crate` item.
    #[derive(crate::renamed::Wire, ::core::fmt::Debug, ::core::cmp::PartialEq)]
    #[wire(crate = crate::renamed)]
    pub struct ThroughRoot {
        /// A number.
        pub id: u64,
    }

    /// Names the runtime from the extern prelude, and picks a byte order in the same attribute.
    #[derive(::renamed::Wire, ::core::fmt::Debug, ::core::cmp::PartialEq)]
    #[wire(crate = ::renamed, order = "@")]
    pub struct Absolute {
        /// A byte.
        pub small: i8,
        /// Aligned to 4 under `@`.
        pub big: i32,
    }

    /// An enum under the renamed runtime.
    #[derive(
        ::renamed::Wire,
        ::core::fmt::Debug,
        ::core::cmp::PartialEq,
        ::core::clone::Clone,
        ::core::marker::Copy,
    )]
    #[wire(crate = ::renamed)]
    #[repr(u32)]
    pub enum Level {
        /// Low.
        Low = 1,
        /// High.
        High = 0x0100_0000,
    }

    #[test]
    fn round_trip() {
        use ::renamed::Wire as _;

        let root = ThroughRoot { id: 1 };
        ::std::assert_eq!(root.pack(), [0, 0, 0, 0, 0, 0, 0, 1]);
        ::std::assert_eq!(
            ThroughRoot::unpack(&root.pack()),
            ::core::result::Result::Ok(root)
        );
        let absolute = Absolute { small: -1, big: 2 };
        ::std::assert_eq!((Absolute::FORMAT, Absolute::SIZE), ("@bi", 8));
        ::std::assert_eq!(
            Absolute::unpack(&absolute.pack()),
            ::core::result::Result::Ok(absolute)
        );
        ::std::assert_eq!(Level::High.pack(), [1, 0, 0, 0]);
        ::std::assert_eq!(
            Level::unpack(&[0, 0, 0, 1]),
            ::core::result::Result::Ok(Level::Low)
        );
    }
}

/// Raw identifiers as type, field and variant names.
#[allow(non_camel_case_types)]
pub mod raw_idents {
    /// A struct named with a keyword.
    #[derive(::rpc_runtime::Wire, ::core::fmt::Debug, ::core::cmp::PartialEq)]
    pub struct r#struct {
        /// A field named with a keyword.
        pub r#type: u8,
        /// Another.
        pub r#loop: r#enum,
    }

    /// An enum named with a keyword.
    #[derive(
        ::rpc_runtime::Wire,
        ::core::fmt::Debug,
        ::core::cmp::PartialEq,
        ::core::clone::Clone,
        ::core::marker::Copy,
    )]
    #[repr(u8)]
    pub enum r#enum {
        /// A variant named with a keyword.
        r#match = 3,
    }

    #[test]
    fn round_trip() {
        use ::rpc_runtime::Wire as _;

        let value = r#struct {
            r#type: 9,
            r#loop: r#enum::r#match,
        };
        ::std::assert_eq!(value.pack(), [9, 3]);
        ::std::assert_eq!(
            r#struct::unpack(&value.pack()),
            ::core::result::Result::Ok(value)
        );
    }
}

/// `#[service]` with the runtime under its own name, shadowed names all around.
pub mod service_default_path {
    #[allow(unused_imports)]
    use crate::shadows::{
        Box, Clone, Default, Drop, Err, From, Into, Iterator, None, Ok, Option, Result, Sized,
        Some, String, Vec,
    };

    /// Two operands.
    #[derive(::rpc_runtime::Wire, ::core::fmt::Debug, ::core::cmp::PartialEq)]
    pub struct Operands {
        /// Left.
        pub a: i64,
        /// Right.
        pub b: i64,
    }

    /// A result.
    #[derive(::rpc_runtime::Wire, ::core::fmt::Debug, ::core::cmp::PartialEq)]
    pub struct Value {
        /// The value.
        pub value: i64,
    }

    /// What can go wrong.
    #[derive(
        ::rpc_runtime::Wire,
        ::core::fmt::Debug,
        ::core::cmp::PartialEq,
        ::core::clone::Clone,
        ::core::marker::Copy,
    )]
    #[repr(u8)]
    pub enum MathError {
        /// The result does not fit.
        Overflow = 1,
    }

    /// Arithmetic, with every kind of message.
    #[::rpc_runtime::service]
    pub trait Calc {
        /// Adds two numbers.
        async fn add(&self, operands: Operands) -> ::core::result::Result<Value, MathError>;
        /// The numbers from zero up to `count`.
        async fn range(
            &self,
            count: Value,
        ) -> ::core::result::Result<::std::vec::Vec<Value>, MathError>;
        /// Sums a list.
        async fn sum(
            &self,
            values: ::std::vec::Vec<Value>,
        ) -> ::core::result::Result<Value, MathError>;
        /// Does nothing, under a keyword's name.
        async fn r#type(&self, request: ()) -> ::core::result::Result<(), ()>;
    }

    struct Calculator;

    impl Calc for Calculator {
        async fn add(&self, o: Operands) -> ::core::result::Result<Value, MathError> {
            match o.a.checked_add(o.b) {
                ::core::option::Option::Some(value) => ::core::result::Result::Ok(Value { value }),
                ::core::option::Option::None => ::core::result::Result::Err(MathError::Overflow),
            }
        }

        async fn range(
            &self,
            count: Value,
        ) -> ::core::result::Result<::std::vec::Vec<Value>, MathError> {
            ::core::result::Result::Ok(::core::iter::Iterator::collect(
                ::core::iter::Iterator::map(0..count.value, |value| Value { value }),
            ))
        }

        async fn sum(
            &self,
            values: ::std::vec::Vec<Value>,
        ) -> ::core::result::Result<Value, MathError> {
            let mut value: i64 = 0;
            for v in values {
                value = match value.checked_add(v.value) {
                    ::core::option::Option::Some(value) => value,
                    ::core::option::Option::None => {
                        return ::core::result::Result::Err(MathError::Overflow);
                    }
                };
            }
            ::core::result::Result::Ok(Value { value })
        }

        async fn r#type(&self, (): ()) -> ::core::result::Result<(), ()> {
            ::core::result::Result::Ok(())
        }
    }

    #[test]
    fn serve_and_call() -> ::core::result::Result<(), ::std::boxed::Box<dyn ::std::error::Error>> {
        let server = ::rpc_runtime::Server::builder()
            .listen("tcp://127.0.0.1:0".parse()?)
            .serve(ServeCalc::new(Calculator))
            .bind()?
            .spawn()?;
        let endpoint = ::core::clone::Clone::clone(&server.endpoints()[0]);
        let calc = CalcBlockingClient::new(::rpc_runtime::BlockingClient::new(endpoint));

        ::std::assert_eq!(calc.add(Operands { a: 2, b: 40 })?, Value { value: 42 });
        let overflow = calc.add(Operands { a: i64::MAX, b: 1 }).unwrap_err();
        ::std::assert_eq!(
            overflow.application(),
            ::core::option::Option::Some(&MathError::Overflow)
        );
        let range = calc.range(Value { value: 3 })?;
        ::std::assert_eq!(
            range,
            [Value { value: 0 }, Value { value: 1 }, Value { value: 2 }]
        );
        ::std::assert_eq!(calc.sum(range)?, Value { value: 3 });
        calc.r#type(())?;

        ::std::assert_eq!(CalcClient::SCHEMA.name, "Calc");
        ::std::assert_eq!(CalcClient::SCHEMA.methods[3].name, "type");
        ::std::assert_eq!(
            CalcClient::SCHEMA.methods[3].id,
            ::rpc_runtime::schema::method_id("Calc", "type")
        );
        server.stop();
        ::core::result::Result::Ok(())
    }
}

/// `#[service]` next to imports of the very names the generated code spells out in full, so an
/// `unused_qualifications` lint on generated paths would fire here.
pub mod service_imported_names {
    #[allow(unused_imports)]
    use ::core::{
        clone::Clone, fmt::Debug, future::Future, marker::Send, marker::Sync, option::Option,
        result::Result,
    };
    #[allow(unused_imports)]
    use ::rpc_runtime::{
        BlockingClient, CallError, Client, Message, Service, schema::ServiceSchema,
    };
    #[allow(unused_imports)]
    use ::std::{boxed::Box, sync::Arc};

    /// A service whose signatures use the imported `Result`.
    #[::rpc_runtime::service]
    pub trait Imports {
        /// Answers.
        async fn ping(&self, request: ()) -> Result<(), ()>;
    }
}

/// `#[service]` with the runtime renamed, named by `crate = ...`.
pub mod service_renamed_crate {
    /// A number.
    #[derive(::renamed::Wire, ::core::fmt::Debug, ::core::cmp::PartialEq)]
    #[wire(crate = ::renamed)]
    pub struct Number {
        /// The value.
        pub value: i32,
    }

    /// Names the runtime from the extern prelude.
    #[::renamed::service(crate = ::renamed)]
    pub trait Negate {
        /// Negates a number.
        async fn negate(&self, number: Number) -> ::core::result::Result<Number, ()>;
    }

    /// Names the runtime through the crate root's `extern crate` item.
    #[crate::renamed::service(crate = crate::renamed)]
    pub trait Identity {
        /// Returns the number.
        async fn same(&self, number: Number) -> ::core::result::Result<Number, ()>;
    }

    struct Math;

    impl Negate for Math {
        async fn negate(&self, n: Number) -> ::core::result::Result<Number, ()> {
            match n.value.checked_neg() {
                ::core::option::Option::Some(value) => ::core::result::Result::Ok(Number { value }),
                ::core::option::Option::None => ::core::result::Result::Err(()),
            }
        }
    }

    impl Identity for Math {
        async fn same(&self, n: Number) -> ::core::result::Result<Number, ()> {
            ::core::result::Result::Ok(n)
        }
    }

    #[test]
    fn serve_and_call() -> ::core::result::Result<(), ::std::boxed::Box<dyn ::std::error::Error>> {
        let server = ::renamed::Server::builder()
            .listen("tcp://127.0.0.1:0".parse()?)
            .serve(ServeNegate::new(Math))
            .serve(ServeIdentity::new(Math))
            .bind()?
            .spawn()?;
        let client =
            ::renamed::BlockingClient::new(::core::clone::Clone::clone(&server.endpoints()[0]));
        let negate = NegateBlockingClient::new(::core::clone::Clone::clone(&client));
        let identity = IdentityBlockingClient::new(client);
        ::std::assert_eq!(negate.negate(Number { value: 5 })?, Number { value: -5 });
        ::std::assert_eq!(
            negate
                .negate(Number { value: i32::MIN })
                .unwrap_err()
                .application(),
            ::core::option::Option::Some(&())
        );
        ::std::assert_eq!(identity.same(Number { value: 7 })?, Number { value: 7 });
        server.stop();
        ::core::result::Result::Ok(())
    }
}

/// `#[service]` next to user types named like the primitives the generated dispatcher takes and
/// like the type parameter of `Serve{Trait}<S>`.
#[allow(non_camel_case_types)]
pub mod service_type_names {
    #[allow(unused_imports)]
    use crate::primitive_names::{str, u8, u16, usize};

    /// Not the primitive `u32`.
    #[derive(::core::fmt::Debug)]
    pub struct u32;

    /// A message called `S`.
    #[derive(::rpc_runtime::Wire, ::core::fmt::Debug, ::core::cmp::PartialEq)]
    pub struct S {
        /// A byte.
        pub byte: ::core::primitive::u8,
    }

    /// Echoes.
    #[::rpc_runtime::service]
    pub trait Echo {
        /// Returns the message.
        async fn echo(&self, s: S) -> ::core::result::Result<S, ()>;
    }

    struct Mirror;

    impl Echo for Mirror {
        async fn echo(&self, s: S) -> ::core::result::Result<S, ()> {
            ::core::result::Result::Ok(s)
        }
    }

    #[test]
    fn serve_and_call() -> ::core::result::Result<(), ::std::boxed::Box<dyn ::std::error::Error>> {
        let server = ::rpc_runtime::Server::builder()
            .listen("tcp://127.0.0.1:0".parse()?)
            .serve(ServeEcho::new(Mirror))
            .bind()?
            .spawn()?;
        let endpoint = ::core::clone::Clone::clone(&server.endpoints()[0]);
        let echo = EchoBlockingClient::new(::rpc_runtime::BlockingClient::new(endpoint));
        ::std::assert_eq!(echo.echo(S { byte: 9 })?, S { byte: 9 });
        server.stop();
        ::core::result::Result::Ok(())
    }
}
