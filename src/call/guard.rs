//! How the call loop asks an agent anything (docs/case-format.md, "Time and latency"): on
//! the call's clock, with the per-turn timeout, a panic turned into the step's error, and a
//! reply's latency measured.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use crate::agent::{Agent, AgentError, CallerLine, Erased, Notes, Reply};
use crate::message;

/// The clock a call's turns run on: the per-turn timeout and whether
/// the agent runs on the wall clock.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    pub(super) timeout: Option<Duration>,
    pub(super) wall_clock: bool,
}

/// The agent's answer to `line`, and its latency in milliseconds: the time the call's clock
/// took, plus the waits counted instead of slept (`agent::wait_ms`, on the virtual clock),
/// unless the agent measured it itself (a streaming agent's time to its first token).
pub(super) async fn reply_timed(
    agent: &mut Erased<'_>,
    line: &CallerLine<'_>,
    clock: Clock,
) -> (Result<Result<Reply, AgentError>, String>, u64) {
    let asked = Instant::now();
    let mut notes = Notes {
        counting: !clock.wall_clock,
        ..Notes::default()
    };
    let answer = {
        let reply = std::pin::pin!(agent.reply(line));
        let noted = Noted {
            inner: reply,
            notes: &mut notes,
        };
        guarded(noted, clock).await
    };
    let mut latency = asked.elapsed().as_millis() as u64 + notes.counted_ms;
    if let (Ok(Ok(_)), Some(ms)) = (&answer, notes.latency_ms) {
        latency = ms;
    }
    // A timeout, as the agent alone can explain it (a program that never wrote a byte).
    let answer = answer.map_err(|why| match notes.timeout_hint {
        Some(hint) if message::is_no_reply_within(&why) => format!("{why}; {hint}"),
        _ => why,
    });
    (answer, latency)
}

/// Polls an agent's reply with `notes` installed (see `agent::noting`): what the agent says
/// about its reply besides the reply lands there, whoever wraps it.
struct Noted<'a, 'n, F> {
    inner: Pin<&'a mut F>,
    notes: &'n mut Notes,
}

impl<F: Future> Future for Noted<'_, '_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let inner = this.inner.as_mut();
        crate::agent::noting(this.notes, || inner.poll(cx))
    }
}

/// Runs an agent future with the per-turn timeout (none for `None`), turning a panic into an
/// error message.
pub(super) async fn guarded<T>(
    future: impl Future<Output = T>,
    Clock {
        timeout,
        wall_clock,
    }: Clock,
) -> Result<T, String> {
    let future = std::pin::pin!(future);
    let mut caught = CatchUnwind(future);
    // Most agents answer on the first poll: only arm the timer for those that do not.
    let first = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut caught).poll(cx))).await;
    let result = match (first, timeout) {
        (Poll::Ready(result), _) => result,
        (Poll::Pending, None) => caught.await,
        (Poll::Pending, Some(timeout)) => match tokio::time::timeout(timeout, caught).await {
            Ok(result) => result,
            // On the paused clock, a timer past the timeout and a wait the clock cannot see
            // look the same: the message says what is known, the same on every run.
            Err(_) => return Err(message::no_reply_within(timeout, !wall_clock)),
        },
    };
    result.map_err(|payload| message::agent_panicked(&panic_message(&*payload)))
}

/// The message of a panic's payload (a `&str` or a `String`), or `(no message)`.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

/// Polls a future inside `catch_unwind`, so a panicking agent fails its step, not the suite.
struct CatchUnwind<'a, F>(Pin<&'a mut F>);

impl<F: Future> Future for CatchUnwind<'_, F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}
