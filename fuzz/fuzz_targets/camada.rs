//! libFuzzer binary of the `camada` target (see `casulo_fuzz::camada`).
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target, fuzzer_mutate};

fuzz_target!(
    init: casulo_fuzz::sandbox::enter(),
    |data: &[u8]| casulo_fuzz::camada::fuzz(data)
);

// Most mutations get their tar checksums fixed (see `tar_fix`): otherwise
// the tar reader refuses them before the extractor sees anything.
fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    let size = fuzzer_mutate(data, size, max_size);
    if !seed.is_multiple_of(8) && size > 1 {
        casulo_fuzz::tar_fix::fix(&mut data[1..size]);
    }
    size
});
