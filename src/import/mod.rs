//! `voice-harness import`: production calls into case files (docs/import.md).
//!
//! Not part of the public API: the runner's `import` command is its only user, and it may
//! change in any release. An export is read into one neutral call model (`model`: lines
//! with speaker, text, times, tool calls and results, interruptions, keypad input), which is
//! turned into a recorded case or, with `--as-script`, a scripted one (`emit`). Every case is
//! loaded and run before anything is written, so an imported case loads and passes as it is;
//! and nothing is written when any file has an error.

use std::path::{Path, PathBuf};

use serde_json::Value;

mod elevenlabs;
mod emit;
mod json;
mod livekit;
mod message;
mod model;
mod retell;
mod sniff;
mod vapi;

pub use message::{ImportError, Warning, Where};

use crate::case::discover::display_path;
use crate::limits::{DEFAULT_MAX_TRANSCRIPT_SIZE, MAX_CASE_FILE_BYTES};
use json::At;
use message::Problem;
use model::{Call, Line, Notes};

/// The platforms `--from` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Vapi: an `end-of-call-report` message or a call object.
    Vapi,
    /// Retell: a call object with `transcript_with_tool_calls`.
    Retell,
    /// LiveKit Agents: a chat history (`session.history.to_dict()`).
    LiveKit,
    /// ElevenLabs Agents: a conversation with its `transcript`.
    ElevenLabs,
}

impl Platform {
    /// Every platform, in the order `--help` lists them.
    pub const ALL: [Platform; 4] = [
        Platform::Vapi,
        Platform::Retell,
        Platform::LiveKit,
        Platform::ElevenLabs,
    ];

    /// The platform `--from NAME` names.
    pub fn from_flag(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.flag() == name)
    }

    /// `vapi`, `retell`, `livekit`, `elevenlabs`.
    pub fn flag(self) -> &'static str {
        match self {
            Platform::Vapi => "vapi",
            Platform::Retell => "retell",
            Platform::LiveKit => "livekit",
            Platform::ElevenLabs => "elevenlabs",
        }
    }

    /// The platform's name as it writes it.
    pub fn title(self) -> &'static str {
        match self {
            Platform::Vapi => "Vapi",
            Platform::Retell => "Retell",
            Platform::LiveKit => "LiveKit",
            Platform::ElevenLabs => "ElevenLabs",
        }
    }
}

/// One case made from one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFile {
    /// The file name in `--out`: the case's `test_id` and `.json`.
    pub name: String,
    /// The case file's bytes.
    pub text: String,
    /// The export it came from, as it was named.
    pub source: String,
    /// Turns in the case.
    pub turns: usize,
    /// Tool calls in the case.
    pub tool_calls: usize,
}

/// What an import made, and the rows it skipped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Imported {
    /// One case per call, in file order.
    pub cases: Vec<CaseFile>,
    /// Rows skipped and other things the cases could not keep.
    pub warnings: Vec<Warning>,
}

/// Turns one export into case files, in memory: `file` names it in messages.
pub fn convert(
    file: &str,
    bytes: &[u8],
    platform: Platform,
    as_script: bool,
) -> Result<Imported, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value = serde_json::from_slice(bytes).map_err(|e| ImportError {
        file: file.to_owned(),
        at: Where::LineColumn(e.line(), e.column()),
        expected: message::expected_export(platform.title(), "JSON"),
        found: message::not_json(&e),
        help: Some(message::NOT_JSON_HELP.to_owned()),
    })?;
    let root = At::root(&value);
    let mut notes = Notes::new();
    let calls = match platform {
        Platform::Vapi => each_call(&root, vapi::SHAPES, &mut notes, vapi::call),
        Platform::Retell => each_call(&root, retell::SHAPES, &mut notes, retell::call),
        Platform::LiveKit => each_call(&root, livekit::SHAPES, &mut notes, livekit::call),
        Platform::ElevenLabs => each_call(&root, elevenlabs::SHAPES, &mut notes, elevenlabs::call),
    }
    .map_err(|p| ImportError::in_file(file, p))?;

    let stem = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "call".to_owned());
    let several = calls.len() > 1;
    let mut out = Imported::default();
    for (j, call) in calls.iter().enumerate() {
        let id = match &call.id {
            Some(id) if !id.trim().is_empty() => id.clone(),
            _ => {
                let id = if several {
                    format!("{stem}_{j}")
                } else {
                    stem.clone()
                };
                notes.push((call.path.clone(), message::no_id(&id)));
                id
            }
        };
        let case = one(file, platform, as_script, call, &id, &mut notes)?;
        out.cases.push(case);
    }
    out.warnings = notes
        .into_iter()
        .map(|(path, message)| Warning {
            file: file.to_owned(),
            path,
            message,
        })
        .collect();
    Ok(out)
}

