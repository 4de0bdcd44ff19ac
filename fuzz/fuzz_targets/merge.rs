//! Hostile JSON reports through `voice-harness merge`: a merged report that is valid JSON and
//! merges into itself, or an error naming the file.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| voice_harness::__private::fuzz::merge(data));
