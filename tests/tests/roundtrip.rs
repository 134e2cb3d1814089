//! Property tests: every fixture type survives pack → unpack, and unpacking arbitrary bytes
//! returns an error or a value but never panics.
//!
//! Strategies are written by hand. Floats are generated from arbitrary bit patterns as well as
//! from proptest's float strategies, so NaNs (with any payload), infinities, subnormals and
//! `-0.0` all appear; values are compared with floats *by bits* (see [`RoundTrip::same`]), which
//! keeps NaN in the test instead of excluding it.
//!
//! Unpacking is canonical up to padding: bytes that unpack successfully pack back to the same
//! bytes, except that `#[wire(pad)]` bytes and `@` alignment gaps come back as zeros. Both are
//! ignored on unpack by design (`docs/WIRE.md`; Python's `struct` ignores them too), so the
//! properties compare against the input with those bytes zeroed ([`padding_mask`]), and
//! [`padding_bytes_are_ignored_on_unpack`] pins the behaviour down.

use crate::fixtures::{
    Arrays, Cell, Empty, Kind, Native, Numbers, Pair, Request, Response, Sign, Texts,
};
use core::fmt::Debug;
use half::f16;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use rpc_runtime::wire::layout::{Item, align_up, counted_run};
use rpc_runtime::wire::{ListIter, pack_list, unpack_list, unpack_list_from};
use rpc_runtime::{FixedStr, PascalStr, Wire, WireError};

/// 256 cases per property; failures are not persisted to files next to the sources.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// What the properties need to know about a fixture type beyond [`Wire`].
pub(crate) trait RoundTrip: Wire + Debug + Clone {
    /// The value that unpacking `self.pack()` must give: `self`, with padding fields zeroed.
    fn packed_form(&self) -> Self {
        self.clone()
    }

    /// Equality with floats compared by bits, so that NaN equals itself.
    fn same(&self, other: &Self) -> bool;
}

macro_rules! round_trip_by_eq {
    ($($ty:ty),* $(,)?) => {$(
        impl RoundTrip for $ty {
            fn same(&self, other: &Self) -> bool {
                self == other
            }
        }
    )*};
}

round_trip_by_eq!(Request, Response, Kind, Sign, Cell, Arrays, Pair, Empty);

