//! libFuzzer binary of the `dockerignore` target (see `casulo_fuzz::dockerignore`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casulo_fuzz::dockerignore::fuzz(data));
