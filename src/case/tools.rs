//! The tool parts of a case: the calls a step expects ([`ExpectedCall`]), a call that was
//! made ([`ToolCall`]), the mocks that answer calls ([`Mock`], [`MockAnswer`]) and the values
//! a reply must mention ([`Mention`]).

use serde::Serialize;
use serde_json::Value;

/// A tool call a case expects (`expected_tool_calls`), or a replayed reply makes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExpectedCall {
    pub(crate) name: String,
    pub(crate) arguments: Option<Value>,
}

impl ExpectedCall {
    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The arguments the call must have (a subset, by the argument rule); `None` means any.
    pub fn arguments(&self) -> Option<&Value> {
        self.arguments.as_ref()
    }
}

/// A tool call that was made: its name, arguments and result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ToolCall {
    /// The tool's name.
    pub name: String,
    /// The arguments it was called with (an object).
    pub arguments: Value,
    /// What it returned; a failure is `{"error": "..."}`.
    pub result: Value,
    /// Which of the case's mocks of this tool answered it (`tools.<name>[i]`); `None` when
    /// none did (no mock matched, the case has no `tools`, or the call was recorded). Not in
    /// the report's rows: it feeds the report's coverage (docs/report.md).
    #[serde(skip)]
    pub(crate) mock: Option<usize>,
}

/// One mock of a tool (`tools.<name>[i]`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mock {
    pub(crate) matcher: Option<Value>,
    pub(crate) answer: MockAnswer,
    pub(crate) latency_ms: u64,
}

impl Mock {
    /// The arguments this mock answers (by the argument rule); `None` answers any call.
    pub fn matcher(&self) -> Option<&Value> {
        self.matcher.as_ref()
    }

    /// What the mock answers.
    pub fn answer(&self) -> &MockAnswer {
        &self.answer
    }

    /// How long the tool takes, on the call's clock; it counts in the reply's latency.
    pub fn latency_ms(&self) -> u64 {
        self.latency_ms
    }
}

/// What a mock answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MockAnswer {
    /// The tool's result.
    Result(Value),
    /// The tool fails with this message (the agent gets `{"error": message}`).
    Error(String),
}

/// A value from a tool's result that the reply must contain (`expected_mentions`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mention {
    pub(crate) tool: String,
    pub(crate) path: String,
}

impl Mention {
    /// The tool whose result holds the value.
    pub fn tool(&self) -> &str {
        &self.tool
    }

    /// Where the value is in the result: dot-separated keys and array indexes.
    pub fn path(&self) -> &str {
        &self.path
    }
}
