//! libFuzzer binary of the `dockerfile` target (see `casulo_fuzz::dockerfile`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casulo_fuzz::dockerfile::fuzz(data));
