//! Agents in another process (docs/agent-protocol.md): a program speaking JSON lines over stdin/stdout
//! ([`CommandAgent`]), or an HTTP service taking one POST per event ([`HttpAgent`]).
//!
//! Both send the same messages: `{"event": "start", "call_id", "test_id", "persona"}` once,
//! `{"event": "user", "call_id", "step_order", "text"}` per caller line (answered by
//! `{"text": "...", "end_call": true?}` or `{"error": "..."}`), and `{"event": "end",
//! "call_id"}` at the end. Their latency is wall time (see [`Agent::wall_clock`]).

use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::agent::processes;
use crate::agent::{Agent, AgentError, CallStart, CallerEvent, CallerLine, Reply, Tools};
use crate::limits::MAX_REPLY_BYTES;
use crate::message::{self, quote};

/// The most bytes read for one reply line or HTTP body. A reply's text may be at most
/// [`MAX_REPLY_BYTES`]; JSON escapes can make its line longer, so the line may be 8 times
/// that. Nothing past this is buffered.
pub(crate) const MAX_REPLY_LINE: usize = 8 * MAX_REPLY_BYTES;

/// One harness → agent message.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Event<'a> {
    Start {
        call_id: &'a str,
        test_id: &'a str,
        persona: &'a str,
    },
    User {
        call_id: &'a str,
        step_order: u32,
        text: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        interrupted: Option<Heard<'a>>,
    },
    Silence {
        call_id: &'a str,
        step_order: u32,
        ms: u64,
    },
    Dtmf {
        call_id: &'a str,
        step_order: u32,
        digits: &'a str,
    },
    End {
        call_id: &'a str,
    },
    ToolResult {
        call_id: &'a str,
        id: &'a str,
        name: &'a str,
        result: &'a serde_json::Value,
    },
}

/// `"interrupted": {"heard": "..."}` on the `user` event of a caller who cut in.
#[derive(Debug, Serialize)]
struct Heard<'a> {
    heard: &'a str,
}

/// The event for what the caller did.
fn caller_event<'a>(call_id: &'a str, line: &'a CallerLine<'_>) -> Event<'a> {
    match line.event {
        CallerEvent::Silence { ms } => Event::Silence {
            call_id,
            step_order: line.step_order,
            ms,
        },
        CallerEvent::Dtmf(digits) => Event::Dtmf {
            call_id,
            step_order: line.step_order,
            digits,
        },
        _ => Event::User {
            call_id,
            step_order: line.step_order,
            text: line.text,
            interrupted: line.interrupted.map(|heard| Heard { heard }),
        },
    }
}

/// What an agent answers to a `user` (or `tool_result`) event.
#[derive(Debug, PartialEq)]
enum Answer {
    /// The reply, with the calls the agent says it ran itself.
    Reply(
        Reply,
        Vec<(String, serde_json::Value, Option<serde_json::Value>)>,
    ),
    /// The agent asks the harness to run a tool (a mock) and send the result.
    ToolCall {
        id: String,
        name: String,
        arguments: serde_json::Value,
    },
}

const SHAPES: &str = r#"{"text": "..."} (optionally with "end_call": true and "tool_calls": [...]), {"tool_call": {"id": "...", "name": "...", "arguments": {...}}} or {"error": "..."}"#;

