//! What people read: the transcript snapshot, the metrics snapshot, and the failure message.

use std::fmt::Write as _;

use crate::case::{Case, Speaker, Status};
use crate::message;
use crate::run::{Outcome, RowEvent};
use crate::tool_match;

/// The transcript snapshot: a header, one line per row (step, speaker, latency, text), then
/// each step's verdict and the tone check. Contains nothing machine-dependent.
pub(crate) fn transcript_text(case: &Case, outcome: &Outcome, redact_latency: bool) -> String {
    let mut out = String::with_capacity(256 + outcome.transcript.len() * 64);
    let _ = writeln!(out, "test_id: {}", case.test_id);
    let _ = writeln!(out, "persona: {}", one_line(&case.persona));
    let _ = writeln!(out, "seed:    {}", outcome.seed);
    let _ = writeln!(
        out,
        "status:  {}{}",
        outcome.status.as_str(),
        expectation(case, outcome)
    );
    out.push('\n');
    for row in &outcome.transcript {
        if let Some(call) = &row.call {
            // `[1] tool            ReserveRestaurant(time="11:30") -> {"ref": "A12"}`
            let _ = writeln!(
                out,
                "[{}] {:<5} {:>7}  {} -> {}",
                row.step_order,
                row.speaker.as_str(),
                "",
                one_line(&tool_match::describe(&call.name, Some(&call.arguments))),
                one_line(&message::inline_json(&call.result))
            );
            continue;
        }
        let latency = match (row.speaker, row.latency_ms) {
            (Speaker::User | Speaker::Tool, _) => String::new(),
            (Speaker::Agent, None) => "?".to_owned(),
            (Speaker::Agent, Some(_)) if redact_latency => "[ms]".to_owned(),
            (Speaker::Agent, Some(ms)) => format!("{ms}ms"),
        };
        let text = match (row.event, &row.cut) {
            (Some(RowEvent::Silence(ms)), _) => format!("(silent {})", seconds(ms)),
            (Some(RowEvent::Dtmf), _) => format!("(keypad {})", row.text),
            // `Sure I | can book that… (cut at 800 ms)`: heard | not heard.
            (None, Some(cut)) => {
                let rest: Vec<&str> = row
                    .text
                    .split_whitespace()
                    .skip(cut.heard.split_whitespace().count())
                    .collect();
                // A recorded cut has no time: `?`, as for a latency the recording lacks.
                let at = cut
                    .at_ms
                    .map_or_else(|| "?".to_owned(), |ms| ms.to_string());
                format!("{} | {}… (cut at {at} ms)", cut.heard, rest.join(" "))
            }
            (None, None) => match &row.heard {
                Some(heard) => format!("{}  (heard: {heard})", row.text),
                None => row.text.clone(),
            },
        };
        // `[3] user           (rule 2: "what time")  Seven pm.`
        let text = match &row.rule {
            Some(rule) => format!("({rule})  {text}"),
            None => text,
        };
        let _ = writeln!(
            out,
            "[{}] {:<5} {:>7}  {}",
            row.step_order,
            row.speaker.as_str(),
            latency,
            one_line(&text)
        );
    }
    if outcome.truncated {
        let _ = writeln!(
            out,
            "{}",
            message::snapshot_transcript_cut(outcome.transcript.len())
        );
    }
    out.push('\n');
    // Only a case with `greeting` has this line, so other snapshots are unchanged.
    if let Some(greeting) = &outcome.greeting {
        match &greeting.details {
            None => out.push_str("greeting: pass\n"),
            Some(details) => {
                let _ = writeln!(out, "greeting: FAIL: {}", one_line(details));
            }
        }
    }
    for step in &outcome.steps {
        // A rule-following call's steps are its outcome checks.
        let what = if case.rules.is_some() {
            format!(
                "check {} ({})",
                step.step_order,
                one_line(&step.expected_user_input)
            )
        } else {
            format!("step {}", step.step_order)
        };
        match &step.details {
            None => {
                let _ = writeln!(out, "{what}: pass");
            }
            Some(details) => {
                let details = redacted_details(case, step, details, redact_latency);
                let _ = writeln!(out, "{what}: FAIL: {}", one_line(&details));
            }
        }
        if let Some(judge) = &step.judge {
            let _ = writeln!(
                out,
                "  judge: {}: {}",
                judge.verdict,
                one_line(&judge.reason)
            );
        }
    }
    if outcome.tone.passed {
        out.push_str("tone: pass\n");
    } else {
        let found: Vec<String> = outcome
            .tone
            .found
            .iter()
            .map(|(step, marker)| message::tone_marker_at(marker, *step))
            .collect();
        let _ = writeln!(out, "{}", message::snapshot_tone_failed(&found));
    }
    out
}

