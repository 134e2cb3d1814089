//! `#[service]` under the settings of the crate root: no prelude, strict lints, shadowed names.

/// What a test returns: `?` works on every error.
type TestResult = ::core::result::Result<(), ::std::boxed::Box<dyn ::std::error::Error>>;

/// Serves `service` on a free local port: the running server and a blocking client of it.
fn serve(
    service: impl ::rpc_runtime::Service,
) -> ::core::result::Result<
    (
        ::rpc_runtime::server::RunningServer,
        ::rpc_runtime::BlockingClient,
    ),
    ::std::boxed::Box<dyn ::std::error::Error>,
> {
    let server = ::rpc_runtime::Server::builder()
        .listen("tcp://127.0.0.1:0".parse()?)
        .serve(service)
        .bind()?
        .spawn()?;
    let client =
        ::rpc_runtime::BlockingClient::new(::core::clone::Clone::clone(&server.endpoints()[0]));
    ::core::result::Result::Ok((server, client))
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
    fn serve_and_call() -> super::TestResult {
        let (server, client) = super::serve(ServeCalc::new(Calculator))?;
        let calc = CalcBlockingClient::new(client);

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
    fn serve_and_call() -> super::TestResult {
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
    use crate::wire::primitive_names::{str, u8, u16, usize};

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
    fn serve_and_call() -> super::TestResult {
        let (server, client) = super::serve(ServeEcho::new(Mirror))?;
        let echo = EchoBlockingClient::new(client);
        ::std::assert_eq!(echo.echo(S { byte: 9 })?, S { byte: 9 });
        server.stop();
        ::core::result::Result::Ok(())
    }
}

/// Items named like the bindings the expansions made before they all took a `__rpc_` or
/// `__wire_` prefix: `request`, `client`, `timeout`, `service`, `f`, `value`, `error`. A generated
/// parameter or match binding with one of these names would be read as a pattern that matches
/// the item, and the generated code would not compile.
#[allow(non_camel_case_types, non_upper_case_globals, dead_code)]
pub mod service_binding_names {
    /// A tuple struct called `request`.
    #[derive(::core::fmt::Debug)]
    pub struct request(pub u8);
    /// A tuple struct called `client`.
    #[derive(::core::fmt::Debug)]
    pub struct client(pub u8);
    /// A tuple struct called `timeout`.
    #[derive(::core::fmt::Debug)]
    pub struct timeout(pub u8);
    /// A tuple struct called `service`.
    #[derive(::core::fmt::Debug)]
    pub struct service(pub u8);
    /// A constant called `f`.
    pub const f: u8 = 0;
    /// A constant called `value`.
    pub const value: u8 = 0;
    /// A constant called `error`.
    pub const error: u8 = 0;

    /// A message, whose generated unpacking binds the value and the error of each field.
    #[derive(::rpc_runtime::Wire, ::core::fmt::Debug, ::core::cmp::PartialEq)]
    pub struct Ping {
        /// A number.
        pub number: u16,
    }

    /// A service whose method calls its parameter `request`.
    #[::rpc_runtime::service]
    pub trait Pinger {
        /// Returns the message.
        async fn ping(&self, request: Ping) -> ::core::result::Result<Ping, ()>;
    }

    struct Echo;

    impl Pinger for Echo {
        async fn ping(&self, ping: Ping) -> ::core::result::Result<Ping, ()> {
            ::core::result::Result::Ok(ping)
        }
    }

    #[test]
    fn serve_and_call() -> super::TestResult {
        let (server, inner) = super::serve(ServePinger::new(Echo))?;
        let pinger =
            PingerBlockingClient::new(inner).with_timeout(::core::time::Duration::from_secs(60));
        ::std::assert_eq!(pinger.ping(Ping { number: 7 })?, Ping { number: 7 });
        ::std::assert!(!::std::format!("{:?}", ServePinger::new(Echo)).is_empty());
        server.stop();
        ::core::result::Result::Ok(())
    }
}
