//! Loading case files (SPEC §2): bytes → JSON tree → checked [`Case`].
//!
//! The JSON is first parsed into a small tree of our own, which keeps keys in file order and
//! rejects duplicate keys (so a repeated field is an error, not last-one-wins). Then every
//! rule is checked and *all* problems are reported at once, each with its JSON path.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::case::{
    Case, DEFAULT_TONE_MARKERS, Expect, RecordedRow, ReplayReply, Speaker, Status, Turn,
};
use crate::error::{self, LoadError, Problem};
use crate::normalize::has_token;

/// Case files larger than this are not read.
pub const MAX_CASE_FILE_BYTES: u64 = 1024 * 1024;

/// Reads and checks one case file.
///
/// The error names the file as `path` is written, so pass the path relative to the
/// directory the user runs from.
pub fn load_case(path: &Path) -> Result<Case, LoadError> {
    let name = display_path(path);
    let fail = |problem| LoadError::new(name.clone(), vec![problem]);
    let len = std::fs::metadata(path)
        .map_err(|e| fail(error::unreadable(&e)))?
        .len();
    if len > MAX_CASE_FILE_BYTES {
        return Err(fail(error::too_large(len)));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(error::unreadable(&e)))?;
    parse_case(&name, &bytes)
}

/// Checks the bytes of one case file; `file` names it in errors.
///
/// ```
/// let json = br#"{"test_id": "t", "persona": "P",
///   "turns": [{"step_order": 1, "user_input": "Hi", "expected_agent_response_keywords": ["hello"]}]}"#;
/// let case = voice_harness::parse_case("cases/t.json", json).unwrap();
/// assert_eq!(case.turns[0].user_input, "Hi");
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
    match case {
        Some(case) if checker.problems.is_empty() => Ok(case),
        _ => Err(LoadError::new(file, checker.problems)),
    }
}

/// The path as a user wrote it, with `/` separators on every platform.
pub(crate) fn display_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        text.into_owned()
    } else {
        text.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// Every `.json` file under `dir` (recursively), sorted so the order never depends on the
/// file system. A missing or unreadable folder gives no files.
pub(crate) fn case_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(_) if path.extension().is_some_and(|e| e == "json") => files.push(path),
                _ => {}
            }
        }
    }
    files.sort();
    files
}

