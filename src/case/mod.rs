//! The case file (docs/case-format.md): the model, and how it is loaded. Cases are built only by
//! [`load_case`] and [`parse_case`], which check every rule, so a [`Case`] in hand is always
//! valid; that is why its fields are read through accessors and cannot be changed.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

mod check;
pub(crate) mod discover;
mod json;
mod load;

pub use crate::message::{LoadError, Location, Problem};
pub use crate::rng::seed_for_test_id;
pub use load::{load_case, parse_case};

/// The tone markers used when a case does not set `tone_markers`.
pub const DEFAULT_TONE_MARKERS: [&str; 4] = ["angry", "upset", "refund", "complain"];

/// One scripted call: a caller persona and ordered turns.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Case {
    /// Unique name of the case (1–128 characters of `A-Z a-z 0-9 _ . -`).
    pub(crate) test_id: String,
    /// Who the caller is, e.g. `Calm Customer`.
    pub(crate) persona: String,
    /// Free text for people.
    pub(crate) description: Option<String>,
    /// Labels for selecting cases.
    pub(crate) tags: Vec<String>,
    /// The seed from the file, if any; see [`Case::seed`].
    pub(crate) seed_override: Option<u64>,
    /// Chance per caller line of inserting one filler, `0.0..=1.0`.
    pub(crate) disfluency_rate: f64,
    /// Recorded agent replies (`agent.replay`), used in order.
    pub(crate) replay: Option<Vec<ReplayReply>>,
    /// A recorded conversation to validate as it is, instead of simulating one.
    pub(crate) transcript: Option<Vec<RecordedRow>>,
    /// Phrases whose presence in any agent line fails the tone check.
    pub(crate) tone_markers: Vec<String>,
    /// Recognition noise on the caller's lines (`caller.asr.wer`).
    pub(crate) asr_wer: Option<f64>,
    /// Numbers in words and in digits match (`"matching": {"numbers": "spoken"}`).
    pub(crate) spoken_numbers: bool,
    /// `sweep`: the generated cargo test runs this many seeds, held to this pass rate.
    pub(crate) sweep: Option<CaseSweep>,
    /// The caller rephrases each scripted line through an LLM (`caller.rephrase: "llm"`).
    pub(crate) rephrase: bool,
    /// A caller that follows rules instead of a script (`caller.rules`), and the checks on
    /// the whole call (`outcome`).
    pub(crate) rules: Option<Rules>,
    /// The expected outcome, for negative tests.
    pub(crate) expect: Option<Expect>,
    /// The script, in `step_order`.
    pub(crate) turns: Vec<Turn>,
    /// Tool mocks (`tools`), by tool name.
    pub(crate) tools: Option<BTreeMap<String, Vec<Mock>>>,
    /// How fast the agent speaks, in words per minute (`speech_wpm`, default 150): what a
    /// caller who barges in has heard.
    pub(crate) speech_wpm: u32,
    /// `greeting`: the agent speaks first, and its greeting must contain these keywords
    /// (none: any greeting).
    pub(crate) greeting: Option<Vec<Keyword>>,
}

impl Case {
    /// Unique name of the case (1–128 characters of `A-Z a-z 0-9 _ . -`).
    pub fn test_id(&self) -> &str {
        &self.test_id
    }

    /// Who the caller is, e.g. `Calm Customer`.
    pub fn persona(&self) -> &str {
        &self.persona
    }

    /// Free text for people.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Labels for selecting cases.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// Chance per caller line of inserting one filler, `0.0..=1.0`.
    pub fn disfluency_rate(&self) -> f64 {
        self.disfluency_rate
    }

    /// Recorded agent replies (`agent.replay`), used in order.
    pub fn replay(&self) -> Option<&[ReplayReply]> {
        self.replay.as_deref()
    }

    /// A recorded conversation to validate as it is, instead of simulating one.
    pub fn transcript(&self) -> Option<&[RecordedRow]> {
        self.transcript.as_deref()
    }

    /// Phrases whose presence in any agent line fails the tone check.
    pub fn tone_markers(&self) -> &[String] {
        &self.tone_markers
    }

    /// `greeting`: the keywords the agent's greeting (what it says before the caller's first
    /// line) must contain; `None` when the case does not expect the agent to speak first.
    pub fn greeting(&self) -> Option<&[Keyword]> {
        self.greeting.as_deref()
    }

    /// The expected outcome, for negative tests.
    pub fn expect(&self) -> Option<&Expect> {
        self.expect.as_ref()
    }

    /// The script, in `step_order`.
    pub fn turns(&self) -> &[Turn] {
        &self.turns
    }

    /// The tool mocks (`tools`), by tool name; `None` when the case has none.
    pub fn tools(&self) -> Option<&BTreeMap<String, Vec<Mock>>> {
        self.tools.as_ref()
    }

    /// The caller's rules and the call's outcome checks, when the caller follows rules
    /// instead of a script (then `turns` is empty).
    pub fn rules(&self) -> Option<&Rules> {
        self.rules.as_ref()
    }

    /// Whether the caller rephrases its lines through an LLM (`caller.rephrase: "llm"`).
    pub fn rephrase(&self) -> bool {
        self.rephrase
    }

    /// Whether the case needs an LLM (a `judge`, or a rephrasing caller).
    pub fn uses_llm(&self) -> bool {
        self.rephrase || self.turns.iter().any(|t| t.judge.is_some())
    }

    /// The case's `sweep`, if any: its generated test runs many seeds.
    pub fn sweep(&self) -> Option<&CaseSweep> {
        self.sweep.as_ref()
    }