impl RoundTrip for Texts {
    fn packed_form(&self) -> Self {
        Texts {
            _pad: [0; 3],
            ..self.clone()
        }
    }

    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

impl RoundTrip for Numbers {
    fn same(&self, o: &Self) -> bool {
        (
            self.a, self.b, self.c, self.d, self.e, self.f, self.g, self.h, self.flag,
        ) == (o.a, o.b, o.c, o.d, o.e, o.f, o.g, o.h, o.flag)
            && self.x.to_bits() == o.x.to_bits()
            && self.y.to_bits() == o.y.to_bits()
            && self.z.to_bits() == o.z.to_bits()
    }
}

impl RoundTrip for Native {
    fn same(&self, o: &Self) -> bool {
        (self.a, self.b, self.c, &self.cell, &self.cells, self.e)
            == (o.a, o.b, o.c, &o.cell, &o.cells, o.e)
            && self.d.to_bits() == o.d.to_bits()
    }
}

/// Which bytes of a packed `T` are padding: `#[wire(pad)]` fields (`x`) and `@` alignment gaps.
fn padding_mask<T: Wire>() -> Vec<bool> {
    fn walk(layout: &[Item], mut pos: usize, native: bool, mask: &mut Vec<bool>) -> usize {
        for item in layout {
            pos = match *item {
                Item::Prim {
                    code,
                    count,
                    size,
                    align,
                } => {
                    let at = if native { align_up(pos, align) } else { pos };
                    let end = at + count * size;
                    mask.resize(at, true);
                    mask.resize(end, code == b'x');
                    end
                }
                Item::Field { layout, .. } | Item::Typed { layout, .. } => {
                    walk(layout, pos, native, mask)
                }
                Item::Repeat { count, layout } => match counted_run(layout) {
                    Some((_, size, align)) => {
                        let at = if native { align_up(pos, align) } else { pos };
                        mask.resize(at, true);
                        mask.resize(at + count * size, false);
                        at + count * size
                    }
                    None => (0..count).fold(pos, |pos, _| walk(layout, pos, native, mask)),
                },
                other => panic!("layout item {other:?} is new to these tests"),
            };
        }
        pos
    }
    let mut mask = Vec::new();
    let end = walk(T::LAYOUT, 0, T::ORDER.is_native_aligned(), &mut mask);
    assert_eq!(
        (end, mask.len()),
        (T::SIZE, T::SIZE),
        "layout covers SIZE bytes"
    );
    mask
}

/// `record` with its padding bytes zeroed: what packing its unpacked value must give.
pub(crate) fn canonical<T: Wire>(record: &[u8]) -> Vec<u8> {
    record
        .iter()
        .zip(padding_mask::<T>())
        .map(|(&b, pad)| if pad { 0 } else { b })
        .collect()
}

/// A list's bytes with the padding of every record zeroed.
fn canonical_list<T: Wire>(bytes: &[u8]) -> Vec<u8> {
    let (head, body) = bytes.split_at(4);
    let mut out = head.to_vec();
    for record in body.chunks(T::SIZE.max(1)) {
        out.extend(canonical::<T>(record));
    }
    out
}

/// The 4-byte list count in `T`'s byte order.
fn count_bytes<T: Wire>(count: u32) -> [u8; 4] {
    if T::ORDER.is_little_endian() {
        count.to_le_bytes()
    } else {
        count.to_be_bytes()
    }
}

// Strategies.

pub(crate) fn bytes(
    len: impl Into<proptest::collection::SizeRange>,
) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), len)
}

pub(crate) fn f16s() -> impl Strategy<Value = f16> {
    prop_oneof![
        any::<u16>().prop_map(f16::from_bits),
        any::<f32>().prop_map(f16::from_f32),
    ]
}

pub(crate) fn f32s() -> impl Strategy<Value = f32> {
    prop_oneof![any::<f32>(), any::<u32>().prop_map(f32::from_bits)]
}

pub(crate) fn f64s() -> impl Strategy<Value = f64> {
    prop_oneof![any::<f64>(), any::<u64>().prop_map(f64::from_bits)]
}

/// Keeps the longest prefix of `chars` that fits in `capacity` bytes of UTF-8.
fn fit(chars: Vec<char>, capacity: usize) -> String {
    let mut s = String::new();
    for c in chars {
        if s.len() + c.len_utf8() <= capacity {
            s.push(c);
        }
    }
    s
}

/// Any string of up to `N` UTF-8 bytes without NUL.
pub(crate) fn fixed_str<const N: usize>() -> impl Strategy<Value = FixedStr<N>> {
    vec(any::<char>().prop_filter("no NUL", |&c| c != '\0'), 0..=N)
        .prop_map(|chars| FixedStr::new(&fit(chars, N)).expect("fits and holds no NUL"))
}

/// Any string of up to `PascalStr::<N>::CAPACITY` UTF-8 bytes; NUL is allowed here.
pub(crate) fn pascal_str<const N: usize>() -> impl Strategy<Value = PascalStr<N>> {
    vec(any::<char>(), 0..=PascalStr::<N>::CAPACITY)
        .prop_map(|chars| PascalStr::new(&fit(chars, PascalStr::<N>::CAPACITY)).expect("fits"))
}

pub(crate) fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Deposit),
        Just(Kind::Withdraw),
        Just(Kind::Transfer)
    ]
}

pub(crate) fn sign() -> impl Strategy<Value = Sign> {
    prop_oneof![Just(Sign::Minus), Just(Sign::Zero), Just(Sign::Plus)]
}