/// `test_id` → the files (as `shown`) that declare it, for duplicate detection. Files whose
/// `test_id` cannot be read are left out: they fail on their own when loaded.
///
/// This pass is the first to touch every file, so on a cold page cache it waits on the disk:
/// it reads with more threads than cores to keep more reads in flight.
pub(crate) fn test_id_index(
    files: &[PathBuf],
    shown: impl Fn(&Path) -> String + Sync,
) -> BTreeMap<String, Vec<String>> {
    const IO_THREADS: usize = 16;
    let chunk = files.len().div_ceil(IO_THREADS).max(64);
    let found: Vec<Vec<(String, String)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                let shown = &shown;
                scope.spawn(move || {
                    part.iter()
                        .filter_map(|file| Some((peek_test_id(file)?, shown(file))))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let mut index: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Chunks are in file order, so each id's files stay sorted.
    for (id, file) in found.into_iter().flatten() {
        index.entry(id).or_default().push(file);
    }
    index
}

/// The `test_id` of a case file, without checking anything else.
pub(crate) fn peek_test_id(path: &Path) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        test_id: String,
    }
    if std::fs::metadata(path).ok()?.len() > MAX_CASE_FILE_BYTES {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    serde_json::from_slice::<IdOnly>(bytes)
        .ok()
        .map(|c| c.test_id)
}

/// 1-based line and column (in characters) just after `prefix`.
fn line_column(prefix: &[u8]) -> (usize, usize) {
    let line = prefix.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = prefix
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&prefix[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

// ---- the JSON tree ------------------------------------------------------------------------

/// A JSON value that keeps object keys in order and has no duplicate keys. Strings borrow
/// from the file's text when they have no escapes, so building the tree allocates little.
#[derive(Debug)]
pub(crate) enum Node<'de> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Cow<'de, str>),
    Array(Vec<Node<'de>>),
    Object(Vec<(Cow<'de, str>, Node<'de>)>),
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node<'de>, E> {
        serde_json::Number::from_f64(v)
            .map(Node::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut entries: Vec<(Cow<'de, str>, Node<'de>)> = Vec::new();
        // Small objects are scanned; large ones (hostile input) get a set, to stay linear.
        let mut seen: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let duplicate = match &mut seen {
                Some(set) => !set.insert(key.clone()),
                None => {
                    let dup = entries.iter().any(|(k, _)| *k == key);
                    if entries.len() >= 16 {
                        let mut set: HashSet<_> = entries.iter().map(|(k, _)| k.clone()).collect();
                        set.insert(key.clone());
                        seen = Some(set);
                    }
                    dup
                }
            };
            if duplicate {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{key}` (each field may appear once)"
                )));
            }
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Node::Object(entries))
    }
}

/// An object key that borrows from the text when it can (`Cow<str>`'s own impl never does).
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl Node<'_> {
    /// How a value is described in "found …".
    fn describe(&self) -> String {
        match self {
            Node::Null => "null".into(),
            Node::Bool(b) => format!("`{b}`"),
            Node::Number(n) => format!("the number {n}"),
            Node::String(s) => format!("the string {}", error::quote(s)),
            Node::Array(_) => "an array".into(),
            Node::Object(_) => "an object".into(),
        }
    }
}

/// Where a value is, rendered only when a problem is reported (`turns[2].step_order`).
#[derive(Debug, Clone, Copy)]
enum JsonPath<'a> {
    Root,
    Field(&'a JsonPath<'a>, &'a str),
    Index(&'a JsonPath<'a>, usize),
}

impl JsonPath<'_> {
    fn field<'b>(&'b self, name: &'b str) -> JsonPath<'b> {
        JsonPath::Field(self, name)
    }
    fn index(&self, i: usize) -> JsonPath<'_> {
        JsonPath::Index(self, i)
    }
}

impl std::fmt::Display for JsonPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JsonPath::Root => Ok(()),
            JsonPath::Field(JsonPath::Root, name) => f.write_str(name),
            JsonPath::Field(parent, name) => write!(f, "{parent}.{name}"),
            JsonPath::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

// ---- the rules ----------------------------------------------------------------------------

const CASE_FIELDS: &[&str] = &[
    "test_id",
    "persona",
    "description",
    "tags",
    "seed",
    "caller",
    "agent",
    "transcript",
    "tone_markers",
    "expect",
    "turns",
];
const TURN_FIELDS: &[&str] = &[
    "step_order",
    "user_input",
    "expected_agent_response_keywords",
    "exact_match_required",
    "expected_agent_response",
    "forbidden_keywords",
    "max_latency_ms",
];
const CALLER_FIELDS: &[&str] = &["disfluency_rate"];
const AGENT_FIELDS: &[&str] = &["replay"];
const REPLAY_FIELDS: &[&str] = &["text", "latency_ms"];
// `step_order` is accepted so that a transcript copied from a report loads as it is; it is
// recomputed by the zipper.
const ROW_FIELDS: &[&str] = &["speaker", "text", "latency_ms", "step_order"];
const EXPECT_FIELDS: &[&str] = &["status", "failure_steps"];

const TEST_ID_MAX: usize = 128;

#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
}

/// The fields of a checked object; unknown fields have already been reported.
struct Fields<'a, 'de> {
    path: JsonPath<'a>,
    entries: &'a [(Cow<'de, str>, Node<'de>)],
}

impl<'a, 'de> Fields<'a, 'de> {
    fn get(&self, name: &str) -> Option<&'a Node<'de>> {
        self.entries.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    fn at<'b>(&'b self, name: &'b str) -> JsonPath<'b> {
        self.path.field(name)
    }
}

impl Checker {
    fn push(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    fn rule(&mut self, path: &JsonPath<'_>, message: impl Into<String>, help: Option<&str>) {
        self.push(error::rule(&path.to_string(), message, help));
    }

    fn wrong_type(&mut self, path: &JsonPath<'_>, expected: &str, found: &Node<'_>) {
        self.push(error::wrong_type(
            &path.to_string(),
            expected,
            &found.describe(),
        ));
    }

    fn object<'a, 'de>(
        &mut self,
        node: &'a Node<'de>,
        path: JsonPath<'a>,
        allowed: &[&str],
    ) -> Option<Fields<'a, 'de>> {
        let Node::Object(entries) = node else {
            self.wrong_type(&path, "an object", node);
            return None;
        };
        for (key, _) in entries {
            if !allowed.contains(&key.as_ref()) {
                // Past the problems a message shows, a suggestion is work nobody reads.
                let suggest = self.problems.len() < error::MAX_SHOWN;
                self.push(error::unknown_field(
                    &path.to_string(),
                    key,
                    allowed,
                    suggest,
                ));
            }
        }
        Some(Fields { path, entries })
    }

    fn required<'a, 'de>(
        &mut self,
        fields: &Fields<'a, 'de>,
        name: &str,
        what: &str,
    ) -> Option<&'a Node<'de>> {
        let node = fields.get(name);
        if node.is_none() {
            self.push(error::missing_field(&fields.path.to_string(), name, what));
        }
        node
    }

    fn string<'a>(&mut self, node: &'a Node<'_>, path: &JsonPath<'_>) -> Option<&'a str> {
        match node {
            Node::String(s) => Some(s),
            other => {
                self.wrong_type(path, "a string", other);
                None
            }
        }
    }

    fn not_blank(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<String> {
        let text = self.string(node, path)?;
        if text.trim().is_empty() {
            self.rule(
                path,
                format!("expected text, found a blank string {}", error::quote(text)),
                None,
            );
            return None;
        }
        Some(text.to_owned())
    }

    /// One of a fixed set of strings, such as `"user"` or `"agent"`.
    fn choice<T: Copy>(
        &mut self,
        node: &Node<'_>,
        path: &JsonPath<'_>,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let text = self.string(node, path)?;
        if let Some((_, value)) = choices.iter().find(|(name, _)| *name == text) {
            return Some(*value);
        }
        let expected: Vec<String> = choices
            .iter()
            .map(|(name, _)| format!("{name:?}"))
            .collect();
        self.wrong_type(path, &expected.join(" or "), node);
        None
    }

    /// Text with at least one token: a line that could be matched at all (a line of only
    /// punctuation or invisible characters would match any caller line).
    fn words(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<String> {
        let text = self.not_blank(node, path)?;
        if !has_token(&text) {
            self.rule(
                path,
                format!(
                    "expected words, found {} (no letter or digit)",
                    error::quote(&text)
                ),
                Some("lines are matched as words; write what the caller says"),
            );
            return None;
        }
        Some(text)
    }

    fn bool(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<bool> {
        match node {
            Node::Bool(b) => Some(*b),
            other => {
                self.wrong_type(path, "`true` or `false`", other);
                None
            }
        }
    }

    fn u64(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<u64> {
        match node {
            Node::Number(n) if n.as_u64().is_some() => n.as_u64(),
            other => {
                self.wrong_type(path, "a whole number from 0 to 18446744073709551615", other);
                None
            }
        }
    }

    fn f64(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<f64> {
        match node {
            Node::Number(n) => n.as_f64(),
            other => {
                self.wrong_type(path, "a number", other);
                None
            }
        }
    }

    fn array<'a, 'de>(
        &mut self,
        node: &'a Node<'de>,
        path: &JsonPath<'_>,
        what: &str,
    ) -> Option<&'a [Node<'de>]> {
        match node {
            Node::Array(items) => Some(items),
            other => {
                self.wrong_type(path, what, other);
                None
            }
        }
    }

    /// A list of phrases, each of which must contain at least one token.
    fn phrases(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<Vec<String>> {
        let items = self.array(node, path, "a list of phrases")?;
        let mut ok = true;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = path.index(i);
            match self.string(item, &item_path) {
                Some(text) if !has_token(text) => {
                    ok = false;
                    self.rule(
                        &item_path,
                        format!(
                            "expected a phrase with at least one letter or digit, found {}",
                            error::quote(text)
                        ),
                        Some("phrases are matched as words; punctuation alone never matches"),
                    );
                }
                Some(text) => out.push(text.to_owned()),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn case(&mut self, node: &Node<'_>) -> Option<Case> {
        let root = self.object(node, JsonPath::Root, CASE_FIELDS)?;

        let test_id = self
            .required(
                &root,
                "test_id",
                "a unique name such as \"billing_inquiry_v1\"",
            )
            .and_then(|n| self.test_id(n));
        let persona = self
            .required(
                &root,
                "persona",
                "who the caller is, such as \"Calm Customer\"",
            )
            .and_then(|n| self.not_blank(n, &root.at("persona")));
        let description = root
            .get("description")
            .map(|n| self.string(n, &root.at("description")).map(str::to_owned));
        let tags = root.get("tags").map(|n| self.tags(n, &root.at("tags")));
        let seed = root.get("seed").map(|n| self.u64(n, &root.at("seed")));
        let disfluency_rate = root
            .get("caller")
            .map(|n| self.caller(n, root.at("caller")));
        let replay = root.get("agent").map(|n| self.agent(n, root.at("agent")));
        let transcript = root
            .get("transcript")
            .map(|n| self.transcript(n, &root.at("transcript")));
        let tone_markers = root
            .get("tone_markers")
            .map(|n| self.phrases(n, &root.at("tone_markers")));
        let turns = self
            .required(&root, "turns", "the scripted steps of the call")
            .and_then(|n| self.turns(n, &root.at("turns")));
        let expect = root
            .get("expect")
            .map(|n| self.expect(n, root.at("expect"), turns.as_ref().map(Vec::len)));

        if root.get("agent").is_some() && root.get("transcript").is_some() {
            self.rule(
                &root.at("agent"),
                "`agent` and `transcript` cannot both be given: a case with a recorded \
                 transcript is validated as it is, so no agent is run",
                Some("remove `agent` to validate the recording, or `transcript` to simulate the call"),
            );
        }

        Some(Case {
            test_id: test_id?,
            persona: persona?,
            description: description.checked()?,
            tags: tags.checked()?.unwrap_or_default(),
            seed_override: seed.checked()?,
            disfluency_rate: disfluency_rate.checked()?.flatten().unwrap_or(0.0),
            replay: replay.checked()?.flatten(),
            transcript: transcript.checked()?,
            tone_markers: tone_markers
                .checked()?
                .unwrap_or_else(|| DEFAULT_TONE_MARKERS.map(String::from).to_vec()),
            expect: expect.checked()?,
            turns: turns?,
        })
    }

    fn test_id(&mut self, node: &Node<'_>) -> Option<String> {
        let path = JsonPath::Root;
        let path = path.field("test_id");
        let id = self.string(node, &path)?;
        let bad = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')));
        let len = id.chars().count();
        if len == 0 || len > TEST_ID_MAX || bad.is_some() {
            let why = match bad {
                Some(c) => format!("it contains {c:?}"),
                None if len == 0 => "it is empty".to_owned(),
                None => format!("it is {len} characters long"),
            };
            self.rule(
                &path,
                format!(
                    "expected 1–{TEST_ID_MAX} characters of A-Z a-z 0-9 _ . -, found {} ({why})",
                    error::quote(id)
                ),
                Some("use letters, digits, `_`, `.` and `-`, e.g. \"billing_inquiry_v1\""),
            );
            return None;
        }
        Some(id.to_owned())
    }

    fn tags(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<Vec<String>> {
        let items = self.array(node, path, "a list of strings")?;
        let tags: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.not_blank(item, &path.index(i)))
            .collect();
        tags.into_iter().collect()
    }

    fn caller(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<Option<f64>> {
        let fields = self.object(node, path, CALLER_FIELDS)?;
        let Some(rate_node) = fields.get("disfluency_rate") else {
            return Some(None);
        };
        let path = fields.at("disfluency_rate");
        let rate = self.f64(rate_node, &path)?;
        if !(0.0..=1.0).contains(&rate) {
            self.rule(
                &path,
                format!("expected a number from 0.0 to 1.0, found {rate}"),
                Some("it is the chance per caller line of inserting a filler: 0.15 means 15%"),
            );
            return None;
        }
        Some(Some(rate))
    }

    fn agent(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<Option<Vec<ReplayReply>>> {
        let fields = self.object(node, path, AGENT_FIELDS)?;
        let Some(replay) = fields.get("replay") else {
            return Some(None);
        };
        let path = fields.at("replay");
        let items = self.array(replay, &path, "a list of replies")?;
        let replies: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.replay_reply(item, path.index(i)))
            .collect();
        Some(Some(replies.into_iter().collect::<Option<Vec<_>>>()?))
    }

    fn replay_reply(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<ReplayReply> {
        if let Node::String(text) = node {
            return Some(ReplayReply {
                text: text.to_string(),
                latency_ms: 0,
            });
        }
        if !matches!(node, Node::Object(_)) {
            self.wrong_type(
                &path,
                "a string or an object {\"text\": …, \"latency_ms\": …}",
                node,
            );
            return None;
        }
        let fields = self.object(node, path, REPLAY_FIELDS)?;
        let text = self
            .required(&fields, "text", "what the agent says")
            .and_then(|n| self.string(n, &fields.at("text")));
        let latency = fields
            .get("latency_ms")
            .map(|n| self.u64(n, &fields.at("latency_ms")));
        Some(ReplayReply {
            text: text?.to_owned(),
            latency_ms: latency.checked()?.unwrap_or(0),
        })
    }

    fn transcript(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<Vec<RecordedRow>> {
        let items = self.array(node, path, "a list of rows")?;
        let rows: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.row(item, path.index(i)))
            .collect();
        rows.into_iter().collect()
    }

    fn row(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<RecordedRow> {
        let fields = self.object(node, path, ROW_FIELDS)?;
        let speaker = self
            .required(&fields, "speaker", "\"user\" or \"agent\"")
            .and_then(|n| {
                let choices = [("user", Speaker::User), ("agent", Speaker::Agent)];
                self.choice(n, &fields.at("speaker"), &choices)
            });
        let text = self
            .required(&fields, "text", "what was said")
            .and_then(|n| self.string(n, &fields.at("text")));
        let latency = fields
            .get("latency_ms")
            .map(|n| self.u64(n, &fields.at("latency_ms")));
        let step = fields
            .get("step_order")
            .map(|n| self.u64(n, &fields.at("step_order")));
        step.checked()?;
        Some(RecordedRow {
            speaker: speaker?,
            text: text?.to_owned(),
            latency_ms: latency.checked()?,
        })
    }

    fn expect(
        &mut self,
        node: &Node<'_>,
        path: JsonPath<'_>,
        turn_count: Option<usize>,
    ) -> Option<Expect> {
        let fields = self.object(node, path, EXPECT_FIELDS)?;
        let status = self
            .required(&fields, "status", "\"pass\" or \"fail\"")
            .and_then(|n| {
                let choices = [("pass", Status::Pass), ("fail", Status::Fail)];
                self.choice(n, &fields.at("status"), &choices)
            });
        let steps = fields
            .get("failure_steps")
            .map(|n| self.failure_steps(n, &fields.at("failure_steps"), turn_count));
        let steps = steps.checked();
        let (status, steps) = (status?, steps?);
        if let (Status::Pass, Some(list)) = (status, &steps) {
            if !list.is_empty() {
                self.rule(
                    &fields.at("failure_steps"),
                    format!("expected no failing steps for status \"pass\", found {list:?}"),
                    Some("use \"status\": \"fail\", or remove `failure_steps`"),
                );
                return None;
            }
        }
        Some(Expect {
            status,
            failure_steps: steps,
        })
    }

    fn failure_steps(
        &mut self,
        node: &Node<'_>,
        path: &JsonPath<'_>,
        turn_count: Option<usize>,
    ) -> Option<Vec<u32>> {
        let items = self.array(node, path, "a list of step numbers")?;
        let mut steps: Vec<u32> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = path.index(i);
            let step = self.u64(item, &item_path)?;
            let max = turn_count.unwrap_or(usize::MAX) as u64;
            if step == 0 || step > max {
                self.rule(
                    &item_path,
                    format!("expected a step from 1 to {max}, found {step}"),
                    None,
                );
                return None;
            }
            if let Some(&last) = steps.last().filter(|&&last| u64::from(last) >= step) {
                self.rule(
                    &item_path,
                    format!("expected steps in ascending order without repeats, found {step} after {last}"),
                    None,
                );
                return None;
            }
            steps.push(step as u32);
        }
        Some(steps)
    }

    fn turns(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<Vec<Turn>> {
        let items = self.array(node, path, "a list of turns")?;
        if items.is_empty() {
            self.rule(
                path,
                "expected at least one turn, found an empty list",
                None,
            );
            return None;
        }
        let turns: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.turn(item, path.index(i), i))
            .collect();
        turns.into_iter().collect()
    }

    fn turn(&mut self, node: &Node<'_>, path: JsonPath<'_>, index: usize) -> Option<Turn> {
        let fields = self.object(node, path, TURN_FIELDS)?;
        let expected_step = index as u64 + 1;
        let step_order = self
            .required(
                &fields,
                "step_order",
                "the step's number: 1, 2, 3, … in file order",
            )
            .and_then(|n| {
                let step = match n {
                    Node::Number(num) => num.as_u64(),
                    _ => None,
                };
                if step != Some(expected_step) {
                    let found = match n {
                        Node::Number(num) => num.to_string(),
                        other => other.describe(),
                    };
                    self.rule(
                        &fields.at("step_order"),
                        format!("expected {expected_step}, found {found}"),
                        Some("number the turns 1, 2, 3, … in the order they appear in the file"),
                    );
                    return None;
                }
                Some(expected_step as u32)
            });
        let user_input = self
            .required(&fields, "user_input", "what the caller says")
            .and_then(|n| self.words(n, &fields.at("user_input")));
        let keywords = fields
            .get("expected_agent_response_keywords")
            .map(|n| self.phrases(n, &fields.at("expected_agent_response_keywords")));
        let exact = fields
            .get("exact_match_required")
            .map(|n| self.bool(n, &fields.at("exact_match_required")));
        let expected_response = fields.get("expected_agent_response").map(|n| {
            self.string(n, &fields.at("expected_agent_response"))
                .map(str::to_owned)
        });
        let forbidden = fields
            .get("forbidden_keywords")
            .map(|n| self.phrases(n, &fields.at("forbidden_keywords")));
        let max_latency = fields
            .get("max_latency_ms")
            .map(|n| self.u64(n, &fields.at("max_latency_ms")));

        let turn = Turn {
            step_order: step_order?,
            user_input: user_input?,
            expected_agent_response_keywords: keywords.checked()?.unwrap_or_default(),
            exact_match_required: exact.checked()?.unwrap_or(false),
            expected_agent_response: expected_response.checked()?,
            forbidden_keywords: forbidden.checked()?.unwrap_or_default(),
            max_latency_ms: max_latency.checked()?,
        };
        if turn.exact_match_required && !has_token(&turn.expected_phrase()) {
            self.rule(
                &fields.path,
                "an exact step needs an expected phrase with at least one word, found none",
                Some("set `expected_agent_response`, or give `expected_agent_response_keywords`"),
            );
            return None;
        }
        Some(turn)
    }
}

/// An optional field after checking: absent is `Some(None)`; present but invalid is `None`
/// (its problem is already recorded), so `?` stops building the case.
trait Checked<T> {
    fn checked(self) -> Option<Option<T>>;
}

impl<T> Checked<T> for Option<Option<T>> {
    fn checked(self) -> Option<Option<T>> {
        match self {
            None => Some(None),
            Some(None) => None,
            Some(Some(value)) => Some(Some(value)),
        }
    }
}
