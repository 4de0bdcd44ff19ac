//! Validation (docs/case-format.md, "Validation"; docs/rules.md, "The outcome checks"): the
//! verdicts on a call's transcript. A scripted call's steps ([`steps`], with their tool
//! side in [`tools`]), a rule-following call's outcome checks ([`outcome`]), the greeting
//! ([`greeting`]) and the tone check ([`tone`]); the verdict types are here.

mod greeting;
mod outcome;
mod steps;
mod tone;
mod tools;

use serde::Serialize;

use crate::case::{Case, ToolCall};

pub(crate) use greeting::validate_greeting;
pub(crate) use outcome::validate_outcome;
pub(crate) use steps::validate_steps;
pub(crate) use tone::tone_check;

/// The verdict on one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StepResult {
    /// The step's number.
    pub step_order: u32,
    /// `user_match` and the agent's reply passed.
    pub passed: bool,
    /// The caller said the scripted line (fillers aside); `None` when the step has no caller run.
    pub user_match: Option<bool>,
    /// The scripted caller line.
    pub expected_user_input: String,
    /// What the caller actually said, if anything.
    pub actual_user_input: Option<String>,
    /// The agent's reply, if any.
    pub agent_response: Option<String>,
    /// Keywords that did not appear, in the case's order (always empty on exact steps).
    pub missing_keywords: Vec<String>,
    /// Forbidden keywords that appeared, in the case's order.
    pub forbidden_found: Vec<String>,
    /// The reply's latency, when there is a reply and its latency is known.
    pub latency_ms: Option<u64>,
    /// What the agent heard of the caller's line, when it is not what was said (recognition
    /// noise, or a pinned `heard`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_heard: Option<String>,
    /// What the caller heard of a reply it cut off (only then): the keyword rules were
    /// checked against this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heard: Option<String>,
    /// Why the step failed; `None` when it passed.
    pub details: Option<String>,
    /// The tool calls the agent made during the step (only when the case uses tools).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// Expected calls that no call matched, written `Name(key="value")` (only when the case
    /// uses tools).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_tool_calls: Option<Vec<String>>,
    /// Forbidden tools that were called (only when the case uses tools).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forbidden_tool_calls_found: Option<Vec<String>>,
    /// Expected calls that a call matched, for the metrics.
    #[serde(skip)]
    pub(crate) tool_calls_matched: u32,
    /// A silent or keypad step the agent answered with nothing: an empty reply, which every
    /// check of the step (mentions, the judge) still judges.
    #[serde(skip)]
    pub(crate) quiet: bool,
    /// The LLM judge's verdict on the step (a `judge` step, feature `llm`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judge: Option<JudgeVerdict>,
}

/// What the LLM judge said of a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct JudgeVerdict {
    /// `pass`, `fail` or `unsure`.
    pub verdict: String,
    /// Why, in one sentence.
    pub reason: String,
}

/// The verdict on the call's tone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ToneCheck {
    /// No tone marker appeared in any agent line.
    pub passed: bool,
    /// Each marker found, with the step of the agent row it was found in.
    pub found: Vec<(u32, String)>,
}

/// Reasons joined by `; `.
fn join_reasons(reasons: impl Iterator<Item = String>) -> String {
    reasons.collect::<Vec<_>>().join("; ")
}

/// The rows a call of `case` takes without tool rows: its greeting, then a caller line and a
/// reply per turn (per caller line, at most `max_turns`, for a rule-following caller).
fn rows_needed(case: &Case) -> usize {
    let lines = match &case.rules {
        Some(rules) => rules.max_turns as usize,
        None => case.turns.len(),
    };
    usize::from(case.greeting.is_some()) + lines.saturating_mul(2)
}

/// A check's result before it is judged.
fn unanswered_check(order: u32, label: String) -> StepResult {
    StepResult::new(order, label)
}

impl StepResult {
    /// A step that passed with nothing recorded yet: each kind of step fills in its own.
    pub(crate) fn new(step_order: u32, expected_user_input: String) -> Self {
        Self {
            step_order,
            passed: true,
            user_match: None,
            expected_user_input,
            actual_user_input: None,
            agent_response: None,
            missing_keywords: Vec::new(),
            forbidden_found: Vec::new(),
            latency_ms: None,
            agent_heard: None,
            heard: None,
            details: None,
            tool_calls: None,
            missing_tool_calls: None,
            forbidden_tool_calls_found: None,
            tool_calls_matched: 0,
            quiet: false,
            judge: None,
        }
    }
}
