//! Pack and unpack of the benchmark workload's 44-byte request (shared/bench/WORKLOAD.md),
//! compared with plain byte copies of the same size and with bincode 1 (serde).
//!
//! Run with `cargo bench -p rpc-runtime --bench wire`. The goal: `wire/pack+unpack` within 1.5x
//! of `copy/roundtrip` and at least 3x faster than `bincode/serialize+deserialize`.

use criterion::{Criterion, criterion_group, criterion_main};
use rpc_runtime::Wire;
use serde::{Deserialize, Serialize};
use std::hint::black_box;

/// The workload request as a Wire struct (`!Iq32s`, 44 bytes).
#[derive(Wire, Debug, Clone, PartialEq)]
struct Request {
    id: u32,
    amount: i64,
    name: [u8; 32],
}

/// The same request for serde.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct SerdeRequest {
    id: u32,
    amount: i64,
    name: [u8; 32],
}

const NAME: [u8; 32] = *b"alice-account-0000000000000000!!";

fn bench(c: &mut Criterion) {
    let req = Request {
        id: 7,
        amount: 22,
        name: NAME,
    };
    let sreq = SerdeRequest {
        id: 7,
        amount: 22,
        name: NAME,
    };
    let src = req.pack();

    let mut g = c.benchmark_group("request");
    g.bench_function("copy/one-way", |b| {
        let mut buf = [0u8; 44];
        b.iter(|| {
            buf.copy_from_slice(black_box(&src));
            black_box(&buf);
        })
    });
    g.bench_function("copy/roundtrip", |b| {
        let mut buf = [0u8; 44];
        let mut out = [0u8; 44];
        b.iter(|| {
            buf.copy_from_slice(black_box(&src));
            out.copy_from_slice(black_box(&buf));
            black_box(&out);
        })
    });
    g.bench_function("wire/pack", |b| {
        let mut buf = [0u8; 44];
        b.iter(|| black_box(&req).pack_into(black_box(&mut buf)))
    });
    g.bench_function("wire/unpack", |b| {
        b.iter(|| Request::unpack(black_box(&src)))
    });
    g.bench_function("wire/pack+unpack", |b| {
        let mut buf = [0u8; 44];
        b.iter(|| {
            let _ = black_box(&req).pack_into(&mut buf);
            Request::unpack(black_box(&buf))
        })
    });
    g.bench_function("bincode/serialize+deserialize", |b| {
        let mut buf = Vec::with_capacity(64);
        b.iter(|| {
            buf.clear();
            bincode::serialize_into(&mut buf, black_box(&sreq)).ok();
            bincode::deserialize::<SerdeRequest>(black_box(&buf))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
