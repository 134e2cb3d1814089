//! Fuzz checks for every decoder that reads bytes from a peer, and the seeds they start from.
//!
//! Each module holds one target: a `check` function that takes arbitrary bytes, runs a decoder
//! on them and asserts what must hold whatever the bytes are (no panic, errors that point into
//! the input, decoded values that re-encode to the same bytes), and a `seeds` function that
//! builds a small corpus from real encodings. The binaries in `fuzz_targets/` hand libFuzzer's
//! inputs to `check`; `src/bin/seeds.rs` writes `seeds` to `corpus/`. See `README.md`.

pub mod account;
pub mod fields;
pub mod frame;
pub mod list;
pub mod props;

/// One input of a seed corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    /// The file name under `corpus/<target>/`.
    pub name: String,
    /// The input.
    pub bytes: Vec<u8>,
}

impl Seed {
    /// A seed named `name`.
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Seed {
        Seed {
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

/// Checks one input of a target.
pub type Check = fn(&[u8]);

/// Builds a target's seeds.
pub type Seeds = fn() -> Vec<Seed>;

/// Every target: its name (that of its binary and corpus directory) and its seeds.
pub fn targets() -> [(&'static str, Seeds); 4] {
    [
        ("frame", frame::seeds),
        ("account", account::seeds),
        ("list", list::seeds),
        ("fields", fields::seeds),
    ]
}
