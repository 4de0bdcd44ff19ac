//! The case itself: [`Case`] and its accessors, what a negative test expects ([`Expect`],
//! [`Status`]) and its `sweep` ([`CaseSweep`]). The parts of a case are in the sibling
//! files: the script (`turn.rs`), recordings (`recorded.rs`), tools (`tools.rs`), keywords
//! (`keyword.rs`) and a rule-following caller (`rules.rs`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    CallerAct, Keyword, Mock, RecordedRow, ReplayReply, Rules, Speaker, Turn, seed_for_test_id,
};

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
            .unwrap_or_else(|| seed_for_test_id(&self.test_id))
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
