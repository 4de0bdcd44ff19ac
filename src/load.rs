//! Loading case files (SPEC §2): bytes → JSON tree → checked [`Case`].
//!
//! The JSON is first parsed into a small tree of our own, which keeps keys in file order and
//! rejects duplicate keys (so a repeated field is an error, not last-one-wins). Then every
//! rule is checked and *all* problems are reported at once, each with its JSON path.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::case::{
    Case, DEFAULT_TONE_MARKERS, Expect, RecordedRow, ReplayReply, Speaker, Status, Turn,
};
use crate::error::{self, LoadError, Problem};
use crate::normalize::tokens;

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
pub(crate) fn test_id_index(
    files: &[PathBuf],
    shown: impl Fn(&Path) -> String,
) -> BTreeMap<String, Vec<String>> {
    let mut index: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in files {
        if let Some(id) = peek_test_id(file) {
            index.entry(id).or_default().push(shown(file));
        }
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

/// A JSON value that keeps object keys in order and has no duplicate keys.
#[derive(Debug)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        serde_json::Number::from_f64(v)
            .map(Node::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        // Small objects are scanned; large ones (hostile input) get a set, to stay linear.
        let mut seen: Option<HashSet<String>> = None;
        while let Some(key) = map.next_key::<String>()? {
            let duplicate = match &mut seen {
                Some(set) => !set.insert(key.clone()),
                None => {
                    let dup = entries.iter().any(|(k, _)| *k == key);
                    if entries.len() >= 16 {
                        seen = Some(
                            entries
                                .iter()
                                .map(|(k, _)| k.clone())
                                .chain([key.clone()])
                                .collect(),
                        );
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

impl Node {
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
struct Fields<'a> {
    path: &'a str,
    entries: &'a [(String, Node)],
}

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> Option<&'a Node> {
        self.entries.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    fn path(&self, name: &str) -> String {
        join(self.path, name)
    }
}

fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

impl Checker {
    fn push(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    fn object<'a>(
        &mut self,
        node: &'a Node,
        path: &'a str,
        allowed: &[&str],
    ) -> Option<Fields<'a>> {
        let Node::Object(entries) = node else {
            self.push(error::wrong_type(path, "an object", &node.describe()));
            return None;
        };
        for (key, _) in entries {
            if !allowed.contains(&key.as_str()) {
                self.push(error::unknown_field(path, key, allowed));
            }
        }
        Some(Fields { path, entries })
    }

    fn required<'a>(&mut self, fields: &Fields<'a>, name: &str, what: &str) -> Option<&'a Node> {
        let node = fields.get(name);
        if node.is_none() {
            self.push(error::missing_field(fields.path, name, what));
        }
        node
    }

    fn string<'a>(&mut self, node: &'a Node, path: &str) -> Option<&'a str> {
        match node {
            Node::String(s) => Some(s),
            other => {
                self.push(error::wrong_type(path, "a string", &other.describe()));
                None
            }
        }
    }

    fn not_blank(&mut self, node: &Node, path: &str) -> Option<String> {
        let text = self.string(node, path)?;
        if text.trim().is_empty() {
            self.push(error::rule(
                path,
                format!("expected text, found a blank string {}", error::quote(text)),
                None,
            ));
            return None;
        }
        Some(text.to_owned())
    }

    fn bool(&mut self, node: &Node, path: &str) -> Option<bool> {
        match node {
            Node::Bool(b) => Some(*b),
            other => {
                self.push(error::wrong_type(
                    path,
                    "`true` or `false`",
                    &other.describe(),
                ));
                None
            }
        }
    }

    fn u64(&mut self, node: &Node, path: &str) -> Option<u64> {
        match node {
            Node::Number(n) if n.as_u64().is_some() => n.as_u64(),
            other => {
                self.push(error::wrong_type(
                    path,
                    "a whole number from 0 to 18446744073709551615",
                    &other.describe(),
                ));
                None
            }
        }
    }

    fn f64(&mut self, node: &Node, path: &str) -> Option<f64> {
        match node {
            Node::Number(n) => n.as_f64(),
            other => {
                self.push(error::wrong_type(path, "a number", &other.describe()));
                None
            }
        }
    }

    fn array<'a>(&mut self, node: &'a Node, path: &str, what: &str) -> Option<&'a [Node]> {
        match node {
            Node::Array(items) => Some(items),
            other => {
                self.push(error::wrong_type(path, what, &other.describe()));
                None
            }
        }
    }

    /// A list of phrases, each of which must contain at least one token.
    fn phrases(&mut self, node: &Node, path: &str) -> Option<Vec<String>> {
        let items = self.array(node, path, "a list of phrases")?;
        let mut ok = true;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            match self.string(item, &item_path) {
                Some(text) if tokens(text).is_empty() => {
                    ok = false;
                    self.push(error::rule(
                        &item_path,
                        format!(
                            "expected a phrase with at least one letter or digit, found {}",
                            error::quote(text)
                        ),
                        Some("phrases are matched as words; punctuation alone never matches"),
                    ));
                }
                Some(text) => out.push(text.to_owned()),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn case(&mut self, node: &Node) -> Option<Case> {
        let root = self.object(node, "", CASE_FIELDS)?;

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
            .and_then(|n| self.not_blank(n, "persona"));
        let description = root
            .get("description")
            .map(|n| self.string(n, "description").map(str::to_owned));
        let tags = root.get("tags").map(|n| self.tags(n));
        let seed = root.get("seed").map(|n| self.u64(n, "seed"));
        let disfluency_rate = root.get("caller").map(|n| self.caller(n));
        let replay = root.get("agent").map(|n| self.agent(n));
        let transcript = root.get("transcript").map(|n| self.transcript(n));
        let tone_markers = root
            .get("tone_markers")
            .map(|n| self.phrases(n, "tone_markers"));
        let turns = self
            .required(&root, "turns", "the scripted steps of the call")
            .and_then(|n| self.turns(n));
        let expect = root
            .get("expect")
            .map(|n| self.expect(n, turns.as_ref().map(Vec::len)));

        if root.get("agent").is_some() && root.get("transcript").is_some() {
            self.push(error::rule(
                "agent",
                "`agent` and `transcript` cannot both be given: a case with a recorded \
                 transcript is validated as it is, so no agent is run",
                Some("remove `agent` to validate the recording, or `transcript` to simulate the call"),
            ));
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

    fn test_id(&mut self, node: &Node) -> Option<String> {
        let id = self.string(node, "test_id")?;
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
            self.push(error::rule(
                "test_id",
                format!(
                    "expected 1–{TEST_ID_MAX} characters of A-Z a-z 0-9 _ . -, found {} ({why})",
                    error::quote(id)
                ),
                Some("use letters, digits, `_`, `.` and `-`, e.g. \"billing_inquiry_v1\""),
            ));
            return None;
        }
        Some(id.to_owned())
    }

    fn tags(&mut self, node: &Node) -> Option<Vec<String>> {
        let items = self.array(node, "tags", "a list of strings")?;
        let tags: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.not_blank(item, &format!("tags[{i}]")))
            .collect();
        tags.into_iter().collect()
    }

    fn caller(&mut self, node: &Node) -> Option<Option<f64>> {
        let fields = self.object(node, "caller", CALLER_FIELDS)?;
        let Some(rate_node) = fields.get("disfluency_rate") else {
            return Some(None);
        };
        let path = fields.path("disfluency_rate");
        let rate = self.f64(rate_node, &path)?;
        if !(0.0..=1.0).contains(&rate) {
            self.push(error::rule(
                &path,
                format!("expected a number from 0.0 to 1.0, found {rate}"),
                Some("it is the chance per caller line of inserting a filler: 0.15 means 15%"),
            ));
            return None;
        }
        Some(Some(rate))
    }

    fn agent(&mut self, node: &Node) -> Option<Option<Vec<ReplayReply>>> {
        let fields = self.object(node, "agent", AGENT_FIELDS)?;
        let Some(replay) = fields.get("replay") else {
            return Some(None);
        };
        let items = self.array(replay, "agent.replay", "a list of replies")?;
        let replies: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.replay_reply(item, &format!("agent.replay[{i}]")))
            .collect();
        Some(Some(replies.into_iter().collect::<Option<Vec<_>>>()?))
    }

    fn replay_reply(&mut self, node: &Node, path: &str) -> Option<ReplayReply> {
        if let Node::String(text) = node {
            return Some(ReplayReply {
                text: text.clone(),
                latency_ms: 0,
            });
        }
        if !matches!(node, Node::Object(_)) {
            self.push(error::wrong_type(
                path,
                "a string or an object {\"text\": …, \"latency_ms\": …}",
                &node.describe(),
            ));
            return None;
        }
        let fields = self.object(node, path, REPLAY_FIELDS)?;
        let text = self
            .required(&fields, "text", "what the agent says")
            .and_then(|n| self.string(n, &fields.path("text")));
        let latency = fields
            .get("latency_ms")
            .map(|n| self.u64(n, &fields.path("latency_ms")));
        Some(ReplayReply {
            text: text?.to_owned(),
            latency_ms: latency.checked()?.unwrap_or(0),
        })
    }

    fn transcript(&mut self, node: &Node) -> Option<Vec<RecordedRow>> {
        let items = self.array(node, "transcript", "a list of rows")?;
        let rows: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.row(item, &format!("transcript[{i}]")))
            .collect();
        rows.into_iter().collect()
    }

    fn row(&mut self, node: &Node, path: &str) -> Option<RecordedRow> {
        let fields = self.object(node, path, ROW_FIELDS)?;
        let speaker = self
            .required(&fields, "speaker", "\"user\" or \"agent\"")
            .and_then(|n| {
                let speaker_path = fields.path("speaker");
                match self.string(n, &speaker_path)? {
                    "user" => Some(Speaker::User),
                    "agent" => Some(Speaker::Agent),
                    other => {
                        self.push(error::wrong_type(
                            &speaker_path,
                            "\"user\" or \"agent\"",
                            &format!("the string {}", error::quote(other)),
                        ));
                        None
                    }
                }
            });
        let text = self
            .required(&fields, "text", "what was said")
            .and_then(|n| self.string(n, &fields.path("text")));
        let latency = fields
            .get("latency_ms")
            .map(|n| self.u64(n, &fields.path("latency_ms")));
        let step = fields
            .get("step_order")
            .map(|n| self.u64(n, &fields.path("step_order")));
        step.checked()?;
        Some(RecordedRow {
            speaker: speaker?,
            text: text?.to_owned(),
            latency_ms: latency.checked()?,
        })
    }

    fn expect(&mut self, node: &Node, turn_count: Option<usize>) -> Option<Expect> {
        let fields = self.object(node, "expect", EXPECT_FIELDS)?;
        let status = self
            .required(&fields, "status", "\"pass\" or \"fail\"")
            .and_then(|n| match self.string(n, "expect.status")? {
                "pass" => Some(Status::Pass),
                "fail" => Some(Status::Fail),
                other => {
                    self.push(error::wrong_type(
                        "expect.status",
                        "\"pass\" or \"fail\"",
                        &format!("the string {}", error::quote(other)),
                    ));
                    None
                }
            });
        let steps = fields
            .get("failure_steps")
            .map(|n| self.failure_steps(n, turn_count));
        let steps = steps.checked();
        let (status, steps) = (status?, steps?);
        if let (Status::Pass, Some(list)) = (status, &steps) {
            if !list.is_empty() {
                self.push(error::rule(
                    "expect.failure_steps",
                    format!("expected no failing steps for status \"pass\", found {list:?}"),
                    Some("use \"status\": \"fail\", or remove `failure_steps`"),
                ));
                return None;
            }
        }
        Some(Expect {
            status,
            failure_steps: steps,
        })
    }

    fn failure_steps(&mut self, node: &Node, turn_count: Option<usize>) -> Option<Vec<u32>> {
        let path = "expect.failure_steps";
        let items = self.array(node, path, "a list of step numbers")?;
        let mut steps = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let step = self.u64(item, &item_path)?;
            let max = turn_count.unwrap_or(usize::MAX) as u64;
            if step == 0 || step > max {
                self.push(error::rule(
                    &item_path,
                    format!("expected a step from 1 to {max}, found {step}"),
                    None,
                ));
                return None;
            }
            if steps.last().is_some_and(|&last| u64::from(last) >= step) {
                self.push(error::rule(
                    &item_path,
                    format!(
                        "expected steps in ascending order without repeats, found {step} after {}",
                        steps.last().unwrap_or(&0)
                    ),
                    None,
                ));
                return None;
            }
            steps.push(step as u32);
        }
        Some(steps)
    }

    fn turns(&mut self, node: &Node) -> Option<Vec<Turn>> {
        let items = self.array(node, "turns", "a list of turns")?;
        if items.is_empty() {
            self.push(error::rule(
                "turns",
                "expected at least one turn, found an empty list",
                None,
            ));
            return None;
        }
        let turns: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.turn(item, i))
            .collect();
        turns.into_iter().collect()
    }

    fn turn(&mut self, node: &Node, index: usize) -> Option<Turn> {
        let path = format!("turns[{index}]");
        let fields = self.object(node, &path, TURN_FIELDS)?;
        let expected_step = index as u64 + 1;
        let step_order = self
            .required(
                &fields,
                "step_order",
                "the step's number: 1, 2, 3, … in file order",
            )
            .and_then(|n| {
                let step_path = fields.path("step_order");
                let step = match n {
                    Node::Number(num) => num.as_u64(),
                    _ => None,
                };
                if step != Some(expected_step) {
                    self.push(error::rule(
                        &step_path,
                        format!(
                            "expected {expected_step}, found {}",
                            match n {
                                Node::Number(num) => num.to_string(),
                                other => other.describe(),
                            }
                        ),
                        Some("number the turns 1, 2, 3, … in the order they appear in the file"),
                    ));
                    return None;
                }
                Some(expected_step as u32)
            });
        let user_input = self
            .required(&fields, "user_input", "what the caller says")
            .and_then(|n| self.not_blank(n, &fields.path("user_input")));
        let keywords = fields
            .get("expected_agent_response_keywords")
            .map(|n| self.phrases(n, &fields.path("expected_agent_response_keywords")));
        let exact = fields
            .get("exact_match_required")
            .map(|n| self.bool(n, &fields.path("exact_match_required")));
        let expected_response = fields.get("expected_agent_response").map(|n| {
            self.string(n, &fields.path("expected_agent_response"))
                .map(str::to_owned)
        });
        let forbidden = fields
            .get("forbidden_keywords")
            .map(|n| self.phrases(n, &fields.path("forbidden_keywords")));
        let max_latency = fields
            .get("max_latency_ms")
            .map(|n| self.u64(n, &fields.path("max_latency_ms")));

        let turn = Turn {
            step_order: step_order?,
            user_input: user_input?,
            expected_agent_response_keywords: keywords.checked()?.unwrap_or_default(),
            exact_match_required: exact.checked()?.unwrap_or(false),
            expected_agent_response: expected_response.checked()?,
            forbidden_keywords: forbidden.checked()?.unwrap_or_default(),
            max_latency_ms: max_latency.checked()?,
        };
        if turn.exact_match_required && tokens(&turn.expected_phrase()).is_empty() {
            self.push(error::rule(
                &path,
                "an exact step needs an expected phrase with at least one word, found none",
                Some("set `expected_agent_response`, or give `expected_agent_response_keywords`"),
            ));
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
