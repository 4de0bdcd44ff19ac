//! The agent that runs as a program ([`CommandAgent`]): one process per call, the protocol's
//! JSON lines on its stdin and stdout, its stderr kept for failure messages, and the
//! program's whole process tree ended with the call.

use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::protocol::{
    Event, MAX_REPLY_LINE, Next, caller_event, event_name, greeting_answer, next_step, to_json,
};
use crate::agent::processes;
use crate::agent::{Agent, AgentError, CallStart, CallerLine, Reply};
use crate::message::{self, quote};

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
            message::stderr_ends(text)
        }
    }

    /// Why the program stopped talking: its exit status if it exited.
    /// Before its first answer, the call never started (and the message says so).
    async fn gone(&mut self, program: &str, what: &str) -> AgentError {
        let first = !self.answered;
        let what = if first {
            message::PROGRAM_GONE_BEFORE_FIRST_ANSWER
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
                message::program_exited(&status)
            }
            _ => message::PROGRAM_CLOSED_STDOUT.to_owned(),
        };
        let err = AgentError::fault(message::program_gone(
            program,
            &how,
            what,
            &self.stderr_tail(),
        ));
        if first {
            err.before_the_first_answer()
        } else {
            err
        }
    }

    async fn send(&mut self, program: &str, line: String) -> Result<(), AgentError> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(self
                .gone(program, message::PROGRAM_GONE_BEFORE_CALL_ENDED)
                .await);
        };
        let mut bytes = line.into_bytes();
        bytes.push(b'\n');
        if stdin.write_all(&bytes).await.is_err() || stdin.flush().await.is_err() {
            return Err(self
                .gone(program, message::PROGRAM_GONE_BEFORE_NEXT_EVENT)
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
            Ok(0) => {
                return Err(self
                    .gone(program, message::PROGRAM_GONE_BEFORE_REPLYING)
                    .await);
            }
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
                return Err(AgentError::fault(message::program_reply_unread(
                    program,
                    &e,
                    &self.stderr_tail(),
                )));
            }
        }
        String::from_utf8(answer).map_err(|_| {
            AgentError::fault(message::program_reply_not_utf8(
                program,
                &self.stderr_tail(),
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
            return Err(AgentError::fault(message::PROGRAM_COMMAND_EMPTY));
        };
        if processes::stopped() {
            return Err(AgentError::fault(message::program_interrupted(&program)));
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
            .map_err(|e| AgentError::fault(message::program_cannot_start(&program, &e)))?;
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
            return Err(AgentError::fault(message::PROGRAM_PIPES_NOT_OPENED));
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
            let who = message::program_who(&program);
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
            return Err(AgentError::fault(message::PROGRAM_CALL_NOT_STARTED));
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
