//! Every sentence a user reads lives here: loader problems, environment errors, the
//! reasons a step fails, failure lines, the runner's one-line reasons and hints. The
//! functions take plain data, so any layer can use them and `cargo test`, the runner and
//! the reports cannot word the same thing differently.

use std::fmt;
use std::time::Duration;

use crate::limits::{MAX_CASE_FILE_BYTES, MAX_REPLY_BYTES};

/// A case file that cannot be run, with every problem found in it.
///
/// Its `Display` (and `Debug`, which test harnesses print) names the file, where each problem
/// is (`line:column` for JSON syntax, a JSON path such as `turns[2].step_order` for rules),
/// what was expected, what was found, and how to fix it.
#[derive(Clone, PartialEq, Eq)]
pub struct LoadError {
    file: String,
    problems: Vec<Problem>,
}

/// One problem in a case file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// Where in the file.
    pub location: Location,
    /// What is wrong: what was expected and what was found.
    pub message: String,
    /// How to fix it, when there is something useful to say.
    pub help: Option<String>,
    /// The problem in a one-line summary, when shorter than `message` and `help` together
    /// (an unknown field with a near name: the name, not the list of every field).
    brief: Option<String>,
}

/// Where a [`Problem`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The file as a whole (size, encoding, duplicate `test_id` across files).
    File,
    /// A position in the text (1-based), for JSON syntax errors.
    LineColumn(usize, usize),
    /// A JSON path such as `turns[2].step_order`; empty for the top-level value.
    Path(String),
}

impl LoadError {
    pub(crate) fn new(file: impl Into<String>, problems: Vec<Problem>) -> Self {
        Self {
            file: file.into(),
            problems,
        }
    }

    /// The same problems, naming the file as `file` (the loader names it as it was given).
    pub(crate) fn renamed(mut self, file: impl Into<String>) -> Self {
        self.file = file.into();
        self
    }

