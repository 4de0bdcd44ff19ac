//! A caller that follows rules instead of a script ([`Rules`], [`Rule`]) and the checks on
//! the whole call ([`OutcomeChecks`], [`EndedBy`]).

use serde::Serialize;

use super::{ExpectedCall, Keyword};

/// A caller that follows rules (`caller.opening`, `caller.rules`, …) and the checks on the
/// whole call (`outcome`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Rules {
    /// The caller's first line.
    pub opening: String,
    /// The rules, in order: the first whose `when` matches the agent's reply speaks.
    pub rules: Vec<Rule>,
    /// What the caller says when no rule matches.
    pub otherwise: String,
    /// `otherwise` lines in a row before the caller hangs up.
    pub max_retries: u32,
    /// Caller lines before the call is ended as a loop.
    pub max_turns: u32,
    /// The checks on the whole call.
    pub outcome: OutcomeChecks,
}

/// One rule of a rule-following caller.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Rule {
    /// Keywords, any of which in the agent's reply makes the rule match.
    pub when: Vec<Keyword>,
    /// What the caller says.
    pub say: String,
    /// The rule fires at most once.
    pub once: bool,
    /// The caller hangs up after saying it.
    pub hang_up: bool,
}

/// Who ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndedBy {
    /// The caller hung up (`then: "hang_up"`, or after `max_retries` confused lines).
    Caller,
    /// The agent hung up.
    Agent,
    /// The call reached the caller's `max_turns` lines without ending: a loop.
    MaxTurns,
}

impl EndedBy {
    /// `caller`, `agent` or `max_turns`.
    pub fn as_str(self) -> &'static str {
        match self {
            EndedBy::Caller => "caller",
            EndedBy::Agent => "agent",
            EndedBy::MaxTurns => "max_turns",
        }
    }
}

/// The `outcome` checks of a rule-following call; each is optional.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct OutcomeChecks {
    /// Calls that must be made during the call, in order (other calls may come between).
    pub tool_calls: Vec<ExpectedCall>,
    /// Tools that must not be called.
    pub forbidden_tool_calls: Vec<String>,
    /// Keywords each of which must be met by some agent line.
    pub mentions: Vec<Keyword>,
    /// Keywords no agent line may meet.
    pub forbidden_keywords: Vec<Keyword>,
    /// Who must end the call.
    pub ended_by: Option<EndedBy>,
    /// The call may take at most this many caller lines.
    pub max_turns: Option<u32>,
}
