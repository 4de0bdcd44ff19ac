//! The wording of every problem the loader finds in a case file: the file itself (size,
//! encoding, JSON syntax, inexact numbers, a shared `test_id`) and its fields (unknown,
//! missing, of the wrong type, against a rule of the case format). Read by the case author.

use super::case_rules::Broken;
use super::load::{Location, Problem};
use crate::limits::MAX_CASE_FILE_BYTES;

// ---- the file and its fields ------------------------------------------------------------

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

/// A number in a case that a 64-bit float cannot tell from another (review P8).
pub(crate) fn inexact_number(line: usize, column: usize, number: &str) -> Problem {
    let read = number
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or_else(|| "infinity".to_owned(), |n| n.to_string());
    Problem::at(
        Location::LineColumn(line, column),
        format!(
            "the number {number} cannot be compared exactly: past the 64-bit integers numbers are read as 64-bit floats, and this one reads as {read}, which other numbers read as too"
        ),
    )
    .help(format!(
        "write it as a float holds it ({read}), or as a string (\"{number}\") when the agent sends it as one"
    ))
}

pub(crate) fn unreadable(err: &std::io::Error) -> Problem {
    Problem::at(Location::File, format!("could not read the file: {err}"))
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
            let brief = format!("unknown field `{field}`; {suggestion}");
            problem.help(suggestion).brief(brief)
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

pub(crate) fn wrong_type(path: &str, expected: &str, found: &str) -> Problem {
    Problem::at(
        Location::Path(path.to_owned()),
        format!("expected {expected}, found {found}"),
    )
}

/// A rule of the case format broken at `path` (the wording is in `case_rules.rs`).
pub(crate) fn rule(path: &str, broken: Broken) -> Problem {
    let problem = Problem::at(Location::Path(path.to_owned()), broken.what);
    match broken.help {
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