/// A step's details as a snapshot shows them: with `redact_latency` (a real-time agent),
/// a latency over budget reads `latency [measured] ms over budget 100 ms`, so the snapshot is
/// the same on every run.
fn redacted_details<'d>(
    case: &Case,
    step: &crate::run::StepResult,
    details: &'d str,
    redact_latency: bool,
) -> std::borrow::Cow<'d, str> {
    let budget = case
        .turns
        .iter()
        .find(|t| t.step_order == step.step_order)
        .and_then(|t| t.max_latency_ms);
    match (redact_latency, step.latency_ms, budget) {
        (true, Some(latency), Some(budget)) if latency > budget => details
            .replace(
                &message::over_budget(latency, budget),
                &message::over_budget_measured(budget),
            )
            .into(),
        _ => details.into(),
    }
}

fn expectation(case: &Case, outcome: &Outcome) -> String {
    match &case.expect {
        None => String::new(),
        Some(expect) => {
            let steps = expect
                .failure_steps
                .as_ref()
                .map(|s| format!(", failure_steps {s:?}"))
                .unwrap_or_default();
            let verdict = if outcome.as_expected {
                "as expected"
            } else {
                "NOT as expected"
            };
            format!(" ({verdict}: {}{steps})", expect.status.as_str())
        }
    }
}

