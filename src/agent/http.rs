//! The agent that runs as an HTTP service ([`HttpAgent`]): one POST per event of the
//! protocol, its answer in the response body; and the keep-alive connections the HTTP
//! agents of a run share ([`HttpPool`], also used by the OpenAI-compatible agent).

use std::time::Duration;

use super::protocol::{
    Event, MAX_REPLY_LINE, Next, caller_event, greeting_answer, next_step, to_json,
};
use crate::agent::{Agent, AgentError, CallStart, CallerLine, Reply};
use crate::message;

/// An agent that runs as an HTTP service: one `POST` per event to one URL, with the event as
/// a JSON body. A `user` event's response is the reply; `start` and `end` need any 2xx.
///
/// Plain `http://` only (no TLS), which is what a test on loopback needs. Requests are
/// asynchronous (no thread per call) over keep-alive connections: give the agents of a run
/// one [`HttpPool`] ([`HttpAgent::with_pool`]) to share connections across calls.
///
/// ```no_run
/// use voice_harness::HttpAgent;
/// voice_harness::harness!(agent = |_case| HttpAgent::new("http://127.0.0.1:8080/agent"));
/// ```
#[derive(Debug, Clone)]
pub struct HttpAgent {
    url: String,
    timeout: Duration,
    call_id: String,
    /// The connections; made on first use (in the call's runtime) unless a pool is given.
    pool: Option<HttpPool>,
    /// A request was cut short by the turn timeout: the agent is not answering, so the
    /// `end` event is not sent (it would only wait a second time).
    stalled: bool,
    /// The text of its answer to `start`, if it greeted.
    greeting: Option<String>,
    /// It hung up as it greeted.
    greeting_hangs_up: bool,
}

pub(super) type HttpClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<hyper::body::Bytes>,
>;

/// Keep-alive HTTP connections shared by the [`HttpAgent`]s of a run. Use one pool per
/// tokio runtime (a connection belongs to the runtime that opened it): the runner makes one
/// for its calls in flight.
#[derive(Clone)]
pub struct HttpPool(pub(super) HttpClient);

impl HttpPool {
    /// An empty pool.
    pub fn new() -> Self {
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        Self(client)
    }
}

impl Default for HttpPool {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for HttpPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpPool")
    }
}

impl HttpAgent {
    /// An agent at `url`. Requests time out after 10 s (see [`HttpAgent::with_timeout`]).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            timeout: Duration::from_secs(10),
            call_id: String::new(),
            pool: None,
            stalled: false,
            greeting: None,
            greeting_hangs_up: false,
        }
    }

    /// Sets how long one request may take; keep it at or below the run's per-turn timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Uses `pool`'s connections (shared with the other agents of a run).
    pub fn with_pool(mut self, pool: HttpPool) -> Self {
        self.pool = Some(pool);
        self
    }

    async fn post(&mut self, body: String) -> Result<String, AgentError> {
        self.post_once(body).await.map_err(|(err, _)| err)
    }

    /// One POST; the flag says the connection was reset before anything was answered.
    async fn post_once(&mut self, body: String) -> Result<String, (AgentError, bool)> {
        let client = self.pool.get_or_insert_with(HttpPool::new).0.clone();
        // Set until the answer is in: if the turn timeout drops this future, it stays set.
        self.stalled = true;
        let url = self.url.clone();
        let answer = tokio::time::timeout(self.timeout, post_async(client, &url, body))
            .await
            .unwrap_or_else(|_| {
                Err((
                    AgentError::fault(message::http_no_response_within(&url, self.timeout)),
                    false,
                ))
            });
        if answer.is_ok() {
            self.stalled = false;
        }
        answer
    }
}

