//! Target `list`: count-prefixed lists of records (`unpack_list`, `unpack_list_from`,
//! `ListIter`), for records of one byte, of several byte orders and with `@` padding.
//!
//! Input: a selector byte (which record type, modulo [`RECORDS`]), an offset byte (where the
//! list starts, modulo the buffer length plus two, so one past the end is tried too), then the
//! buffer.

use crate::{Seed, props};
use account_client::api::{AccountStatus, AccountSummary, Entry, EntryKind};
use rpc_runtime::wire::{self, ListIter};
use rpc_runtime::{FixedStr, PascalStr, Wire, WireError};

/// A one-byte record: the smallest a list may hold, so counts can be as large as the input.
#[derive(Wire, Debug, Clone, Copy, PartialEq)]
pub struct Tiny {
    /// A flag; bytes other than 0 and 1 are refused.
    pub flag: bool,
}

/// A little-endian record with a Pascal string.
#[derive(Wire, Debug, Clone, Copy, PartialEq)]
#[wire(order = "<")]
pub struct Little {
    /// A number, little-endian.
    pub a: u16,
    /// Up to four bytes of text after a length byte.
    pub text: PascalStr<5>,
}

/// A record with alignment gaps under `@`: three bytes after `a`, none after `c`.
#[derive(Wire, Debug, Clone, Copy, PartialEq)]
#[wire(order = "@")]
pub struct Aligned {
    /// One byte.
    pub a: u8,
    /// Aligned to 4.
    pub b: u32,
    /// Aligned to 2, no padding after it.
    pub c: u16,
}

/// Checks the list at an offset of a buffer.
pub type ListCheck = fn(&[u8], usize);

/// The record types, by name; the selector byte picks one.
pub const RECORDS: &[(&str, ListCheck)] = &[
    ("Tiny", check_list::<Tiny>),
    ("Little", check_list::<Little>),
    ("Aligned", check_list::<Aligned>),
    ("AccountSummary", check_list::<AccountSummary>),
    ("Entry", check_list::<Entry>),
];

/// Checks one input; see the module docs for its layout.
pub fn check(data: &[u8]) {
    let [selector, offset, buf @ ..] = data else {
        return;
    };
    let (_, check) = RECORDS[usize::from(*selector) % RECORDS.len()];
    check(buf, usize::from(*offset) % (buf.len() + 2));
}

/// The offset an error points at, if it has one.
fn error_offset(error: &WireError) -> Option<usize> {
    match *error {
        WireError::ShortInput { offset, .. }
        | WireError::InvalidUtf8 { offset, .. }
        | WireError::NonZeroPadding { offset, .. }
        | WireError::PascalLength { offset, .. }
        | WireError::InvalidBool { offset, .. }
        | WireError::UnknownDiscriminant { offset, .. }
        | WireError::CountTooLarge { offset, .. } => Some(offset),
        _ => None,
    }
}

/// The count at `offset`, read in `T`'s byte order.
fn count_at<T: Wire>(buf: &[u8], offset: usize) -> usize {
    let bytes: [u8; 4] = buf[offset..offset + 4].try_into().expect("four bytes");
    let count = if T::ORDER.is_little_endian() {
        u32::from_le_bytes(bytes)
    } else {
        u32::from_be_bytes(bytes)
    };
    count as usize
}

