//! The agent under test: one async trait, the agents that ship with the crate, and agents
//! in another process (a program, or an HTTP service).

use std::fmt;
use std::future::Future;

use serde_json::Value;

use crate::case::{Case, ExpectedCall, Mention, ReplayReply};
use crate::tool_match::{at_path, spoken};

mod command;
mod erased;
mod http;
mod notes;
mod openai;
#[doc(hidden)]
pub mod processes;
pub(crate) mod protocol;
#[cfg(feature = "retell")]
mod retell;
mod sse;
mod tools;

pub use command::CommandAgent;
#[cfg(feature = "cli")]
pub(crate) use erased::MakeSync;
pub(crate) use erased::{Erased, Make};
pub use http::{HttpAgent, HttpPool};
pub(crate) use notes::{Notes, note_latency, note_timeout_hint, noting, wait_ms};
pub use openai::{OpenAiAgent, TurnTiming};
#[cfg(feature = "retell")]
pub use retell::RetellAgent;
#[doc(hidden)]
pub use tools::MAX_TOOL_CALLS_PER_TURN;
pub use tools::{ToolError, Tools};

/// What the harness tells an agent when a call starts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CallStart<'a> {
    /// Identifies the call (the case's `test_id`).
    pub call_id: &'a str,
    /// The case being run.
    pub test_id: &'a str,
    /// The caller's persona.
    pub persona: &'a str,
    /// The call's tools: clone this handle into the agent's tool layer (see [`Tools`]).
    pub tools: &'a Tools,
    /// The case expects the agent to speak first (it has `greeting`): an agent in another
    /// process answers `start` with its greeting (docs/agent-protocol.md).
    pub expects_greeting: bool,
}

/// What the caller did, for the agent to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallerEvent<'a> {
    /// The caller said this (fillers included).
    Said(&'a str),
    /// The caller said nothing for this many milliseconds. The agent may reprompt, or say
    /// nothing: an empty reply ([`Reply::Say`] of `""`) stays quiet.
    Silence {
        /// How long the caller was quiet.
        ms: u64,
    },
    /// The caller typed these keypad tones (`0-9 * # A-D`). An empty reply stays quiet.
    Dtmf(&'a str),
}

/// One caller line (or silence, or keypad tones) the agent must answer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CallerLine<'a> {
    /// The step this line belongs to (1-based).
    pub step_order: u32,
    /// What the caller said, fillers included; the digits of keypad tones; empty for a
    /// silence. [`CallerLine::event`] says which.
    pub text: &'a str,
    /// What the caller did.
    pub event: CallerEvent<'a>,
    /// The caller cut the agent's previous reply off: the words the caller heard of it.
    pub interrupted: Option<&'a str>,
    /// The call's tools (the same handle as [`CallStart::tools`]).
    pub tools: &'a Tools,
}

/// The agent's answer to a caller line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Say this; the call goes on.
    Say(String),
    /// Say this, then hang up.
    SayAndHangUp(String),
    /// Hang up without saying anything.
    HangUp,
}

/// The agent failed this turn: the step fails with this message and the call ends.
///
/// [`AgentError::new`] (or `From<&str>` / `From<String>`) is an error the agent reports
/// itself; the step says `agent error: <message>`. [`AgentError::fault`] is a failure the
/// harness detected while talking to the agent (a reply that is not JSON, a program that
/// exited, …); the step says the message as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentError {
    message: String,
    reported_by_agent: bool,
    /// The call never started: the agent failed before its first answer (a program that
    /// exited before answering anything), whenever the harness found out.
    never_started: bool,
}

impl AgentError {
    /// An error the agent reports (`agent error: <message>`).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            reported_by_agent: true,
            never_started: false,
        }
    }

    /// A failure detected while talking to the agent; `message` is shown as it is.
    pub fn fault(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            reported_by_agent: false,
            never_started: false,
        }
    }

    pub(crate) fn reported_by_agent(&self) -> bool {
        self.reported_by_agent
    }

    /// Marks the failure as one before the agent's first answer: the call never started,
    /// even when it was found while answering a caller line.
    pub(crate) fn before_the_first_answer(mut self) -> Self {
        self.never_started = true;
        self
    }

    pub(crate) fn never_started(&self) -> bool {
        self.never_started
    }

    /// The message, without the `agent error:` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for AgentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reported_by_agent {
            f.write_str(&crate::message::agent_reported_error(&self.message))
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for AgentError {}

