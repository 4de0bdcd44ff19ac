//! Every line the runner prints for a person to read: a case's line and the exchange under
//! a failing one, the sweep table, the summary and what was written, and the notes of
//! `merge`, `import`, an interrupt and a usage error. Reports are not printed lines (see
//! `reports.rs`); the progress bar is `progress.rs`.

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use voice_harness::Shard;
use voice_harness::case::{Speaker, ToolCall};
use voice_harness::report::{CaseReport, ReportStatus, Summary};
use voice_harness::run::{RowEvent, StepResult};

use crate::progress::Progress;

/// Where a run's lines go, and how they look.
pub(crate) struct Output {
    out: Box<dyn Write + Send>,
    style: Style,
    /// `NO_COLOR`: no colour, and no progress bar.
    plain: bool,
    /// `-q`: only the summary line (and what was asked for by name).
    quiet: bool,
    /// `-v`: a line for every case, and every failed step under a failing one.
    verbose: bool,
    /// A sweep's cases, for its table (none with `-q`).
    swept: Vec<CaseReport>,
}

impl Output {
    /// People read stdout, unless a report is written there (then stderr).
    pub(crate) fn new(report_on_stdout: bool, quiet: bool, verbose: bool) -> Self {
        let out: Box<dyn Write + Send> = if report_on_stdout {
            Box::new(io::stderr())
        } else {
            Box::new(io::stdout())
        };
        let to_terminal = if report_on_stdout {
            io::stderr().is_terminal()
        } else {
            io::stdout().is_terminal()
        };
        let plain = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            out,
            style: Style {
                colour: to_terminal && !plain,
            },
            plain,
            quiet,
            verbose,
            swept: Vec::new(),
        }
    }

    /// The progress bar of `len` steps: cases, or a sweep's calls.
    pub(crate) fn progress(&self, len: u64, sweep: bool) -> Progress {
        Progress::new(
            len,
            io::stderr().is_terminal() && !self.plain && !self.quiet,
            if sweep { "calls" } else { "cases" },
        )
    }

    /// A case of a run as it is reported, in file order: a line when it is not as expected
    /// (every case with `-v`), and the exchange under one that fails.
    pub(crate) fn case(&mut self, progress: &Progress, case: &CaseReport) {
        if !self.quiet && (self.verbose || !case.as_expected) {
            let mut text = self.style.line(case, self.verbose);
            if fails_unexpectedly(case) {
                text.push_str(&self.style.exchange(case, self.verbose));
            }
            progress.println(&mut self.out, &text);
        }
    }

    /// A case of a sweep, kept for the table printed at the end.
    pub(crate) fn swept(&mut self, case: &CaseReport) {
        if !self.quiet {
            self.swept.push(case.clone());
        }
    }

    /// The sweep table, worst first (nothing with `-q`).
    pub(crate) fn sweep_table(&mut self) {
        if self.quiet {
            return;
        }
        // Worst first: the lowest bound, then by file.
        self.swept.sort_by(|a, b| {
            let bound = |r: &CaseReport| r.sweep.as_ref().map_or(-1.0, |s| s.wilson_lower);
            (a.as_expected, bound(a))
                .partial_cmp(&(b.as_expected, bound(b)))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.file.cmp(&b.file))
        });
        let _ = writeln!(self.out, "{}", sweep_header());
        for case in &self.swept {
            let _ = writeln!(self.out, "{}", self.style.sweep_line(case));
        }
    }

    /// `--coverage`'s summary (printed with `-q` too: asked for by name).
    pub(crate) fn coverage(&mut self, summary: &str) {
        let _ = writeln!(self.out, "{summary}");
    }

    /// A shard of a suite that holds none of its case files.
    pub(crate) fn empty_shard(&mut self, shard: Shard, all: usize) {
        let _ = writeln!(
            self.out,
            "shard {shard} holds none of the {all} case files: nothing to run here"
        );
    }

    /// A shard that holds none of the cases the selection runs (other shards do).
    pub(crate) fn unselected_shard(&mut self, shard: Shard) {
        let _ = writeln!(
            self.out,
            "shard {shard} holds none of the cases the selection (--filter / --tag) runs: nothing to run here"
        );
    }

    /// The summary of a run Ctrl-C or SIGTERM stopped.
    pub(crate) fn interrupted(&mut self, summary: &Summary, elapsed: Duration) {
        // Not "all as expected": the cases that did not finish are not known to be.
        let _ = writeln!(
            self.out,
            "{}; {} ({:.2} s)",
            summary.counts(),
            self.style.paint("interrupted", "31"),
            elapsed.as_secs_f64()
        );
        let _ = writeln!(
            self.out,
            "interrupted: the reports hold only the {} that finished",
            count(summary.total, "case")
        );
    }

    /// The summary line.
    pub(crate) fn summary(&mut self, summary: &Summary, elapsed: Duration) {
        let _ = writeln!(self.out, "{}", self.style.summary(summary, elapsed));
    }

    /// Where the reports were written (files only; nothing with `-q`).
    pub(crate) fn written(
        &mut self,
        json: Option<&Path>,
        junit: Option<&Path>,
        html: Option<&Path>,
    ) {
        for (what, path) in [
            ("JSON report", json),
            ("JUnit report", junit),
            ("HTML report", html),
        ] {
            if let (Some(path), false) = (path, self.quiet) {
                let _ = writeln!(self.out, "{what}: {}", path.display());
            }
        }
    }
}

