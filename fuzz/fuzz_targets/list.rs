//! libFuzzer entry point of target `list`: see `rpc_fuzz::list`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rpc_fuzz::list::check(data));
