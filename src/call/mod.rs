//! The call loop (docs/case-format.md, "Time and latency"; docs/rules.md, "The caller"): the
//! one loop of every simulated call. The agent starts and may greet; then, line by line, a
//! [`Caller`] chooses what to say from the agent's last reply, the line is said and heard
//! ([`caller::say`]: fillers, pins, recognition noise) with its voice events, and the
//! agent's answer, its tool calls and its latency on the call's clock are recorded; until
//! someone hangs up, the caller has no line left, the agent fails, or the transcript is
//! full. Then the agent ends. The transcript's types are in [`conversation`].

pub(crate) mod caller;
pub(crate) mod conversation;
mod guard;

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use tokio::time::Instant;

use self::caller::{Caller, Next, RuleFollowing, Said, Script, voice};
use self::guard::{Clock, guarded, reply_timed};
use crate::agent::{Agent, CallStart, CallerLine, Erased, MAX_TOOL_CALLS_PER_TURN, Reply, Tools};
use crate::case::{Case, EndedBy, Speaker};
use crate::limits::MAX_REPLY_BYTES;
use crate::message;
use crate::rng::SplitMix64;

pub(crate) use self::conversation::{Conversation, Fault, recorded};
// The transcript's types keep their `call::` paths for the code that names them there.
#[allow(unused_imports)]
pub(crate) use self::conversation::RulesRun;
pub use self::conversation::{Cut, Row, RowEvent};
pub(crate) use self::guard::panic_message;

/// Limits that apply to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CallLimits {
    pub(crate) turn_timeout: Duration,
    pub(crate) max_rows: usize,
}

/// Runs one simulated call of `case` against `agent`. Must run where tokio time is paused
/// for latencies to be virtual.
pub(crate) async fn simulate(
    case: &Case,
    seed: u64,
    agent: &mut Erased<'_>,
    limits: CallLimits,
) -> Conversation {
    let clock = Clock {
        // Every agent is timed; a built-in one answers on its first poll (its waits are
        // counted, see `agent::wait_ms`), so its replayed latencies, data, are never cut.
        timeout: Some(limits.turn_timeout),
        wall_clock: agent.wall_clock(),
    };
    let tools = Tools::new(case.tools.clone());
    let mut call = Call {
        case,
        seed,
        agent,
        tools: &tools,
        limits,
        clock,
        convo: Conversation::new(Vec::with_capacity(case.turns.len() * 2)),
    };
    let mut script;
    let mut rule_following;
    let caller: &mut dyn Caller<'_> = match &case.rules {
        Some(rules) => {
            rule_following = RuleFollowing::new(rules, case.spoken_numbers);
            &mut rule_following
        }
        None => {
            script = Script::new(&case.turns);
            &mut script
        }
    };
    let first_step = case.turns.first().map_or(1, |t| t.step_order);
    // One start for every caller: a call that never started says so, whatever follows it.
    let ended = match call.start().await {
        Err(why) => Err(why),
        // The agent hung up as it greeted: the call is over before the caller's first line.
        Ok(true) => Ok(EndedBy::Agent),
        Ok(false) => call.converse(caller).await,
    };
    let ended_by = ended.unwrap_or_else(|why| {
        call.never_started(first_step, why);
        EndedBy::Agent
    });
    call.convo.rules = caller.finish(ended_by, &call.convo.transcript);
    call.end(first_step).await;
    call.convo
}

/// One simulated call under way.
struct Call<'a, 'm> {
    case: &'a Case,
    seed: u64,
    agent: &'a mut Erased<'m>,
    tools: &'a Tools,
    limits: CallLimits,
    clock: Clock,
    convo: Conversation,
}

/// What the agent answered to one caller line, once the turn's tool calls are recorded.
enum Answered {
    /// Its words (empty: nothing said), their latency, and whether it hung up after them.
    Said {
        text: String,
        latency: u64,
        hung_up: bool,
    },
    /// It hung up without a word.
    HungUp,
    /// It failed (an error, a panic, the turn timeout, the tool cap, a reply over the
    /// limit): the call ends with this message.
    Failed(String),
    /// The agent failed before its first answer: the call never started.
    NeverStarted(String),
    /// The transcript reached its row limit while the turn's tool calls were recorded.
    Cut,
}