/// Reads the agent's answer: `{"text": …, "end_call"?: bool, "tool_calls"?: [...]}`,
/// `{"tool_call": {…}}` or `{"error": …}`; anything else is a fault that says what was wrong.
fn parse_answer(line: &str) -> Result<Answer, AgentError> {
    use serde_json::Value;
    let value: Value = serde_json::from_str(line).map_err(|e| {
        AgentError::fault(format!(
            "the agent's reply is not JSON ({e}): {}",
            quote(line.trim_end())
        ))
    })?;
    let wrong = || {
        AgentError::fault(format!(
            "the agent's reply is not {SHAPES}: {}",
            quote(line.trim_end())
        ))
    };
    let object = value.as_object().ok_or_else(wrong)?;
    if let Some(error) = object.get("error") {
        return match (error.as_str(), object.len()) {
            (Some(message), 1) => Err(AgentError::new(message)),
            _ => Err(wrong()),
        };
    }
    if let Some(request) = object.get("tool_call") {
        if object.len() != 1 {
            return Err(wrong());
        }
        return tool_call(request).map_err(|what| {
            AgentError::fault(format!(
                "the agent's tool_call {what}: {}",
                quote(line.trim_end())
            ))
        });
    }
    let text = object
        .get("text")
        .and_then(|t| t.as_str())
        .ok_or_else(wrong)?;
    let end_call = match object.get("end_call") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(wrong()),
    };
    let calls = match object.get("tool_calls") {
        None => Vec::new(),
        Some(Value::Array(calls)) => calls
            .iter()
            .enumerate()
            .map(|(i, call)| reported_call(call).map_err(|what| (i, what)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|(i, what)| {
                AgentError::fault(format!(
                    "the agent's tool_calls[{i}] {what}: {}",
                    quote(line.trim_end())
                ))
            })?,
        Some(_) => {
            return Err(AgentError::fault(format!(
                "the agent's tool_calls is not a list of calls: {}",
                quote(line.trim_end())
            )));
        }
    };
    if object
        .keys()
        .any(|k| !matches!(k.as_str(), "text" | "end_call" | "tool_calls"))
    {
        return Err(wrong());
    }
    let reply = if end_call {
        Reply::SayAndHangUp(text.to_owned())
    } else {
        Reply::Say(text.to_owned())
    };
    Ok(Answer::Reply(reply, calls))
}

/// `{"id": "c1", "name": "…", "arguments": {…}}`, or what is wrong with it.
fn tool_call(request: &serde_json::Value) -> Result<Answer, String> {
    let object = request
        .as_object()
        .ok_or("is not an object {\"id\", \"name\", \"arguments\"}")?;
    let id = match object.get("id") {
        Some(serde_json::Value::String(id)) => id.clone(),
        Some(_) => return Err("has an `id` that is not a string".into()),
        None => return Err("has no `id` (the harness sends it back with the result)".into()),
    };
    let (name, arguments) = name_and_arguments(object)?;
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "id" | "name" | "arguments"))
    {
        return Err(format!("has an unknown field `{key}`"));
    }
    Ok(Answer::ToolCall {
        id,
        name,
        arguments,
    })
}

/// A call the agent ran itself: `{"name", "arguments", "result"?}`.
fn reported_call(
    call: &serde_json::Value,
) -> Result<(String, serde_json::Value, Option<serde_json::Value>), String> {
    let object = call
        .as_object()
        .ok_or("is not an object {\"name\", \"arguments\", \"result\"}")?;
    let (name, arguments) = name_and_arguments(object)?;
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "name" | "arguments" | "result"))
    {
        return Err(format!("has an unknown field `{key}`"));
    }
    Ok((name, arguments, object.get("result").cloned()))
}

fn name_and_arguments(
    object: &serde_json::Map<String, serde_json::Value>,
) -> Result<(String, serde_json::Value), String> {
    let name = match object.get("name") {
        Some(serde_json::Value::String(name)) if !name.trim().is_empty() => name.clone(),
        Some(serde_json::Value::String(_)) => return Err("has a blank `name`".into()),
        Some(_) => return Err("has a `name` that is not a string".into()),
        None => return Err("has no `name`".into()),
    };
    let arguments = match object.get("arguments") {
        None => serde_json::Value::Object(Default::default()),
        Some(args @ serde_json::Value::Object(_)) => args.clone(),
        Some(_) => return Err("has `arguments` that are not an object".into()),
    };
    Ok((name, arguments))
}

