//! One call end to end: build the agent, simulate (or take the recording), validate, apply
//! an LLM judge's verdicts, measure and judge once; what a call produces ([`Outcome`] and its
//! parts); and how calls are driven (`Drive`: blocking this thread, or on the runtime the
//! caller is on). The pipeline (`pipeline.rs`) puts this stage among the others.

use std::cell::RefCell;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use crate::agent::{Agent, Erased, Make};
use crate::call::{self, CallLimits};
pub use crate::call::{Cut, Row, RowEvent};
use crate::case::{Case, Expect, Status};
// The tables of the caller's noise (docs/case-format.md lists them): for the crate's tests.
#[doc(hidden)]
pub use crate::hearing::{CONFUSIONS, NOISE_WORDS};
use crate::limits::{EnvError, Limits};
use crate::message;
use crate::metrics;
pub use crate::metrics::{Metrics, VoiceMetrics};
#[doc(hidden)]
pub use crate::normalize::FILLERS;
use crate::validate::{self, JudgeVerdict};
pub use crate::validate::{StepResult, ToneCheck};

/// How calls are run. `cargo test` and the runner both start from
/// [`RunOptions::from_env`], so the same environment gives the same limits on both.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunOptions {
    /// How long the agent may take to answer one caller line before the step fails. Measured
    /// on the virtual clock, so a hanging agent costs no real time. The default is 10 s.
    /// Built-in agents are not timed: a replayed reply takes its `latency_ms`, however long,
    /// and only a step's `max_latency_ms` judges it.
    pub turn_timeout: Duration,
    /// Limits on each call; see [`Limits`].
    pub limits: Limits,
    /// Use this seed instead of each case's own (a robustness run). The default is `None`.
    pub seed: Option<u64>,
    /// The LLM for cases with a `judge` or a rephrasing caller (feature `llm`); `None`:
    /// from the environment, with lock files under the crate root (`cargo test`) or the
    /// current folder (the runner).
    #[cfg(feature = "llm")]
    pub llm: Option<crate::llm::LlmConfig>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            turn_timeout: Duration::from_secs(10),
            limits: Limits::default(),
            seed: None,
            #[cfg(feature = "llm")]
            llm: None,
        }
    }
}

impl RunOptions {
    /// The defaults, with the limits of the environment (`MAX_TRANSCRIPT_SIZE`,
    /// `VOICE_HARNESS_MAX_RUNS`); a bad value is an error, never silently the default.
    pub fn from_env() -> Result<Self, EnvError> {
        Self::default().with_env()
    }

    /// These options, with each limit overridden by its environment variable when set.
    pub fn with_env(mut self) -> Result<Self, EnvError> {
        self.limits = self.limits.with_env()?;
        Ok(self)
    }

