//! libFuzzer entry point of target `fields`: see `rpc_fuzz::fields`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rpc_fuzz::fields::check(data));
