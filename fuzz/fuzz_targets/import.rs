//! Any bytes to the call-export importer (`voice-harness import`), as every platform's
//! export: an error naming where, or cases that load and pass; the same bytes twice, the
//! same cases.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| voice_harness::__private::fuzz::import(data));
