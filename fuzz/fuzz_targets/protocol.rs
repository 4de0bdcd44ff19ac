//! What an agent program writes on its stdout, or an HTTP agent answers, read by the real
//! protocol code inside a whole judged call: a reply, a fault or a tool call, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| voice_harness::__private::fuzz::protocol(data));
