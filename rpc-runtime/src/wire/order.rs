//! Byte orders, named by the prefix characters of Python's `struct` module.

use core::fmt;

/// The byte order (and alignment rule) of a Wire format, as Python's `struct` prefix.
///
/// | variant | prefix | byte order | sizes and alignment |
/// |---|---|---|---|
/// | [`Network`](Self::Network) | `!` | big-endian | standard, no padding |
/// | [`Big`](Self::Big) | `>` | big-endian | standard, no padding |
/// | [`Little`](Self::Little) | `<` | little-endian | standard, no padding |
/// | [`NativeStandard`](Self::NativeStandard) | `=` | the host's | standard, no padding |
/// | [`Native`](Self::Native) | `@` | the host's | C alignment padding between fields |
///
/// As in Python, `@` adds padding *before* a field that needs alignment and never at the end:
/// `struct.calcsize('@bi') == 8` while `struct.calcsize('@ib') == 5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum ByteOrder {
    /// `!`: network order (big-endian), the default.
    #[default]
    Network = b'!',
    /// `>`: big-endian.
    Big = b'>',
    /// `<`: little-endian.
    Little = b'<',
    /// `=`: the host's byte order, standard sizes, no padding.
    NativeStandard = b'=',
    /// `@`: the host's byte order with C alignment padding.
    Native = b'@',
}

impl ByteOrder {
    /// The Python `struct` prefix character.
    ///
    /// ```
    /// use rpc_runtime::wire::ByteOrder;
    /// assert_eq!(ByteOrder::Little.prefix(), '<');
    /// ```
    pub const fn prefix(self) -> char {
        self as u8 as char
    }

    /// Parses a Python prefix character.
    ///
    /// ```
    /// use rpc_runtime::wire::ByteOrder;
    /// assert_eq!(ByteOrder::from_prefix('@'), Some(ByteOrder::Native));
    /// assert_eq!(ByteOrder::from_prefix('x'), None);
    /// ```
    pub const fn from_prefix(c: char) -> Option<ByteOrder> {
        match c {
            '!' => Some(ByteOrder::Network),
            '>' => Some(ByteOrder::Big),
            '<' => Some(ByteOrder::Little),
            '=' => Some(ByteOrder::NativeStandard),
            '@' => Some(ByteOrder::Native),
            _ => None,
        }
    }

    /// Whether multi-byte numbers are written little-endian under this order on this host.
    pub const fn is_little_endian(self) -> bool {
        match self {
            ByteOrder::Network | ByteOrder::Big => false,
            ByteOrder::Little => true,
            ByteOrder::NativeStandard | ByteOrder::Native => cfg!(target_endian = "little"),
        }
    }

    /// Whether fields are aligned with C padding (only `@`).
    pub const fn is_native_aligned(self) -> bool {
        matches!(self, ByteOrder::Native)
    }

    /// The representative of orders that produce identical bytes everywhere (`>` becomes `!`).
    pub const fn canonical(self) -> ByteOrder {
        match self {
            ByteOrder::Big => ByteOrder::Network,
            other => other,
        }
    }
}

impl fmt::Display for ByteOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.prefix())
    }
}

/// A byte order chosen at compile time, so packing code is specialised per order.
///
/// Implemented by zero-sized markers, one per distinct behaviour; generated code names them
/// through [`ByteOrder`] and never needs to by hand.
pub trait Order: Copy + fmt::Debug + Send + Sync + 'static {
    /// Whether numbers are written little-endian.
    const LITTLE: bool;
    /// Whether C alignment padding is inserted (`@`).
    const ALIGNED: bool;
}

/// Big-endian, no padding (`!` and `>`).
#[derive(Debug, Clone, Copy)]
pub struct BigEndian;
/// Little-endian, no padding (`<`).
#[derive(Debug, Clone, Copy)]
pub struct LittleEndian;
/// Host order, no padding (`=`).
#[derive(Debug, Clone, Copy)]
pub struct HostEndian;
/// Host order with C alignment (`@`).
#[derive(Debug, Clone, Copy)]
pub struct HostAligned;

impl Order for BigEndian {
    const LITTLE: bool = false;
    const ALIGNED: bool = false;
}
impl Order for LittleEndian {
    const LITTLE: bool = true;
    const ALIGNED: bool = false;
}
impl Order for HostEndian {
    const LITTLE: bool = cfg!(target_endian = "little");
    const ALIGNED: bool = false;
}
impl Order for HostAligned {
    const LITTLE: bool = cfg!(target_endian = "little");
    const ALIGNED: bool = true;
}
