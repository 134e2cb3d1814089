//! Pack and unpack of the benchmark workload's 44-byte request (shared/bench/WORKLOAD.md),
//! compared with plain byte copies of the same size and with bincode 1 (serde).
//!
//! Run with `cargo bench -p rpc-runtime --bench wire`. The goal: `wire/pack+unpack` within 1.5x
//! of `copy/roundtrip` and at least 3x faster than `bincode/serialize+deserialize`, both for
//! one request and per request in a batch of 64.

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

    // The same work over a batch of 64 frames, as a server sees them: pack 64 requests into
    // one buffer, then unpack all 64. The single-item numbers above pay a store-forwarding
    // stall when unpack reads, at other widths, bytes that pack wrote a moment before; the
    // copy baseline does not, since it moves the bytes at the widths it wrote them.
    let reqs: Vec<Request> = (0..BATCH as u32)
        .map(|i| Request {
            id: i,
            amount: i64::from(i) * 3 + 1,
            name: NAME,
        })
        .collect();
    let packed: Vec<u8> = reqs.iter().flat_map(|r| r.pack()).collect();
    let mut g = c.benchmark_group("batch64");
    g.throughput(criterion::Throughput::Elements(BATCH as u64));
    g.bench_function("copy/roundtrip", |b| {
        let mut buf = vec![0u8; BATCH * 44];
        let mut out = vec![[0u8; 44]; BATCH];
        b.iter(|| {
            for (dst, src) in buf
                .chunks_exact_mut(44)
                .zip(black_box(&packed).chunks_exact(44))
            {
                dst.copy_from_slice(src);
            }
            for (dst, src) in out.iter_mut().zip(black_box(&buf).chunks_exact(44)) {
                dst.copy_from_slice(src);
            }
            black_box(&out);
        })
    });
    g.bench_function("wire/pack+unpack", |b| {
        let mut buf = vec![0u8; BATCH * 44];
        let mut out: Vec<Request> = reqs.clone();
        b.iter(|| {
            for (req, dst) in black_box(&reqs).iter().zip(buf.chunks_exact_mut(44)) {
                let _ = req.pack_into(dst);
            }
            for (slot, src) in out.iter_mut().zip(black_box(&buf).chunks_exact(44)) {
                if let Ok(req) = Request::unpack(src) {
                    *slot = req;
                }
            }
            black_box(&out);
        })
    });
    g.bench_function("bincode/serialize+deserialize", |b| {
        let sreqs: Vec<SerdeRequest> = reqs
            .iter()
            .map(|r| SerdeRequest {
                id: r.id,
                amount: r.amount,
                name: r.name,
            })
            .collect();
        let mut buf = Vec::with_capacity(BATCH * 64);
        let mut out = sreqs.clone();
        b.iter(|| {
            buf.clear();
            for r in black_box(&sreqs) {
                bincode::serialize_into(&mut buf, r).ok();
            }
            let mut rest: &[u8] = black_box(&buf);
            for slot in out.iter_mut() {
                if let Ok(r) = bincode::deserialize_from(&mut rest) {
                    *slot = r;
                }
            }
            black_box(&out);
        })
    });
    g.finish();
}

/// Frames per batch, like the workload's 64 calls in flight.
const BATCH: usize = 64;

criterion_group!(benches, bench);
criterion_main!(benches);