/// The metrics snapshot: pretty JSON of [`crate::Metrics`], fields in declaration order
/// (the order of docs/case-format.md, "Metrics"). With `redact_latency`, known latency figures read `"[ms]"`.
pub(crate) fn metrics_json(
    outcome: &Outcome,
    redact_latency: bool,
    swept: Option<&crate::sweep::SweepResult>,
) -> String {
    let json = match swept {
        None => serde_json::to_string_pretty(&outcome.metrics).expect("metrics are plain data"),
        Some(swept) => {
            // A swept case's pass count, after its own call's metrics (same field order).
            #[derive(serde::Serialize)]
            struct Sweep<'a> {
                seeds: u64,
                runs: u64,
                passes: u64,
                wilson_lower: f64,
                failing_seeds: &'a [u64],
            }
            let metrics =
                serde_json::to_string_pretty(&outcome.metrics).expect("metrics are plain data");
            let sweep = serde_json::to_string_pretty(&Sweep {
                seeds: swept.seeds,
                runs: swept.runs,
                passes: swept.passes,
                wilson_lower: (swept.wilson_lower * 10_000.0).round() / 10_000.0,
                failing_seeds: &swept.failing_seeds,
            })
            .expect("plain data")
            .replace('\n', "\n  ");
            let body = metrics.trim_end().trim_end_matches('}').trim_end();
            format!("{body},\n  \"sweep\": {sweep}\n}}")
        }
    };
    if !redact_latency {
        return json;
    }
    json.lines()
        .map(|line| match line.split_once(": ") {
            Some((key, value))
                if key.trim().starts_with("\"latency_ms_") && !value.starts_with("null") =>
            {
                let comma = if value.ends_with(',') { "," } else { "" };
                format!("{key}: \"[ms]\"{comma}")
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `6.0 s`, `0.25 s`: a duration in seconds as people read it.
fn seconds(ms: u64) -> String {
    if ms % 100 == 0 {
        format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
    } else {
        format!("{}.{:03} s", ms / 1000, ms % 1000)
    }
}

/// Keeps one transcript row on one line: control characters are escaped.
fn one_line(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| match c {
            '\n' => "\\n".to_owned(),
            '\r' => "\\r".to_owned(),
            '\t' => "\\t".to_owned(),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The short, readable message of a case whose outcome is not what it expects: which steps
/// failed and why, expected vs actual (a word diff for exact steps), and the tone findings.
pub(crate) fn failure_text(case: &Case, outcome: &Outcome, file: &str) -> String {
    let mut out = String::new();
    let got = if outcome.metrics.failure_steps.is_empty() {
        outcome.status.as_str().to_owned()
    } else {
        format!(
            "{}, failing steps {:?}",
            outcome.status.as_str(),
            outcome.metrics.failure_steps
        )
    };
    let wanted = match &case.expect {
        None => "pass".to_owned(),
        Some(e) => match &e.failure_steps {
            Some(steps) if e.status == Status::Fail => format!("fail, failing steps {steps:?}"),
            _ => e.status.as_str().to_owned(),
        },
    };
    let _ = writeln!(
        out,
        "{}",
        message::case_not_as_expected(&case.test_id, file)
    );
    let _ = writeln!(out, "  expected: {wanted}");
    let _ = writeln!(out, "  got:      {got}");
    if let Some(greeting) = outcome.greeting.as_ref().filter(|g| !g.passed) {
        let _ = writeln!(
            out,
            "{}",
            message::failure_greeting(&one_line(greeting.details.as_deref().unwrap_or("failed")))
        );
        let _ = writeln!(
            out,
            "    agent said:  {}",
            optional(greeting.agent_response.as_deref())
        );
    }
    if case.rules.is_some() {
        for step in outcome.steps.iter().filter(|s| !s.passed) {
            let _ = writeln!(
                out,
                "{}",
                message::failure_outcome_check(
                    step.step_order,
                    &one_line(&step.expected_user_input),
                    &one_line(step.details.as_deref().unwrap_or("failed"))
                )
            );
        }
    }
    for (turn, step) in case.turns.iter().zip(&outcome.steps) {
        let Some(details) = &step.details else {
            continue;
        };
        let _ = writeln!(
            out,
            "{}",
            message::failure_step(step.step_order, &one_line(details))
        );
        let _ = writeln!(
            out,
            "    caller said: {}",
            optional(step.actual_user_input.as_deref())
        );
        if let Some(heard) = &step.agent_heard {
            let _ = writeln!(out, "    agent heard: {}", one_line(heard));
        }
        if step.user_match == Some(false) {
            let _ = writeln!(out, "    script says: {}", one_line(&turn.user_input));
        }
        if let Some(heard) = &step.heard {
            let _ = writeln!(
                out,
                "{}",
                message::failure_caller_heard(&optional(Some(heard)))
            );
        }
        let latency = step
            .latency_ms
            .map(|ms| format!("  ({ms} ms)"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    agent said:  {}{latency}",
            optional(step.agent_response.as_deref())
        );
        if let Some(calls) = &step.tool_calls {
            let made: Vec<String> = calls
                .iter()
                .map(|c| tool_match::describe(&c.name, Some(&c.arguments)))
                .collect();
            let made = if made.is_empty() {
                "(none)".to_owned()
            } else {
                made.join(", ")
            };
            let _ = writeln!(out, "    tool calls:  {}", one_line(&made));
        }
        if turn.exact_match_required {
            if let Some(actual) = &step.agent_response {
                let expected = turn.expected_phrase();
                let _ = writeln!(out, "    expected:    {}", one_line(&expected));
                let _ = writeln!(out, "    diff:        {}", word_diff(&expected, actual));
            }
        } else if !step.missing_keywords.is_empty() {
            let _ = writeln!(
                out,
                "    expected keywords: {}",
                turn.expected_agent_response_keywords
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    for (step, marker) in &outcome.tone.found {
        let _ = writeln!(out, "{}", message::failure_tone(marker, *step));
    }
    out
}

fn optional(text: Option<&str>) -> String {
    text.map_or_else(|| "(nothing)".to_owned(), one_line)
}

/// `[-removed-]{+added+}` word diff of expected → actual; consecutive words of one kind
/// are grouped.
fn word_diff(expected: &str, actual: &str) -> String {
    use similar::{ChangeTag, TextDiff};
    let diff = TextDiff::from_words(expected, actual);
    let mut groups: Vec<(ChangeTag, String)> = Vec::new();
    for change in diff.iter_all_changes() {
        match groups.last_mut() {
            Some((tag, text)) if *tag == change.tag() => text.push_str(change.value()),
            _ => groups.push((change.tag(), change.value().to_owned())),
        }
    }
    let mut out = String::new();
    for (tag, text) in groups {
        let text = one_line(&text);
        match tag {
            ChangeTag::Equal => out.push_str(&text),
            // Keep the spaces around a changed group outside its brackets.
            ChangeTag::Delete => wrap(&mut out, &text, "[-", "-]"),
            ChangeTag::Insert => wrap(&mut out, &text, "{+", "+}"),
        }
    }
    out
}

fn wrap(out: &mut String, text: &str, open: &str, close: &str) {
    let inner = text.trim();
    let lead = &text[..text.len() - text.trim_start().len()];
    let trail = &text[text.trim_end().len()..];
    let _ = write!(out, "{lead}{open}{inner}{close}{trail}");
}
