//! The case file model (SPEC §2). Cases are built by [`load_case`](crate::load_case), which
//! checks every rule, so a [`Case`] in hand is always valid.

use serde::Serialize;

/// The tone markers used when a case does not set `tone_markers`.
pub const DEFAULT_TONE_MARKERS: [&str; 4] = ["angry", "upset", "refund", "complain"];

/// One scripted call: a caller persona and ordered turns.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Case {
    /// Unique name of the case (1–128 characters of `A-Z a-z 0-9 _ . -`).
    pub test_id: String,
    /// Who the caller is, e.g. `Calm Customer`.
    pub persona: String,
    /// Free text for people.
    pub description: Option<String>,
    /// Labels for selecting cases.
    pub tags: Vec<String>,
    /// The seed from the file, if any; see [`Case::seed`].
    pub seed_override: Option<u64>,
    /// Chance per caller line of inserting one filler, `0.0..=1.0`.
    pub disfluency_rate: f64,
    /// Recorded agent replies (`agent.replay`), used in order.
    pub replay: Option<Vec<ReplayReply>>,
    /// A recorded conversation to validate as it is, instead of simulating one.
    pub transcript: Option<Vec<RecordedRow>>,
    /// Phrases whose presence in any agent line fails the tone check.
    pub tone_markers: Vec<String>,
    /// The expected outcome, for negative tests.
    pub expect: Option<Expect>,
    /// The script, in `step_order`.
    pub turns: Vec<Turn>,
}

impl Case {
    /// The seed the simulator uses: the file's `seed`, or else the stable hash of `test_id`
    /// ([`seed_for_test_id`](crate::seed_for_test_id)).
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
    pub step_order: u32,
    /// What the caller says.
    pub user_input: String,
    /// Phrases that must all appear in the reply (non-exact steps).
    pub expected_agent_response_keywords: Vec<String>,
    /// When `true` the reply's tokens must equal [`Turn::expected_phrase`]'s.
    pub exact_match_required: bool,
    /// The expected phrase for exact steps, when given explicitly.
    pub expected_agent_response: Option<String>,
    /// Phrases that must not appear in the reply.
    pub forbidden_keywords: Vec<String>,
    /// Budget for the reply's latency, in simulated milliseconds.
    pub max_latency_ms: Option<u64>,
}

impl Turn {
    /// The phrase an exact step must match: `expected_agent_response`, or else the keywords
    /// joined by one space.
    pub fn expected_phrase(&self) -> String {
        match &self.expected_agent_response {
            Some(text) => text.clone(),
            None => self.expected_agent_response_keywords.join(" "),
        }
    }
}

/// One recorded agent reply of `agent.replay`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayReply {
    /// What the agent says.
    pub text: String,
    /// How long the agent takes to say it (0 for a plain string).
    pub latency_ms: u64,
}

/// Who speaks a transcript row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    /// The caller (the simulator, or the person on a recorded call).
    User,
    /// The agent under test.
    Agent,
}

impl Speaker {
    /// `"user"` or `"agent"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::User => "user",
            Speaker::Agent => "agent",
        }
    }
}

/// One row of a recorded `transcript` in a case file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRow {
    /// Who spoke.
    pub speaker: Speaker,
    /// What was said.
    pub text: String,
    /// How long the agent took, when the recording says.
    pub latency_ms: Option<u64>,
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
    pub status: Status,
    /// When given, exactly these steps must fail.
    pub failure_steps: Option<Vec<u32>>,
}