impl From<String> for AgentError {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&str> for AgentError {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

/// The agent under test.
///
/// The harness calls [`start`](Agent::start) once, then [`reply`](Agent::reply) once per
/// caller line, then [`end`](Agent::end). Calls run on a current-thread tokio runtime with
/// paused time, so `tokio::time::sleep` inside an agent costs no real time and its duration
/// is the reply's latency, exactly.
///
/// # Which latency a reply gets
///
/// On the virtual clock (the default), only tokio timers take time: computing, or blocking
/// the thread, takes 0 ms. When the agent waits on anything the paused clock cannot see (a
/// thread, a blocking client), the runtime is idle, so the clock jumps straight to the turn
/// timeout: the step fails with "no reply within 10 s" after a few real milliseconds, and
/// the message names the fix below (it cannot tell such a wait from a tokio timer longer than
/// the timeout, so it names both). Tokio networking is not enabled on the virtual
/// clock (it panics "IO is disabled", and the step's message names the fix). An agent that
/// does real work must run on real time: override [`wall_clock`](Agent::wall_clock) to
/// return `true`. Its latencies are then wall time (snapshots show `[ms]`), and the turn
/// timeout is real time too.
///
/// ```
/// use voice_harness::{Agent, AgentError, CallerLine, Reply};
///
/// struct Echo;
///
/// impl Agent for Echo {
///     async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
///         tokio::time::sleep(std::time::Duration::from_millis(120)).await; // "thinking"
///         Ok(Reply::Say(format!("You said: {}", line.text)))
///     }
/// }
/// ```
pub trait Agent {
    /// The call starts. An error fails the first step and ends the call.
    fn start(&mut self, call: &CallStart<'_>) -> impl Future<Output = Result<(), AgentError>> {
        let _ = call;
        async { Ok(()) }
    }

    /// Answers one caller line.
    fn reply(&mut self, line: &CallerLine<'_>) -> impl Future<Output = Result<Reply, AgentError>>;

    /// The agent's greeting: what it says as the call starts, before the caller's first line
    /// (voice agents speak first). Asked once, right after a successful
    /// [`start`](Agent::start); its latency is the start's. It is recorded as an agent row of
    /// step 0, and checked when the case has `greeting`. The default is `None`: the agent
    /// waits for the caller. An agent that wraps another forwards this and
    /// [`fault_at_end`](Agent::fault_at_end), as it forwards [`start`](Agent::start).
    fn greeting(&mut self) -> Option<String> {
        None
    }

    /// Asked right after [`greeting`](Agent::greeting): `true` when the agent hung up as it
    /// greeted (or without a word): the call ends there, before the caller's first line, as
    /// after any hang-up. The default is `false`. Tools it called while greeting go through
    /// [`CallStart::tools`] and are recorded as rows of step 0. An agent that wraps another
    /// forwards this too.
    fn greeting_hangs_up(&mut self) -> bool {
        false
    }

    /// The call is over (also after an error or a hang-up).
    fn end(&mut self) -> impl Future<Output = ()> {
        async {}
    }

    /// Asked once after [`end`](Agent::end): a fault that only the end of the call could
    /// show, such as a program agent that wrote a line no event asked for (its replies were
    /// then out of step). It fails the last step reached. The default is `None`.
    fn fault_at_end(&mut self) -> Option<AgentError> {
        None
    }

    /// `true` for agents that do real I/O (another process, the network). They run on a
    /// runtime with real time, so their latencies are wall time: the report keeps them, and
    /// snapshots show `[ms]` instead. The default is `false`: a virtual clock.
    fn wall_clock(&self) -> bool {
        false
    }

    /// Not part of the public API: the runner's flags that make it call this agent
    /// (` --agent-command "python3 agent.py"`): empty for the built-in agents (the runner's
    /// own), `None` when the runner cannot call it (an agent written in Rust). Never
    /// forwarded: an agent that wraps another is a different agent, which the runner cannot
    /// call, so the default `None` is its right answer.
    #[doc(hidden)]
    fn __runner_flags(&self) -> Option<String> {
        None
    }
}

/// Replies to each step with exactly what the script expects: the expected phrase for exact
/// steps, else the keywords joined by spaces, after making exactly the step's expected tool
/// calls (and then saying the values its mentions ask for). The Python project's default
/// agent; useful to check that the cases themselves are consistent.
#[derive(Debug, Clone)]
pub struct IdealAgent {
    turns: Vec<IdealTurn>,
    greeting: Option<String>,
}

#[derive(Debug, Clone)]
struct IdealTurn {
    text: String,
    calls: Vec<ExpectedCall>,
    mentions: Vec<Mention>,
}

impl IdealAgent {
    /// The ideal agent for `case`.
    pub fn new(case: &Case) -> Self {
        let turns = case
            .turns
            .iter()
            .map(|turn| IdealTurn {
                text: if turn.exact_match_required {
                    turn.expected_phrase()
                } else {
                    turn.expected_agent_response_keywords
                        .iter()
                        .filter_map(crate::case::Keyword::first_phrase)
                        .collect::<Vec<_>>()
                        .join(" ")
                },
                calls: turn.expected_tool_calls.clone(),
                mentions: if turn.exact_match_required {
                    Vec::new()
                } else {
                    turn.expected_mentions.clone()
                },
            })
            .collect();
        // A case that expects a greeting gets one with its keywords (any words for `[]`).
        let greeting = case.greeting.as_ref().map(|keywords| {
            let words: Vec<&str> = keywords
                .iter()
                .filter_map(crate::case::Keyword::first_phrase)
                .collect();
            if words.is_empty() {
                "Hello.".to_owned()
            } else {
                words.join(" ")
            }
        });
        Self { turns, greeting }
    }
}

impl Agent for IdealAgent {
    fn __runner_flags(&self) -> Option<String> {
        Some(String::new())
    }