/// One POST of `body` to `url`: the response's text, or the fault (and whether the
/// connection was reset before anything was answered).
async fn post_async(
    client: HttpClient,
    url: &str,
    body: String,
) -> Result<String, (AgentError, bool)> {
    use http_body_util::BodyExt;
    let unreachable = |why: String, reset: bool| {
        (
            AgentError::fault(message::http_unreachable(url, &why)),
            reset,
        )
    };
    let request = hyper::Request::post(url)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
        .map_err(|e| unreachable(message::not_a_url(&e), false))?;
    let response = client.request(request).await.map_err(|e| {
        let io = io_error(&e);
        match io.map(std::io::Error::kind) {
            Some(std::io::ErrorKind::ConnectionRefused) => {
                unreachable(message::CONNECTION_REFUSED.into(), false)
            }
            Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted) => {
                unreachable(message::CONNECTION_RESET.into(), true)
            }
            _ => unreachable(
                io.map_or_else(|| e.to_string(), std::io::Error::to_string),
                false,
            ),
        }
    })?;
    let status = response.status();
    // Bounded before it is buffered.
    let limited = http_body_util::Limited::new(response.into_body(), MAX_REPLY_LINE);
    let bytes = match limited.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err((
                AgentError::fault(message::http_body_too_long(
                    url,
                    status.as_u16(),
                    MAX_REPLY_LINE as u64,
                )),
                false,
            ));
        }
        Err(e) => {
            return Err((
                AgentError::fault(message::http_response_unread(url, &status, &e)),
                false,
            ));
        }
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if !status.is_success() {
        return Err((
            AgentError::fault(message::http_status(url, &status, &text)),
            false,
        ));
    }
    Ok(text)
}

/// The I/O error under a client error, if there is one.
pub(super) fn io_error<'e>(
    error: &'e (dyn std::error::Error + 'static),
) -> Option<&'e std::io::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cause = e.source();
    }
    None
}

impl Agent for HttpAgent {
    async fn start(&mut self, call: &CallStart<'_>) -> Result<(), AgentError> {
        self.call_id = call.call_id.to_owned();
        let body = to_json(&Event::Start {
            call_id: call.call_id,
            test_id: call.test_id,
            persona: call.persona,
        });
        self.greeting = None;
        let answer = match self.post_once(body.clone()).await {
            Ok(answer) => answer,
            // A server with a short listen backlog resets connections under load; the
            // call has not started, so trying once more changes nothing else.
            Err((_, true)) => self.post(body).await?,
            Err((err, false)) => return Err(err),
        };
        // A `{"text": ...}` answer is the agent's greeting (with the tools it ran, and maybe
        // a hang-up), as from a program; `{"error": ...}` means the call never started.
        // Without a greeting expected, any other 2xx body starts the call; with one, an
        // empty body is no greeting (the greeting check says so) and any other a fault.
        self.greeting_hangs_up = false;
        let who = message::http_who(&self.url);
        match greeting_answer(&answer, call.tools, &who) {
            Ok((greeting, hangs_up)) => {
                self.greeting = greeting;
                self.greeting_hangs_up = hangs_up;
            }
            Err(err) if err.reported_by_agent() => return Err(err),
            Err(err) if call.expects_greeting && !answer.trim().is_empty() => return Err(err),
            Err(_) => {}
        }
        Ok(())
    }

    fn greeting(&mut self) -> Option<String> {
        self.greeting.take()
    }

    fn greeting_hangs_up(&mut self) -> bool {
        self.greeting_hangs_up
    }

    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        let body = to_json(&caller_event(&self.call_id, line));
        let mut answer = self.post(body).await?;
        loop {
            match next_step(line, &self.call_id.clone(), &answer).await? {
                Next::Done(reply) => return Ok(reply),
                Next::Send(event) => answer = self.post(event).await?,
            }
        }
    }

    async fn end(&mut self) {
        if self.stalled {
            return;
        }
        let body = to_json(&Event::End {
            call_id: &self.call_id,
        });
        let _ = self.post(body).await;
    }

    fn wall_clock(&self) -> bool {
        true
    }

    fn __runner_flags(&self) -> Option<String> {
        Some(format!(" --agent-url {}", message::shell_word(&self.url)))
    }
}
