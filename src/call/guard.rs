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

use crate::agent::{Agent, AgentError, CallerLine, Reply};
use crate::message;

/// The clock a call's turns run on: the per-turn timeout (`None`: not timed) and whether
/// the agent runs on the wall clock.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    pub(super) timeout: Option<Duration>,
    pub(super) wall_clock: bool,
}

/// The agent's answer to `line`, and its latency in milliseconds: the time the call's clock
/// took, plus the waits a built-in agent counted instead of sleeping (`agent::wait_ms`).
pub(super) async fn reply_timed<A: Agent>(
    agent: &mut A,
    line: &CallerLine<'_>,
    clock: Clock,
) -> (Result<Result<Reply, AgentError>, String>, u64) {
    // Built-in agents only (not timed, on the virtual clock): a wrapper around one is timed,
    // and its waits must race the turn timeout as they always did.
    let counts = !agent.__timed() && !clock.wall_clock;
    let asked = Instant::now();
    let counted = std::cell::Cell::new(0);
    let answer = {
        let reply = std::pin::pin!(agent.reply(line));
        if counts {
            guarded(
                Counting {
                    inner: reply,
                    counted: &counted,
                },
                clock,
            )
            .await
        } else {
            guarded(reply, clock).await
        }
    };
    let mut latency = asked.elapsed().as_millis() as u64 + counted.get();
    // A streaming agent measured its time to the first content token.
    if let Ok(Ok(_)) = &answer {
        let measured = std::panic::catch_unwind(AssertUnwindSafe(|| agent.__latency_ms()));
        if let Ok(Some(ms)) = measured {
            latency = ms;
        }
    }
    // A timeout, as the agent alone can explain it (a program that never wrote a byte).
    let answer = answer.map_err(|why| match agent.__timeout_hint() {
        Some(hint) if message::is_no_reply_within(&why) => format!("{why}; {hint}"),
        _ => why,
    });
    (answer, latency)
}

/// Polls a built-in agent's reply with its waits counted into `counted` (see
/// `agent::counting_waits`).
struct Counting<'a, 'c, F> {
    inner: Pin<&'a mut F>,
    counted: &'c std::cell::Cell<u64>,
}

impl<F: Future> Future for Counting<'_, '_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let inner = self.inner.as_mut();
        let (poll, ms) = crate::agent::counting_waits(|| inner.poll(cx));
        self.counted.set(self.counted.get() + ms);
        poll
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