fn check_list<T: Wire + core::fmt::Debug + PartialEq>(buf: &[u8], offset: usize) {
    let mask = props::padding(T::LAYOUT, T::ORDER.is_native_aligned());
    let from = wire::unpack_list_from::<T>(buf, offset);
    match ListIter::<T>::new(buf, offset) {
        Ok(iter) => {
            assert!(offset + 4 <= buf.len(), "a list without a count");
            let count = count_at::<T>(buf, offset);
            let start = offset + 4;
            let end = start + count * T::SIZE;
            assert_eq!(iter.len(), count, "the iterator's length is not the count");
            assert!(end <= buf.len(), "the records run past the input");
            assert_eq!(
                iter.rest(),
                &buf[end..],
                "the rest is not what follows the records"
            );
            let mut items = Vec::new();
            let mut first_error = None;
            for (i, item) in iter.enumerate() {
                let at = start + i * T::SIZE;
                let record = &buf[at..at + T::SIZE];
                match item {
                    Ok(value) => {
                        props::assert_canonical(record, value.pack().as_ref(), &mask);
                        items.push(value);
                    }
                    Err(error) => {
                        props::assert_error_describes(&error, buf);
                        let inside =
                            error_offset(&error).is_some_and(|o| (at..at + T::SIZE).contains(&o));
                        assert!(inside, "record {i} at {at}: error elsewhere: {error}");
                        assert!(T::unpack(record).is_err(), "the iterator refused a record");
                        first_error.get_or_insert(error);
                    }
                }
                assert!(i < count, "more records than the count");
            }
            match (from, first_error) {
                (Ok((values, rest)), None) => {
                    assert_eq!(values, items, "unpack_list_from and ListIter disagree");
                    assert_eq!(rest, &buf[end..]);
                    assert_eq!(items.len(), count);
                }
                (Err(error), Some(first)) => assert_eq!(error, first),
                (from, first) => panic!("unpack_list_from {from:?}, ListIter {first:?}"),
            }
        }
        Err(error) => {
            assert_eq!(
                from.map(|_| ()),
                Err(error.clone()),
                "unpack_list_from disagrees"
            );
            let left = buf.len().saturating_sub(offset);
            match error {
                WireError::ShortInput {
                    needed,
                    got,
                    offset: at,
                } => {
                    assert_eq!((needed, got, at), (4, left, offset));
                    assert!(left < 4);
                }
                WireError::CountTooLarge {
                    count,
                    available,
                    offset: at,
                } => {
                    props::assert_error_describes(&error, buf);
                    assert_eq!(at, offset);
                    assert_eq!(count as usize, count_at::<T>(buf, offset));
                    assert_eq!(available, (left - 4) / T::SIZE);
                }
                _ => panic!("ListIter::new failed with {error:?}"),
            }
        }
    }
    // The whole buffer as one list, as a message body is decoded.
    match wire::unpack_list::<T>(buf) {
        Ok(items) => {
            let packed = wire::pack_list(&items).expect("a decoded list packs");
            let mut full = vec![false; 4];
            for _ in &items {
                full.extend_from_slice(&mask);
            }
            props::assert_canonical(buf, &packed, &full);
        }
        Err(error) => props::assert_error_describes(&error, buf),
    }
}

/// Real lists of every record type: empty, one record, several, and one with bytes after it.
pub fn seeds() -> Vec<Seed> {
    let text = |s: &str| PascalStr::<5>::new(s).expect("short text");
    let name = |s: &str| FixedStr::<32>::new(s).expect("short name");
    let lists: Vec<(&str, Vec<u8>)> = vec![
        (
            "Tiny",
            wire::pack_list(&[Tiny { flag: true }, Tiny { flag: false }]).unwrap(),
        ),
        (
            "Little",
            wire::pack_list(&[
                Little {
                    a: 0x1234,
                    text: text(""),
                },
                Little {
                    a: 0xffff,
                    text: text("four"),
                },
            ])
            .unwrap(),
        ),
        (
            "Aligned",
            wire::pack_list(&[
                Aligned { a: 1, b: 2, c: 3 },
                Aligned {
                    a: 0xff,
                    b: u32::MAX,
                    c: 0,
                },
            ])
            .unwrap(),
        ),
        (
            "AccountSummary",
            wire::pack_list(&[AccountSummary {
                id: 1,
                name: name("alice"),
                status: AccountStatus::Open,
            }])
            .unwrap(),
        ),
        (
            "Entry",
            wire::pack_list(&[Entry {
                id: 9,
                kind: EntryKind::Withdrawal,
                cents: -1,
                balance_after: 0,
                counterparty: name(""),
                at: 1_790_000_000,
            }])
            .unwrap(),
        ),
    ];
    let mut seeds = Vec::new();
    for (ty, list) in lists {
        let selector = RECORDS
            .iter()
            .position(|(n, _)| *n == ty)
            .expect("a record type for every seed") as u8;
        let mut at_start = vec![selector, 0];
        at_start.extend_from_slice(&list);
        seeds.push(Seed::new(ty.to_owned(), at_start));
        // The same list after two bytes of something else, followed by a trailer.
        let mut inside = vec![selector, 2, 0xee, 0xee];
        inside.extend_from_slice(&list);
        inside.extend_from_slice(b"tail");
        seeds.push(Seed::new(format!("{ty}-inside"), inside));
    }
    seeds.push(Seed::new("Tiny-empty", vec![0, 0, 0, 0, 0, 0]));
    seeds
}
