//! Why a step or a call failed, as the verdict says it: a step's reasons (keywords, tools,
//! mentions, latency), the greeting and outcome checks, and the failure lines of the report,
//! the runner and `cargo test`. Read by whoever judges the agent from a report or a snapshot.

// ---- steps -------------------------------------------------------------------------------

/// The step a cut transcript left without its rows. `needed`: the rows the case's script
/// (or its rule-following caller at most) takes without tool rows, its greeting counted; the
/// hint is at least that, and at least double the limit (tool rows are not known ahead).
pub(crate) fn transcript_cut(rows: usize, needed: usize) -> String {
    format!(
        "the call was cut at {rows} rows (MAX_TRANSCRIPT_SIZE); raise the limit to run it \
         whole, e.g. MAX_TRANSCRIPT_SIZE={}",
        rows.saturating_mul(2).max(rows + 1).max(needed)
    )
}

pub(crate) const NOT_REACHED: &str = "not reached";
pub(crate) const MISSING_USER_INPUT: &str = "missing user input";
pub(crate) const AGENT_NEVER_RESPONDED: &str = "agent never responded";
pub(crate) const AGENT_STAYED_QUIET: &str = "the agent said nothing";
pub(crate) const USER_DEVIATION: &str = "user deviation";
pub(crate) const EXACT_MATCH_FAILED: &str = "exact match failed";
pub(crate) const LATENCY_UNKNOWN: &str = "latency unknown";
/// What the greeting check is called (in the report's checks and the snapshot).
pub(crate) const GREETING: &str = "greeting";
pub(crate) const NO_GREETING: &str =
    "the agent did not greet (the case's `greeting` expects it to speak first)";

/// `Greeting Failed: …`: the report's failure line of the greeting check.
pub(crate) fn report_greeting_failed(details: &str) -> String {
    format!("Greeting Failed: {details}")
}

/// `greeting failed: …`: the runner's and cargo test's one-line reason.
pub(crate) fn greeting_failed(details: &str) -> String {
    format!("greeting failed: {details}")
}

pub(crate) fn missing_keywords(keywords: &[String]) -> String {
    format!("missing keywords: {}", keywords.join(", "))
}

pub(crate) fn forbidden_keywords(keywords: &[String]) -> String {
    format!("forbidden keywords: {}", keywords.join(", "))
}

pub(crate) fn over_budget(latency: u64, budget: u64) -> String {
    format!("latency {latency} ms over budget {budget} ms")
}

/// [`over_budget`] in a snapshot of a real-time agent: the measured figure is wall time,
/// different on every run, so it is left out (the report and the failure message keep it).
#[cfg(feature = "harness")]
pub(crate) fn over_budget_measured(budget: u64) -> String {
    format!("latency [measured] ms over budget {budget} ms")
}

// ---- failure lines -----------------------------------------------------------------------

/// A failed step in the report's `failures` (the Python project's wording, kept in the report).
pub(crate) fn report_step_failed(step: u32, details: &str) -> String {
    format!("Step {step} Failed: {details}")
}

/// A tone finding in the report's `failures`.
pub(crate) fn report_tone_failed(step: u32, marker: &str) -> String {
    format!("Tone Check Failed: the agent said \"{marker}\" (step {step})")
}

/// A failed step where people read it (the runner's lines, `cargo test`'s message).
pub(crate) fn step_failed(step: u32, details: &str) -> String {
    format!("step {step} failed: {details}")
}

/// A failed outcome check of a rule-following call, where people read it.
pub(crate) fn check_failed(check: u32, label: &str, details: &str) -> String {
    format!("outcome check {check} failed ({label}): {details}")
}

/// A tone finding where people read it.
pub(crate) fn tone_failed(step: u32, marker: &str) -> String {
    format!("tone check failed: the agent said \"{marker}\" (step {step})")
}

/// `pass`, `fail`, or `fail, failing steps [2, 3]`.
pub(crate) fn verdict(status: &str, failing: &[u32]) -> String {
    if failing.is_empty() || status == "pass" {
        status.to_owned()
    } else {
        format!("{status}, failing steps {failing:?}")
    }
}

/// Why a case is not as expected, on one line, when it expected something other than a
/// plain pass: `expected fail, failing steps [2]; got fail, failing steps [2, 3]`.
pub(crate) fn expected_vs_got(expected: &str, got: &str) -> String {
    format!("expected {expected}; got {got}")
}

/// A rule-following call that reached its `max_turns` without ending.
pub(crate) fn call_looped(max_turns: u32, last_rule: Option<&str>) -> String {
    let last = last_rule
        .map(|r| format!(" (the caller's last line came from {r})"))
        .unwrap_or_default();
    format!(
        "the call reached caller.max_turns ({max_turns} caller lines) without ending: the agent and the caller's rules went round in a loop{last}"
    )
}

