//! One step of a case's script ([`Turn`]) and what the caller does in it ([`CallerAct`]).

use super::{ExpectedCall, Keyword, Mention};

/// One step of the script.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Turn {
    /// 1, 2, 3, … in file order.
    pub(crate) step_order: u32,
    /// What the caller does: speaks, stays silent, or types on the keypad.
    pub(crate) act: CallerAct,
    /// What the caller says; the digits of a keypad turn; empty for a silent turn.
    pub(crate) user_input: String,
    /// The caller starts this turn this long after the agent began its previous reply,
    /// cutting it off (`barge_in_after_ms`).
    pub(crate) barge_in_after_ms: Option<u64>,
    /// Keywords that must all be met by the reply (non-exact steps).
    pub(crate) expected_agent_response_keywords: Vec<Keyword>,
    /// When `true` the reply's tokens must equal [`Turn::expected_phrase`]'s.
    pub(crate) exact_match_required: bool,
    /// The expected phrase for exact steps, when given explicitly.
    pub(crate) expected_agent_response: Option<String>,
    /// Keywords that the reply must not meet.
    pub(crate) forbidden_keywords: Vec<Keyword>,
    /// Pins the caller's line exactly: says this (no filler, no recognition noise).
    pub(crate) said: Option<String>,
    /// Pins what the agent hears of the line.
    pub(crate) heard: Option<String>,
    /// What an LLM judge must find true of the reply (`judge`, feature `llm`).
    pub(crate) judge: Option<String>,
    /// Budget for the reply's latency, in simulated milliseconds.
    pub(crate) max_latency_ms: Option<u64>,
    /// Calls the agent must make during the step, in this order (others may come between).
    pub(crate) expected_tool_calls: Vec<ExpectedCall>,
    /// Tools the agent must not call during the step.
    pub(crate) forbidden_tool_calls: Vec<String>,
    /// Values from the step's tool results that the reply must contain.
    pub(crate) expected_mentions: Vec<Mention>,
}

impl Turn {
    /// What the caller does at this step.
    pub fn act(&self) -> &CallerAct {
        &self.act
    }

    /// When the caller cuts the agent's previous reply off, in ms after it began.
    pub fn barge_in_after_ms(&self) -> Option<u64> {
        self.barge_in_after_ms
    }

    /// Calls the agent must make during the step, in this order (others may come between).
    pub fn expected_tool_calls(&self) -> &[ExpectedCall] {
        &self.expected_tool_calls
    }

    /// Tools the agent must not call during the step.
    pub fn forbidden_tool_calls(&self) -> &[String] {
        &self.forbidden_tool_calls
    }

    /// Values from the step's tool results that the reply must contain.
    pub fn expected_mentions(&self) -> &[Mention] {
        &self.expected_mentions
    }

    pub(super) fn uses_tools(&self) -> bool {
        !(self.expected_tool_calls.is_empty()
            && self.forbidden_tool_calls.is_empty()
            && self.expected_mentions.is_empty())
    }

    /// 1, 2, 3, … in file order.
    pub fn step_order(&self) -> u32 {
        self.step_order
    }

    /// What the caller says.
    pub fn user_input(&self) -> &str {
        &self.user_input
    }

    /// Phrases that must all appear in the reply (non-exact steps).
    pub fn expected_agent_response_keywords(&self) -> &[Keyword] {
        &self.expected_agent_response_keywords
    }

    /// When `true` the reply's tokens must equal [`Turn::expected_phrase`]'s.
    pub fn exact_match_required(&self) -> bool {
        self.exact_match_required
    }

    /// The expected phrase for exact steps, when given explicitly.
    pub fn expected_agent_response(&self) -> Option<&str> {
        self.expected_agent_response.as_deref()
    }

    /// Phrases that must not appear in the reply.
    pub fn forbidden_keywords(&self) -> &[Keyword] {
        &self.forbidden_keywords
    }

    /// The caller's line, pinned (`said`).
    pub fn said(&self) -> Option<&str> {
        self.said.as_deref()
    }

    /// What the agent hears of the line, pinned (`heard`).
    pub fn heard(&self) -> Option<&str> {
        self.heard.as_deref()
    }

    /// What an LLM judge must find true of the reply (`judge`).
    pub fn judge(&self) -> Option<&str> {
        self.judge.as_deref()
    }

    /// Budget for the reply's latency, in simulated milliseconds.
    pub fn max_latency_ms(&self) -> Option<u64> {
        self.max_latency_ms
    }

    /// The phrase an exact step must match: `expected_agent_response`, or else the keywords
    /// joined by one space.
    pub fn expected_phrase(&self) -> String {
        match &self.expected_agent_response {
            Some(text) => text.clone(),
            None => self
                .expected_agent_response_keywords
                .iter()
                .filter_map(Keyword::first_phrase)
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// What the caller does at a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerAct {
    /// Says `user_input`.
    Say,
    /// Says nothing for this many milliseconds (`silence_ms`).
    Silence(u64),
    /// Types these keypad digits (`dtmf`: `0-9 * # A-D`).
    Dtmf(String),
}
