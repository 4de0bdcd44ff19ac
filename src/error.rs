//! Errors for people: every sentence the loader and the environment checks say lives here.

use std::fmt;

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
    /// The first problem on one line (`turns[0]: unknown field …`), for one-line reports.
    pub fn summary(&self) -> String {
        match self.problems.first() {
            Some(problem) => self.located(problem),
            None => format!("invalid case file {}", self.file),
        }
    }

    /// `where: what` for one problem.
    fn located(&self, problem: &Problem) -> String {
        match &problem.location {
            Location::File => format!("{}: {}", self.file, problem.message),
            Location::LineColumn(line, column) => {
                format!("{}:{line}:{column}: {}", self.file, problem.message)
            }
            Location::Path(path) if path.is_empty() => format!("(top level): {}", problem.message),
            Location::Path(path) => format!("{path}: {}", problem.message),
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
            "the file is {len} bytes; a case file may be at most {} bytes (1 MiB)",
            crate::load::MAX_CASE_FILE_BYTES
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
        Some((_, candidate)) => problem.help(format!("did you mean `{candidate}`?")),
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
