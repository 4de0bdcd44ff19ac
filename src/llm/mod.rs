//! The LLM mode (feature `llm`; docs/llm.md): a judge for what keywords cannot check, and a
//! caller that rephrases its lines, through any OpenAI-compatible chat-completions server;
//! every exchange kept in a lock file, so `cargo test` in CI is offline, free and
//! byte-identical.
//!
//! Answers are always forced into a shape (a tool the model must call, with a JSON schema),
//! never read out of prose.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::call::Row;
use crate::case::Case;
use crate::message;
use crate::validate::{JudgeVerdict, StepResult};

mod client;

/// Whether missing answers may be requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Request what the lock file does not have, and record it (local runs).
    Record,
    /// Never request: a missing answer is an error (CI: `CI` set, or `--offline`).
    Offline,
}

/// Where the LLM is and how it is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LlmConfig {
    /// The chat-completions endpoint (`VOICE_HARNESS_LLM_URL`, `--llm-url`), e.g.
    /// `http://127.0.0.1:8080/v1/chat/completions` for a llama.cpp server.
    pub url: Option<String>,
    /// The model name (`VOICE_HARNESS_LLM_MODEL`, `--llm-model`).
    pub model: String,
    /// The API key, from `VOICE_HARNESS_LLM_KEY` (never written anywhere).
    pub key: Option<String>,
    /// How long one request may take (`VOICE_HARNESS_LLM_TIMEOUT`, seconds; default 60).
    pub timeout: Duration,
    /// Whether missing answers may be requested.
    pub mode: LockMode,
    /// Rewrite lock files without the entries no request used (`VOICE_HARNESS_LLM_PRUNE=1`).
    pub prune: bool,
    /// Where lock files go: `llm/` under this folder (the crate root, or the current one).
    pub lock_root: PathBuf,
}

// `LlmConfig::from_env` is in `config`, with every other environment variable.

/// One recorded exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    /// `judge` or `rephrase`.
    kind: String,
    model: String,
    messages: Value,
    /// The structured answer: `{"verdict", "reason"}` or `{"line"}`.
    answer: Value,
}

/// A case's lock file: `llm/<case file>.json`, entries keyed by a hash of the request.
#[derive(Debug, Default, Serialize, Deserialize)]
struct LockFile {
    entries: BTreeMap<String, Entry>,
}

/// The lock file of the case file shown as `shown`, relative to the lock root: always under
/// `llm/`. A name within the current folder is kept (`cases/a.json` → `llm/cases/a.json`);
/// a `..` becomes `_parent` and an absolute name goes under `_root`, so a case named as
/// `../shared/a.json` or `/srv/cases/a.json` neither reads itself as its lock file nor
/// writes outside `llm/` (issue 23, fault 15).
fn lock_file_within(shown: &str) -> PathBuf {
    use std::path::Component;
    let mut path = PathBuf::from("llm");
    for component in Path::new(shown).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::ParentDir => path.push("_parent"),
            Component::RootDir => path.push("_root"),
            // A Windows drive (`C:`): its letter, as a folder.
            Component::Prefix(prefix) => path.push(
                prefix
                    .as_os_str()
                    .to_string_lossy()
                    .replace(|c: char| !c.is_alphanumeric(), ""),
            ),
            Component::CurDir => {}
        }
    }
    path
}

/// The exchanges of one case: what its lock file holds, what this run used or added.
pub(crate) struct Session<'a> {
    config: std::borrow::Cow<'a, LlmConfig>,
    path: PathBuf,
    /// The lock file's name in messages (`llm/cases/a.json`).
    lock_name: String,
    lock: LockFile,
    used: Vec<String>,
    changed: bool,
}

