//! The frames a Retell custom-LLM WebSocket server sends, read by the real `RetellAgent`
//! from a server on loopback: a reply, a fault or a tool call, never a panic; a stale
//! `response_id` never becomes a reply.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| voice_harness::__private::fuzz::retell(data));
