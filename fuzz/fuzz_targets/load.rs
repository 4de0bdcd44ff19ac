//! Any bytes through the loader (and, when they are a case, the simulator): a case or an
//! error, never a panic or a hang.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| voice_harness::__private::fuzz::load(data));
