//! `#[derive(Wire)]` under the settings of the crate root: no prelude, strict lints, shadowed names.

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