impl<'a> Session<'a> {
    /// The session of the case file shown as `shown` (its lock file `llm/<shown>`, see
    /// [`lock_file_within`]).
    pub(crate) fn open(
        config: std::borrow::Cow<'a, LlmConfig>,
        shown: &str,
    ) -> Result<Self, String> {
        let within = lock_file_within(shown);
        let path = config.lock_root.join(&within);
        let lock = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                message::llm_lock_corrupt(&crate::case::discover::display_path(&path), &e)
            })?,
            Err(_) => LockFile::default(),
        };
        Ok(Self {
            config,
            path,
            lock_name: crate::case::discover::display_path(&within),
            lock,
            used: Vec::new(),
            changed: false,
        })
    }

    /// The answer to a request: the recorded one, or (when recording) a new one.
    fn ask(&mut self, kind: &str, messages: Value, tool: Value) -> Result<Value, String> {
        let key = request_key(&self.config.model, &messages, &tool);
        self.used.push(key.clone());
        if let Some(entry) = self.lock.entries.get(&key) {
            return Ok(entry.answer.clone());
        }
        if self.config.mode == LockMode::Offline {
            return Err(message::llm_not_recorded(kind, &key, &self.lock_name));
        }
        let Some(url) = &self.config.url else {
            return Err(message::LLM_NOT_CONFIGURED.to_owned());
        };
        let answer = client::ask(url, &self.config, &messages, &tool)?;
        self.lock.entries.insert(
            key,
            Entry {
                kind: kind.to_owned(),
                model: self.config.model.clone(),
                // Sorted, so the lock file's bytes do not depend on `preserve_order` either.
                messages: sorted(messages),
                answer: sorted(answer.clone()),
            },
        );
        self.changed = true;
        Ok(answer)
    }

    /// Writes what was recorded; reports (or prunes) entries no request used.
    pub(crate) fn close(&mut self) -> Result<Option<String>, String> {
        let stale: Vec<String> = self
            .lock
            .entries
            .keys()
            .filter(|k| !self.used.contains(k))
            .cloned()
            .collect();
        let mut note = None;
        if !stale.is_empty() {
            if self.config.prune && self.config.mode == LockMode::Record {
                for key in &stale {
                    self.lock.entries.remove(key);
                }
                self.changed = true;
            } else {
                note = Some(message::llm_stale_entries(&self.lock_name, stale.len()));
            }
        }
        if self.changed {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| message::llm_lock_unwritten(&dir.display(), &e))?;
            }
            let mut text = serde_json::to_string_pretty(&self.lock).expect("plain data");
            text.push('\n');
            std::fs::write(&self.path, text)
                .map_err(|e| message::llm_lock_unwritten(&self.path.display(), &e))?;
        }
        Ok(note)
    }
}

/// The lock-file key of a request: a hash of its model, messages, tool and temperature, in
/// the canonical form of [`canonical`].
fn request_key(model: &str, messages: &Value, tool: &Value) -> String {
    let request = json!({"model": model, "messages": messages, "tool": tool, "temperature": 0});
    let mut text = String::new();
    canonical(&request, &mut text);
    format!("{:016x}", crate::rng::seed_for_test_id(&text))
}

/// `value` with every object's keys in sorted order, whichever map serde_json uses (with
/// `preserve_order` a map keeps the order keys were inserted in, so they are inserted
/// sorted).
fn sorted(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        other => other,
    }
}

/// `value` as compact JSON with every object's keys sorted (by their UTF-8 bytes) and
/// numbers written one fixed way, whatever serde_json's features: with `preserve_order`
/// (which any crate in a user's graph can turn on) `Value::to_string` keeps insertion
/// order, so `cargo test` and the runner computed different keys (issue 23, fault 14).
/// Without the feature this is byte for byte what `to_string` wrote, so keys recorded
/// before stay valid.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => out.push_str(&value.to_string()),
        Value::Number(n) => {
            // Integers in decimal; any other number as serde_json writes an f64 (ryu's
            // shortest form), never the text it was parsed from (`arbitrary_precision`).
            let text = match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => u.to_string(),
                (None, Some(i), _) => i.to_string(),
                (None, None, Some(f)) => Value::from(f).to_string(),
                (None, None, None) => n.to_string(),
            };
            out.push_str(&text);
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push(':');
                canonical(item, out);
            }
            out.push('}');
        }
    }
}

const JUDGE_SYSTEM: &str = "You judge one reply of a voice agent on a phone call. You get the conversation so far and a criterion. Decide whether the agent's last reply meets the criterion. Answer only by calling the `verdict` tool: `pass`, `fail`, or `unsure` when the conversation does not let you tell, with a one-sentence reason.";

const REPHRASE_SYSTEM: &str = "You play a caller on a phone call. Rephrase the caller's line in the voice of the persona, keeping exactly its meaning, every number and name; one short spoken line. Answer only by calling the `say` tool.";

fn verdict_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "verdict",
        "description": "The verdict on the agent's reply.",
        "parameters": {"type": "object", "additionalProperties": false,
            "properties": {
                "verdict": {"type": "string", "enum": ["pass", "fail", "unsure"]},
                "reason": {"type": "string", "description": "One sentence."}
            },
            "required": ["verdict", "reason"]}
    }})
}

fn say_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "say",
        "description": "The rephrased line.",
        "parameters": {"type": "object", "additionalProperties": false,
            "properties": {"line": {"type": "string"}},
            "required": ["line"]}
    }})
}