/// The case fails where it should pass: its line shows the exchange.
fn fails_unexpectedly(case: &CaseReport) -> bool {
    !case.as_expected && case.status == ReportStatus::Fail
}

/// A run's case whose line shows its exchange, which needs its steps and transcript.
pub(crate) fn shows_exchange(quiet: bool, case: &CaseReport) -> bool {
    !quiet && fails_unexpectedly(case)
}

/// A usage error, on stderr.
pub(crate) fn usage_error(message: &str) {
    eprintln!("error: {message}");
}

/// The first Ctrl-C or SIGTERM, on stderr.
pub(crate) fn interrupting() {
    eprintln!(
        "interrupted: stopping the agents and writing the reports of the cases \
         that finished (interrupt again to quit at once)"
    );
}

/// `merge`'s note of what it joined, on stderr.
pub(crate) fn merged(reports: usize, summary: &Summary) {
    eprintln!("merged {reports} reports: {}", summary.counts());
}

/// An `import` warning (a row skipped), on stderr.
pub(crate) fn import_warning(warning: &dyn std::fmt::Display) {
    eprintln!("{warning}");
}

/// A case file `import` wrote, on stdout.
pub(crate) fn imported_case(path: &Path, turns: usize, tool_calls: usize, source: &str) {
    println!(
        "wrote {} ({}, {}) from {source}",
        path.display(),
        count(turns, "turn"),
        count(tool_calls, "tool call"),
    );
}

/// `import`'s last line, on stderr.
pub(crate) fn imported(calls: usize, out: &Path) {
    eprintln!("imported {} into {}", count(calls, "call"), out.display());
}

/// `1 case`, `3 turns`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// How a line looks: coloured on a terminal (unless `NO_COLOR`).
struct Style {
    colour: bool,
}

/// The sweep table's header.
fn sweep_header() -> String {
    format!(
        "{:>11} {:>6} {:>7} {:>6}  case",
        "passes", "lower", "pass^k", "flaky"
    )
}

impl Style {
    /// One row of the sweep table.
    fn sweep_line(&self, case: &CaseReport) -> String {
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
    fn paint(&self, text: &str, code: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// `FAIL  cases/x.json (test_id): step 2 failed: …`, or `ok    cases/x.json` with -v
    /// (which also shows every problem of a file that cannot be loaded).
    fn line(&self, case: &CaseReport, verbose: bool) -> String {
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
    fn exchange(&self, case: &CaseReport, verbose: bool) -> String {
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
    fn summary(&self, s: &Summary, elapsed: Duration) -> String {
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