/// What to do with one answer of the agent.
pub(crate) enum Next {
    /// The turn is over: this is the reply.
    Done(Reply),
    /// Send this `tool_result` event, and read the next answer.
    Send(String),
}

/// Handles one answer: a reply ends the turn (the calls it reports are recorded); a
/// `tool_call` is answered by the call's tools (the mocks), and its result is to be sent.
pub(crate) async fn next_step(
    line: &CallerLine<'_>,
    call_id: &str,
    answer: &str,
) -> Result<Next, AgentError> {
    match parse_answer(answer)? {
        Answer::Reply(reply, calls) => {
            for (name, arguments, result) in calls {
                line.tools.record(&name, arguments, result);
            }
            if line.tools.capped() {
                return Err(AgentError::fault(message::tool_cap(
                    line.step_order,
                    crate::agent::MAX_TOOL_CALLS_PER_TURN,
                )));
            }
            Ok(Next::Done(reply))
        }
        Answer::ToolCall {
            id,
            name,
            arguments,
        } => {
            let result = line
                .tools
                .call(&name, arguments)
                .await
                .unwrap_or_else(|e| e.to_result());
            if line.tools.capped() {
                return Err(AgentError::fault(message::tool_cap(
                    line.step_order,
                    crate::agent::MAX_TOOL_CALLS_PER_TURN,
                )));
            }
            Ok(Next::Send(to_json(&Event::ToolResult {
                call_id,
                id: &id,
                name: &name,
                result: &result,
            })))
        }
    }
}

/// How a fault names the event of `line`: ``the `user` event of step 2``.
fn event_name(line: &CallerLine<'_>) -> String {
    let kind = match line.event {
        CallerEvent::Silence { .. } => "silence",
        CallerEvent::Dtmf(_) => "dtmf",
        _ => "user",
    };
    format!("the `{kind}` event of step {}", line.step_order)
}

/// What an agent said for `start`: its greeting (maybe empty) and whether it hung up as it
/// greeted; the calls it reports are recorded in `tools` (rows of step 0). A `tool_call`
/// request is a fault (`who` names the agent); `{"error": …}` is the agent's error.
fn greeting_answer(
    answer: &str,
    tools: &Tools,
    who: &str,
) -> Result<(Option<String>, bool), AgentError> {
    match parse_answer(answer)? {
        Answer::Reply(reply, calls) => {
            for (name, arguments, result) in calls {
                tools.record(&name, arguments, result);
            }
            Ok(match reply {
                Reply::Say(text) => (Some(text), false),
                Reply::SayAndHangUp(text) => (Some(text), true),
                Reply::HangUp => (None, true),
            })
        }
        Answer::ToolCall { .. } => Err(AgentError::fault(format!(
            "{who} answered `start` with a tool_call; its greeting is {{\"text\": \"...\"}}, \
             with \"tool_calls\" for the tools it ran"
        ))),
    }
}

fn to_json(event: &Event<'_>) -> String {
    serde_json::to_string(event).expect("events are plain data")
}

/// How much of a program's stderr is kept for failure messages (the end of it).
const STDERR_TAIL: usize = 2000;

/// An agent that runs as a program: one process per call, JSON lines on its stdin and stdout.
///
/// Its stderr is captured and the end of it is shown with any failure. The program starts
/// in a process group of its own, and the whole group is killed when the call ends, on a
/// fault, and when the agent is dropped, so neither the program nor anything it started
/// (`sh -c 'python3 agent.py'`, a helper it spawned) outlives its call. On Linux that
/// includes a process that left the group (`setsid helper &`): the program runs with
/// `VOICE_HARNESS_AGENT_CALL` set to a value of its call in its environment, which what it
/// starts inherits, and every process that carries it is ended with the call.
///
/// If the process that runs the call dies without ending it (a test binary killed by a
/// signal), the program's stdin closes: a well-behaved agent exits when its stdin ends
/// (docs/agent-protocol.md). A reply line is
/// read up to 512 KiB; past that the step fails and nothing more is buffered.
///
/// ```no_run
/// use voice_harness::CommandAgent;
/// voice_harness::harness!(agent = |_case| CommandAgent::new(["python3", "agent.py"]));
/// ```
#[derive(Debug)]
pub struct CommandAgent {
    argv: Vec<String>,
    call: Option<Running>,
    /// The line it wrote for `start`, when the case expects a greeting.
    greeting: Option<String>,
    /// It hung up as it greeted (`"end_call": true` in its answer to `start`).
    greeting_hangs_up: bool,
    /// A line nobody asked for, found when the call ended.
    late: Option<AgentError>,
}