/// A rephrasing caller's case: each scripted line rephrased in the persona's voice. The
/// rephrased line becomes the script, so the caller's line is matched against it (the
/// meaning is carried by the rephrase record in the lock file, not by the words).
pub(crate) fn rephrase(case: &Case, session: &mut Session<'_>) -> Result<Case, String> {
    let mut case = case.clone();
    for turn in &mut case.turns {
        if !matches!(turn.act, crate::case::CallerAct::Say) || turn.said.is_some() {
            continue;
        }
        let messages = json!([
            {"role": "system", "content": REPHRASE_SYSTEM},
            {"role": "user", "content": format!("Persona: {}\nLine: {}", case.persona, turn.user_input)}
        ]);
        let answer = session.ask("rephrase", messages, say_tool())?;
        let line = answer
            .get("line")
            .and_then(Value::as_str)
            .filter(|l| crate::normalize::has_token(l))
            .ok_or_else(|| message::llm_rephrasing_outside_schema(&answer))?;
        turn.user_input = line.to_owned();
    }
    Ok(case)
}

/// Asks the judge about every step with a `judge`, given the call's `transcript` and its
/// validated `steps`: the verdict of each step asked, by its index in `steps`. The pipeline
/// applies them (a `fail` or `unsure` verdict fails the step with its reason; the reason is
/// kept on the step either way). An error of the judge is an `Err`: the case's error, never
/// the agent's fail.
pub(crate) fn judge(
    case: &Case,
    transcript: &[Row],
    steps: &[StepResult],
    session: &mut Session<'_>,
) -> Result<Vec<(usize, JudgeVerdict)>, String> {
    let mut verdicts = Vec::new();
    let mut so_far = String::new();
    let mut rows = transcript.iter().peekable();
    for (i, (turn, step)) in case.turns.iter().zip(steps).enumerate() {
        // The conversation up to this step's reply.
        while let Some(row) = rows.peek() {
            if row.step_order > turn.step_order {
                break;
            }
            if row.call.is_none() {
                so_far.push_str(&format!("{}: {}\n", row.speaker.as_str(), row.text));
            }
            rows.next();
        }
        let Some(criterion) = &turn.judge else {
            continue;
        };
        // A silent or keypad step the agent let pass is judged too: it said nothing.
        if step.agent_response.is_none() && !step.quiet {
            continue;
        }
        let quiet = if step.quiet {
            "agent: (says nothing)\n"
        } else {
            ""
        };
        let messages = json!([
            {"role": "system", "content": JUDGE_SYSTEM},
            {"role": "user", "content": format!("Conversation:\n{so_far}{quiet}\nCriterion: {criterion}")}
        ]);
        let answer = session.ask("judge", messages, verdict_tool())?;
        let verdict = answer.get("verdict").and_then(Value::as_str);
        let reason = answer.get("reason").and_then(Value::as_str);
        let (Some(verdict @ ("pass" | "fail" | "unsure")), Some(reason)) = (verdict, reason) else {
            return Err(message::llm_verdict_outside_schema(&answer));
        };
        verdicts.push((
            i,
            JudgeVerdict {
                verdict: verdict.to_owned(),
                reason: reason.to_owned(),
            },
        ));
    }
    Ok(verdicts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_values_are_written_with_sorted_keys() {
        let value: Value =
            serde_json::from_str(r#"[{"z": 1, "a": {"y": 2.5, "b": [null, {"d": 1, "c": 2}]}}]"#)
                .unwrap();
        let mut text = String::new();
        canonical(&value, &mut text);
        assert_eq!(sorted(value).to_string(), text);
        assert_eq!(text, r#"[{"a":{"b":[null,{"c":2,"d":1}],"y":2.5},"z":1}]"#);
    }

    #[test]
    fn every_lock_file_is_under_llm() {
        for (shown, lock) in [
            ("cases/a.json", "llm/cases/a.json"),
            ("../shared/a.json", "llm/_parent/shared/a.json"),
            ("../../a.json", "llm/_parent/_parent/a.json"),
            ("/srv/cases/a.json", "llm/_root/srv/cases/a.json"),
            ("cases/../a.json", "llm/cases/_parent/a.json"),
        ] {
            let within = lock_file_within(shown);
            assert_eq!(
                crate::case::discover::display_path(&within),
                lock,
                "{shown}"
            );
        }
    }

    /// Issue 23, fault 14: keys are the same whatever order serde_json keeps an object's
    /// keys in (its `preserve_order` feature, which any crate in the graph can turn on).
    /// Pinned: lock files recorded before keep their keys. Run it with
    /// `--features serde_json/preserve_order` too.
    #[test]
    fn keys_do_not_depend_on_the_order_of_object_keys() {
        let messages = json!([
            {"role": "system", "content": JUDGE_SYSTEM},
            {"role": "user", "content": "Conversation:\nagent: Booked for Friday.\n\nCriterion: x"}
        ]);
        assert_eq!(
            request_key("tiny-test-model", &messages, &verdict_tool()),
            "2a07d0dd56273a12"
        );
        assert_eq!(
            request_key(
                "m",
                &json!([{"z": 1, "a": {"y": 2.5, "b": [null, true]}}]),
                &say_tool()
            ),
            "01d0f792d0e91ee4"
        );
    }
}
