//! The call-export importer (`voice-harness import`, docs/import.md): any bytes, read as one
//! platform's export, into recorded or scripted cases, through the same `import::convert`
//! the command uses.

use serde_json::Value;

use crate::case::parse_case;
use crate::import::{ImportError, Imported, Platform, Where, convert};
use crate::run::{RunOptions, run_case};

/// The name the fuzzed export goes by in messages.
const FILE: &str = "fuzz_export.json";

/// Importer target. The first byte chooses: bits 0–1 the platform (`--from`: Vapi, Retell,
/// LiveKit, ElevenLabs, in [`Platform::ALL`]'s order), bit 2 `--as-script`; the rest is the
/// export. It gives an error that names where (a line and column in text that is not JSON,
/// else a JSON path), or cases that load and (recorded or replayed) pass as they are; the
/// same bytes imported twice give the same cases, byte for byte, and the same warnings.
pub fn import(data: &[u8]) {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let platform = Platform::ALL[usize::from(mode & 3)];
    let as_script = mode & 4 != 0;
    let first = convert(FILE, bytes, platform, as_script);
    let again = convert(FILE, bytes, platform, as_script);
    assert!(
        first == again,
        "importing the same bytes twice gave something else"
    );
    match first {
        Err(error) => error_names_where(&error, bytes),
        Ok(imported) => {
            assert!(
                !imported.cases.is_empty(),
                "an import without an error makes a case"
            );
            cases_load_and_pass(&imported, as_script);
        }
    }
}

/// An error names the file and where in it: a line and column (from 1) when the bytes are
/// not JSON, else a JSON path into them. `Where::File` is the importer's own self-check
/// failing: a case it made that does not load or pass, which is a bug, not the export's.
fn error_names_where(error: &ImportError, bytes: &[u8]) {
    assert_eq!(error.file, FILE, "the error names the file: {error}");
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let parsed = serde_json::from_slice::<Value>(bytes);
    match &error.at {
        Where::File => panic!("a case the importer made does not load or pass: {error}"),
        Where::LineColumn(line, _) => {
            assert!(*line >= 1, "lines count from 1: {error}");
            assert!(
                parsed.is_err(),
                "a line and column only for text that is not JSON: {error}"
            );
        }
        Where::Path(path) => {
            let value =
                parsed.unwrap_or_else(|_| panic!("a JSON path in text that is not JSON: {error}"));
            assert!(
                parent_exists(&value, path) || keys_with_path_characters(&value),
                "the path of the error leads nowhere in the export: {error}"
            );
        }
    }
    assert!(
        !error.expected.is_empty() && !error.found.is_empty(),
        "the error says what was expected and found: {error:?}"
    );
    let shown = error.to_string();
    assert!(
        shown.starts_with(FILE),
        "the message starts with the file: {shown}"
    );
}

/// Every case loads, has the counts the importer reported, and passes as it is: a recorded
/// one validated, a scripted one replayed by its own `agent.replay`.
fn cases_load_and_pass(imported: &Imported, as_script: bool) {
    for case_file in &imported.cases {
        assert_eq!(
            case_file.source, FILE,
            "a case names the export it came from"
        );
        let case = parse_case(&case_file.name, case_file.text.as_bytes())
            .unwrap_or_else(|e| panic!("an imported case does not load: {e}\n{}", case_file.text));
        assert_eq!(
            case_file.name,
            format!("{}.json", case.test_id),
            "a case file is named for its test_id"
        );
        assert_eq!(
            case.transcript.is_some(),
            !as_script,
            "a recorded case keeps its transcript; a script has none"
        );
        assert_eq!(
            case.turns.len(),
            case_file.turns,
            "the turns reported are the case's"
        );
        let options = RunOptions::default().with_max_transcript_rows(usize::MAX);
        let outcome = run_case(
            &case,
            &mut crate::agent::BuiltinAgent::for_case(&case),
            &options,
        );
        assert!(
            outcome.as_expected,
            "an imported case does not pass as it is: {}\n{}",
            outcome.failures().join("; "),
            case_file.text
        );
    }
    for warning in &imported.warnings {
        assert_eq!(warning.file, FILE, "a warning names the file");
        assert!(!warning.message.is_empty(), "a warning says something");
    }
}

/// Whether all of `path` but its last part names a value of `value` (the last part may be
/// a key that is missing: the error is then that it is).
fn parent_exists(value: &Value, path: &str) -> bool {
    let parts = path_parts(path);
    let Some((_, parent)) = parts.split_last() else {
        return true; // the top level
    };
    let mut at = value;
    for part in parent {
        let next = match part {
            Part::Key(key) => at.get(key),
            Part::Index(i) => at.get(i),
        };
        match next {
            Some(next) => at = next,
            None => return false,
        }
    }
    true
}

/// A key of a path, or an index into a list.
enum Part<'a> {
    Key(&'a str),
    Index(usize),
}

/// `a.b[3][1].c` as `a`, `b`, 3, 1, `c`.
fn path_parts(path: &str) -> Vec<Part<'_>> {
    let mut parts = Vec::new();
    for piece in path.split('.') {
        let (key, mut rest) = piece.split_once('[').map_or((piece, ""), |(k, r)| (k, r));
        if !key.is_empty() || rest.is_empty() {
            parts.push(Part::Key(key));
        }
        while let Some((index, after)) = rest.split_once(']') {
            parts.push(Part::Index(index.parse().unwrap_or(usize::MAX)));
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    parts
}

/// Whether a key anywhere in `value` holds `.`, `[` or `]`, which a path does not escape.
fn keys_with_path_characters(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains(['.', '[', ']']) || keys_with_path_characters(v)),
        Value::Array(items) => items.iter().any(keys_with_path_characters),
        _ => false,
    }
}
