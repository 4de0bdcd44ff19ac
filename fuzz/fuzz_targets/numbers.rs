//! Any text read with spoken numbers as digits: no panic, no hang, no word invented.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| voice_harness::__private::fuzz::numbers(data));
