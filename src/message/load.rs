//! How a case file that cannot be run reads: [`LoadError`], its [`Problem`]s and where each
//! is ([`Location`]), in full (`Display`) and on one line ([`LoadError::summary`]). Read by
//! the case author, under `cargo test` and in the runner's lines and reports; the wording of
//! each problem is in `load_problems.rs`.

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

    /// The problem on one line, for [`LoadError::summary`], when `message` and `help` say
    /// more than one line should.
    pub(super) fn brief(mut self, brief: impl Into<String>) -> Self {
        self.brief = Some(brief.into());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{missing_field, unknown_field};

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