prop_compose! {
    pub(crate) fn request()(id in any::<u32>(), amount in any::<i64>(), name in any::<[u8; 32]>()) -> Request {
        Request { id, amount, name }
    }
}

prop_compose! {
    pub(crate) fn response()(id in any::<u32>(), balance in any::<i64>(), ok in any::<bool>()) -> Response {
        Response { id, balance, ok }
    }
}

prop_compose! {
    pub(crate) fn numbers()(
        a in any::<u8>(), b in any::<i8>(), c in any::<u16>(), d in any::<i16>(),
        e in any::<u32>(), f in any::<i32>(), g in any::<u64>(), h in any::<i64>(),
        x in f32s(), y in f64s(), z in f16s(), flag in any::<bool>(),
    ) -> Numbers {
        Numbers { a, b, c, d, e, f, g, h, x, y, z, flag }
    }
}

prop_compose! {
    /// `_pad` is arbitrary: it packs as zeros whatever it holds.
    pub(crate) fn texts()(
        kind in kind(), name in fixed_str::<12>(), _pad in any::<[u8; 3]>(),
        note in pascal_str::<8>(), raw in any::<[u8; 4]>(), sign in sign(),
    ) -> Texts {
        Texts { kind, name, _pad, note, raw, sign }
    }
}

prop_compose! {
    pub(crate) fn cell()(tag in any::<i8>(), value in any::<i32>()) -> Cell {
        Cell { tag, value }
    }
}

prop_compose! {
    pub(crate) fn native()(
        a in any::<u8>(), b in any::<u64>(), c in any::<u16>(), cell in cell(),
        cells in [cell(), cell()], d in f64s(), e in any::<u8>(),
    ) -> Native {
        Native { a, b, c, cell, cells, d, e }
    }
}

prop_compose! {
    pub(crate) fn arrays()(
        ints in any::<[i32; 4]>(), grid in any::<[[u16; 2]; 3]>(),
        flags in any::<[bool; 3]>(), blobs in any::<[[u8; 2]; 2]>(),
    ) -> Arrays {
        Arrays { ints, grid, flags, blobs }
    }
}

prop_compose! {
    pub(crate) fn pair()(first in any::<u16>(), second in response()) -> Pair {
        Pair(first, second)
    }
}

pub(crate) fn empty() -> impl Strategy<Value = Empty> {
    Just(Empty)
}

