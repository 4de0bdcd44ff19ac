//! What the LLM judge and rephraser say when they cannot do their part: an LLM that does not
//! answer, answers outside its schema, a lock file that is corrupt or lacks an answer. Read by
//! whoever runs a suite with `judge` or `persona` steps.

use std::fmt::Display;
use std::time::Duration;

use super::{human_duration, quote};

pub(crate) fn llm_runtime_failed(e: &dyn Display) -> String {
    format!("could not start a runtime for the LLM request: {e}")
}

pub(crate) fn llm_no_answer_within(url: &str, timeout: Duration) -> String {
    format!(
        "the LLM at {url} gave no answer within {}",
        human_duration(timeout)
    )
}

pub(crate) const LLM_REQUEST_PANICKED: &str = "the LLM request panicked";

pub(crate) fn llm_answer_not_json(e: &dyn Display, text: &str) -> String {
    format!("the LLM's answer is not JSON ({e}): {}", quote(text))
}

pub(crate) fn llm_no_forced_tool_call(tool: &str, text: &str) -> String {
    format!(
        "the LLM did not answer with the forced `{tool}` tool call: {}",
        quote(text)
    )
}

pub(crate) fn llm_arguments_not_json(e: &dyn Display, arguments: &str) -> String {
    format!(
        "the LLM's tool arguments are not JSON ({e}): {}",
        quote(arguments)
    )
}

pub(crate) fn llm_url_unusable(url: &str, e: &dyn Display) -> String {
    format!("the LLM URL {url} is not usable: {e}")
}

pub(crate) fn llm_unreachable(url: &str, e: &dyn Display) -> String {
    format!("cannot reach the LLM at {url}: {e}")
}

pub(crate) fn llm_answer_unread(url: &str, e: &dyn Display) -> String {
    format!("could not read the LLM's answer from {url}: {e}")
}

pub(crate) fn llm_http_status(url: &str, status: &dyn Display, body: &str) -> String {
    format!("the LLM at {url} answered HTTP {status}: {}", quote(body))
}

pub(crate) fn llm_lock_corrupt(path: &str, e: &dyn Display) -> String {
    format!("the LLM lock file {path} is corrupt ({e}); fix it or delete it and record again")
}

pub(crate) fn llm_not_recorded(kind: &str, key: &str, lock: &str) -> String {
    format!(
        "no recorded LLM answer for this request ({kind}, entry {key} of {lock}); run locally to record it"
    )
}

pub(crate) const LLM_NOT_CONFIGURED: &str = "an LLM is needed and none is configured: set VOICE_HARNESS_LLM_URL (or --llm-url) to an OpenAI-compatible chat-completions endpoint";

pub(crate) fn llm_stale_entries(lock: &str, stale: usize) -> String {
    format!(
        "{lock}: {stale} stale entr{} (no request of this run used them); prune with VOICE_HARNESS_LLM_PRUNE=1",
        if stale == 1 { "y" } else { "ies" }
    )
}

pub(crate) fn llm_lock_unwritten(path: &dyn Display, e: &dyn Display) -> String {
    format!("could not write {path}: {e}")
}

pub(crate) fn llm_rephrasing_outside_schema(answer: &dyn Display) -> String {
    format!("the LLM's rephrasing is outside its schema (expected a line): {answer}")
}

pub(crate) fn llm_verdict_outside_schema(answer: &dyn Display) -> String {
    format!(
        "the LLM judge's answer is outside its schema (expected a verdict pass, fail or unsure and a reason): {answer}"
    )
}
