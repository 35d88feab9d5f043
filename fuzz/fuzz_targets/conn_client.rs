#![no_main]

libfuzzer_sys::fuzz_target!(init: embertls_fuzz::init(), |data: &[u8]| {
    embertls_fuzz::conn_client(data)
});
