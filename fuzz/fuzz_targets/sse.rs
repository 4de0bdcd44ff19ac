//! What an OpenAI-compatible server streams (server-sent events, cut into chunks anywhere),
//! read by the real `OpenAiAgent` from a server on loopback: a reply, a fault or a tool
//! call, never a panic or a hang; the same reply whatever the chunks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| voice_harness::__private::fuzz::sse(data));
