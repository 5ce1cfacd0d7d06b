//! libFuzzer binary of the `imagem` target (see `casulo_fuzz::imagem`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casulo_fuzz::imagem::fuzz(data));
