//! What a case file records rather than scripts: the replies of `agent.replay`
//! ([`ReplayReply`]) and the rows of a recorded `transcript` ([`RecordedRow`], [`Speaker`]).

use serde::Serialize;

use super::{ExpectedCall, ToolCall};

/// One recorded agent reply of `agent.replay`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayReply {
    /// What the agent says.
    pub(crate) text: String,
    /// How long the agent takes to say it (0 for a plain string).
    pub(crate) latency_ms: u64,
    /// Tool calls made before the text, through the call's tools (so mocks answer them).
    pub(crate) tool_calls: Vec<ExpectedCall>,
}

impl ReplayReply {
    /// What the agent says.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How long the agent takes to say it (0 for a plain string).
    pub fn latency_ms(&self) -> u64 {
        self.latency_ms
    }

    /// Tool calls made before the text.
    pub fn tool_calls(&self) -> &[ExpectedCall] {
        &self.tool_calls
    }
}

/// Who speaks a transcript row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    /// The caller (the simulator, or the person on a recorded call).
    User,
    /// The agent under test.
    Agent,
    /// A tool call the agent made (it belongs to the agent's run).
    Tool,
}

impl Speaker {
    /// `"user"` or `"agent"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::User => "user",
            Speaker::Agent => "agent",
            Speaker::Tool => "tool",
        }
    }
}

/// One row of a recorded `transcript` in a case file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRow {
    /// Who spoke.
    pub(crate) speaker: Speaker,
    /// What was said (empty for a tool row).
    pub(crate) text: String,
    /// How long the agent took, when the recording says.
    pub(crate) latency_ms: Option<u64>,
    /// A tool row's call.
    pub(crate) call: Option<ToolCall>,
    /// Agent rows: the caller cut this reply off (`"interrupted": true`).
    pub(crate) interrupted: bool,
    /// Caller rows: what the agent's speech recognition heard (`heard`), when recorded.
    pub(crate) heard: Option<String>,
}

impl RecordedRow {
    /// Who spoke.
    pub fn speaker(&self) -> Speaker {
        self.speaker
    }

    /// What was said.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How long the agent took, when the recording says.
    pub fn latency_ms(&self) -> Option<u64> {
        self.latency_ms
    }

    /// A tool row's call (name, arguments, result).
    pub fn call(&self) -> Option<&ToolCall> {
        self.call.as_ref()
    }

    /// Agent rows: whether the caller cut this reply off (`"interrupted": true`).
    pub fn interrupted(&self) -> bool {
        self.interrupted
    }

    /// Caller rows: what the agent heard of the line (`heard`), when the recording says.
    pub fn heard(&self) -> Option<&str> {
        self.heard.as_deref()
    }
}
