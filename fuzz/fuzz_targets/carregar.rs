//! libFuzzer binary of the `carregar` target (see `casulo_fuzz::carregar`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: casulo_fuzz::sandbox::enter(),
    |data: &[u8]| casulo_fuzz::carregar::fuzz(data)
);