/// Bytes to unpack a `T` from: any length, exactly `SIZE` random bytes, or a valid packing with
/// a few bytes overwritten (which reaches the string, enum and bool checks far more often).
pub(crate) fn candidate_bytes<T: RoundTrip>(
    values: impl Strategy<Value = T>,
) -> impl Strategy<Value = Vec<u8>> {
    let mutated = (values, vec((any::<Index>(), any::<u8>()), 0..4)).prop_map(|(value, edits)| {
        let mut bytes = value.to_vec();
        if !bytes.is_empty() {
            for (at, byte) in edits {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
        }
        bytes
    });
    prop_oneof![bytes(0..=2 * T::SIZE + 4), bytes(T::SIZE), mutated]
}

/// Bytes to unpack a list of `T` from: anything, or a count (half the time the right one) and
/// candidate records.
pub(crate) fn candidate_list_bytes<T: RoundTrip>(
    values: impl Strategy<Value = T>,
) -> impl Strategy<Value = Vec<u8>> {
    let records = (vec(candidate_bytes(values), 0..4), any::<bool>(), 0u32..4).prop_map(
        |(records, right_count, count)| {
            let count = if right_count {
                records.len() as u32
            } else {
                count
            };
            let mut out = count_bytes::<T>(count).to_vec();
            out.extend(records.concat());
            out
        },
    );
    prop_oneof![bytes(0..64), records]
}

// The properties, shared by every type.

fn round_trip<T: RoundTrip>(value: &T) -> Result<(), TestCaseError> {
    let bytes = value.pack();
    let bytes = bytes.as_ref();
    prop_assert_eq!(bytes.len(), T::SIZE);
    prop_assert_eq!(value.to_vec(), bytes);
    let back = T::unpack(bytes);
    let expected = value.packed_form();
    prop_assert!(
        matches!(&back, Ok(back) if back.same(&expected)),
        "unpack(pack(x)) = {back:?}, expected Ok({expected:?})"
    );
    Ok(())
}

fn unpack_from_returns_rest<T: RoundTrip>(
    value: &T,
    prefix: &[u8],
    suffix: &[u8],
) -> Result<(), TestCaseError> {
    let buf = [prefix, value.pack().as_ref(), suffix].concat();
    match T::unpack_from(&buf, prefix.len()) {
        Ok((back, rest)) => {
            prop_assert!(
                back.same(&value.packed_form()),
                "got {back:?} for {value:?}"
            );
            prop_assert_eq!(rest, suffix);
        }
        Err(e) => prop_assert!(false, "unpack_from failed: {e}"),
    }
    Ok(())
}

fn unpack_from_past_the_end_is_short_input<T: RoundTrip>(
    buf: &[u8],
    beyond: usize,
) -> Result<(), TestCaseError> {
    let offset = buf.len() + beyond;
    prop_assert_eq!(
        T::unpack_from(buf, offset).map(|(v, rest)| (v.to_vec(), rest.len())),
        Err(WireError::ShortInput {
            needed: T::SIZE,
            got: 0,
            offset,
        })
    );
    Ok(())
}

fn pack_into_checks_length<T: RoundTrip>(value: &T, len: usize) -> Result<(), TestCaseError> {
    let mut buf = vec![0xa5; len];
    let result = value.pack_into(&mut buf);
    if len < T::SIZE {
        prop_assert_eq!(
            result,
            Err(WireError::BufferTooSmall {
                needed: T::SIZE,
                got: len,
            })
        );
        prop_assert!(buf.iter().all(|&b| b == 0xa5), "buffer was written to");
    } else {
        prop_assert_eq!(result, Ok(T::SIZE));
        let packed = value.to_vec();
        prop_assert_eq!(&buf[..T::SIZE], packed.as_slice());
        prop_assert!(buf[T::SIZE..].iter().all(|&b| b == 0xa5), "wrote past SIZE");
    }
    Ok(())
}

fn unpack_is_total_and_canonical<T: RoundTrip>(bytes: &[u8]) -> Result<(), TestCaseError> {
    match T::unpack(bytes) {
        Ok(value) => {
            prop_assert_eq!(bytes.len(), T::SIZE);
            prop_assert_eq!(value.to_vec(), canonical::<T>(bytes), "value {:?}", value);
        }
        Err(WireError::ShortInput { needed, got, .. }) if bytes.len() < T::SIZE => {
            prop_assert_eq!((needed, got), (T::SIZE, bytes.len()));
        }
        Err(WireError::TrailingBytes { expected, extra }) => {
            prop_assert_eq!((expected, expected + extra), (T::SIZE, bytes.len()));
        }
        Err(e) => prop_assert_eq!(bytes.len(), T::SIZE, "{}", e),
    }
    Ok(())
}

fn unpack_from_is_total<T: RoundTrip>(bytes: &[u8], offset: usize) -> Result<(), TestCaseError> {
    match T::unpack_from(bytes, offset) {
        Ok((value, rest)) => {
            let end = offset + T::SIZE;
            prop_assert!(end <= bytes.len(), "Ok for a record past the end");
            prop_assert_eq!(rest, &bytes[end..]);
            prop_assert_eq!(value.to_vec(), canonical::<T>(&bytes[offset..end]));
        }
        Err(WireError::ShortInput { offset: at, .. }) => prop_assert!(at >= offset),
        Err(e) => prop_assert!(offset + T::SIZE <= bytes.len(), "{}", e),
    }
    Ok(())
}

fn list_round_trip<T: RoundTrip>(
    items: &[T],
    prefix: &[u8],
    suffix: &[u8],
) -> Result<(), TestCaseError> {
    let bytes = match pack_list(items) {
        Ok(bytes) => bytes,
        Err(e) => return Err(TestCaseError::fail(format!("pack_list failed: {e}"))),
    };
    prop_assert_eq!(bytes.len(), 4 + items.len() * T::SIZE);
    let count = u32::try_from(items.len()).expect("few items");
    prop_assert_eq!(&bytes[..4], &count_bytes::<T>(count)[..]);

    let expected: Vec<T> = items.iter().map(RoundTrip::packed_form).collect();
    let same = |back: &[T]| {
        back.len() == expected.len() && back.iter().zip(&expected).all(|(a, b)| a.same(b))
    };
    match unpack_list::<T>(&bytes) {
        Ok(back) => prop_assert!(same(&back), "got {back:?}, expected {expected:?}"),
        Err(e) => prop_assert!(false, "unpack_list failed: {e}"),
    }

    let buf = [prefix, &bytes, suffix].concat();
    match unpack_list_from::<T>(&buf, prefix.len()) {
        Ok((back, rest)) => {
            prop_assert!(same(&back), "got {back:?}, expected {expected:?}");
            prop_assert_eq!(rest, suffix);
        }
        Err(e) => prop_assert!(false, "unpack_list_from failed: {e}"),
    }
    match ListIter::<T>::new(&buf, prefix.len()) {
        Ok(iter) => prop_assert_eq!(iter.len(), items.len()),
        Err(e) => prop_assert!(false, "ListIter::new failed: {e}"),
    }
    Ok(())
}

fn unpack_list_is_total_and_canonical<T: RoundTrip>(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(items) = unpack_list::<T>(bytes) {
        let again = pack_list(&items);
        prop_assert_eq!(again, Ok(canonical_list::<T>(bytes)), "items {:?}", items);
    }
    if let Ok(iter) = ListIter::<T>::new(bytes, 0) {
        let n = iter.len();
        prop_assert_eq!(iter.count(), n);
    }
    Ok(())
}

fn count_too_large<T: RoundTrip>(items: &[T], extra: u32) -> Result<(), TestCaseError> {
    let mut bytes = pack_list(items).expect("few items");
    let claim = items.len() as u32 + extra;
    bytes[..4].copy_from_slice(&count_bytes::<T>(claim));
    match unpack_list::<T>(&bytes) {
        Err(WireError::CountTooLarge {
            count,
            available,
            offset,
        }) => {
            prop_assert_eq!((count, offset), (u64::from(claim), 0));
            if T::SIZE > 0 {
                prop_assert_eq!(available, items.len());
            }
        }
        other => prop_assert!(false, "claim {claim} gave {other:?}"),
    }
    Ok(())
}

/// One module of properties per fixture type.
macro_rules! properties {
    ($($module:ident: $ty:ty = $values:expr;)*) => {$(
        mod $module {
            use super::*;

            proptest! {
                #![proptest_config(config())]

                #[test]
                fn unpack_of_pack_is_identity(value in $values) {
                    round_trip(&value)?;
                }

                #[test]
                fn unpack_from_returns_value_and_rest(
                    value in $values,
                    prefix in bytes(0..24),
                    suffix in bytes(0..24),
                ) {
                    unpack_from_returns_rest(&value, &prefix, &suffix)?;
                }

                #[test]
                fn unpack_from_past_the_end_fails(buf in bytes(0..24), beyond in 1usize..16) {
                    unpack_from_past_the_end_is_short_input::<$ty>(&buf, beyond)?;
                }

                #[test]
                fn pack_into_rejects_small_buffers(
                    value in $values,
                    len in 0..=2 * <$ty>::SIZE + 2,
                ) {
                    pack_into_checks_length(&value, len)?;
                }

                #[test]
                fn unpack_never_panics_and_is_canonical(bytes in candidate_bytes($values)) {
                    unpack_is_total_and_canonical::<$ty>(&bytes)?;
                }

                #[test]
                fn unpack_from_never_panics(
                    bytes in candidate_bytes($values),
                    offset in 0usize..8,
                ) {
                    unpack_from_is_total::<$ty>(&bytes, offset)?;
                }
            }
        }
    )*};
}

/// List properties per fixture type; lists of zero-size records do not compile (see below).
macro_rules! list_properties {
    ($($module:ident: $ty:ty = $values:expr;)*) => {$(
        mod $module {
            use super::*;

            proptest! {
                #![proptest_config(config())]

                #[test]
                fn list_round_trips(
                    items in vec($values, 0..6),
                    prefix in bytes(0..8),
                    suffix in bytes(0..8),
                ) {
                    list_round_trip(&items, &prefix, &suffix)?;
                }

                #[test]
                fn unpack_list_never_panics_and_is_canonical(
                    bytes in candidate_list_bytes($values),
                ) {
                    unpack_list_is_total_and_canonical::<$ty>(&bytes)?;
                }

                #[test]
                fn list_count_beyond_the_records_is_count_too_large(
                    items in vec($values, 0..4),
                    extra in 1..=u32::MAX - 4,
                ) {
                    count_too_large(&items, extra)?;
                }
            }
        }
    )*};
}

list_properties! {
    request_list: Request = request();
    response_list: Response = response();
    numbers_list: Numbers = numbers();
    kind_list: Kind = kind();
    sign_list: Sign = sign();
    texts_list: Texts = texts();
    cell_list: Cell = cell();
    native_list: Native = native();
    arrays_list: Arrays = arrays();
    pair_list: Pair = pair();
}

properties! {
    request: Request = request();
    response: Response = response();
    numbers: Numbers = numbers();
    kind: Kind = kind();
    sign: Sign = sign();
    texts: Texts = texts();
    cell: Cell = cell();
    native: Native = native();
    arrays: Arrays = arrays();
    pair: Pair = pair();
    empty: Empty = empty();
}

/// `#[wire(pad)]` bytes and `@` alignment gaps are skipped on unpack (as Python skips them) and
/// packed as zeros, so these records unpack but do not pack back to the same bytes.
#[test]
fn padding_bytes_are_ignored_on_unpack() {
    fn fill_padding<T: RoundTrip>(value: &T) -> (Vec<u8>, usize) {
        let mut bytes = value.to_vec();
        let mask = padding_mask::<T>();
        for (b, _) in bytes.iter_mut().zip(&mask).filter(|(_, pad)| **pad) {
            *b = 0xff;
        }
        (bytes, mask.iter().filter(|pad| **pad).count())
    }

    let texts = Texts {
        kind: Kind::Deposit,
        name: FixedStr::new("a").expect("fits"),
        _pad: [0; 3],
        note: PascalStr::new("b").expect("fits"),
        raw: [1, 2, 3, 4],
        sign: Sign::Plus,
    };
    let (bytes, padding) = fill_padding(&texts);
    assert_eq!(padding, 3);
    assert_eq!(Texts::unpack(&bytes), Ok(texts.clone()));
    assert_ne!(texts.to_vec(), bytes);

    let cell = Cell { tag: 1, value: 2 };
    let native = Native {
        a: 1,
        b: 2,
        c: 3,
        cell: cell.clone(),
        cells: [cell.clone(), cell],
        d: 4.0,
        e: 5,
    };
    let (bytes, padding) = fill_padding(&native);
    assert!(padding > 0, "`@` puts gaps before b and each value");
    assert_eq!(Native::unpack(&bytes), Ok(native.clone()));
    assert_ne!(native.to_vec(), bytes);
}