impl<'a> Call<'a, '_> {
    /// Starts the agent and records its greeting. `Ok(true)` when it hung up as it greeted;
    /// the error when the call never started.
    async fn start(&mut self) -> Result<bool, String> {
        let case = self.case;
        let start = CallStart {
            call_id: &case.test_id,
            test_id: &case.test_id,
            persona: &case.persona,
            tools: self.tools,
            expects_greeting: case.greeting.is_some(),
        };
        // Tools the agent calls while it greets are rows of step 0.
        self.tools.begin_step(0);
        let asked = Instant::now();
        match guarded(self.agent.start(&start), self.clock).await {
            Ok(Ok(())) => self.greet(asked.elapsed().as_millis() as u64),
            Ok(Err(err)) => Err(err.to_string()),
            Err(message) => Err(message),
        }
    }

    /// The agent's greeting after a successful start: the tools it called meanwhile as tool
    /// rows of step 0, then an agent row of step 0 with the start's latency, when it said
    /// something. `Ok(true)` when it hung up as it greeted. A greeting over the reply limit
    /// means the call never started properly: its error.
    fn greet(&mut self, latency: u64) -> Result<bool, String> {
        let agent = &mut *self.agent;
        let (greeting, hung_up) = std::panic::catch_unwind(AssertUnwindSafe(|| {
            (agent.greeting(), agent.greeting_hangs_up())
        }))
        .map_err(|payload| message::agent_panicked(&panic_message(&*payload)))?;
        self.record_tool_calls(0);
        if self.convo.truncated {
            return Ok(hung_up);
        }
        let Some(text) = greeting.filter(|text| !text.is_empty()) else {
            return Ok(hung_up);
        };
        if text.len() > MAX_REPLY_BYTES {
            return Err(message::reply_too_long(text.len()));
        }
        if self.full() {
            return Ok(true);
        }
        self.convo
            .transcript
            .push(Row::said(Speaker::Agent, text, 0, Some(latency)));
        Ok(hung_up)
    }

    /// The caller's lines and the agent's answers, until the call ends: who ended it, or
    /// the error when the agent failed before its first answer (the call never started).
    async fn converse(&mut self, caller: &mut dyn Caller<'a>) -> Result<EndedBy, String> {
        let mut rng = SplitMix64::new(self.seed);
        // The agent's last answer: the transcript row it was recorded as (so it is not kept
        // twice), or the answer itself when it was not recorded (an empty reply).
        let mut reply_row: Option<usize> = None;
        let mut unrecorded: Option<String> = None;
        loop {
            let reply = match reply_row {
                Some(i) => Some(self.convo.transcript[i].text.as_str()),
                None => unrecorded.as_deref(),
            };
            let line = match caller.next(reply) {
                Next::Say(line) => line,
                Next::HangUp => return Ok(EndedBy::Caller),
                Next::Done => return Ok(EndedBy::MaxTurns),
            };
            let said = caller::say(&line, self.case, self.seed, &mut rng);
            if caller.counts_unsaid_line() {
                self.count(&said);
            }
            if self.full() {
                return Ok(EndedBy::MaxTurns);
            }
            if !caller.counts_unsaid_line() {
                self.count(&said);
            }
            let step = line.step_order;
            let spoken = line.spoken();
            let interrupted = line.barge_in_after_ms.and_then(|ms| {
                voice::barge_in(&mut self.convo.transcript, step, ms, self.case.speech_wpm)
            });
            let Said { text, heard, .. } = said;
            let mut row = Row::said(Speaker::User, text, step, None);
            row.heard = (heard != row.text).then(|| heard.clone());
            row.event = voice::row_event(line.act);
            row.rule = line.rule;
            self.convo.transcript.push(row);
            if line.hangs_up {
                // The caller says its last line and hangs up.
                return Ok(EndedBy::Caller);
            }
            let line = CallerLine {
                step_order: step,
                text: &heard,
                event: voice::event(line.act, &heard),
                interrupted: interrupted.as_deref(),
                tools: self.tools,
            };
            let (words, latency, hung_up) = match self.exchange(&line).await {
                Answered::Said {
                    text,
                    latency,
                    hung_up,
                } => (Some(text), latency, hung_up),
                Answered::HungUp => (None, 0, true),
                Answered::Failed(message) => {
                    self.convo.fault = Some(Fault::at(step, message));
                    return Ok(EndedBy::Agent);
                }
                Answered::NeverStarted(why) => return Err(why),
                Answered::Cut => return Ok(EndedBy::MaxTurns),
            };
            // After silence or keypad tones, an empty reply is the agent staying quiet.
            let kept = words
                .as_deref()
                .is_some_and(|text| !text.is_empty() || (spoken && caller.keeps_empty_replies()));
            reply_row = None;
            unrecorded = None;
            match words {
                Some(text) if kept => {
                    if self.full() {
                        return Ok(EndedBy::MaxTurns);
                    }
                    self.convo.transcript.push(Row::said(
                        Speaker::Agent,
                        text,
                        step,
                        Some(latency),
                    ));
                    reply_row = Some(self.convo.transcript.len() - 1);
                }
                words => unrecorded = words,
            }
            if hung_up {
                return Ok(EndedBy::Agent);
            }
        }
    }

    /// Counts a line's filler and misheard words.
    fn count(&mut self, said: &Said) {
        self.convo.disfluencies_injected += u32::from(said.filler);
        if let Some((errors, words)) = said.word_errors {
            self.convo.asr.0 += errors;
            self.convo.asr.1 += words;
        }
    }

    /// The transcript is at its row limit: marks it cut.
    fn full(&mut self) -> bool {
        let full = self.convo.transcript.len() >= self.limits.max_rows;
        self.convo.truncated |= full;
        full
    }

    /// One turn's exchange, the same for every caller: the agent answers `line`, its tool
    /// calls become tool rows (and their problems the step's), and its answer is read. A
    /// turn past the tool cap is stopped there, whatever the agent answered.
    async fn exchange(&mut self, line: &CallerLine<'_>) -> Answered {
        let step = line.step_order;
        self.tools.begin_step(step);
        let (answer, latency) = reply_timed(&mut *self.agent, line, self.clock).await;
        if self.record_tool_calls(step) {
            // However the turn ended (a reply, an error, a timeout while looping), the cap is
            // why.
            return Answered::Failed(message::tool_cap(step, MAX_TOOL_CALLS_PER_TURN));
        }
        if self.convo.truncated {
            return Answered::Cut;
        }
        match answer {
            Ok(Ok(Reply::Say(text) | Reply::SayAndHangUp(text)))
                if text.len() > MAX_REPLY_BYTES =>
            {
                Answered::Failed(message::reply_too_long(text.len()))
            }
            Ok(Ok(Reply::Say(text))) => Answered::Said {
                text,
                latency,
                hung_up: false,
            },
            Ok(Ok(Reply::SayAndHangUp(text))) => Answered::Said {
                text,
                latency,
                hung_up: true,
            },
            Ok(Ok(Reply::HangUp)) => Answered::HungUp,
            Ok(Err(err)) if err.never_started() => Answered::NeverStarted(err.to_string()),
            Ok(Err(err)) => Answered::Failed(err.to_string()),
            Err(message) => Answered::Failed(message),
        }
    }

    /// Records the tool calls of step `step` made since it began: their problems are the
    /// step's, and each call is a tool row until the transcript is full. Whether the agent
    /// reached the per-turn tool cap.
    fn record_tool_calls(&mut self, step: u32) -> bool {
        let calls = self.tools.take_step();
        self.convo
            .tool_problems
            .extend(calls.problems.into_iter().map(|p| (step, p)));
        for call in calls.calls {
            if self.full() {
                break;
            }
            self.convo.transcript.push(Row::tool(call, step));
        }
        calls.capped
    }

    /// The call never started (`why`): the agent's start failed, or it failed before its
    /// first answer. No caller line counts, so the call looks the same whenever the harness
    /// found out: no rows, and a rule-following call ended by the agent before any line.
    fn never_started(&mut self, first_step: u32, why: String) {
        let convo = &mut self.convo;
        convo.transcript.clear();
        convo.disfluencies_injected = 0;
        convo.asr = (0, 0);
        convo.tool_problems.clear();
        convo.truncated = false;
        convo.fault = Some(Fault::at(first_step, format!("{why} (at call start)")));
        convo.not_started = Some(why);
    }

    /// Ends the agent's call. What only the end showed (a line nobody asked for) fails the
    /// last step reached (at least `first_step`), unless the agent failed already.
    async fn end(&mut self, first_step: u32) {
        // The agent's own clean-up may not hang the suite either.
        let _ = guarded(self.agent.end(), self.clock).await;
        let agent = &mut *self.agent;
        let late = std::panic::catch_unwind(AssertUnwindSafe(|| agent.fault_at_end()));
        let late = match late {
            Ok(late) => late.map(|err| err.to_string()),
            Err(payload) => Some(message::agent_panicked(&panic_message(&*payload))),
        };
        if let (Some(late), None) = (late, &self.convo.fault) {
            let last = self.convo.transcript.last().map_or(0, |row| row.step_order);
            self.convo.fault = Some(Fault::at(last.max(first_step), late));
        }
    }
}
