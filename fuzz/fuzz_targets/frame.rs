//! libFuzzer entry point of target `frame`: see `rpc_fuzz::frame`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rpc_fuzz::frame::check(data));