    /// Like [`RunOptions::with_env`], reading variables through `lookup` (for tests).
    pub fn with_env_lookup(
        mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, EnvError> {
        self.limits = self.limits.overridden_by(lookup)?;
        Ok(self)
    }

    /// Sets [`RunOptions::turn_timeout`].
    pub fn with_turn_timeout(mut self, timeout: Duration) -> Self {
        self.turn_timeout = timeout;
        self
    }

    /// Sets the most transcript rows a call keeps ([`Limits::max_transcript_rows`]).
    pub fn with_max_transcript_rows(mut self, rows: usize) -> Self {
        self.limits.max_transcript_rows = rows;
        self
    }

    /// Sets [`RunOptions::seed`].
    pub fn with_seed(mut self, seed: Option<u64>) -> Self {
        self.seed = seed;
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
    /// The transcript hit [`Limits::max_transcript_rows`] and was cut; the first step it
    /// left without its rows says so.
    pub truncated: bool,
    /// One verdict per turn of the case.
    pub steps: Vec<StepResult>,
    /// The tone check.
    pub tone: ToneCheck,
    /// The greeting check (step 0), when the case has `greeting`: the agent spoke before
    /// the caller's first line, saying each of its keywords.
    pub greeting: Option<StepResult>,
    /// The metrics (docs/case-format.md, "Metrics").
    pub metrics: Metrics,
    /// `pass` when every step and the tone check passed.
    pub status: Status,
    /// The status is what the case expects (`pass`, or its `expect`).
    pub as_expected: bool,
    /// The call never started (the agent's start failed): why, as
    /// `the call never started: <reason>`. Such a call is an error, never as expected,
    /// whatever the case expects; the runner reports it as status `error` and its
    /// generated test fails with this message.
    pub error: Option<String>,
}

impl Outcome {
    /// One line per failure, as in the report: `Step 2 Failed: missing keywords: overage`,
    /// then the tone check's.
    pub fn failures(&self) -> Vec<String> {
        let greeting = self
            .greeting
            .iter()
            .filter(|g| !g.passed)
            .map(|g| message::report_greeting_failed(g.details.as_deref().unwrap_or("failed")));
        let steps = self.steps.iter().filter(|s| !s.passed).map(|s| {
            message::report_step_failed(s.step_order, s.details.as_deref().unwrap_or("failed"))
        });
        let tone = self
            .tone
            .found
            .iter()
            .map(|(step, marker)| message::report_tone_failed(*step, marker));
        greeting.chain(steps).chain(tone).collect()
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

fn block_on<F: Future>(wall_clock: bool, future: F) -> F::Output {
    let cell = if wall_clock { &WALL } else { &VIRTUAL };
    cell.with(|cell| {
        let mut slot = cell.borrow_mut();
        let runtime = slot.get_or_insert_with(|| {
            let mut builder = tokio::runtime::Builder::new_current_thread();
            if wall_clock {
                builder.enable_all();
            } else {
                // Time only: the I/O driver would cost a system call at every park (40% of
                // a small call). An agent doing I/O must run on real time anyway (the paused
                // clock cannot see its waits); if it tries here, tokio panics "IO is
                // disabled" and the step's message names `wall_clock` (see `Agent`).
                builder.enable_time().start_paused(true);
            }
            builder
                .build()
                .expect("a current-thread runtime can be built (the OS refused its resources)")
        });
        runtime.block_on(future)
    })
}

/// How the calls of the pipeline's async body are driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drive {
    /// Each call blocks this thread on a current-thread runtime of its own (paused time, or
    /// real time for [`Agent::wall_clock`] agents), so the body never waits and [`block`]
    /// drives it: [`run_case`], `cargo test`, the runner's cores.
    Block,
    /// Each call on the tokio runtime the caller is on, which must have real time and I/O:
    /// how the runner keeps many calls to agents in another process in flight on one thread.
    #[cfg(feature = "cli")]
    Here,
}

/// Runs `future` to its end on this thread: the sync entry points' way into the pipeline's
/// async body. With [`Drive::Block`] every call blocks inside it, so one poll ends it; were it
/// ever to wait, the thread sleeps until it is woken.
pub(crate) fn block<F: Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// Runs `case` against `agent` and judges it (docs/case-format.md).
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
    let agent = &mut Erased::borrowed(agent);
    block(converse(case, agent, options, Drive::Block, None)).0
}

/// A call that ran.
#[derive(Debug)]
pub(crate) struct Ran {
    pub(crate) outcome: Outcome,
    /// Its latencies are wall time, so snapshots show `[ms]` for them.
    #[cfg_attr(not(feature = "harness"), allow(dead_code))]
    pub(crate) redact: bool,
}

/// What an LLM judge says of a call's steps: `(index of the step, verdict)`.
pub(crate) type Verdicts = Vec<(usize, JudgeVerdict)>;

/// The judge a call's steps are given to after they are validated, before the call is
/// judged (the pipeline's LLM judge, for a case with `judge`s). `Err`: the case's error.
pub(crate) type Judge<'j> = &'j mut dyn FnMut(&[Row], &[StepResult]) -> Result<Verdicts, String>;

/// One call of `case`: its agent built by `make_agent` (a panic there is the case's error,
/// never the end of the run), the call driven as `drive` says, its steps validated, then
/// given to `judge`, and the call judged once. `Err`: why the case is an error (the agent
/// was not built, the call never started, the judge failed).
pub(crate) async fn call(
    case: &Case,
    make_agent: &Make<'_>,
    options: &RunOptions,
    drive: Drive,
    judge: Option<Judge<'_>>,
) -> Result<Ran, String> {
    let mut agent = panic::catch_unwind(AssertUnwindSafe(|| make_agent(case)))
        .map_err(|p| message::agent_not_built(&call::panic_message(&*p)))?;
    // Wall-clock latencies differ on every run, so snapshots show `[ms]` for them. A
    // recorded transcript's latencies are part of the case, so they stay.
    let redact = agent.wall_clock() && case.transcript.is_none();
    let (outcome, judged) = converse(case, &mut agent, options, drive, judge).await;
    judged?;
    // A call that never started is the case's error (status `error`, a failed test), for
    // every kind of case: with no caller line said, no verdict on it means anything.
    match &outcome.error {
        Some(error) => Err(error.clone()),
        None => Ok(Ran { outcome, redact }),
    }
}

/// The call itself and its verdict; the judge's error, if it failed (the judge is not asked
/// about a call that never started).
async fn converse(
    case: &Case,
    agent: &mut Erased<'_>,
    options: &RunOptions,
    drive: Drive,
    judge: Option<Judge<'_>>,
) -> (Outcome, Result<(), String>) {
    let limits = CallLimits {
        turn_timeout: options.turn_timeout,
        max_rows: options.limits.max_transcript_rows,
    };
    let seed = options.seed.unwrap_or_else(|| case.seed());
    let convo = match (&case.transcript, drive) {
        (Some(rows), _) => call::recorded(rows, limits.max_rows),
        #[cfg(feature = "cli")]
        (None, Drive::Here) => call::simulate(case, seed, agent, limits).await,
        (None, _) => block_on(
            agent.wall_clock(),
            call::simulate(case, seed, agent, limits),
        ),
    };
    let mut steps = validate_steps(case, &convo);
    let judged = match judge {
        Some(judge) if convo.not_started.is_none() => {
            judge(&convo.transcript, &steps).map(|verdicts| apply(&mut steps, verdicts))
        }
        _ => Ok(()),
    };
    (verdict(case, seed, convo, steps), judged)
}

/// Each step's verdict by the case's checks (a rule-following call's: its outcome checks).
fn validate_steps(case: &Case, convo: &call::Conversation) -> Vec<StepResult> {
    let cut = convo.truncated.then_some(convo.transcript.len());
    match &convo.rules {
        Some(run) => validate::validate_outcome(
            case,
            &convo.transcript,
            convo.fault.as_ref(),
            &convo.tool_problems,
            run,
            cut,
            convo.not_started.as_deref(),
        ),
        None => validate::validate_steps(
            case,
            &convo.transcript,
            convo.fault.as_ref(),
            cut,
            &convo.tool_problems,
        ),
    }
}

/// Puts an LLM judge's verdicts on the steps: each is kept on its step, and a `fail` or
/// `unsure` verdict fails the step with its reason.
fn apply(steps: &mut [StepResult], verdicts: Verdicts) {
    for (i, verdict) in verdicts {
        let Some(step) = steps.get_mut(i) else {
            continue;
        };
        if verdict.verdict != "pass" {
            step.passed = false;
            let said = format!("judge: {}: {}", verdict.verdict, verdict.reason);
            step.details = Some(match step.details.take() {
                Some(details) => format!("{details}; {said}"),
                None => said,
            });
        }
        step.judge = Some(verdict);
    }
}

/// Whether a call's status is what the case expects (`pass`, or its `expect`).
fn expected(case: &Case, status: Status, metrics: &Metrics) -> bool {
    match &case.expect {
        None => status == Status::Pass,
        Some(expect) => {
            expect.status == status
                && expect
                    .failure_steps
                    .as_ref()
                    .is_none_or(|steps| *steps == metrics.failure_steps)
        }
    }
}

/// The call judged once its steps are final: the tone and greeting checks, the metrics, the
/// status, and whether it is what the case expects.
fn verdict(case: &Case, seed: u64, convo: call::Conversation, steps: Vec<StepResult>) -> Outcome {
    let tone = validate::tone_check(&case.tone_markers, &convo.transcript, case.spoken_numbers);
    let mut metrics =
        Metrics::compute(case, &steps, &convo.transcript, convo.disfluencies_injected);
    if let Some(run) = &convo.rules {
        metrics.rules = Some(crate::metrics::RulesMetrics {
            ended_by: run.ended_by,
            caller_turns: run.caller_turns,
            rules_fired: run.rules_fired,
            otherwise_lines: run.otherwise_lines,
        });
    }
    if case.asr_wer.is_some() {
        let (errors, words) = convo.asr;
        metrics.asr_wer = Some(if words == 0 {
            0.0
        } else {
            errors as f64 / words as f64
        });
    }
    let greeting = validate::validate_greeting(case, &convo.transcript);
    let status = status(&steps, tone.passed, greeting.as_ref());
    let error = convo.not_started.as_deref().map(message::never_started);
    let as_expected = error.is_none() && expected(case, status, &metrics);
    Outcome {
        test_id: case.test_id.clone(),
        seed,
        transcript: convo.transcript,
        truncated: convo.truncated,
        steps,
        tone,
        greeting,
        metrics,
        status,
        as_expected,
        error,
    }
}

/// `pass` when every step, the tone check and the greeting check (if any) passed.
fn status(steps: &[StepResult], tone_passed: bool, greeting: Option<&StepResult>) -> Status {
    match greeting {
        Some(greeting) if !greeting.passed => Status::Fail,
        _ => metrics::status(steps, tone_passed),
    }
}

/// `pass`, or `fail, failing steps [2, 3]`: what a case expects.
pub(crate) fn expected_verdict(expect: Option<&Expect>) -> String {
    match expect {
        None => "pass".to_owned(),
        Some(e) => message::verdict(
            e.status.as_str(),
            e.failure_steps.as_deref().unwrap_or_default(),
        ),
    }
}

/// What a call got, in the same words.
pub(crate) fn got_verdict(outcome: &Outcome) -> String {
    message::verdict(outcome.status.as_str(), &outcome.metrics.failure_steps)
}

/// Why a case is not as expected, on one line (the runner's line, JUnit's message); `None`
/// when it is. A case that expects a plain pass gives its first failure; a negative test
/// gives expected vs got, then the first failure it did not expect.
pub(crate) fn reason(case: &Case, outcome: &Outcome) -> Option<String> {
    if outcome.as_expected {
        return None;
    }
    let expected_failing: &[u32] = case
        .expect
        .as_ref()
        .and_then(|e| e.failure_steps.as_deref())
        .unwrap_or_default();
    let greeting = outcome
        .greeting
        .iter()
        .filter(|g| !g.passed)
        .map(|g| message::greeting_failed(g.details.as_deref().unwrap_or("failed")));
    let unexpected = greeting
        .chain(
            outcome
                .steps
                .iter()
                .filter(|s| !s.passed && !expected_failing.contains(&s.step_order))
                .map(|s| {
                    let details = s.details.as_deref().unwrap_or("failed");
                    if case.rules.is_some() {
                        message::check_failed(s.step_order, &s.expected_user_input, details)
                    } else {
                        message::step_failed(s.step_order, details)
                    }
                }),
        )
        .chain(
            outcome
                .tone
                .found
                .iter()
                .map(|(step, marker)| message::tone_failed(*step, marker)),
        )
        .next();
    let plain_pass = case
        .expect
        .as_ref()
        .is_none_or(|e| e.status == Status::Pass);
    Some(match (plain_pass, unexpected) {
        (true, Some(first)) => first,
        (_, first) => {
            let both = message::expected_vs_got(
                &expected_verdict(case.expect.as_ref()),
                &got_verdict(outcome),
            );
            match first {
                Some(first) => format!("{both}; {first}"),
                None => both,
            }
        }
    })
}
