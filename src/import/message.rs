//! Every sentence `voice-harness import` says: errors name the file, the JSON path (or
//! `line:column` for JSON syntax), what was expected and what was found; warnings name the
//! row that was skipped and why.

use std::fmt;

use serde_json::Value;

/// What a missing field is "found" as.
pub(crate) const NOTHING: &str = "nothing";
pub(crate) const ARGUMENTS: &str = "the call's arguments: a JSON object, or a string of one";
pub(crate) const ARGUMENTS_HELP: &str = "the case keeps the arguments to match the agent's calls; \
     fix the export's arguments, or remove the tool call (and its result) from the export";
pub(crate) const ORDER_HELP: &str = "the rows must be in the order they happened; an export that \
     was edited or merged by hand may have moved one";

/// One problem in an export, before it is tied to its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) path: String,
    pub(crate) expected: String,
    pub(crate) found: String,
    pub(crate) help: Option<String>,
}

impl Problem {
    pub(crate) fn new(
        path: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            expected: expected.into(),
            found: found.into(),
            help: None,
        }
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Where an [`ImportError`] is in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Where {
    /// The file as a whole (it cannot be read, or it would overwrite a case).
    File,
    /// A position in the text (1-based), for JSON syntax errors.
    LineColumn(usize, usize),
    /// A JSON path such as `transcript[3].time_in_call_secs`; empty for the top level.
    Path(String),
}

/// Why an export could not be imported. Nothing is written when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// The file, as it was named.
    pub file: String,
    /// Where in the file.
    pub at: Where,
    /// What was expected there.
    pub expected: String,
    /// What was found.
    pub found: String,
    /// How to fix it, when there is something useful to say.
    pub help: Option<String>,
}

impl ImportError {
    pub(crate) fn in_file(file: &str, problem: Problem) -> Self {
        Self {
            file: file.to_owned(),
            at: Where::Path(problem.path),
            expected: problem.expected,
            found: problem.found,
            help: problem.help,
        }
    }

    pub(crate) fn whole(file: &str, expected: impl Into<String>, found: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            at: Where::File,
            expected: expected.into(),
            found: found.into(),
            help: None,
        }
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Where::File => write!(f, "{}: ", self.file)?,
            Where::LineColumn(line, column) => write!(f, "{}:{line}:{column}: ", self.file)?,
            Where::Path(path) if path.is_empty() => write!(f, "{}: (top level): ", self.file)?,
            Where::Path(path) => write!(f, "{}: {path}: ", self.file)?,
        }
        write!(f, "expected {}, found {}", self.expected, self.found)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ImportError {}

/// A row the importer skipped, or something the case cannot hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The file, as it was named.
    pub file: String,
    /// The JSON path of the row.
    pub path: String,
    /// What happened.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "warning: {}: {}", self.file, self.message)
        } else {
            write!(f, "warning: {}: {}: {}", self.file, self.path, self.message)
        }
    }
}

/// A JSON value as a person would name it: `a string "abc"`, `a number 12`, `an object`.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", quote(s)),
        Value::Array(items) => format!("a list of {} items", items.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// `text` quoted as JSON, cut after 60 characters.
pub(crate) fn quote(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", serde_json::Value::from(&text[..cut])),
        None => serde_json::Value::from(text).to_string(),
    }
}

/// The expectation for a file given to `--from <platform>`.
pub(crate) fn expected_export(platform: &str, shapes: &str) -> String {
    format!("{} {platform} export ({shapes})", article(platform))
}

/// `a` or `an`, as the platform's name is said.
fn article(name: &str) -> &'static str {
    if name.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    }
}

/// What a file of another platform looks like, and the flag that reads it.
pub(crate) fn other_platform(name: &str, flag: &str, sign: &str) -> (String, String) {
    (
        format!(
            "what looks like {} {name} export (it has {sign})",
            article(name)
        ),
        format!("import it with `--from {flag}`"),
    )
}

pub(crate) fn not_json(error: &serde_json::Error) -> String {
    let what = error.to_string();
    // serde_json ends its message with " at line L column C", which the location says.
    let what = match what.rfind(" at line ") {
        Some(i) => what[..i].to_owned(),
        None => what,
    };
    format!("text that is not JSON ({what})")
}