/// `missing tool call: expected X(a=1), got X(a=2)`.
pub(crate) fn missing_tool_call(expected: &str, closest: Option<(&str, Option<&str>)>) -> String {
    match closest {
        Some((got, Some(difference))) => {
            format!("missing tool call: expected {expected}, got {got}: {difference}")
        }
        Some((got, None)) => format!("missing tool call: expected {expected}, got {got}"),
        None => format!("missing tool call: expected {expected}, got no call to it"),
    }
}

pub(crate) fn forbidden_tool_calls(names: &[String]) -> String {
    format!("forbidden tool calls: {}", names.join(", "))
}

pub(crate) fn mention_missing(tool: &str, path: &str, value: &str) -> String {
    format!("missing mention: {tool} result {path} = {value:?} is not in the reply")
}

pub(crate) fn mention_without_call(tool: &str, path: &str) -> String {
    format!("missing mention: {tool} result {path}: {tool} was not called in this step")
}

pub(crate) fn mention_without_value(tool: &str, path: &str) -> String {
    format!("missing mention: {tool} result has no {path} to say")
}

// ---- the outcome checks of a rule-following call -----------------------------------------

/// The first outcome check: the call ended (not at `max_turns`, no agent failure).
pub(crate) const OUTCOME_CALL_ENDED: &str = "the call ended";
/// The outcome check of a case with `tools`.
pub(crate) const OUTCOME_EVERY_CALL_MOCKED: &str = "every tool call answered by a mock";

/// What an outcome check is called: its field and what it asks, `mentions: price, 7 pm`.
pub(crate) fn outcome_check(field: &str, asks: &str) -> String {
    format!("{field}: {asks}")
}

pub(crate) fn agent_failed_at_line(line: u32, why: &str) -> String {
    format!("the agent failed at caller line {line}: {why}")
}

pub(crate) fn at_caller_line(line: u32, problem: &str) -> String {
    format!("caller line {line}: {problem}")
}

/// A `tool_calls` check that failed, with every call the call made.
pub(crate) fn with_calls_made(details: &str, made: &[String]) -> String {
    format!(
        "{details}; the calls made: {}",
        if made.is_empty() {
            "none".to_owned()
        } else {
            made.join(", ")
        }
    )
}

pub(crate) fn no_agent_line_said(missing: &[String]) -> String {
    format!("no agent line said: {}", missing.join(", "))
}

/// A forbidden keyword, and the caller line after which an agent line said it.
pub(crate) fn said_after_caller_line(keyword: &str, line: u32) -> String {
    format!("{keyword} (agent line after caller line {line})")
}

/// `ended_by`: who ended the call, or `None` when it reached `max_turns`.
pub(crate) fn ended_by_other(want: &str, ended_by: Option<&str>) -> String {
    format!(
        "expected the {want} to end the call; it was ended by {}",
        match ended_by {
            None => "reaching max_turns".to_owned(),
            Some(other) => format!("the {other}"),
        }
    )
}

pub(crate) fn too_many_caller_lines(lines: u32, max: u32) -> String {
    format!("the call took {lines} caller lines, more than {max}")
}

// ---- the snapshot and cargo test's failure message (render.rs) ---------------------------

/// The snapshot's line under a transcript cut at `rows` rows.
#[cfg(feature = "harness")]
pub(crate) fn snapshot_transcript_cut(rows: usize) -> String {
    format!("(transcript cut at {rows} rows: MAX_TRANSCRIPT_SIZE)")
}

/// The snapshot's tone line when the agent said tone markers: `found` reads
/// `"marker" (step N)` each (see [`tone_marker_at`]).
#[cfg(feature = "harness")]
pub(crate) fn snapshot_tone_failed(found: &[String]) -> String {
    format!("tone: FAIL: agent said {}", found.join(", "))
}

/// `"marker" (step N)`.
#[cfg(feature = "harness")]
pub(crate) fn tone_marker_at(marker: &str, step: u32) -> String {
    format!("\"{marker}\" (step {step})")
}

/// The head of cargo test's failure message of a case not as expected.
#[cfg(feature = "harness")]
pub(crate) fn case_not_as_expected(test_id: &str, file: &str) -> String {
    format!("case {test_id} ({file}) did not go as expected")
}

/// `details`: a failure line already on one line.
#[cfg(feature = "harness")]
pub(crate) fn failure_greeting(details: &str) -> String {
    format!("\n  greeting failed: {details}")
}

#[cfg(feature = "harness")]
pub(crate) fn failure_outcome_check(order: u32, check: &str, details: &str) -> String {
    format!("\n  outcome check {order} failed ({check}):\n    {details}")
}

#[cfg(feature = "harness")]
pub(crate) fn failure_step(order: u32, details: &str) -> String {
    format!("\n  step {order} failed: {details}")
}

/// What the caller heard of a reply it cut into.
#[cfg(feature = "harness")]
pub(crate) fn failure_caller_heard(heard: &str) -> String {
    format!("    caller heard: {heard} (then cut in; the keywords were checked against this)")
}

#[cfg(feature = "harness")]
pub(crate) fn failure_tone(marker: &str, step: u32) -> String {
    format!("\n  tone check failed: the agent said \"{marker}\" (step {step})")
}