    /// The case file, as it was named to the loader.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Every problem found, in file order for syntax and rule order for rules.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl Problem {
    pub(crate) fn at(location: Location, message: impl Into<String>) -> Self {
        Self {
            location,
            message: message.into(),
            help: None,
            brief: None,
        }
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// A message lists at most this many problems (all are in [`LoadError::problems`]): a file
/// with thousands of bad fields should not print thousands of lines.
pub(crate) const MAX_SHOWN: usize = 20;

impl LoadError {
    /// The first problem on one line, for one-line reports (the runner's line, JUnit's
    /// message): `turns[0]: unknown field `user_inptu`; did you mean `user_input`?`, then
    /// how many others there are and how to see them, `(+2 more problems; -v shows them)`.
    pub fn summary(&self) -> String {
        let first = match self.problems.first() {
            Some(problem) => match &problem.brief {
                Some(brief) => self.at(&problem.location, brief),
                None => self.located(problem),
            },
            None => format!("invalid case file {}", self.file),
        };
        match self.problems.len() {
            0 | 1 => first,
            2 => format!("{first} (+1 more problem; -v shows it)"),
            n => format!("{first} (+{} more problems; -v shows them)", n - 1),
        }
    }

    /// `where: what` for one problem.
    fn located(&self, problem: &Problem) -> String {
        self.at(&problem.location, &problem.message)
    }

    /// `where: text`.
    fn at(&self, location: &Location, text: &str) -> String {
        match location {
            Location::File => format!("{}: {text}", self.file),
            Location::LineColumn(line, column) => {
                format!("{}:{line}:{column}: {text}", self.file)
            }
            Location::Path(path) if path.is_empty() => format!("(top level): {text}"),
            Location::Path(path) => format!("{path}: {text}"),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        let count = if n == 1 {
            String::from("1 problem")
        } else {
            format!("{n} problems")
        };
        write!(
            f,
            "invalid case file {} ({count}; the case was not run)",
            self.file
        )?;
        for problem in self.problems.iter().take(MAX_SHOWN) {
            write!(f, "\n  --> {}", self.located(problem))?;
            if let Some(help) = &problem.help {
                write!(f, "\n      help: {help}")?;
            }
        }
        if n > MAX_SHOWN {
            write!(f, "\n  … and {} more problems", n - MAX_SHOWN)?;
        }
        Ok(())
    }
}

impl fmt::Debug for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for LoadError {}

// ---- wording of loader problems ----------------------------------------------------------

pub(crate) fn too_large(len: u64) -> Problem {
    Problem::at(
        Location::File,
        format!(
            "the file is {len} bytes; a case file may be at most {MAX_CASE_FILE_BYTES} bytes (1 MiB)"
        ),
    )
    .help("split the call into several cases, or shorten its recorded transcript")
}

pub(crate) fn not_utf8(line: usize, column: usize, byte: u8) -> Problem {
    Problem::at(
        Location::LineColumn(line, column),
        format!("the file is not valid UTF-8 (byte 0x{byte:02x})"),
    )
    .help("save the file as UTF-8")
}

pub(crate) fn unreadable(err: &std::io::Error) -> Problem {
    Problem::at(Location::File, format!("cannot read the file: {err}"))
}

pub(crate) fn json_syntax(err: &serde_json::Error) -> Problem {
    let text = err.to_string();
    // serde_json appends " at line L column C"; the location is rendered separately.
    let what = match text.rfind(" at line ") {
        Some(at) => &text[..at],
        None => &text,
    };
    Problem::at(
        Location::LineColumn(err.line().max(1), err.column().max(1)),
        format!("invalid JSON: {what}"),
    )
}

pub(crate) fn unknown_field(path: &str, field: &str, allowed: &[&str], suggest: bool) -> Problem {
    let near = allowed
        .iter()
        .filter(|_| suggest)
        .map(|candidate| (strsim::damerau_levenshtein(field, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(1))
        .min();
    let problem = Problem::at(
        Location::Path(path.to_owned()),
        format!(
            "unknown field `{field}`; expected one of: {}",
            allowed.join(", ")
        ),
    );
    match near {
        Some((_, candidate)) => {
            let suggestion = format!("did you mean `{candidate}`?");
            let mut problem = problem.help(suggestion.clone());
            problem.brief = Some(format!("unknown field `{field}`; {suggestion}"));
            problem
        }
        None => problem
            .help("remove it; unknown fields are errors so that a typo is never silently ignored"),
    }
}

pub(crate) fn missing_field(path: &str, field: &str, what: &str) -> Problem {
    Problem::at(
        Location::Path(path.to_owned()),
        format!("missing required field `{field}` ({what})"),
    )
}

/// `turns` is missing: a scripted case needs it, a caller that follows rules does not.
pub(crate) fn missing_turns(path: &str) -> Problem {
    missing_field(path, "turns", "the scripted steps of the call").help(
        "or, for a caller that follows rules instead of a script, `caller.rules` and `outcome` \
         (such a case has no `turns`; see docs/rules.md)",
    )
}

/// How to get the LLM mode, for a `cargo test` user and for a runner user alike.
pub(crate) const NEEDS_LLM_HELP: &str = "under `cargo test`, add `features = [\"llm\"]` to the voice-harness dependency in your Cargo.toml; for the runner, install one built with it: `cargo install --path . --features llm` in a clone of voice-harness; see docs/llm.md";

pub(crate) fn wrong_type(path: &str, expected: &str, found: &str) -> Problem {
    Problem::at(
        Location::Path(path.to_owned()),
        format!("expected {expected}, found {found}"),
    )
}

pub(crate) fn rule(path: &str, message: impl Into<String>, help: Option<&str>) -> Problem {
    let problem = Problem::at(Location::Path(path.to_owned()), message);
    match help {
        Some(help) => problem.help(help),
        None => problem,
    }
}

pub(crate) fn duplicate_test_id(test_id: &str, others: &[String]) -> Problem {
    Problem::at(
        Location::Path("test_id".into()),
        format!("test_id `{test_id}` is also used by {}", others.join(", ")),
    )
    .help("give every case file its own test_id")
}

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

// ---- the environment ---------------------------------------------------------------------

impl fmt::Display for crate::limits::EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bad_env_value(self.var, &self.value, self.default))
    }
}

pub(crate) fn bad_env_value(var: &str, value: &str, default: usize) -> String {
    format!(
        "environment variable {var}: expected a whole number of at least 1, found {value:?}\n  help: fix it, or unset it to use the default ({default})"
    )
}

/// Whether this is CI, by insta's rule (so the hint agrees with what insta does): `CI` set
/// to anything but `false`, `0` or empty, or else `TF_BUILD` set (Azure Pipelines).
pub(crate) fn is_ci(lookup: impl Fn(&str) -> Option<String>) -> bool {
    match lookup("CI").as_deref() {
        Some("false" | "0" | "") => false,
        None => lookup("TF_BUILD").is_some(),
        Some(_) => true,
    }
}

// ---- a call ------------------------------------------------------------------------------

/// `10 s`, or `300 ms` when not a whole number of seconds.
pub(crate) fn human_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// The turn timeout struck. On the virtual clock (`virtual_clock`) the harness cannot tell
/// an agent sleeping past the timeout on a tokio timer from one that hangs or waits on
/// something the paused clock cannot see, so the message names all three, with no wall-time
/// figure (it would change the snapshot on every run).
pub(crate) fn no_reply_within(timeout: Duration, virtual_clock: bool) -> String {
    let mut text = format!(
        "no reply within {} (the per-turn timeout)",
        human_duration(timeout)
    );
    if virtual_clock {
        text.push_str(
            "; the virtual clock reached it with no reply: the agent sleeps longer than that \
             on a tokio timer, hangs, or waits on something the virtual clock cannot see (a \
             thread, a blocking call, network I/O), which makes it jump straight to the \
             timeout. An agent that does real work must run on real time: \
             `fn wall_clock(&self) -> bool { true }` in its `impl Agent`",
        );
    }
    text
}

/// Whether `text` is a [`no_reply_within`] message.
pub(crate) fn is_no_reply_within(text: &str) -> bool {
    text.starts_with("no reply within ")
}

/// After a turn timeout, for a program that wrote nothing on its stdout in the whole call:
/// the usual cause is a reply left in its output buffer (Python buffers a pipe).
pub(crate) fn nothing_on_stdout(program: &str) -> String {
    format!(
        "agent program `{program}` wrote nothing on its stdout in this call: if it printed a \
         reply, the reply is still in its output buffer. Flush after each line (Python: \
         `print(..., flush=True)`)"
    )
}

/// A call whose agent failed to start: an error, whatever the case expects.
pub(crate) fn never_started(why: &str) -> String {
    format!("the call never started: {why}")
}

pub(crate) fn agent_panicked(message: &str) -> String {
    if message.contains("IO is disabled") {
        // tokio's words when an agent on the virtual clock opens a socket.
        return format!(
            "agent panicked: {message}; an agent that does real I/O runs on real time: \
             `fn wall_clock(&self) -> bool {{ true }}` in its `impl Agent`"
        );
    }
    format!("agent panicked: {message}")
}

pub(crate) fn reply_too_long(len: usize) -> String {
    format!("the agent's reply is {len} bytes; replies may be at most {MAX_REPLY_BYTES} bytes")
}

pub(crate) fn reply_line_too_long(program: &str, limit: usize) -> String {
    format!(
        "agent program `{program}` wrote {limit} bytes without ending its reply line; a reply \
         is one JSON object on one line, and its text may be at most {MAX_REPLY_BYTES} bytes, \
         so the rest was not read"
    )
}

pub(crate) fn http_body_too_long(url: &str, status: u16, limit: u64) -> String {
    format!(
        "the agent at {url} answered HTTP {status} with a body over {limit} bytes; a reply is \
         one JSON object whose text may be at most {MAX_REPLY_BYTES} bytes, so the rest was \
         not read"
    )
}

// ---- steps -------------------------------------------------------------------------------

/// The step a cut transcript left without its rows.
pub(crate) fn transcript_cut(rows: usize) -> String {
    format!(
        "the call was cut at {rows} rows (MAX_TRANSCRIPT_SIZE); raise the limit to run it \
         whole, e.g. MAX_TRANSCRIPT_SIZE={}",
        rows.saturating_mul(2).max(rows + 1)
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

/// A program agent wrote a line after its answer to `event`, where nothing asked for one.
pub(crate) fn line_nobody_asked_for(program: &str, event: &str, line: &str) -> String {
    format!(
        "agent program `{program}` wrote a line nobody asked for: after its answer to {event} \
         it wrote {line}. One line answers each event (none for `start`, unless the case has \
         `greeting`, and none for `end`): a greeting or a second line for one event puts every \
         later reply out of step"
    )
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

/// `1 case`, `2 cases`.
#[cfg(feature = "cli")]
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

// ---- cargo test --------------------------------------------------------------------------

pub(crate) fn rerun_hint(target: &str, test_name: &str) -> String {
    format!("re-run just this case:\n  cargo test --test {target} -- --exact {test_name}")
}

pub(crate) fn snapshot_mismatch(folder: &str, changed: &[String], ci: bool) -> String {
    let how = if ci {
        "CI is set, so nothing was written: run `cargo test` locally, review with \
         `cargo insta review`, and commit the snapshots"
    } else {
        "review with `cargo insta review` (or `cargo insta accept`), then re-run"
    };
    format!(
        "snapshot mismatch in {folder}/: {}\n  {how}",
        changed.join(", ")
    )
}

/// What the guard test says when cargo's own harness ran the `harness!` target.
pub const HARNESS_NOT_FALSE: &str = "voice_harness::harness! needs its test target to have \
`harness = false`: cargo's own test harness ran instead, so no case was run.\n  \
help: in Cargo.toml, add\n\n[[test]]\nname = \"<this file's name>\"\nharness = false\n";

pub(crate) fn cases_folder_missing(root: &str, absolute: &str, why: &str) -> String {
    format!(
        "voice_harness::harness!: cannot read the cases folder `{root}` ({absolute}): {why}\n  \
         help: create it and add a case file, or point the macro at your folder with \
         `voice_harness::harness!(root = \"path/to/cases\")` (relative to the crate root)"
    )
}

pub(crate) fn cases_folder_empty(root: &str, absolute: &str) -> String {
    format!(
        "voice_harness::harness!: no case file (*.json) in the cases folder `{root}` \
         ({absolute})\n  help: add a case file there (see docs/rust.md, \"Add a case\"), \
         or point the macro at your folder with `root = \"path/to/cases\"`"
    )
}

/// `word` as one word of a POSIX shell command line: as it is when it has nothing the shell
/// would read, else in double quotes when that is enough (an `--agent-command "…"`), else in
/// single quotes.
pub(crate) fn shell_word(word: &str) -> String {
    if is_plain(word) {
        word.to_owned()
    } else if !word.contains(['"', '$', '`', '\\', '!']) {
        format!("\"{word}\"")
    } else {
        single_quoted(word)
    }
}

/// `word` as one word of a command inside an `--agent-command "…"`: as it is, or in single
/// quotes (which the outer double quotes keep).
pub(crate) fn shell_arg(word: &str) -> String {
    if is_plain(word) {
        word.to_owned()
    } else {
        single_quoted(word)
    }
}

fn is_plain(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c))
}

fn single_quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// A swept case under its bound: the failing seeds and how to shrink one. `bound` is the
/// lower bound and `min_pass_rate`, when the case has one; `first` the first failing seed
/// and why. `runner_flags` makes the runner call the same agent (`Agent::__runner_flags`);
/// `None` when it cannot (an agent in Rust): the hint then says what reproduces it.
pub(crate) fn sweep_failed(
    file: &str,
    (passes, runs): (u64, u64),
    bound: Option<(f64, f64)>,
    failing_seeds: &[u64],
    first: Option<(u64, &str)>,
    (from, seeds): (u64, u64),
    runner_flags: Option<&str>,
) -> String {
    let bound = match bound {
        Some((lower, rate)) => {
            format!("the 95% lower bound {lower:.2} is under min_pass_rate {rate}")
        }
        None => "every seed must pass".to_owned(),
    };
    let listed: Vec<String> = failing_seeds.iter().take(20).map(u64::to_string).collect();
    let more = if failing_seeds.len() > 20 {
        ", …"
    } else {
        ""
    };
    let next = match (runner_flags, first) {
        (Some(flags), _) => format!(
            "shrink one to a minimal case (from the crate's folder): voice-harness sweep {file} \
             --from {from} --seeds {seeds}{flags} --shrink shrunk/"
        ),
        (None, Some((seed, _))) => format!(
            "reproduce one: a copy of the case with \"seed\": {seed} and without \"sweep\" \
             fails the same way under cargo test (the runner's `sweep --shrink` cannot call an \
             agent written in Rust)"
        ),
        (None, None) => "reproduce one: a copy of the case with \"seed\" set to a failing seed \
             and without \"sweep\" fails the same way under cargo test"
            .to_owned(),
    };
    let first = first
        .map(|(seed, reason)| format!("\n  first failing seed {seed}: {reason}"))
        .unwrap_or_default();
    format!(
        "sweep of {file}: {passes}/{runs} seeds passed; {bound}\n  failing seeds: {}{more}{first}\n  \
         {next}",
        listed.join(", "),
    )
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

/// A sweep's bound that `runs` runs, all passing, cannot meet (issue 23, fault 16).
pub(crate) fn sweep_bound_unreachable(runs: u64, best: f64, rate: f64, needed: u64) -> String {
    format!(
        "{runs} runs that all pass have a 95% lower bound of {best:.2}, under {rate}; use at least {needed} seeds"
    )
}

/// A bound of 1 (or more): no sweep ever meets it.
pub(crate) fn sweep_bound_never(rate: f64) -> String {
    format!(
        "a 95% lower bound is under 1 for any number of seeds, so {rate} can never be met; leave the bound out to require every run to pass"
    )
}

/// A case whose sweep, as the flags and its `sweep` block make it, can never pass.
pub(crate) fn sweep_cannot_pass(why: &str) -> String {
    format!("this sweep can never pass: {why}")
}

/// A case's `sweep.min_pass_rate` of 1: its problem and help.
pub(crate) fn case_sweep_never(rate: f64) -> (String, &'static str) {
    (
        format!(
            "a 95% lower bound is under 1 for any number of seeds, so min_pass_rate {rate} can never be met"
        ),
        "leave min_pass_rate out to require every seed to pass",
    )
}

/// A case's `sweep.seeds` too few for its `min_pass_rate`: its problem and help.
pub(crate) fn case_sweep_too_few(
    seeds: u64,
    best: f64,
    rate: f64,
    needed: u64,
) -> (String, String) {
    (
        format!(
            "with {seeds} seeds the 95% lower bound is at most {best:.2} (every seed passing), under min_pass_rate {rate}: the test could never pass"
        ),
        format!("use at least {needed} seeds, or a lower min_pass_rate"),
    )
}

/// A case that needs an LLM and has a `sweep` block.
pub(crate) const LLM_CASE_SWEEP: &str = "a case that needs an LLM (a judge, a rephrasing caller) cannot be swept: every seed would need new LLM answers";

pub(crate) const LLM_NOT_SWEPT: &str = "a case that needs an LLM (a judge, a rephrasing caller) is not swept: every seed would need new LLM answers; run it with `voice-harness run`";

#[cfg(feature = "cli")]
pub(crate) const NOT_SHRUNK: &str = "not shrunk: the failing seed's fillers and misheard lines, written down, did not fail the same way (the agent varies between runs?)";

pub(crate) fn agent_not_built(panic: &str) -> String {
    format!("the agent could not be built for this case: it panicked: {panic}")
}

#[cfg(feature = "cli")]
pub(crate) const PASSED_BUT_EXPECTED_TO_FAIL: &str =
    "the call passed, but the case expects it to fail";

// ---- tools -------------------------------------------------------------------------------

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

pub(crate) fn no_mock_for(name: &str) -> String {
    format!("no mock for tool {name}")
}

/// A call no mock answers, with what the mocks do answer.
/// `matchers`: the `match` of each mock of the tool (`None`: any arguments); `None` when
/// the tool has no mock.
pub(crate) fn unmatched_mock(
    name: &str,
    arguments: &serde_json::Value,
    matchers: Option<Vec<Option<&serde_json::Value>>>,
) -> String {
    let answered = match matchers {
        None => "the case has no mock of that tool".to_owned(),
        Some(matchers) => {
            let matches: Vec<String> = matchers
                .into_iter()
                .map(|m| m.map_or_else(|| "any arguments".to_owned(), inline_json))
                .collect();
            format!("mocks match {}", matches.join(", "))
        }
    };
    format!(
        "no mock of {name} matches {}; {answered}",
        inline_json(arguments)
    )
}

pub(crate) fn tool_cap(step: u32, cap: usize) -> String {
    format!(
        "the agent made more than {cap} tool calls in step {step} (the per-turn cap); it was stopped there"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_is_decided_as_insta_decides_it() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |var: &str| {
                vars.iter()
                    .find(|(k, _)| *k == var)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        // Before: any `CI` counted, `CI=false` included, and `TF_BUILD` did not.
        assert!(!is_ci(env(&[("CI", "false")])));
        assert!(!is_ci(env(&[("CI", "0")])));
        assert!(!is_ci(env(&[("CI", "")])));
        assert!(!is_ci(env(&[])));
        assert!(is_ci(env(&[("CI", "true")])));
        assert!(is_ci(env(&[("CI", "1")])));
        assert!(is_ci(env(&[("TF_BUILD", "True")])));
        assert!(!is_ci(env(&[("CI", "false"), ("TF_BUILD", "True")])));
    }

    /// Words of a printed command read back as the shell would (shrink hints, #25).
    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("agent.py"), "agent.py");
        assert_eq!(shell_word("python3 agent.py"), "\"python3 agent.py\"");
        assert_eq!(shell_word("say \"hi\""), "'say \"hi\"'");
        assert_eq!(shell_word("it's $HOME"), "'it'\\''s $HOME'");
        assert_eq!(shell_word(""), "\"\"");
        assert_eq!(shell_arg("two words"), "'two words'");
        assert_eq!(shell_arg("--port=8080"), "--port=8080");
    }

    const FIELDS: &[&str] = &["step_order", "user_input", "forbidden_keywords"];

    /// The one-line summary (the runner's line, JUnit's message) says "did you mean" and no
    /// list of fields; "+N more" says it counts problems and how to see them (#25).
    #[test]
    fn a_summary_suggests_the_field_and_counts_the_other_problems() {
        let typo = || unknown_field("turns[0]", "user_inptu", FIELDS, true);
        let missing = || missing_field("turns[0]", "user_input", "what the caller says");
        let one = LoadError::new("bad.json", vec![typo()]);
        assert_eq!(
            one.summary(),
            "turns[0]: unknown field `user_inptu`; did you mean `user_input`?"
        );
        let two = LoadError::new("bad.json", vec![typo(), missing()]);
        assert_eq!(
            two.summary(),
            "turns[0]: unknown field `user_inptu`; did you mean `user_input`? (+1 more problem; -v shows it)"
        );
        let three = LoadError::new("bad.json", vec![typo(), missing(), missing()]);
        assert!(
            three
                .summary()
                .ends_with(" (+2 more problems; -v shows them)"),
            "{}",
            three.summary()
        );
    }

    /// Without a near name, the list of allowed fields is how to fix it: it stays.
    #[test]
    fn a_summary_without_a_suggestion_lists_the_fields() {
        let err = LoadError::new(
            "bad.json",
            vec![unknown_field("turns[0]", "zzz", FIELDS, true)],
        );
        assert_eq!(
            err.summary(),
            "turns[0]: unknown field `zzz`; expected one of: step_order, user_input, forbidden_keywords"
        );
    }
}