fn one(
    file: &str,
    platform: Platform,
    as_script: bool,
    call: &Call,
    id: &str,
    notes: &mut Notes,
) -> Result<CaseFile, ImportError> {
    let at = |problem: Problem| ImportError::in_file(file, problem);
    for line in &call.lines {
        if let Line::Tool {
            name,
            result: None,
            path,
            ..
        } = line
        {
            notes.push((path.clone(), message::no_result(name)));
        }
    }
    let mut derive_notes = Notes::new();
    let derived = model::derive(call, &mut derive_notes);
    notes.extend(
        derive_notes
            .into_iter()
            .map(|(_, m)| (call.path.clone(), m)),
    );
    if derived.steps.is_empty() {
        let found = if call.lines.is_empty() {
            message::NO_LINES
        } else {
            message::NO_REPLY
        };
        return Err(at(Problem::new(
            call.path.clone(),
            message::no_turns(),
            found,
        )));
    }
    if derived.unanswered_last {
        notes.push((call.path.clone(), message::unanswered_line()));
    }
    for marker in &derived.tone_markers_said {
        notes.push((call.path.clone(), message::tone_marker(marker)));
    }
    if derived.rows.len() > DEFAULT_MAX_TRANSCRIPT_SIZE && !as_script {
        notes.push((
            call.path.clone(),
            message::long_transcript(derived.rows.len()),
        ));
    }

    let test_id = test_id(platform, id, as_script);
    let meta = emit::Meta {
        test_id: &test_id,
        platform: platform.title(),
        flag: platform.flag(),
        call: id,
    };
    let text = if as_script {
        emit::script(&meta, &derived)
    } else {
        emit::recorded(&meta, &derived)
    };
    let name = format!("{test_id}.json");
    if text.len() as u64 > MAX_CASE_FILE_BYTES {
        return Err(at(Problem::new(
            call.path.clone(),
            message::too_large(text.len(), MAX_CASE_FILE_BYTES),
            "a longer call",
        )
        .help(message::TOO_LARGE_HELP)));
    }
    self_check(file, &name, &text)?;
    Ok(CaseFile {
        name,
        text,
        source: file.to_owned(),
        turns: derived.steps.len(),
        tool_calls: derived.tools.len(),
    })
}

/// The case loads and passes as imported (recorded: validated as it is; scripted: replayed
/// by its own `agent.replay`). A case that does not is a bug here, never written.
fn self_check(file: &str, name: &str, text: &str) -> Result<(), ImportError> {
    let bug = |found: String| {
        ImportError::whole(file, message::self_check(name), found).help(message::BUG_HELP)
    };
    let case = crate::case::parse_case(name, text.as_bytes()).map_err(|e| bug(e.to_string()))?;
    let options = crate::RunOptions::default().with_max_transcript_rows(usize::MAX);
    let outcome = crate::run_case(&case, &mut crate::BuiltinAgent::for_case(&case), &options);
    if !outcome.as_expected {
        return Err(bug(outcome.failures().join("; ")));
    }
    Ok(())
}

/// `<platform>_<call id>` (and `_script`), in the characters a `test_id` may have: others
/// become `_`; a long id keeps its start and a hash of the whole, to stay unique.
fn test_id(platform: Platform, id: &str, as_script: bool) -> String {
    const MAX: usize = 128;
    let suffix = if as_script { "_script" } else { "" };
    let clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut base = format!("{}_{clean}", platform.flag());
    if base.len() + suffix.len() > MAX {
        let hash = crate::rng::seed_for_test_id(id);
        base.truncate(MAX - suffix.len() - 17);
        base = format!("{base}_{hash:016x}");
    }
    base + suffix
}

/// Whether `digits` are keypad tones: `0-9 * # A-D`.
pub(crate) fn keypad(digits: &str) -> bool {
    !digits.is_empty()
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D'))
}

/// The text of a line at `key`: `None`, with a note, when it has no words (missing, `null`,
/// empty, or only punctuation); another type than a string is an error.
pub(crate) fn text(at: &At<'_>, key: &str, notes: &mut Notes) -> Result<Option<String>, Problem> {
    let Some(field) = at.get(key) else {
        notes.push((at.key_path(key), message::no_text()));
        return Ok(None);
    };
    let text = field.str("what was said (a string)")?.trim();
    if !crate::normalize::has_token(text) {
        notes.push((field.path.clone(), message::no_text()));
        return Ok(None);
    }
    Ok(Some(text.to_owned()))
}

/// A line's end must not come before its start; `show` writes a time in the export's unit.
pub(crate) fn check_span(
    at: &At<'_>,
    end_key: &str,
    start: Option<i64>,
    end: Option<i64>,
    show: fn(i64) -> String,
) -> Result<(), Problem> {
    match (start, end) {
        (Some(s), Some(e)) if e < s => Err(Problem::new(
            at.key_path(end_key),
            message::ends_before_start(&show(s)),
            show(e),
        )
        .help(message::ORDER_HELP)),
        _ => Ok(()),
    }
}

