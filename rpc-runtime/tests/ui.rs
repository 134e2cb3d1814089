//! Compile-fail and must-compile cases for `#[derive(Wire)]`.
//!
//! `tests/ui/*.rs` must fail to build with exactly the `.stderr` beside them; `tests/ui/pass/`
//! must build and run. After a deliberate change to a message or to the compiler, regenerate with
//! `TRYBUILD=overwrite cargo test -p rpc-runtime --test ui` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
