//! The call's tools, as the agent sees them: mocks answer its calls, and every call is
//! recorded for validation (docs/case-format.md, "Tool calls").

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use serde_json::Value;

use crate::case::{Mock, MockAnswer, ToolCall};
use crate::message;
use crate::tool_match::matches;

/// At most this many tool calls per turn: an agent that calls tools in a loop is stopped
/// there and fails its step.
pub const MAX_TOOL_CALLS_PER_TURN: usize = 32;

/// The tools of one call: a handle the agent calls its tools through. Mocks from the
/// case's `tools` answer the calls, and every call is recorded in the transcript, where
/// the case's tool expectations are checked.
///
/// An agent gets it in [`CallStart::tools`](crate::CallStart) and on every
/// [`CallerLine::tools`](crate::CallerLine). It is a cheap handle: clone it into the
/// agent's tool layer at `start`, and the whole layer is pointed at the mocks in one place.
///
/// ```
/// use serde_json::json;
/// use voice_harness::{Agent, AgentError, CallStart, CallerLine, Reply, agent::Tools};
///
/// /// The agent's own tool layer: in production it calls real services.
/// enum Backend { Real, Harness(Tools) }
///
/// struct Bot { backend: Backend }
///
/// impl Agent for Bot {
///     async fn start(&mut self, call: &CallStart<'_>) -> Result<(), AgentError> {
///         self.backend = Backend::Harness(call.tools.clone()); // the one place
///         Ok(())
///     }
///     async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
///         let Backend::Harness(tools) = &self.backend else { unreachable!() };
///         let booked = tools.call("ReserveRestaurant", json!({"time": "11:30"})).await;
///         Ok(Reply::Say(match booked {
///             Ok(result) => format!("Booked, reference {}.", result["ref"]),
///             Err(err) => format!("Sorry, I could not book: {err}"),
///         }))
///     }
/// }
/// ```
#[derive(Clone, Default)]
pub struct Tools {
    inner: Rc<RefCell<State>>,
}

#[derive(Default)]
struct State {
    mocks: Option<BTreeMap<String, Vec<Mock>>>,
    step: u32,
    /// Calls of the current step.
    calls: Vec<ToolCall>,
    /// Why calls of the current step fail it (a call no mock answers).
    problems: Vec<String>,
    /// The cap was reached in the current step.
    capped: bool,
}

/// A tool call failed: the mock answered with an error, no mock answered it, or the
/// per-turn cap was reached. The agent gets the message (over the protocol, as the
/// result `{"error": message}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError(String);

impl ToolError {
    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }

    /// `{"error": message}`: the failure as a result.
    pub fn to_result(&self) -> Value {
        serde_json::json!({ "error": self.0 })
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ToolError {}

impl fmt::Debug for Tools {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.borrow();
        f.debug_struct("Tools")
            .field(
                "mocked",
                &state.mocks.as_ref().map(|m| m.keys().collect::<Vec<_>>()),
            )
            .field("step", &state.step)
            .field("calls", &state.calls.len())
            .finish()
    }
}

/// What one step's calls came to.
#[derive(Debug, Default)]
pub(crate) struct StepCalls {
    pub(crate) calls: Vec<ToolCall>,
    pub(crate) problems: Vec<String>,
    pub(crate) capped: bool,
}

impl Tools {
    /// The tools of a call answered by `mocks` (`None`: the case has no `tools`).
    pub(crate) fn new(mocks: Option<BTreeMap<String, Vec<Mock>>>) -> Self {
        Self {
            inner: Rc::new(RefCell::new(State {
                mocks,
                ..State::default()
            })),
        }
    }

    /// Calls from now on belong to `step`.
    pub(crate) fn begin_step(&self, step: u32) {
        self.inner.borrow_mut().step = step;
    }

    /// The calls of the step so far, and what they came to; the next step starts empty.
    pub(crate) fn take_step(&self) -> StepCalls {
        let mut state = self.inner.borrow_mut();
        StepCalls {
            calls: std::mem::take(&mut state.calls),
            problems: std::mem::take(&mut state.problems),
            capped: std::mem::take(&mut state.capped),
        }
    }

