//! How a run's lines look: the line of a case (`FAIL  cases/x.json (id): …`), the exchange
//! under a failing one, a row of the sweep table and the summary, coloured on a terminal.

use std::time::Duration;

use crate::case::{Speaker, ToolCall};
use crate::report::{CaseReport, ReportStatus, Summary};
use crate::run::{RowEvent, StepResult};

/// How a line looks: coloured on a terminal (unless `NO_COLOR`).
pub(super) struct Style {
    /// Colours are on.
    pub(super) colour: bool,
}

/// The sweep table's header.
pub(super) fn sweep_header() -> String {
    format!(
        "{:>11} {:>6} {:>7} {:>6}  case",
        "passes", "lower", "pass^k", "flaky"
    )
}

impl Style {
    /// One row of the sweep table.
    pub(super) fn sweep_line(&self, case: &CaseReport) -> String {
        let id = case
            .test_id
            .as_deref()
            .map(|id| format!(" ({id})"))
            .unwrap_or_default();
        let Some(sweep) = &case.sweep else {
            let reason = case.reason().unwrap_or("error");
            return format!(
                "{:>11} {:>6} {:>7} {:>6}  {}{id}: {}",
                "-",
                "-",
                "-",
                "-",
                case.file,
                self.paint(reason, "31")
            );
        };
        let pass_k = sweep
            .pass_hat_k
            .map_or_else(|| "-".to_owned(), |k| format!("{k:.2}"));
        let mut line = format!(
            "{:>11} {:>6.2} {:>7} {:>6}  {}{id}",
            format!("{}/{}", sweep.passes, sweep.runs),
            sweep.wilson_lower,
            pass_k,
            if sweep.flaky { "yes" } else { "no" },
            case.file
        );
        if sweep.recorded {
            line.push_str(" (recorded: not swept, run once)");
        }
        if let Some(first) = &sweep.first_failure {
            let text = format!(": first failing seed {}: {}", first.seed, first.reason);
            line.push_str(&if case.as_expected {
                text
            } else {
                self.paint(&text, "31")
            });
        }
        if let Some(shrunk) = &case.shrunk {
            line.push_str(&format!("\n{:>33}shrunk: {shrunk}", ""));
        }
        line
    }

