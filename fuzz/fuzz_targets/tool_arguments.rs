//! Any two JSON values through the tool-argument rule: no panic, and the rule agrees with its
//! own explanations.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| voice_harness::__private::fuzz::tool_arguments(data));
