//! Loading case files (docs/case-format.md): bytes → JSON tree → checked [`Case`].
//!
//! The JSON is first parsed into a small tree of our own, which keeps keys in file order and
//! rejects duplicate keys (so a repeated field is an error, not last-one-wins). Then every
//! rule is checked and *all* problems are reported at once, each with its JSON path.

use std::io::Read;
use std::path::Path;

use super::Case;
use super::check::Checker;
use super::discover::display_path;
use super::json::{Node, line_column};
use crate::limits::MAX_CASE_FILE_BYTES;
use crate::message::{self as error, LoadError};

/// Reads and checks one case file.
///
/// The error names the file as `path` is written, so pass the path relative to the
/// directory the user runs from.
pub fn load_case(path: &Path) -> Result<Case, LoadError> {
    let name = display_path(path);
    let fail = |problem| LoadError::new(name.clone(), vec![problem]);
    // One open, its size from the open file: a file's every system call counts when a
    // suite has 100,000 of them.
    let read = || -> std::io::Result<Result<Vec<u8>, u64>> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        if len > MAX_CASE_FILE_BYTES {
            return Ok(Err(len));
        }
        // Exactly the size fstat gave, in one read: `take` ends the read there, where
        // `read_to_end` would ask the file once more only to learn it had ended. (A file
        // written to while the run reads it is read as it was; its JSON may then be cut.)
        let mut bytes = Vec::with_capacity(len as usize);
        file.take(len).read_to_end(&mut bytes)?;
        Ok(Ok(bytes))
    };
    match read() {
        Err(e) => Err(fail(error::unreadable(&e))),
        Ok(Err(len)) => Err(fail(error::too_large(len))),
        Ok(Ok(bytes)) => parse_case(&name, &bytes),
    }
}

/// Checks the bytes of one case file; `file` names it in errors.
///
/// ```
/// let json = br#"{"test_id": "t", "persona": "P",
///   "turns": [{"step_order": 1, "user_input": "Hi", "expected_agent_response_keywords": ["hello"]}]}"#;
/// let case = voice_harness::parse_case("cases/t.json", json).unwrap();
/// assert_eq!(case.turns()[0].user_input(), "Hi");
///
/// let err = voice_harness::parse_case("cases/t.json", br#"{"test_id": "t"}"#).unwrap_err();
/// assert!(err.to_string().contains("missing required field `persona`"));
/// ```
pub fn parse_case(file: &str, bytes: &[u8]) -> Result<Case, LoadError> {
    let fail = |problem| LoadError::new(file, vec![problem]);
    if bytes.len() as u64 > MAX_CASE_FILE_BYTES {
        return Err(fail(error::too_large(bytes.len() as u64)));
    }
    // Editors on Windows like to start UTF-8 files with a byte-order mark; JSON does not
    // allow one, but refusing a file for an invisible character helps nobody.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_column(&bytes[..e.valid_up_to()]);
        fail(error::not_utf8(line, column, bytes[e.valid_up_to()]))
    })?;
    let node: Node = serde_json::from_str(text).map_err(|e| fail(error::json_syntax(&e)))?;
    let mut checker = Checker::default();
    let case = checker.case(&node);
    // Numbers past the 64-bit integers are floats here: one that a float cannot tell from
    // another number could only be compared loosely (review P8), so it is refused. Only
    // when the rules found nothing: a field that wants a whole number (`seed`,
    // `step_order`) has already said what is wrong with it.
    if checker.problems.is_empty() {
        for (at, number) in crate::tool_match::inexact_numbers(text) {
            let (line, column) = line_column(&text.as_bytes()[..at]);
            checker
                .problems
                .push(error::inexact_number(line, column, number));
        }
    }
    match case {
        Some(case) if checker.problems.is_empty() => Ok(case),
        _ => Err(LoadError::new(file, checker.problems)),
    }
}
