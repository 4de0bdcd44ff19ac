//! Any agent behind one pointer. The pipeline below the public entry points (`run_case`,
//! `harness!`, the runner's schedules) takes an [`Erased`] agent and a [`Make`] factory, so
//! it is compiled once, in this crate, not once more for every agent type a test binary
//! binds or the runner wraps (issue #25: that copy was a fifth of the runner's release
//! build, and a share of every test binary's). The cost is one allocation per answer, next
//! to a call's own work (BENCHMARKS.md, "Build").

use std::future::Future;
use std::pin::Pin;

use super::{Agent, AgentError, CallStart, CallerLine, Reply};
use crate::case::Case;

/// A future behind a pointer.
type Boxed<'s, T> = Pin<Box<dyn Future<Output = T> + 's>>;

/// What the pipeline builds an agent with, once per call.
pub(crate) type Make<'m> = dyn Fn(&Case) -> Erased<'m> + 'm;

/// [`Make`], shared between threads (the runner's schedules on the cores).
#[cfg(feature = "cli")]
pub(crate) type MakeSync<'m> = dyn Fn(&Case) -> Erased<'m> + Sync + 'm;

/// [`Agent`] in a form that can be a trait object: its futures boxed.
trait Object {
    fn start<'s>(&'s mut self, call: &'s CallStart<'s>) -> Boxed<'s, Result<(), AgentError>>;
    fn reply<'s>(&'s mut self, line: &'s CallerLine<'s>) -> Boxed<'s, Result<Reply, AgentError>>;
    fn greeting(&mut self) -> Option<String>;
    fn greeting_hangs_up(&mut self) -> bool;
    fn end(&mut self) -> Boxed<'_, ()>;
    fn fault_at_end(&mut self) -> Option<AgentError>;
    fn wall_clock(&self) -> bool;
    fn runner_flags(&self) -> Option<String>;
}

impl<A: Agent> Object for A {
    fn start<'s>(&'s mut self, call: &'s CallStart<'s>) -> Boxed<'s, Result<(), AgentError>> {
        Box::pin(Agent::start(self, call))
    }
    fn reply<'s>(&'s mut self, line: &'s CallerLine<'s>) -> Boxed<'s, Result<Reply, AgentError>> {
        Box::pin(Agent::reply(self, line))
    }
    fn greeting(&mut self) -> Option<String> {
        Agent::greeting(self)
    }
    fn greeting_hangs_up(&mut self) -> bool {
        Agent::greeting_hangs_up(self)
    }
    fn end(&mut self) -> Boxed<'_, ()> {
        Box::pin(Agent::end(self))
    }
    fn fault_at_end(&mut self) -> Option<AgentError> {
        Agent::fault_at_end(self)
    }
    fn wall_clock(&self) -> bool {
        Agent::wall_clock(self)
    }
    fn runner_flags(&self) -> Option<String> {
        Agent::__runner_flags(self)
    }
}

/// An agent, whatever its type. It is the agent it holds, not a wrapper: everything is
/// forwarded, [`Agent::__runner_flags`] included.
pub(crate) struct Erased<'m>(Box<dyn Object + 'm>);

impl<'m> Erased<'m> {
    /// `agent`, erased.
    pub(crate) fn new<A: Agent + 'm>(agent: A) -> Self {
        Self(Box::new(agent))
    }

    /// The agent `agent` points to, erased (a caller's `&mut` agent).
    pub(crate) fn borrowed<A: Agent>(agent: &'m mut A) -> Self {
        Self(Box::new(Borrowed(agent)))
    }
}

impl Agent for Erased<'_> {
    async fn start(&mut self, call: &CallStart<'_>) -> Result<(), AgentError> {
        self.0.start(call).await
    }
    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        self.0.reply(line).await
    }
    fn greeting(&mut self) -> Option<String> {
        self.0.greeting()
    }
    fn greeting_hangs_up(&mut self) -> bool {
        self.0.greeting_hangs_up()
    }
    async fn end(&mut self) {
        self.0.end().await
    }
    fn fault_at_end(&mut self) -> Option<AgentError> {
        self.0.fault_at_end()
    }
    fn wall_clock(&self) -> bool {
        self.0.wall_clock()
    }
    fn __runner_flags(&self) -> Option<String> {
        self.0.runner_flags()
    }
}

/// A caller's `&mut` agent, as an agent: the same agent, everything forwarded.
struct Borrowed<'a, A>(&'a mut A);

impl<A: Agent> Agent for Borrowed<'_, A> {
    fn start(&mut self, call: &CallStart<'_>) -> impl Future<Output = Result<(), AgentError>> {
        self.0.start(call)
    }
    fn reply(&mut self, line: &CallerLine<'_>) -> impl Future<Output = Result<Reply, AgentError>> {
        self.0.reply(line)
    }
    fn greeting(&mut self) -> Option<String> {
        self.0.greeting()
    }
    fn greeting_hangs_up(&mut self) -> bool {
        self.0.greeting_hangs_up()
    }
    fn end(&mut self) -> impl Future<Output = ()> {
        self.0.end()
    }
    fn fault_at_end(&mut self) -> Option<AgentError> {
        self.0.fault_at_end()
    }
    fn wall_clock(&self) -> bool {
        self.0.wall_clock()
    }
    fn __runner_flags(&self) -> Option<String> {
        self.0.__runner_flags()
    }
}