    /// `text` in the colour of ANSI code `code`, when colours are on.
    pub(super) fn paint(&self, text: &str, code: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// `FAIL  cases/x.json (test_id): step 2 failed: …`, or `ok    cases/x.json` with -v
    /// (which also shows every problem of a file that cannot be loaded).
    pub(super) fn line(&self, case: &CaseReport, verbose: bool) -> String {
        let id = case
            .test_id
            .as_deref()
            .map(|id| format!(" ({id})"))
            .unwrap_or_default();
        match (case.as_expected, case.status) {
            (true, ReportStatus::Fail) => {
                format!(
                    "{}    {}{id} (fails, as expected)",
                    self.paint("ok", "32"),
                    case.file
                )
            }
            (true, _) => format!("{}    {}{id}", self.paint("ok", "32"), case.file),
            (false, ReportStatus::Error) => {
                let reason = match (&case.error, verbose) {
                    (Some(full), true) => full.as_str(),
                    _ => case.reason().unwrap_or_default(),
                };
                format!("{} {}{id}: {reason}", self.paint("ERROR", "31"), case.file)
            }
            (false, _) => {
                let reason = case.reason().unwrap_or_default();
                format!("{}  {}{id}: {reason}", self.paint("FAIL", "31"), case.file)
            }
        }
    }

    /// Under a failing case's line (#25): the exchange of its first unexpected failing
    /// step (what the caller said and the agent heard, what the agent said and whether a
    /// barge-in cut it, its tool calls, what was expected); with `verbose` every failed
    /// step or outcome check, each named. Each line starts with a newline.
    pub(super) fn exchange(&self, case: &CaseReport, verbose: bool) -> String {
        let mut text = String::new();
        let first = case.unexpected_failures().next();
        if let Some(first) = first {
            text.push_str(&self.step_exchange(case, first, 6));
        }
        if verbose {
            let others = case
                .steps
                .iter()
                .filter(|s| !s.passed && first.is_none_or(|f| f.step_order != s.step_order));
            for step in others {
                let details = step.details.as_deref().unwrap_or("failed");
                let name = if case.is_rules() {
                    format!(
                        "outcome check {} failed ({}): {details}",
                        step.step_order, step.expected_user_input
                    )
                } else {
                    format!("step {} failed: {details}", step.step_order)
                };
                text.push_str(&format!("\n{:6}{}", "", shorten(&name, 200)));
                text.push_str(&self.step_exchange(case, step, 8));
            }
            return text;
        }
        let more = case.steps.iter().filter(|s| !s.passed).count() - usize::from(first.is_some());
        if more > 0 {
            let what = match (case.is_rules(), more) {
                (true, 1) => "failed check",
                (true, _) => "failed checks",
                (false, 1) => "failed step",
                (false, _) => "failed steps",
            };
            let them = if more == 1 { "it" } else { "them" };
            text.push_str(&format!(
                "\n{:6}{}",
                "",
                self.paint(&format!("(+{more} more {what}; -v shows {them})"), "2")
            ));
        }
        text
    }

    /// The lines of one step's exchange, indented by `indent`.
    fn step_exchange(&self, case: &CaseReport, step: &StepResult, indent: usize) -> String {
        let mut lines: Vec<(&str, String)> = Vec::new();
        if !case.is_rules() {
            let said = step
                .actual_user_input
                .as_deref()
                .unwrap_or(&step.expected_user_input);
            // Keypad tones and silence are said as such, not as a line of text.
            let event = case
                .transcript
                .iter()
                .find(|row| row.step_order == step.step_order && row.speaker == Speaker::User)
                .and_then(|row| row.event);
            lines.push((
                "caller",
                match event {
                    Some(RowEvent::Silence(ms)) => format!("(silent for {ms} ms)"),
                    Some(RowEvent::Dtmf) => format!("(keypad) {}", quoted(said)),
                    None => quoted(said),
                },
            ));
            if let Some(heard) = &step.agent_heard {
                lines.push(("heard", quoted(heard)));
            }
            let cut = case
                .transcript
                .iter()
                .find(|row| {
                    row.step_order == step.step_order
                        && row.speaker == Speaker::Agent
                        && row.cut.is_some()
                })
                .and_then(|row| row.cut.as_ref());
            // A cut reply: what the caller heard of it, which its keywords were checked
            // against, and `…` for the rest.
            let mut agent = match (cut, &step.heard) {
                (Some(_), Some(heard)) => format!("\"{}…\"", shorten(heard, MAX_SHOWN)),
                _ => step
                    .agent_response
                    .as_deref()
                    .map_or_else(|| "(no reply)".to_owned(), quoted),
            };
            match cut.map(|cut| cut.at_ms) {
                Some(Some(ms)) => {
                    agent.push_str(&format!(" (cut off by the caller after {ms} ms)"))
                }
                Some(None) => agent.push_str(" (cut off)"),
                None => {}
            }
            lines.push(("agent", agent));
        }
        if let Some(calls) = step.tool_calls.as_ref().filter(|c| !c.is_empty()) {
            let calls: Vec<String> = calls.iter().map(call_text).collect();
            lines.push(("tools", shorten(&calls.join(", "), MAX_SHOWN)));
        }
        let mut expected: Vec<String> = Vec::new();
        if case.is_rules() {
            expected.push(step.expected_user_input.clone());
        } else {
            if step.user_match == Some(false) {
                expected.push(format!(
                    "the caller to say {}",
                    quoted(&step.expected_user_input)
                ));
            }
            if !step.missing_keywords.is_empty() {
                expected.push(format!("keywords {}", step.missing_keywords.join(", ")));
            }
            if !step.forbidden_found.is_empty() {
                expected.push(format!("none of {}", step.forbidden_found.join(", ")));
            }
            if let Some(missing) = step.missing_tool_calls.as_ref().filter(|m| !m.is_empty()) {
                expected.push(format!("tool calls {}", missing.join(", ")));
            }
            if let Some(found) = step
                .forbidden_tool_calls_found
                .as_ref()
                .filter(|f| !f.is_empty())
            {
                expected.push(format!("no call to {}", found.join(", ")));
            }
        }
        if !expected.is_empty() {
            lines.push(("expected", shorten(&expected.join("; "), MAX_SHOWN)));
        }
        lines
            .into_iter()
            .map(|(label, value)| {
                let label = format!("{label}:");
                format!(
                    "\n{:indent$}{} {value}",
                    "",
                    self.paint(&format!("{label:9}"), "2")
                )
            })
            .collect()
    }

    /// `12 cases: 10 passed, 1 failed, 1 error; 1 not as expected (0.12 s)`.
    pub(super) fn summary(&self, s: &Summary, elapsed: Duration) -> String {
        let verdict = if s.as_expected == s.total {
            self.paint("all as expected", "32")
        } else {
            self.paint(
                &format!("{} not as expected", s.total - s.as_expected),
                "31",
            )
        };
        format!("{}; {verdict} ({:.2} s)", s.counts(), elapsed.as_secs_f64())
    }
}

/// The longest text shown of a line, a reply or a list under a failing case, in characters.
const MAX_SHOWN: usize = 100;

/// `text`, cut to `max` characters with a visible `…` when longer.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// `text` in quotes, shortened.
fn quoted(text: &str) -> String {
    format!("\"{}\"", shorten(text, MAX_SHOWN))
}

/// A tool call as `name(key=value, ...)`, its values as JSON.
fn call_text(call: &ToolCall) -> String {
    let arguments = match &call.arguments {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    format!("{}({arguments})", call.name)
}
