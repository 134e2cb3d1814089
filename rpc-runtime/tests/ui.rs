//! Compile-fail and must-compile cases for `#[derive(Wire)]` and `#[service]`.
//!
//! `tests/ui/*.rs` and `tests/ui/service/*.rs` must fail to build with exactly the `.stderr`
//! beside them; `tests/ui/pass/` and `tests/ui/service/pass/` must build and run. After a
//! deliberate change to a message or to the compiler, regenerate with
//! `TRYBUILD=overwrite cargo test -p rpc-runtime --test ui` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/service/*.rs");
    t.pass("tests/ui/service/pass/*.rs");
}
