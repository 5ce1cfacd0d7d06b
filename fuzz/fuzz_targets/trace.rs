//! libFuzzer binary of the `trace` target (see `casulo_fuzz::trace`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casulo_fuzz::trace::fuzz(data));