#[derive(Debug)]
struct Running {
    call_id: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Drains stderr; holds the pipe until the program exits.
    stderr_task: Option<tokio::task::JoinHandle<()>>,
    /// A reply was cut short (timeout): the protocol is out of step, so end by killing.
    broken: bool,
    /// The program has written something on its stdout in this call (else a timeout gets
    /// a hint about flushing).
    wrote: bool,
    /// The program's process group (its pid: it leads a group of its own). Kept apart from
    /// `child`, which forgets the pid once the program has been waited for, while what it
    /// started may still run.
    group: Option<u32>,
    /// The last event sent, as a line nobody asked for names it (`the \`user\` event of
    /// step 2`).
    last_event: String,
    /// The call's mark in the environment of the program and all it starts (see
    /// `processes`); `None` once the tree has been ended.
    mark: Option<String>,
    /// It has written a line: a program that stops before that never started the call.
    answered: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        // `kill_on_drop` ends the program; this ends what it started too.
        self.end_tree();
    }
}

impl CommandAgent {
    /// The program to run for each call, as its argv: `["python3", "agent.py"]`.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            argv: argv.into_iter().map(Into::into).collect(),
            call: None,
            greeting: None,
            greeting_hangs_up: false,
            late: None,
        }
    }

    fn program(&self) -> String {
        self.argv.join(" ")
    }
}

impl Running {
    fn stderr_tail(&self) -> String {
        let bytes = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_end();
        if text.is_empty() {
            String::new()
        } else {
            format!("; its stderr ends: {}", text)
        }
    }

    /// Why the program stopped talking: its exit status if it exited.
    /// Before its first answer, the call never started (and the message says so).
    async fn gone(&mut self, program: &str, what: &str) -> AgentError {
        let first = !self.answered;
        let what = if first {
            "before its first answer"
        } else {
            what
        };
        // A program that closed its stdout is usually exiting: give it a moment to be
        // reaped so the status is known (on a busy machine that can take a while), and its
        // stderr reader a moment to take in the last of it.
        let status = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
        let how = match status {
            Ok(Ok(status)) => {
                if let Some(task) = self.stderr_task.take() {
                    let _ = tokio::time::timeout(Duration::from_millis(500), task).await;
                }
                format!("exited ({status})")
            }
            _ => "closed its stdout".to_owned(),
        };
        let err = AgentError::fault(format!(
            "agent program `{program}` {how} {what}{}",
            self.stderr_tail()
        ));
        if first {
            err.before_the_first_answer()
        } else {
            err
        }
    }

