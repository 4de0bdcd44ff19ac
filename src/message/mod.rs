//! Every sentence a user reads lives here, split by who reads it:
//!
//! - `load`, `load_problems` and `case_rules`: the case author, when a case file cannot be
//!   run (the error, the file and its fields, each rule of the format);
//! - `step`: whoever judges the agent, why a step or a call failed;
//! - `agent`: the agent's author, what went wrong with the agent itself during a call;
//! - `protocols`: the author of an OpenAI-compatible or Retell server, what it did wrong;
//! - `runner`: whoever runs the suite, what the runner and `cargo test` say about a run;
//! - `llm`: whoever runs `judge` or `persona` steps, why the LLM could not do its part;
//! - `hints`: whoever must act on a failure, what to do next.
//!
//! This file holds only the formatters the others share (a quoted value, a duration, inline
//! JSON). The functions take plain data, so any layer can use them and `cargo test`, the
//! runner and the reports cannot word the same thing differently. Every item is re-exported
//! here, so callers name them `crate::message::name` whatever file they are in.

use std::time::Duration;

mod agent;
mod case_rules;
mod hints;
#[cfg(feature = "llm")]
mod llm;
mod load;
mod load_problems;
mod protocols;
mod runner;
mod step;

pub(crate) use agent::*;
pub(crate) use case_rules::*;
pub(crate) use hints::*;
#[cfg(feature = "llm")]
pub(crate) use llm::*;
pub(crate) use load::MAX_SHOWN;
pub use load::{LoadError, Location, Problem};
pub(crate) use load_problems::*;
pub(crate) use protocols::*;
#[cfg(feature = "harness")]
pub use runner::HARNESS_NOT_FALSE;
pub(crate) use runner::*;
pub(crate) use step::*;

/// Shortens a found value for a message: at most 40 characters, quoted.
pub(crate) fn quote(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(MAX).collect();
        format!("{head:?}…")
    }
}

/// `10 s`, or `300 ms` when not a whole number of seconds.
pub(crate) fn human_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// JSON on one line with a space after `:` and `,`, as people write it.
pub(crate) fn inline_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), inline_json(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(inline_json).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}