    fn greeting(&mut self) -> Option<String> {
        self.greeting.clone()
    }

    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        let index = (line.step_order as usize).saturating_sub(1);
        let Some(turn) = self.turns.get(index) else {
            return Ok(Reply::HangUp);
        };
        if turn.calls.is_empty() {
            return Ok(Reply::Say(turn.text.clone()));
        }
        let mut results: Vec<(&str, Value)> = Vec::with_capacity(turn.calls.len());
        for call in &turn.calls {
            let result = make_call(line, call).await;
            results.push((&call.name, result));
        }
        let mut words = vec![turn.text.clone()];
        for mention in &turn.mentions {
            let value = results
                .iter()
                .rev()
                .filter(|(name, _)| *name == mention.tool)
                .find_map(|(_, result)| at_path(result, &mention.path).and_then(spoken));
            words.extend(value);
        }
        Ok(Reply::Say(words.join(" ").trim().to_owned()))
    }
}

/// Makes an expected (or replayed) call through the line's tools; a failure is the result
/// `{"error": …}`, as an agent in another process would get it.
async fn make_call(line: &CallerLine<'_>, call: &ExpectedCall) -> Value {
    let arguments = call
        .arguments
        .clone()
        .unwrap_or_else(|| Value::Object(Default::default()));
    line.tools
        .call(&call.name, arguments)
        .await
        .unwrap_or_else(|e| e.to_result())
}

/// Plays back recorded replies (`agent.replay`) in order, one per caller line, each after its
/// `latency_ms` of virtual time (and after its `tool_calls`, made through the call's tools,
/// so the mocks answer them); hangs up when they run out. A replayed latency is never cut
/// by the turn timeout (it is data, not a wait): only a step's `max_latency_ms` judges it.
#[derive(Debug, Clone)]
pub struct ReplayAgent {
    replies: std::vec::IntoIter<ReplayReply>,
}

impl ReplayAgent {
    /// Plays back `replies`.
    pub fn new(replies: Vec<ReplayReply>) -> Self {
        Self {
            replies: replies.into_iter(),
        }
    }
}

impl Agent for ReplayAgent {
    fn __runner_flags(&self) -> Option<String> {
        Some(String::new())
    }

    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        match self.replies.next() {
            Some(reply) => {
                for call in &reply.tool_calls {
                    make_call(line, call).await;
                }
                wait_ms(reply.latency_ms).await;
                Ok(Reply::Say(reply.text))
            }
            None => Ok(Reply::HangUp),
        }
    }
}

/// The agent a case asks for when no other is bound: [`ReplayAgent`] when the case has
/// `agent.replay`, else [`IdealAgent`].
#[derive(Debug, Clone)]
pub enum BuiltinAgent {
    /// See [`IdealAgent`].
    Ideal(IdealAgent),
    /// See [`ReplayAgent`].
    Replay(ReplayAgent),
}

impl BuiltinAgent {
    /// The agent `case` asks for.
    pub fn for_case(case: &Case) -> Self {
        match &case.replay {
            Some(replies) => Self::Replay(ReplayAgent::new(replies.clone())),
            None => Self::Ideal(IdealAgent::new(case)),
        }
    }
}

impl Agent for BuiltinAgent {
    fn __runner_flags(&self) -> Option<String> {
        Some(String::new())
    }

    fn greeting(&mut self) -> Option<String> {
        match self {
            Self::Ideal(agent) => agent.greeting(),
            Self::Replay(_) => None,
        }
    }

    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        match self {
            Self::Ideal(agent) => agent.reply(line).await,
            Self::Replay(agent) => agent.reply(line).await,
        }
    }
}