    async fn send(&mut self, program: &str, line: String) -> Result<(), AgentError> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(self.gone(program, "before the call ended").await);
        };
        let mut bytes = line.into_bytes();
        bytes.push(b'\n');
        if stdin.write_all(&bytes).await.is_err() || stdin.flush().await.is_err() {
            return Err(self
                .gone(program, "before it was sent the next event")
                .await);
        }
        Ok(())
    }

    /// Reads one answer line, bounded before it is buffered: a program that never ends its
    /// line cannot grow the harness.
    async fn answer(&mut self, program: &str) -> Result<String, AgentError> {
        let mut answer = Vec::new();
        // Bytes already buffered (a line begun when a timeout cut the last read) count.
        self.wrote |= !self.stdout.buffer().is_empty();
        // Should this read time out, a program that never wrote a byte gets a hint: its
        // reply may sit in its output buffer.
        super::note_timeout_hint((!self.wrote).then(|| message::nothing_on_stdout(program)));
        let mut bounded = (&mut self.stdout).take(MAX_REPLY_LINE as u64);
        let read = bounded.read_until(b'\n', &mut answer).await;
        self.wrote |= matches!(read, Ok(n) if n > 0);
        match read {
            Ok(0) => return Err(self.gone(program, "before replying").await),
            Ok(n) if n == MAX_REPLY_LINE && answer.last() != Some(&b'\n') => {
                self.answered = true;
                return Err(AgentError::fault(format!(
                    "{}{}",
                    message::reply_line_too_long(program, MAX_REPLY_LINE),
                    self.stderr_tail()
                )));
            }
            Ok(_) => self.answered = true,
            Err(e) => {
                return Err(AgentError::fault(format!(
                    "cannot read the reply of agent program `{program}`: {e}{}",
                    self.stderr_tail()
                )));
            }
        }
        String::from_utf8(answer).map_err(|_| {
            AgentError::fault(format!(
                "the reply of agent program `{program}` is not UTF-8 text{}",
                self.stderr_tail()
            ))
        })
    }

    /// The first line the program wrote after its last answer, read at the end of the call
    /// (each line waited for up to `wait`): a fault naming the event it followed.
    async fn leftover(&mut self, program: &str, wait: Duration) -> Option<AgentError> {
        let mut rest = Vec::new();
        let mut bounded = (&mut self.stdout).take(MAX_REPLY_LINE as u64);
        loop {
            rest.clear();
            let read = bounded.read_until(b'\n', &mut rest);
            match tokio::time::timeout(wait, read).await {
                Ok(Ok(n)) if n > 0 => {
                    let line = String::from_utf8_lossy(&rest);
                    if line.trim().is_empty() {
                        continue;
                    }
                    return Some(AgentError::fault(format!(
                        "{}{}",
                        message::line_nobody_asked_for(
                            program,
                            &self.last_event,
                            &quote(line.trim_end())
                        ),
                        self.stderr_tail()
                    )));
                }
                _ => return None,
            }
        }
    }

    /// A line already waiting before the next event is sent: nobody asked for it (a
    /// greeting for a case without one, a second line for one event). Caught here, at the
    /// step where the replies would go out of step, not only at the end of the call.
    async fn unasked(&mut self, program: &str) -> Option<AgentError> {
        loop {
            // Polled once: what is buffered or already in the pipe, without waiting.
            let waiting = tokio::time::timeout(Duration::ZERO, self.stdout.fill_buf()).await;
            if !matches!(waiting, Ok(Ok(bytes)) if !bytes.is_empty()) {
                return None;
            }
            let line = match self.answer(program).await {
                Ok(line) => line,
                Err(err) => return Some(err),
            };
            if line.trim().is_empty() {
                continue;
            }
            return Some(AgentError::fault(format!(
                "{}{}",
                message::line_nobody_asked_for(program, &self.last_event, &quote(line.trim_end())),
                self.stderr_tail()
            )));
        }
    }

    async fn kill(&mut self) {
        self.end_tree();
        // `kill` also waits, so no zombie is left behind.
        let _ = self.child.kill().await;
        processes::waited(self.group);
    }

    /// Ends everything the program started, in its group or out of it (once).
    fn end_tree(&mut self) {
        if let Some(mark) = self.mark.take() {
            processes::end_tree(self.group, &mark);
        }
    }
}

