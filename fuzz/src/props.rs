//! Properties shared by the targets: what any decoding error must say about its input.

use rpc_runtime::WireError;

/// Asserts that `error`, returned by decoding `input` from its start, describes `input`: every
/// offset lies inside it, and the facts the error quotes (a bool byte, a length byte, a
/// non-NUL padding byte, how many bytes were left) are those of the input.
///
/// Errors that only packing or building a value can return are a bug here.
pub fn assert_error_describes(error: &WireError, input: &[u8]) {
    // Formatting must not panic either: errors end up in logs and replies.
    let _ = error.to_string();
    let len = input.len();
    match *error {
        WireError::ShortInput {
            needed,
            got,
            offset,
        } => {
            assert!(offset <= len, "{error}: offset past the input ({len})");
            assert_eq!(got, len - offset, "{error}: wrong count of bytes left");
            assert!(got < needed, "{error}: enough bytes were there");
        }
        WireError::TrailingBytes { expected, extra } => {
            assert!(extra > 0, "{error}: no trailing bytes");
            assert_eq!(
                expected + extra,
                len,
                "{error}: does not add up to the input"
            );
        }
        WireError::InvalidUtf8 { offset, .. } => {
            assert!(offset < len, "{error}: offset past the input ({len})");
        }
        WireError::NonZeroPadding { offset, .. } => {
            assert!(offset < len, "{error}: offset past the input ({len})");
            assert_ne!(input[offset], 0, "{error}: the byte there is NUL");
        }
        WireError::PascalLength {
            offset,
            len: claimed,
            capacity,
            ..
        } => {
            assert!(offset < len, "{error}: offset past the input ({len})");
            assert_eq!(
                usize::from(input[offset]),
                claimed,
                "{error}: not the length byte"
            );
            assert!(claimed > capacity, "{error}: the length fits");
        }
        WireError::InvalidBool { offset, value, .. } => {
            assert!(offset < len, "{error}: offset past the input ({len})");
            assert_eq!(input[offset], value, "{error}: not the byte there");
            assert!(value > 1, "{error}: a valid bool");
        }
        WireError::UnknownDiscriminant { offset, .. } => {
            assert!(offset < len, "{error}: offset past the input ({len})");
        }
        WireError::CountTooLarge {
            count,
            available,
            offset,
        } => {
            assert!(
                offset + 4 <= len,
                "{error}: the count is not inside the input"
            );
            assert!(count > available as u64, "{error}: the records fit");
        }
        _ => panic!("decoding returned an error only encoding can: {error:?}"),
    }
}

/// The padding bytes of a record with layout `layout`: `#[wire(pad)]` fields, and under `@` the
/// alignment gaps before fields. Computed from the layout, independently of the packer, so a
/// disagreement between the two shows up as a failed re-encoding check.
pub fn padding(layout: &[rpc_runtime::wire::Item], native: bool) -> Vec<bool> {
    let mut mask = Vec::new();
    walk(layout, native, &mut mask);
    mask
}

fn walk(layout: &[rpc_runtime::wire::Item], native: bool, mask: &mut Vec<bool>) {
    use rpc_runtime::wire::Item;
    for item in layout {
        match *item {
            Item::Prim {
                code,
                count,
                size,
                align,
            } => {
                if native && align > 1 {
                    while !mask.len().is_multiple_of(align) {
                        mask.push(true);
                    }
                }
                mask.extend(std::iter::repeat_n(code == b'x', count * size));
            }
            Item::Field { layout, .. } | Item::Typed { layout, .. } => walk(layout, native, mask),
            Item::Repeat { count, layout } => match rpc_runtime::wire::layout::counted_run(layout) {
                Some((_, size, align)) => {
                    if native && align > 1 {
                        while !mask.len().is_multiple_of(align) {
                            mask.push(true);
                        }
                    }
                    mask.extend(std::iter::repeat_n(false, count * size));
                }
                None => {
                    for _ in 0..count {
                        walk(layout, native, mask);
                    }
                }
            },
            _ => panic!("unknown layout item {item:?}"),
        }
    }
}

/// Asserts that `repacked`, the encoding of the value decoded from `input`, equals `input`
/// except at padding bytes, which it writes as zeros.
pub fn assert_canonical(input: &[u8], repacked: &[u8], padding: &[bool]) {
    assert_eq!(
        input.len(),
        repacked.len(),
        "re-encoding changed the length"
    );
    assert_eq!(padding.len(), input.len(), "the layout's size is not SIZE");
    for (i, ((&a, &b), &pad)) in input.iter().zip(repacked).zip(padding).enumerate() {
        if pad {
            assert_eq!(b, 0, "padding byte {i} re-encoded as {b:#04x}");
        } else {
            assert_eq!(a, b, "byte {i} re-encoded as {b:#04x}, was {a:#04x}");
        }
    }
}

/// Runs every way of decoding one record of `T` on `input` and checks the results agree:
/// `unpack` (the whole input) and `unpack_from` at offsets 0 and 1. A decoded
/// value must re-encode to the input (padding aside) and decode again to the same bytes.
///
/// Returns the value `unpack` decoded, if any.
pub fn check_record<T: rpc_runtime::Wire + core::fmt::Debug>(input: &[u8]) -> Option<T> {
    let mask = padding(T::LAYOUT, T::ORDER.is_native_aligned());
    assert_eq!(mask.len(), T::SIZE, "the layout's size is not SIZE");
    let decoded = match T::unpack(input) {
        Ok(value) => {
            let _ = format!("{value:?}");
            let packed = value.pack();
            assert_canonical(input, packed.as_ref(), &mask);
            let again = T::unpack(packed.as_ref()).expect("a packed value unpacks");
            assert_eq!(
                again.pack().as_ref(),
                packed.as_ref(),
                "unpack is not stable"
            );
            Some(value)
        }
        Err(error) => {
            assert_error_describes(&error, input);
            if input.len() == T::SIZE {
                assert!(
                    !matches!(
                        error,
                        WireError::ShortInput { .. } | WireError::TrailingBytes { .. }
                    ),
                    "a field ran outside its SIZE-byte record: {error}"
                );
            }
            None
        }
    };
    for offset in [0, 1] {
        let Some(tail) = input.get(offset..) else {
            continue;
        };
        let whole = tail.get(..T::SIZE).map(T::unpack);
        match T::unpack_from(input, offset) {
            Ok((value, rest)) => {
                assert_eq!(
                    rest,
                    &tail[T::SIZE..],
                    "unpack_from returned the wrong rest"
                );
                let whole = whole
                    .expect("unpack_from read past the input")
                    .expect("unpack_from accepted a record unpack refuses");
                assert_eq!(value.pack().as_ref(), whole.pack().as_ref());
            }
            Err(error) => {
                assert_error_describes(&error, input);
                match whole {
                    None => assert!(matches!(error, WireError::ShortInput { .. })),
                    Some(result) => {
                        assert!(
                            result.is_err(),
                            "unpack_from refused a record unpack accepts"
                        )
                    }
                }
            }
        }
    }
    decoded
}
