//! The greeting check (docs/case-format.md, "The agent's greeting"): what the agent said
//! before the caller's first line.

use super::{StepResult, join_reasons, unanswered_check};
use crate::call::conversation::Row;
use crate::case::{Case, Speaker};
use crate::message;
use crate::normalize::{Words, lowercase};

/// The greeting check (docs/case-format.md, "The agent's greeting"), when the case has
/// `greeting`: the agent spoke before the caller's first line (the step-0 agent rows), and
/// every keyword appears in what it said. `None` when the case expects no greeting.
pub(crate) fn validate_greeting(case: &Case, transcript: &[Row]) -> Option<StepResult> {
    let keywords = case.greeting.as_ref()?;
    let rows: Vec<&Row> = transcript
        .iter()
        .take_while(|r| r.step_order == 0)
        .filter(|r| r.speaker == Speaker::Agent)
        .collect();
    let said = (!rows.is_empty()).then(|| {
        rows.iter()
            .map(|r| r.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let lower = lowercase(said.as_deref().unwrap_or_default());
    let words = Words::new(&lower, case.spoken_numbers);
    let missing: Vec<String> = keywords
        .iter()
        .filter(|k| !k.met_by(&words))
        .map(ToString::to_string)
        .collect();
    let mut reasons = Vec::new();
    if said.is_none() {
        reasons.push(message::NO_GREETING.to_owned());
    }
    if !missing.is_empty() {
        reasons.push(message::missing_keywords(&missing));
    }
    let mut check = unanswered_check(0, message::GREETING.to_owned());
    check.passed = reasons.is_empty();
    check.details = (!reasons.is_empty()).then(|| join_reasons(reasons.into_iter()));
    check.latency_ms = rows.first().and_then(|r| r.latency_ms);
    check.agent_response = said;
    check.missing_keywords = missing;
    Some(check)
}