/// Imports `files` into `out`: every file is read and converted, and every case checked,
/// before anything is written; then each case is written to a temporary file in `out` and
/// renamed into place. An existing case file is an error unless `force`.
pub fn import(
    files: &[PathBuf],
    platform: Platform,
    out: &Path,
    as_script: bool,
    force: bool,
) -> Result<Imported, Vec<ImportError>> {
    let mut errors = Vec::new();
    let mut imported = Imported::default();
    for path in files {
        let name = display_path(path);
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                errors.push(ImportError::whole(&name, message::READABLE, e.to_string()));
                continue;
            }
        };
        match convert(&name, &bytes, platform, as_script) {
            Ok(one) => {
                imported.cases.extend(one.cases);
                imported.warnings.extend(one.warnings);
            }
            Err(e) => errors.push(e),
        }
    }
    // Two calls with one id would write one file twice.
    for (i, case) in imported.cases.iter().enumerate() {
        if let Some(first) = imported.cases[..i].iter().find(|c| c.name == case.name) {
            let (expected, found) = message::duplicate_id(&case.name, &first.source);
            errors.push(
                ImportError::whole(&case.source, expected, found).help(message::DUPLICATE_HELP),
            );
        }
    }
    if !force {
        for case in &imported.cases {
            let target = out.join(&case.name);
            if target.exists() {
                let (expected, found, help) = message::exists(&case.source);
                errors.push(ImportError::whole(&display_path(&target), expected, found).help(help));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    write_all(out, &imported.cases).map_err(|e| vec![e])?;
    Ok(imported)
}

/// Writes every case to a temporary file next to its place, then renames them all: a
/// failure while writing leaves nothing behind.
fn write_all(out: &Path, cases: &[CaseFile]) -> Result<(), ImportError> {
    let fail = |path: &Path, e: std::io::Error| {
        ImportError::whole(&display_path(path), message::WRITABLE, e.to_string())
    };
    std::fs::create_dir_all(out).map_err(|e| fail(out, e))?;
    let mut written: Vec<(PathBuf, PathBuf)> = Vec::new();
    for case in cases {
        let temp = out.join(format!(".{}.import-tmp", case.name));
        if let Err(e) = std::fs::write(&temp, &case.text) {
            let _ = std::fs::remove_file(&temp);
            for (temp, _) in &written {
                let _ = std::fs::remove_file(temp);
            }
            return Err(fail(&temp, e));
        }
        written.push((temp, out.join(&case.name)));
    }
    for (i, (temp, target)) in written.iter().enumerate() {
        if let Err(e) = std::fs::rename(temp, target) {
            for (temp, _) in &written[i..] {
                let _ = std::fs::remove_file(temp);
            }
            return Err(fail(target, e));
        }
    }
    Ok(())
}

/// The calls of an export: a list of them (`shapes` says what each item is), or one.
fn each_call(
    root: &At<'_>,
    shapes: &str,
    notes: &mut Notes,
    call: fn(&At<'_>, &mut Notes) -> Result<Call, Problem>,
) -> Result<Vec<Call>, Problem> {
    match root.value {
        // An empty list would import nothing and say nothing: the file is not an export.
        Value::Array(items) if items.is_empty() => Err(message::no_calls(&root.path, shapes)),
        Value::Array(_) => root
            .array(shapes)?
            .iter()
            .map(|item| call(item, notes))
            .collect(),
        _ => Ok(vec![call(root, notes)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_ids_keep_the_call_id_in_allowed_characters() {
        assert_eq!(
            test_id(Platform::Vapi, "3f1c-2b9e", false),
            "vapi_3f1c-2b9e"
        );
        assert_eq!(
            test_id(Platform::Retell, "a b/c", true),
            "retell_a_b_c_script"
        );
        // A long id keeps its start and a hash of the whole, so two long ids stay apart.
        let long_a = "x".repeat(300);
        let long_b = format!("{}y", "x".repeat(299));
        let (a, b) = (
            test_id(Platform::LiveKit, &long_a, true),
            test_id(Platform::LiveKit, &long_b, true),
        );
        assert_eq!(a.len(), 128);
        assert_ne!(a, b);
        assert!(a.ends_with("_script"));
    }

    #[test]
    fn budgets_are_the_latency_plus_half_rounded_up_to_100_ms() {
        assert_eq!(emit::budget(0), 100);
        assert_eq!(emit::budget(600), 900);
        assert_eq!(emit::budget(601), 1000);
        assert_eq!(emit::budget(1640), 2500);
        assert_eq!(emit::budget(u64::MAX), u64::MAX);
    }

    #[test]
    fn keypad_tones_are_0_to_9_star_pound_and_a_to_d() {
        assert!(keypad("0123456789*#ABCD"));
        assert!(!keypad(""));
        assert!(!keypad("12e"));
    }
}
