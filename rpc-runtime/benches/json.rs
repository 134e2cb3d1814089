//! The JSON transcoder on the benchmark workload's 44-byte request (shared/bench/WORKLOAD.md):
//! JSON body to Wire bytes, Wire bytes to JSON, next to serde_json on a plain serde struct of
//! the same fields (the cost an HTTP JSON call would have with hand-written serde types).
//!
//! Run with `cargo bench -p rpc-runtime --features json --bench json`.

use criterion::{Criterion, criterion_group, criterion_main};
use rpc_runtime::json::MessageCodec;
use rpc_runtime::{Message, Wire};
use serde::{Deserialize, Serialize};
use std::hint::black_box;

/// The workload request (`!Iq32s`, 44 bytes).
#[derive(Wire, Debug, Clone, PartialEq)]
struct Request {
    id: u32,
    amount: i64,
    name: [u8; 32],
}

/// The same fields as serde sees them (64-bit amount as a string, name as hex, as in the mapping).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct SerdeRequest {
    id: u32,
    amount: String,
    name: String,
}

fn bench(c: &mut Criterion) {
    let req = Request {
        id: 7,
        amount: 22,
        name: *b"alice-account-0000000000000000!!",
    };
    let codec = MessageCodec::from_shape(&Request::SHAPE).expect("codec");
    let bytes = req.to_vec();
    let json = codec.to_json(&bytes).expect("to json");

    let mut g = c.benchmark_group("json");
    g.bench_function("codec/from_json", |b| {
        b.iter(|| black_box(codec.from_json(black_box(&json)).expect("encodes")))
    });
    g.bench_function("codec/to_json", |b| {
        b.iter(|| black_box(codec.to_json(black_box(&bytes)).expect("decodes")))
    });
    g.bench_function("serde_json/from_slice", |b| {
        b.iter(|| {
            black_box(serde_json::from_slice::<SerdeRequest>(black_box(&json)).expect("parses"))
        })
    });
    let value: SerdeRequest = serde_json::from_slice(&json).expect("parses");
    g.bench_function("serde_json/to_vec", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&value)).expect("writes")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
