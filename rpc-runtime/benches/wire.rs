//! Criterion benchmark of Wire pack/unpack (written next).
fn main() {}
