//! libFuzzer entry point of target `http_head`: see `rpc_fuzz::http_head`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rpc_fuzz::http_head::check(data));