pub(crate) fn out_of_order(previous: &str, previous_path: &str) -> String {
    format!("a time at or after {previous} (that of `{previous_path}`, the row before)")
}

pub(crate) fn ends_before_start(start: &str) -> String {
    format!("an end at or after the row's start, {start}")
}

/// Milliseconds as seconds: `12.345 s`.
pub(crate) fn seconds(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    format!("{sign}{}.{:03} s", ms / 1000, ms % 1000)
}

pub(crate) fn no_text() -> String {
    "a message with no words; skipped".to_owned()
}

pub(crate) fn unknown_role(role: &str) -> String {
    format!(
        "a row with role {}, which a case cannot hold; skipped",
        quote(role)
    )
}

pub(crate) fn unknown_result(id: &str) -> String {
    format!(
        "a tool result for call {}, which no earlier tool call made; skipped",
        quote(id)
    )
}

pub(crate) fn bad_digits(digits: &str) -> String {
    format!(
        "keypad input {} is not keypad tones (0-9 * # A-D); skipped",
        quote(digits)
    )
}

pub(crate) fn overlap(agent_start_ms: i64, user_end_ms: i64) -> String {
    format!(
        "the agent began at {} before the caller's line ended at {}: no latency is kept for this reply",
        seconds(agent_start_ms),
        seconds(user_end_ms)
    )
}

pub(crate) fn no_id(id: &str) -> String {
    format!("the export has no call id; the case is named {}", quote(id))
}

pub(crate) fn tone_marker(marker: &str) -> String {
    format!(
        "the agent said tone marker {}: it is left out of the case's `tone_markers`, so the case passes as imported",
        quote(marker)
    )
}

pub(crate) fn no_result(name: &str) -> String {
    format!(
        "the call to {} has no result in the export; the case records `null`",
        quote(name)
    )
}

pub(crate) fn unanswered_line() -> String {
    "the caller's last line got no reply: it is kept in the transcript, but is not a turn"
        .to_owned()
}

pub(crate) fn no_turns() -> String {
    "a call with at least one caller line that the agent answered".to_owned()
}

pub(crate) fn too_large(bytes: usize, limit: u64) -> String {
    format!("a case of at most {limit} bytes, the loader's limit; this call makes {bytes}")
}

pub(crate) fn exists(source: &str) -> (&'static str, String, &'static str) {
    (
        "no case file there yet",
        format!("one already (the case imported from {source} would replace it)"),
        "pass --force to replace it, or choose another --out",
    )
}

pub(crate) fn duplicate_id(name: &str, first: &str) -> (&'static str, String) {
    (
        "one call per call id",
        format!("a second call that makes {name} (the first is in {first})"),
    )
}

pub(crate) const NOT_JSON_HELP: &str =
    "the file is cut short or is not JSON: export the call again";
pub(crate) const NO_LINES: &str = "a call with no lines";
pub(crate) const NO_REPLY: &str = "a call in which no caller line got a reply";
pub(crate) const TOO_LARGE_HELP: &str =
    "split the export, or keep the part of the call that matters";
pub(crate) const BUG_HELP: &str =
    "this is a bug in voice-harness import: please report it with the export";
pub(crate) const READABLE: &str = "a file that can be read";
pub(crate) const WRITABLE: &str = "a folder the cases can be written to";
pub(crate) const DUPLICATE_HELP: &str = "import each call once";
pub(crate) const VAPI_REPORT_HELP: &str = "only the end-of-call report holds the whole call; save \
     that message, or the call from GET /call/:id";
pub(crate) const RETELL_TRANSCRIPT_HELP: &str =
    "Retell adds the transcript once the call has ended: export the call again after it ends";
pub(crate) const RETELL_NO_TOOLS: &str =
    "no `transcript_with_tool_calls`: read `transcript_object`, which has no tool calls";

pub(crate) fn long_transcript(rows: usize) -> String {
    format!("the transcript has {rows} rows: run it with MAX_TRANSCRIPT_SIZE={rows} or more")
}

pub(crate) fn self_check(name: &str) -> String {
    format!("a case ({name}) that loads and passes as imported")
}

/// An export that is an empty list: nothing to import, said instead of writing nothing.
pub(crate) fn no_calls(path: &str, shapes: &str) -> Problem {
    Problem::new(path, shapes, "an empty list")
        .help("export at least one call: an empty list has no conversation to make a case of")
}