impl Agent for CommandAgent {
    async fn start(&mut self, call: &CallStart<'_>) -> Result<(), AgentError> {
        let program = self.program();
        let Some((name, args)) = self.argv.split_first() else {
            return Err(AgentError::fault("agent program: the command is empty"));
        };
        if processes::stopped() {
            return Err(AgentError::fault(format!(
                "agent program `{program}` was not started: the run was interrupted"
            )));
        }
        let mark = processes::new_mark();
        let mut command = Command::new(name);
        // Inherited by all the program starts, in its group or not: how the call's whole
        // tree is found when it ends.
        command.env(processes::MARK, &mark);
        // A group of its own, so that ending the call ends whatever the program started.
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                AgentError::fault(format!("cannot start agent program `{program}`: {e}"))
            })?;
        if let Some(pid) = child.id() {
            processes::started(&mark, pid);
        }
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut stderr_task = None;
        if let Some(mut pipe) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            stderr_task = Some(tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let mut kept = sink.lock().unwrap_or_else(PoisonError::into_inner);
                    kept.extend_from_slice(&buf[..n]);
                    let excess = kept.len().saturating_sub(STDERR_TAIL);
                    kept.drain(..excess);
                }
            }));
        }
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            processes::end_tree(child.id(), &mark);
            return Err(AgentError::fault(
                "agent program: its pipes could not be opened",
            ));
        };
        let mut running = Running {
            call_id: call.call_id.to_owned(),
            group: child.id(),
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            stderr,
            stderr_task,
            broken: false,
            wrote: false,
            last_event: "`start`".to_owned(),
            mark: Some(mark),
            answered: false,
        };
        let start = to_json(&Event::Start {
            call_id: call.call_id,
            test_id: call.test_id,
            persona: call.persona,
        });
        self.greeting = None;
        self.greeting_hangs_up = false;
        self.late = None;
        running.send(&program, start).await?;
        if call.expects_greeting {
            // The case says the agent speaks first: its one line for `start` is the greeting
            // (with the tools it ran, and maybe a hang-up).
            running.broken = true;
            let answer = running.answer(&program).await?;
            let who = format!("agent program `{program}`");
            let (greeting, hangs_up) =
                greeting_answer(&answer, call.tools, &who).map_err(|err| {
                    if err.reported_by_agent() {
                        err
                    } else {
                        AgentError::fault(format!("{err}{}", running.stderr_tail()))
                    }
                })?;
            self.greeting = greeting;
            self.greeting_hangs_up = hangs_up;
            running.broken = false;
        }
        self.call = Some(running);
        Ok(())
    }

    fn greeting(&mut self) -> Option<String> {
        self.greeting.take()
    }

    fn greeting_hangs_up(&mut self) -> bool {
        self.greeting_hangs_up
    }

    fn fault_at_end(&mut self) -> Option<AgentError> {
        self.late.take()
    }

    fn __runner_flags(&self) -> Option<String> {
        let command: Vec<String> = self
            .argv
            .iter()
            .map(|arg| message::shell_arg(arg))
            .collect();
        Some(format!(
            " --agent-command {}",
            message::shell_word(&command.join(" "))
        ))
    }

    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        let program = self.program();
        let Some(call) = self.call.as_mut() else {
            return Err(AgentError::fault("agent program: the call was not started"));
        };
        if let Some(err) = call.unasked(&program).await {
            // Every later reply would be out of step: end by killing.
            call.broken = true;
            return Err(err);
        }
        let event = to_json(&caller_event(&call.call_id, line));
        call.last_event = event_name(line);
        call.broken = true;
        call.send(&program, event).await?;
        let mut answer = call.answer(&program).await?;
        loop {
            // The agent's own error is shown as it said it; a protocol fault gets stderr too.
            let next = next_step(line, &call.call_id, &answer)
                .await
                .map_err(|err| {
                    if err.reported_by_agent() {
                        err
                    } else {
                        AgentError::fault(format!("{err}{}", call.stderr_tail()))
                    }
                })?;
            match next {
                Next::Done(reply) => {
                    call.broken = false;
                    return Ok(reply);
                }
                Next::Send(event) => {
                    call.send(&program, event).await?;
                    answer = call.answer(&program).await?;
                }
            }
        }
    }

    async fn end(&mut self) {
        let program = self.program();
        let Some(mut call) = self.call.take() else {
            return;
        };
        let mut exited = false;
        if !call.broken {
            let end = to_json(&Event::End {
                call_id: &call.call_id,
            });
            let _ = call.send(&program, end).await;
            // Closing stdin tells the program the call is over; give it a moment to exit.
            call.stdin = None;
            exited = tokio::time::timeout(Duration::from_secs(2), call.child.wait())
                .await
                .is_ok();
            // Every event was answered: a line still there is one nobody asked for. Once it
            // exited, what it wrote is all there; a program still running after 2 s has
            // long written its replies, so a short look is enough before it is killed.
            let wait = Duration::from_millis(if exited { 1000 } else { 200 });
            self.late = call.leftover(&program, wait).await;
        }
        if !exited {
            call.kill().await;
        } else {
            // The program exited; what it started may not have.
            call.end_tree();
            processes::waited(call.group);
        }
        // The program is gone, so its stderr pipe is at its end: let the reader finish, so
        // the call leaves no descriptor behind.
        if let Some(task) = call.stderr_task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
    }

    fn wall_clock(&self) -> bool {
        true
    }
}

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
                    AgentError::fault(format!(
                        "cannot reach the agent at {url}: no response within {}",
                        message::human_duration(self.timeout)
                    )),
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
            AgentError::fault(format!("cannot reach the agent at {url}: {why}")),
            reset,
        )
    };
    let request = hyper::Request::post(url)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
        .map_err(|e| unreachable(format!("not a URL ({e})"), false))?;
    let response = client.request(request).await.map_err(|e| {
        let io = io_error(&e);
        match io.map(std::io::Error::kind) {
            Some(std::io::ErrorKind::ConnectionRefused) => {
                unreachable("connection refused".into(), false)
            }
            Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted) => {
                unreachable("the connection was reset".into(), true)
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
                AgentError::fault(format!(
                    "cannot read the response of the agent at {url} (HTTP {status}): {e}"
                )),
                false,
            ));
        }
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if !status.is_success() {
        let body = if text.trim().is_empty() {
            String::new()
        } else {
            format!(": {}", quote(text.trim()))
        };
        return Err((
            AgentError::fault(format!("the agent at {url} answered HTTP {status}{body}")),
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
        let who = format!("the agent at {}", self.url);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(line: &str) -> Result<Reply, AgentError> {
        match parse_answer(line)? {
            Answer::Reply(reply, calls) if calls.is_empty() => Ok(reply),
            other => panic!("not a plain reply: {other:?}"),
        }
    }

    #[test]
    fn reply_shapes() {
        assert_eq!(reply(r#"{"text": "hi"}"#), Ok(Reply::Say("hi".into())));
        assert_eq!(
            reply(r#"{"text": "bye", "end_call": true}"#),
            Ok(Reply::SayAndHangUp("bye".into()))
        );
        assert_eq!(
            reply(r#"{"text": "hi", "end_call": false}"#),
            Ok(Reply::Say("hi".into()))
        );
        assert_eq!(
            parse_answer(r#"{"error": "overloaded"}"#)
                .unwrap_err()
                .to_string(),
            "agent error: overloaded"
        );
        for bad in [
            r#"{"txt": "hi"}"#,
            r#"{"text": 3}"#,
            r#"["hi"]"#,
            r#"{"text": "a", "mood": "x"}"#,
            r#"{"error": 1}"#,
            r#"{"text": "a", "end_call": "yes"}"#,
            r#"{"tool_call": {"id": "c1", "name": "x"}, "text": "a"}"#,
        ] {
            let err = parse_answer(bad).unwrap_err().to_string();
            assert!(
                err.starts_with("the agent's reply is not {\"text\""),
                "{bad}: {err}"
            );
        }
        let err = parse_answer("hello").unwrap_err().to_string();
        assert!(err.starts_with("the agent's reply is not JSON ("), "{err}");
    }

    #[test]
    fn tool_answers() {
        assert_eq!(
            parse_answer(
                r#"{"tool_call": {"id": "c1", "name": "lookup", "arguments": {"id": 5}}}"#
            )
            .unwrap(),
            Answer::ToolCall {
                id: "c1".into(),
                name: "lookup".into(),
                arguments: serde_json::json!({"id": 5})
            }
        );
        assert_eq!(
            parse_answer(r#"{"text": "ok", "tool_calls": [{"name": "book", "arguments": {}, "result": {"ref": "A"}}]}"#)
                .unwrap(),
            Answer::Reply(
                Reply::Say("ok".into()),
                vec![("book".into(), serde_json::json!({}), Some(serde_json::json!({"ref": "A"})))]
            )
        );
        // A malformed request says what is wrong with it.
        for (bad, what) in [
            (
                r#"{"tool_call": {"name": "x"}}"#,
                "the agent's tool_call has no `id`",
            ),
            (
                r#"{"tool_call": {"id": 1, "name": "x"}}"#,
                "the agent's tool_call has an `id` that is not a string",
            ),
            (
                r#"{"tool_call": {"id": "c", "name": " "}}"#,
                "the agent's tool_call has a blank `name`",
            ),
            (
                r#"{"tool_call": {"id": "c", "name": "x", "arguments": [1]}}"#,
                "the agent's tool_call has `arguments` that are not an object",
            ),
            (
                r#"{"tool_call": "lookup"}"#,
                "the agent's tool_call is not an object",
            ),
            (
                r#"{"text": "a", "tool_calls": [{"arguments": {}}]}"#,
                "the agent's tool_calls[0] has no `name`",
            ),
            (
                r#"{"text": "a", "tool_calls": {}}"#,
                "the agent's tool_calls is not a list of calls",
            ),
        ] {
            let err = parse_answer(bad).unwrap_err().to_string();
            assert!(err.starts_with(what), "{bad}: {err}");
        }
    }

    #[test]
    fn events_match_the_spec() {
        let start = to_json(&Event::Start {
            call_id: "c",
            test_id: "t",
            persona: "P",
        });
        assert_eq!(
            start,
            r#"{"event":"start","call_id":"c","test_id":"t","persona":"P"}"#
        );
        let user = to_json(&Event::User {
            call_id: "c",
            step_order: 2,
            text: "Hi",
            interrupted: None,
        });
        assert_eq!(
            user,
            r#"{"event":"user","call_id":"c","step_order":2,"text":"Hi"}"#
        );
        assert_eq!(
            to_json(&Event::User {
                call_id: "c",
                step_order: 3,
                text: "No wait",
                interrupted: Some(Heard {
                    heard: "Your total"
                }),
            }),
            r#"{"event":"user","call_id":"c","step_order":3,"text":"No wait","interrupted":{"heard":"Your total"}}"#
        );
        assert_eq!(
            to_json(&Event::Silence {
                call_id: "c",
                step_order: 2,
                ms: 6000
            }),
            r#"{"event":"silence","call_id":"c","step_order":2,"ms":6000}"#
        );
        assert_eq!(
            to_json(&Event::Dtmf {
                call_id: "c",
                step_order: 2,
                digits: "4521#"
            }),
            r#"{"event":"dtmf","call_id":"c","step_order":2,"digits":"4521#"}"#
        );
        assert_eq!(
            to_json(&Event::End { call_id: "c" }),
            r#"{"event":"end","call_id":"c"}"#
        );
        assert_eq!(
            to_json(&Event::ToolResult {
                call_id: "c",
                id: "t1",
                name: "lookup",
                result: &serde_json::json!({"ok": true}),
            }),
            r#"{"event":"tool_result","call_id":"c","id":"t1","name":"lookup","result":{"ok":true}}"#
        );
    }
}