    /// The expected word error rate of the recognition noise (`caller.asr.wer`), if any.
    pub fn asr_wer(&self) -> Option<f64> {
        self.asr_wer
    }

    /// Whether numbers in words and in digits are read as the same digits
    /// (`"matching": {"numbers": "spoken"}`).
    pub fn spoken_numbers(&self) -> bool {
        self.spoken_numbers
    }

    /// How fast the agent speaks, in words per minute (`speech_wpm`, default 150).
    pub fn speech_wpm(&self) -> u32 {
        self.speech_wpm
    }

    /// Whether the case has voice events: silence, keypad tones or a caller who barges in
    /// (in the script, or a recorded reply marked `interrupted`). Only such cases show the
    /// voice metrics, so older snapshots never change.
    pub fn uses_voice_events(&self) -> bool {
        self.turns
            .iter()
            .any(|t| !matches!(t.act, CallerAct::Say) || t.barge_in_after_ms.is_some())
            || self
                .transcript
                .as_ref()
                .is_some_and(|rows| rows.iter().any(|r| r.interrupted))
    }

    /// Whether the case says anything about tool calls (mocks, expected or forbidden calls,
    /// mentions, replayed or recorded calls). Only such cases show tool fields in their
    /// steps and metrics, so the snapshots of cases without tools never change.
    pub fn uses_tools(&self) -> bool {
        self.tools.is_some()
            || self.turns.iter().any(Turn::uses_tools)
            || self
                .replay
                .as_ref()
                .is_some_and(|r| r.iter().any(|r| !r.tool_calls.is_empty()))
            || self
                .transcript
                .as_ref()
                .is_some_and(|rows| rows.iter().any(|r| r.speaker == Speaker::Tool))
    }

    /// The seed the simulator uses: the file's `seed`, or else the stable hash of `test_id`
    /// ([`seed_for_test_id`]).
    pub fn seed(&self) -> u64 {
        self.seed_override
            .unwrap_or_else(|| crate::rng::seed_for_test_id(&self.test_id))
    }
}

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

    fn uses_tools(&self) -> bool {
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

/// The overall verdict of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every step and the tone check passed.
    Pass,
    /// Something failed.
    Fail,
}

impl Status {
    /// `"pass"` or `"fail"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
        }
    }
}

/// The expected outcome of a negative test (`expect`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Expect {
    /// The status the call must end with.
    pub(crate) status: Status,
    /// When given, exactly these steps must fail.
    pub(crate) failure_steps: Option<Vec<u32>>,
}

impl Expect {
    /// The status the call must end with.
    pub fn status(&self) -> Status {
        self.status
    }

    /// When given, exactly these steps must fail.
    pub fn failure_steps(&self) -> Option<&[u32]> {
        self.failure_steps.as_deref()
    }
}

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

/// A keyword of `expected_agent_response_keywords` or `forbidden_keywords`.
#[derive(Debug, Clone)]
pub enum Keyword {
    /// A phrase that must appear (docs/case-format.md, "Matching").
    Phrase(String),
    /// Any of these phrases (a list in the file).
    AnyOf(Vec<String>),
    /// A regular expression that must match the reply's normalized text (its words joined
    /// by single spaces): `{"regex": "..."}`.
    Regex(KeywordRegex),
}

/// A compiled `{"regex": "..."}` keyword (linear-time matching).
#[derive(Debug, Clone)]
pub struct KeywordRegex {
    pub(crate) pattern: String,
    pub(crate) regex: regex::Regex,
}

impl KeywordRegex {
    /// The pattern as written in the case.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

impl PartialEq for Keyword {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Keyword::Phrase(a), Keyword::Phrase(b)) => a == b,
            (Keyword::AnyOf(a), Keyword::AnyOf(b)) => a == b,
            (Keyword::Regex(a), Keyword::Regex(b)) => a.pattern == b.pattern,
            _ => false,
        }
    }
}

impl Eq for Keyword {}

impl Keyword {
    /// The phrase a reply that meets it could say: the phrase, or the first alternative;
    /// `None` for a regular expression.
    pub fn first_phrase(&self) -> Option<&str> {
        match self {
            Keyword::Phrase(p) => Some(p),
            Keyword::AnyOf(alternatives) => alternatives.first().map(String::as_str),
            Keyword::Regex(_) => None,
        }
    }
}

impl Keyword {
    /// Whether the words meet the keyword: a phrase appears, one of the alternatives
    /// appears, or the regular expression matches the words joined by single spaces.
    pub(crate) fn met_by(&self, words: &crate::normalize::Words<'_>) -> bool {
        match self {
            Keyword::Phrase(phrase) => words.has(phrase),
            Keyword::AnyOf(phrases) => phrases.iter().any(|p| words.has(p)),
            Keyword::Regex(r) => r.regex.is_match(words.joined()),
        }
    }
}

impl std::fmt::Display for Keyword {
    /// `overage`; `9 am | 9:00 am | nine in the morning`; `/\d+ am/`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Keyword::Phrase(p) => f.write_str(p),
            Keyword::AnyOf(alternatives) => f.write_str(&alternatives.join(" | ")),
            Keyword::Regex(r) => write!(f, "/{}/", r.pattern),
        }
    }
}

/// A case's `sweep`: its generated test runs `seeds` seeds and fails when the Wilson lower
/// bound of its pass rate is under `min_pass_rate` (absent: when any seed fails).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct CaseSweep {
    /// Seeds to run, from the case's own.
    pub seeds: u64,
    /// The bound, 0.0–1.0.
    pub min_pass_rate: Option<f64>,
}

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
