//! libFuzzer entry point of target `account`: see `rpc_fuzz::account`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rpc_fuzz::account::check(data));
