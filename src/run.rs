//! One call end to end: simulate (or take the recording), validate, measure, judge.

use std::cell::RefCell;
use std::time::Duration;

use crate::agent::Agent;
use crate::case::{Case, Status};
use crate::metrics::{self, Metrics};
use crate::simulate::{self, CallLimits, Row};
use crate::validate::{self, StepResult, ToneCheck};

/// How calls are run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunOptions {
    /// How long the agent may take to answer one caller line before the step fails. Measured
    /// on the virtual clock, so a hanging agent costs no real time. The default is 10 s.
    pub turn_timeout: Duration,
    /// At most this many transcript rows are kept; a longer call is cut there and its
    /// [`Outcome::truncated`] is `true`. The default is 1000 (`MAX_TRANSCRIPT_SIZE`).
    pub max_transcript_rows: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            turn_timeout: Duration::from_secs(10),
            max_transcript_rows: crate::store::DEFAULT_MAX_TRANSCRIPT_SIZE,
        }
    }
}

impl RunOptions {
    /// Sets [`RunOptions::turn_timeout`].
    pub fn with_turn_timeout(mut self, timeout: Duration) -> Self {
        self.turn_timeout = timeout;
        self
    }

    /// Sets [`RunOptions::max_transcript_rows`].
    pub fn with_max_transcript_rows(mut self, rows: usize) -> Self {
        self.max_transcript_rows = rows;
        self
    }
}

/// Everything one call produced and how it was judged.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Outcome {
    /// The case's `test_id`.
    pub test_id: String,
    /// The seed the simulator used.
    pub seed: u64,
    /// The conversation, simulated or recorded.
    pub transcript: Vec<Row>,
    /// The transcript hit [`RunOptions::max_transcript_rows`] and was cut.
    pub truncated: bool,
    /// One verdict per turn of the case.
    pub steps: Vec<StepResult>,
    /// The tone check.
    pub tone: ToneCheck,
    /// SPEC §6 metrics.
    pub metrics: Metrics,
    /// `pass` when every step and the tone check passed.
    pub status: Status,
    /// The status is what the case expects (`pass`, or its `expect`).
    pub as_expected: bool,
}

impl Outcome {
    /// One line per failure, as in the report: `Step 2 Failed: missing keywords: overage`,
    /// then the tone check's.
    pub fn failures(&self) -> Vec<String> {
        let steps = self.steps.iter().filter(|s| !s.passed).map(|s| {
            format!(
                "Step {} Failed: {}",
                s.step_order,
                s.details.as_deref().unwrap_or("failed")
            )
        });
        let tone = self.tone.found.iter().map(|(step, marker)| {
            format!("Tone Check Failed: the agent said \"{marker}\" (step {step})")
        });
        steps.chain(tone).collect()
    }
}

thread_local! {
    // Building a runtime per call costs more than a whole small call; one per thread is
    // reused. Paused time only moves forward, and latencies are differences, so reuse does
    // not change any figure.
    static VIRTUAL: RefCell<Option<tokio::runtime::Runtime>> = const { RefCell::new(None) };
    // Agents in another process need real time and I/O: a separate runtime.
    static WALL: RefCell<Option<tokio::runtime::Runtime>> = const { RefCell::new(None) };
}

fn block_on<F: std::future::Future>(wall_clock: bool, future: F) -> F::Output {
    let cell = if wall_clock { &WALL } else { &VIRTUAL };
    cell.with(|cell| {
        let mut slot = cell.borrow_mut();
        let runtime = slot.get_or_insert_with(|| {
            let mut builder = tokio::runtime::Builder::new_current_thread();
            if wall_clock {
                builder.enable_all();
            } else {
                builder.enable_time().start_paused(true);
            }
            builder
                .build()
                .expect("a current-thread runtime can be built (the OS refused its resources)")
        });
        runtime.block_on(future)
    })
}

/// Runs `case` against `agent` and judges it (SPEC §3–6).
///
/// A case with a recorded `transcript` is validated as it is and `agent` is not called. The
/// call runs on a current-thread tokio runtime with paused time, so latencies are virtual
/// and exact (or with real time, for agents whose [`Agent::wall_clock`] is `true`). Call it
/// from synchronous code (a test, a thread), not from inside a runtime.
///
/// ```
/// use voice_harness::{parse_case, run_case, IdealAgent, RunOptions, Status};
///
/// let case = parse_case("demo.json", br#"{
///     "test_id": "demo", "persona": "Calm Customer",
///     "turns": [{"step_order": 1, "user_input": "Hi, my bill jumped.",
///                "expected_agent_response_keywords": ["account", "review"]}]
/// }"#).unwrap();
/// let outcome = run_case(&case, &mut IdealAgent::new(&case), &RunOptions::default());
/// assert_eq!(outcome.status, Status::Pass);
/// assert_eq!(outcome.transcript[1].text, "account review");
/// ```
pub fn run_case<A: Agent>(case: &Case, agent: &mut A, options: &RunOptions) -> Outcome {
    let limits = CallLimits {
        turn_timeout: options.turn_timeout,
        max_rows: options.max_transcript_rows,
    };
    let conversation = match &case.transcript {
        Some(rows) => simulate::recorded(rows, limits.max_rows),
        None => block_on(agent.wall_clock(), simulate::simulate(case, agent, limits)),
    };
    judge(case, conversation)
}

fn judge(case: &Case, convo: simulate::Conversation) -> Outcome {
    let steps = validate::validate_steps(case, &convo.transcript, convo.fault.as_ref());
    let tone = validate::tone_check(&case.tone_markers, &convo.transcript);
    let metrics = Metrics::compute(case, &steps, &convo.transcript, convo.disfluencies_injected);
    let status = metrics::status(&steps, tone.passed);
    let as_expected = match &case.expect {
        None => status == Status::Pass,
        Some(expect) => {
            expect.status == status
                && expect
                    .failure_steps
                    .as_ref()
                    .is_none_or(|steps| *steps == metrics.failure_steps)
        }
    };
    Outcome {
        test_id: case.test_id.clone(),
        seed: case.seed(),
        transcript: convo.transcript,
        truncated: convo.truncated,
        steps,
        tone,
        metrics,
        status,
        as_expected,
    }
}