    /// Calls tool `name` with `arguments` (an object). The case's first mock of that tool
    /// whose `match` matches the arguments answers, after its `latency_ms` (on the call's
    /// clock, so it counts in the reply's latency). The call is recorded either way.
    ///
    /// Errors: the mock's `error`; no mock matches (when the case has `tools`, that also
    /// fails the step, with the call and the mocks' `match`es); the case has no `tools`
    /// (`no mock for tool <name>`, which fails nothing by itself); more than
    /// [`MAX_TOOL_CALLS_PER_TURN`] calls in one turn (which fails the step; a call past
    /// that never returns, so an agent that ignores the error is stopped by the turn
    /// timeout).
    pub async fn call(&self, name: &str, arguments: Value) -> Result<Value, ToolError> {
        let stopped = {
            let state = self.inner.borrow();
            state.capped && state.calls.len() >= MAX_TOOL_CALLS_PER_TURN
        };
        if stopped {
            // Past the cap: never answer, so a loop that ignores the error ends at the
            // turn timeout (and the step says the cap was why).
            return std::future::pending().await;
        }
        let (answer, latency) = {
            let mut state = self.inner.borrow_mut();
            if state.calls.len() >= MAX_TOOL_CALLS_PER_TURN {
                state.capped = true;
                return Err(ToolError(message::tool_cap(
                    state.step,
                    MAX_TOOL_CALLS_PER_TURN,
                )));
            }
            let (answer, latency, mock) = state.answer(name, &arguments);
            let result = match &answer {
                Ok(value) => value.clone(),
                Err(err) => err.to_result(),
            };
            state.calls.push(ToolCall {
                name: name.to_owned(),
                arguments,
                result,
                mock,
            });
            (answer, latency)
        };
        super::wait_ms(latency).await;
        answer
    }

    /// Records a call the agent ran itself (an agent in another process reports them with
    /// its reply). No mock is asked; `result` is what the agent says it got.
    pub fn record(&self, name: &str, arguments: Value, result: Option<Value>) {
        let mut state = self.inner.borrow_mut();
        if state.calls.len() >= MAX_TOOL_CALLS_PER_TURN {
            if !state.capped {
                state.capped = true;
            }
            return;
        }
        state.calls.push(ToolCall {
            name: name.to_owned(),
            arguments,
            result: result.unwrap_or(Value::Null),
            mock: None,
        });
    }

    /// The names of the tools the case mocks, in order (none when it has no `tools`): what
    /// an agent that declares its tools to a model (OpenAI's `tools`) declares.
    pub(crate) fn mocked(&self) -> Vec<String> {
        let state = self.inner.borrow();
        state.mocks.iter().flat_map(|m| m.keys().cloned()).collect()
    }

    /// Whether the per-turn cap has been reached in this step.
    pub fn capped(&self) -> bool {
        self.inner.borrow().capped
    }
}

impl State {
    /// The answer to a call, its latency, and which mock of the tool gave it (its index in
    /// `tools.<name>`, for the report's coverage).
    fn answer(
        &mut self,
        name: &str,
        arguments: &Value,
    ) -> (Result<Value, ToolError>, u64, Option<usize>) {
        let Some(mocks) = &self.mocks else {
            return (Err(ToolError(message::no_mock_for(name))), 0, None);
        };
        let found = mocks.get(name).and_then(|entries| {
            entries.iter().enumerate().find(|(_, m)| {
                m.matcher
                    .as_ref()
                    .is_none_or(|want| matches(want, arguments))
            })
        });
        match found {
            Some((index, mock)) => {
                let answer = match &mock.answer {
                    MockAnswer::Result(value) => Ok(value.clone()),
                    MockAnswer::Error(error) => Err(ToolError(error.clone())),
                };
                (answer, mock.latency_ms, Some(index))
            }
            None => {
                let matchers = mocks
                    .get(name)
                    .map(|m| m.iter().map(|m| m.matcher.as_ref()).collect());
                let problem = message::unmatched_mock(name, arguments, matchers);
                self.problems.push(problem.clone());
                (Err(ToolError(problem)), 0, None)
            }
        }
    }
}
