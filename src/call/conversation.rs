//! The transcript of a call, simulated or recorded (docs/case-format.md, "Validation"): its
//! rows, the faults that ended it, and how a rule-following call went. Low-level data that
//! validation, metrics and the report read without the call loop that writes it.

use serde::Serialize;

use crate::case::{EndedBy, RecordedRow, Speaker, ToolCall};

/// One row of a call's transcript.
///
/// In the report a caller or agent row is `{"speaker", "text", "step_order",
/// "latency_ms"?}`, and a tool row `{"speaker": "tool", "name", "arguments", "result",
/// "step_order"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Row {
    /// Who spoke.
    pub speaker: Speaker,
    /// What was said (empty for a tool row).
    pub text: String,
    /// The step the row belongs to; `0` for an agent greeting before the caller's first line.
    pub step_order: u32,
    /// Agent rows: the virtual time the agent took to reply, when known.
    pub latency_ms: Option<u64>,
    /// Tool rows: the call.
    pub call: Option<ToolCall>,
    /// Caller rows where the caller did not speak: silence or keypad tones.
    pub event: Option<RowEvent>,
    /// Agent rows the caller cut off (a barge-in).
    pub cut: Option<Cut>,
    /// Caller rows: what the agent heard, when it is not what was said (recognition
    /// noise, or a pinned `heard`).
    pub heard: Option<String>,
    /// Caller rows of a rule-following caller: what produced the line (`opening`,
    /// `rule 2: "what time"`, `otherwise`).
    pub rule: Option<String>,
}

/// What a caller row was, when the caller did not speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowEvent {
    /// The caller said nothing for this many milliseconds.
    Silence(u64),
    /// The caller typed keypad tones (the row's text).
    Dtmf,
}

/// How an agent row was cut off by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cut {
    /// The words of the reply the caller heard before cutting in.
    pub heard: String,
    /// When the caller cut in, in ms after the reply began; `None` for a recorded reply
    /// marked `interrupted`, whose recording does not say.
    pub at_ms: Option<u64>,
}

impl Row {
    /// A row of words (or of silence, keypad tones) said by `speaker`.
    pub(crate) fn said(
        speaker: Speaker,
        text: String,
        step_order: u32,
        latency_ms: Option<u64>,
    ) -> Self {
        Self {
            speaker,
            text,
            step_order,
            latency_ms,
            call: None,
            event: None,
            cut: None,
            heard: None,
            rule: None,
        }
    }

    /// A tool row: `call`, made during step `step_order`.
    pub(crate) fn tool(call: ToolCall, step_order: u32) -> Self {
        Self {
            call: Some(call),
            ..Self::said(Speaker::Tool, String::new(), step_order, None)
        }
    }
}

impl Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("speaker", &self.speaker)?;
        match &self.call {
            Some(call) => {
                map.serialize_entry("name", &call.name)?;
                map.serialize_entry("arguments", &call.arguments)?;
                map.serialize_entry("result", &call.result)?;
                map.serialize_entry("step_order", &self.step_order)?;
            }
            None => {
                map.serialize_entry("text", &self.text)?;
                map.serialize_entry("step_order", &self.step_order)?;
                if let Some(latency) = self.latency_ms {
                    map.serialize_entry("latency_ms", &latency)?;
                }
                if let Some(heard) = &self.heard {
                    map.serialize_entry("heard", heard)?;
                }
                if let Some(rule) = &self.rule {
                    map.serialize_entry("rule", rule)?;
                }
                match self.event {
                    Some(RowEvent::Silence(ms)) => {
                        map.serialize_entry("event", "silence")?;
                        map.serialize_entry("silence_ms", &ms)?;
                    }
                    Some(RowEvent::Dtmf) => map.serialize_entry("event", "dtmf")?,
                    None => {}
                }
                if let Some(cut) = &self.cut {
                    map.serialize_entry("interrupted", &true)?;
                    map.serialize_entry("heard", &cut.heard)?;
                    if let Some(at_ms) = cut.at_ms {
                        map.serialize_entry("cut_at_ms", &at_ms)?;
                    }
                }
            }
        }
        map.end()
    }
}

/// A conversation, simulated or recorded, ready for validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conversation {
    pub(crate) transcript: Vec<Row>,
    pub(crate) disfluencies_injected: u32,
    /// The agent failed at this step (error, panic, timeout); the call ended there.
    pub(crate) fault: Option<Fault>,
    /// The transcript reached the row limit and was cut.
    pub(crate) truncated: bool,
    /// Why tool calls fail their step (a call no mock answers, the per-turn cap).
    pub(crate) tool_problems: Vec<(u32, String)>,
    /// Word errors between what the caller said and what the agent heard, and words said.
    pub(crate) asr: (usize, usize),
    /// How a rule-following call went.
    pub(crate) rules: Option<RulesRun>,
    /// The call never started: why the agent's start failed. No caller line was said.
    pub(crate) not_started: Option<String>,
}

impl Conversation {
    /// A conversation of `transcript`, with nothing injected, no fault and no cut.
    pub(crate) fn new(transcript: Vec<Row>) -> Self {
        Self {
            transcript,
            disfluencies_injected: 0,
            fault: None,
            truncated: false,
            tool_problems: Vec::new(),
            asr: (0, 0),
            rules: None,
            not_started: None,
        }
    }
}

/// How a rule-following call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RulesRun {
    pub(crate) ended_by: EndedBy,
    pub(crate) caller_turns: u32,
    pub(crate) rules_fired: u32,
    pub(crate) otherwise_lines: u32,
}

/// An agent failure that ended the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    pub(crate) step_order: u32,
    pub(crate) message: String,
}

impl Fault {
    /// The agent failed at step `step_order`, saying `message`.
    pub(crate) fn at(step_order: u32, message: String) -> Self {
        Self {
            step_order,
            message,
        }
    }
}

/// Numbers the rows of a recorded transcript the way the zipper pairs them: a leading agent
/// run is step 0, then each user run and the agent run after it share the next step. A
/// reply marked `interrupted` is cut as a simulated barge-in cuts it, with what the
/// recording holds as the words the caller heard (a recording has what was spoken before
/// the cut) and no time; a caller row's `heard` is kept as a simulated mishearing is, only
/// when it differs from what was said.
pub(crate) fn recorded(rows: &[RecordedRow], max_rows: usize) -> Conversation {
    let mut step = 0;
    let mut previous = Speaker::Agent;
    let transcript = rows
        .iter()
        .take(max_rows)
        .map(|row| {
            // Tool rows belong to the agent's run: they neither start a step nor split runs.
            if row.speaker == Speaker::User && previous == Speaker::Agent {
                step += 1;
            }
            if row.speaker != Speaker::Tool {
                previous = row.speaker;
            }
            let cut = row.interrupted.then(|| Cut {
                heard: row.text.split_whitespace().collect::<Vec<_>>().join(" "),
                at_ms: None,
            });
            let heard = row.heard.clone().filter(|heard| *heard != row.text);
            Row {
                call: row.call.clone(),
                cut,
                heard,
                ..Row::said(row.speaker, row.text.clone(), step, row.latency_ms)
            }
        })
        .collect();
    Conversation {
        truncated: rows.len() > max_rows,
        ..Conversation::new(transcript)
    }
}
