//! Any script against any recorded transcript through the validator and metrics: SPEC §6's
//! invariants hold and nothing panics.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| voice_harness::__private::fuzz::validate(data));
