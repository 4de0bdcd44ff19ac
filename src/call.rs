//! The call loop (docs/case-format.md, "Time and latency"): the caller says each turn's line, possibly with one filler, and
//! the agent's replies are recorded with their latency on a virtual clock.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::agent::{Agent, CallStart, CallerEvent, CallerLine, Notes, Reply, Tools};
use crate::case::{CallerAct, Case, EndedBy, RecordedRow, Speaker, ToolCall};
use crate::hearing;
use crate::limits::MAX_REPLY_BYTES;
use crate::message;
use crate::normalize::FILLERS;
use crate::rng::SplitMix64;

/// One row of a call's transcript.
///
/// In the report a caller or agent row is `{"speaker", "text", "step_order",
/// "latency_ms"?}`, and a tool row `{"speaker": "tool", "name", "arguments", "result",
/// "step_order"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Row {
    /// Who spoke.
    pub speaker: Speaker,
    /// What was said (empty for a tool row).
    pub text: String,
    /// The step the row belongs to; `0` for an agent greeting before the caller's first line.
    pub step_order: u32,
    /// Agent rows: the virtual time the agent took to reply, when known.
    pub latency_ms: Option<u64>,
    /// Tool rows: the call.
    pub call: Option<ToolCall>,
    /// Caller rows where the caller did not speak: silence or keypad tones.
    pub event: Option<RowEvent>,
    /// Agent rows the caller cut off (a barge-in).
    pub cut: Option<Cut>,
    /// Caller rows: what the agent heard, when it is not what was said (recognition
    /// noise, or a pinned `heard`).
    pub heard: Option<String>,
    /// Caller rows of a rule-following caller: what produced the line (`opening`,
    /// `rule 2: "what time"`, `otherwise`).
    pub rule: Option<String>,
}

/// What a caller row was, when the caller did not speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowEvent {
    /// The caller said nothing for this many milliseconds.
    Silence(u64),
    /// The caller typed keypad tones (the row's text).
    Dtmf,
}

/// How an agent row was cut off by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cut {
    /// The words of the reply the caller heard before cutting in.
    pub heard: String,
    /// When the caller cut in, in ms after the reply began; `None` for a recorded reply
    /// marked `interrupted`, whose recording does not say.
    pub at_ms: Option<u64>,
}

impl Row {
    fn said(speaker: Speaker, text: String, step_order: u32, latency_ms: Option<u64>) -> Self {
        Self {
            speaker,
            text,
            step_order,
            latency_ms,
            call: None,
            event: None,
            cut: None,
            heard: None,
            rule: None,
        }
    }

    fn tool(call: ToolCall, step_order: u32) -> Self {
        Self {
            call: Some(call),
            ..Self::said(Speaker::Tool, String::new(), step_order, None)
        }
    }
}

impl Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("speaker", &self.speaker)?;
        match &self.call {
            Some(call) => {
                map.serialize_entry("name", &call.name)?;
                map.serialize_entry("arguments", &call.arguments)?;
                map.serialize_entry("result", &call.result)?;
                map.serialize_entry("step_order", &self.step_order)?;
            }
            None => {
                map.serialize_entry("text", &self.text)?;
                map.serialize_entry("step_order", &self.step_order)?;
                if let Some(latency) = self.latency_ms {
                    map.serialize_entry("latency_ms", &latency)?;
                }
                if let Some(heard) = &self.heard {
                    map.serialize_entry("heard", heard)?;
                }
                if let Some(rule) = &self.rule {
                    map.serialize_entry("rule", rule)?;
                }
                match self.event {
                    Some(RowEvent::Silence(ms)) => {
                        map.serialize_entry("event", "silence")?;
                        map.serialize_entry("silence_ms", &ms)?;
                    }
                    Some(RowEvent::Dtmf) => map.serialize_entry("event", "dtmf")?,
                    None => {}
                }
                if let Some(cut) = &self.cut {
                    map.serialize_entry("interrupted", &true)?;
                    map.serialize_entry("heard", &cut.heard)?;
                    if let Some(at_ms) = cut.at_ms {
                        map.serialize_entry("cut_at_ms", &at_ms)?;
                    }
                }
            }
        }
        map.end()
    }
}

/// A conversation, simulated or recorded, ready for validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conversation {
    pub(crate) transcript: Vec<Row>,
    pub(crate) disfluencies_injected: u32,
    /// The agent failed at this step (error, panic, timeout); the call ended there.
    pub(crate) fault: Option<Fault>,
    /// The transcript reached the row limit and was cut.
    pub(crate) truncated: bool,
    /// Why tool calls fail their step (a call no mock answers, the per-turn cap).
    pub(crate) tool_problems: Vec<(u32, String)>,
    /// Word errors between what the caller said and what the agent heard, and words said.
    pub(crate) asr: (usize, usize),
    /// How a rule-following call went.
    pub(crate) rules: Option<RulesRun>,
    /// The call never started: why the agent's start failed. No caller line was said.
    pub(crate) not_started: Option<String>,
}

/// How a rule-following call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RulesRun {
    pub(crate) ended_by: EndedBy,
    pub(crate) caller_turns: u32,
    pub(crate) rules_fired: u32,
    pub(crate) otherwise_lines: u32,
}

/// An agent failure that ended the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    pub(crate) step_order: u32,
    pub(crate) message: String,
}

/// Limits that apply to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CallLimits {
    pub(crate) turn_timeout: Duration,
    pub(crate) max_rows: usize,
}

/// Says `line`, inserting one filler when the roll falls under `rate`. Always draws three
/// numbers (roll, filler, position) so later lines do not depend on `rate`; see
/// [`crate::rng`].
pub(crate) fn speak(line: &str, rate: f64, rng: &mut SplitMix64) -> Option<String> {
    // Three draws a turn whatever happens, so a turn's caller never depends on the turns
    // before it; the words are counted only when a filler is said (`below` is one draw).
    let roll = rng.next_fraction();
    let (filler_draw, position_draw) = (rng.next_u64(), rng.next_u64());
    if roll >= rate {
        return None;
    }
    let filler = FILLERS[(filler_draw % FILLERS.len() as u64) as usize];
    let word_count = line.split_whitespace().count();
    let position = (position_draw % (word_count as u64 + 1)) as usize;
    let mut out = String::with_capacity(line.len() + filler.len() + 1);
    let mut words = line.split_whitespace();
    for (i, word) in words.by_ref().take(position).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    if position > 0 {
        out.push(' ');
    }
    out.push_str(filler);
    for word in words {
        out.push(' ');
        out.push_str(word);
    }
    Some(out)
}

/// Numbers the rows of a recorded transcript the way the zipper pairs them: a leading agent
/// run is step 0, then each user run and the agent run after it share the next step. A
/// reply marked `interrupted` is cut as a simulated barge-in cuts it, with what the
/// recording holds as the words the caller heard (a recording has what was spoken before
/// the cut) and no time; a caller row's `heard` is kept as a simulated mishearing is, only
/// when it differs from what was said.
pub(crate) fn recorded(rows: &[RecordedRow], max_rows: usize) -> Conversation {
    let mut step = 0;
    let mut previous = Speaker::Agent;
    let transcript = rows
        .iter()
        .take(max_rows)
        .map(|row| {
            // Tool rows belong to the agent's run: they neither start a step nor split runs.
            if row.speaker == Speaker::User && previous == Speaker::Agent {
                step += 1;
            }
            if row.speaker != Speaker::Tool {
                previous = row.speaker;
            }
            let cut = row.interrupted.then(|| Cut {
                heard: row.text.split_whitespace().collect::<Vec<_>>().join(" "),
                at_ms: None,
            });
            let heard = row.heard.clone().filter(|heard| *heard != row.text);
            Row {
                call: row.call.clone(),
                cut,
                heard,
                ..Row::said(row.speaker, row.text.clone(), step, row.latency_ms)
            }
        })
        .collect();
    Conversation {
        transcript,
        disfluencies_injected: 0,
        fault: None,
        truncated: rows.len() > max_rows,
        tool_problems: Vec::new(),
        asr: (0, 0),
        rules: None,
        not_started: None,
    }
}

/// Runs one simulated call of `case` against `agent`. Must run where tokio time is paused
/// for latencies to be virtual.
pub(crate) async fn simulate<A: Agent>(
    case: &Case,
    seed: u64,
    agent: &mut A,
    limits: CallLimits,
) -> Conversation {
    let mut rng = SplitMix64::new(seed);
    // Every agent is timed; a built-in one answers on its first poll (its waits are counted,
    // see `agent::wait_ms`), so its replayed latencies, data, are never cut.
    let timeout = Some(limits.turn_timeout);
    let wall_clock = agent.wall_clock();
    let mut convo = Conversation {
        transcript: Vec::with_capacity(case.turns.len() * 2),
        disfluencies_injected: 0,
        fault: None,
        truncated: false,
        tool_problems: Vec::new(),
        asr: (0, 0),
        rules: None,
        not_started: None,
    };
    let tools = Tools::new(case.tools.clone());
    let first_step = case.turns.first().map_or(1, |t| t.step_order);
    let start = CallStart {
        call_id: &case.test_id,
        test_id: &case.test_id,
        persona: &case.persona,
        tools: &tools,
        expects_greeting: case.greeting.is_some(),
    };
    // One start for both callers: a call that never started says so, whatever follows it.
    // Tools the agent calls while it greets are rows of step 0.
    tools.begin_step(0);
    let asked = Instant::now();
    let started = match guarded(agent.start(&start), timeout, wall_clock).await {
        Ok(Ok(())) => greet(
            agent,
            &mut convo,
            asked.elapsed().as_millis() as u64,
            limits,
            &tools,
        ),
        Ok(Err(err)) => Err(err.to_string()),
        Err(message) => Err(message),
    };
    let hung_up_greeting = match started {
        Err(why) => {
            never_started(case, &mut convo, first_step, why);
            false
        }
        Ok(hung_up) => hung_up,
    };
    if convo.not_started.is_some() {
        // No caller line is said.
    } else if hung_up_greeting {
        // The agent hung up as it greeted: the call is over before the caller's first line.
        if case.rules.is_some() {
            convo.rules = Some(RulesRun {
                ended_by: EndedBy::Agent,
                caller_turns: 0,
                rules_fired: 0,
                otherwise_lines: 0,
            });
        }
    } else if case.rules.is_some() {
        rule_following(
            case, seed, agent, limits, &tools, &mut convo, &mut rng, timeout,
        )
        .await;
    } else {
        for turn in &case.turns {
            if convo.transcript.len() >= limits.max_rows {
                convo.truncated = true;
                break;
            }
            // Every turn draws the same numbers, spoken or not, so a turn's caller never
            // depends on what the turns before it were.
            let said = speak(&turn.user_input, case.disfluency_rate, &mut rng);
            let spoken = matches!(turn.act, CallerAct::Say);
            // A pinned line (`said` / `heard`) is said and heard exactly as written.
            let pinned = turn.said.is_some() || turn.heard.is_some();
            let said = said.filter(|_| spoken && !pinned);
            convo.disfluencies_injected += u32::from(said.is_some());
            let text = match &turn.said {
                Some(pinned) => pinned.clone(),
                None => said.unwrap_or_else(|| turn.user_input.clone()),
            };
            let heard = match (&turn.heard, case.asr_wer) {
                (Some(heard), _) => heard.clone(),
                (None, Some(wer)) if spoken && !pinned => {
                    let mut noise = SplitMix64::new(hearing::turn_seed(seed, turn.step_order));
                    hearing::mishear(&text, wer, &mut noise)
                }
                _ => text.clone(),
            };
            if spoken && case.asr_wer.is_some() {
                let (errors, words) = hearing::word_errors(&text, &heard);
                convo.asr.0 += errors;
                convo.asr.1 += words;
            }
            let heard_before_cut = turn.barge_in_after_ms.and_then(|ms| {
                barge_in(&mut convo.transcript, turn.step_order, ms, case.speech_wpm)
            });
            let event = match &turn.act {
                CallerAct::Say => CallerEvent::Said(&heard),
                CallerAct::Silence(ms) => CallerEvent::Silence { ms: *ms },
                CallerAct::Dtmf(digits) => CallerEvent::Dtmf(digits),
            };
            let mut user_row = Row::said(Speaker::User, text, turn.step_order, None);
            user_row.heard = (heard != user_row.text).then(|| heard.clone());
            user_row.event = match turn.act {
                CallerAct::Say => None,
                CallerAct::Silence(ms) => Some(RowEvent::Silence(ms)),
                CallerAct::Dtmf(_) => Some(RowEvent::Dtmf),
            };
            convo.transcript.push(user_row);
            let line = CallerLine {
                step_order: turn.step_order,
                text: &heard,
                event,
                interrupted: heard_before_cut.as_deref(),
                tools: &tools,
            };
            let turn_clock = (timeout, wall_clock);
            let (said, latency, hung_up) =
                match exchange(agent, &line, &tools, &mut convo, limits, turn_clock).await {
                    Answered::Said {
                        text,
                        latency,
                        hung_up,
                    } => (Some(text), latency, hung_up),
                    Answered::HungUp => (None, 0, true),
                    Answered::Failed(message) => {
                        convo.fault = Some(fault(turn.step_order, message));
                        break;
                    }
                    Answered::NeverStarted(why) => {
                        never_started(case, &mut convo, first_step, why);
                        break;
                    }
                    Answered::Cut => break,
                };
            // After silence or keypad tones, an empty reply is the agent staying quiet.
            let said = said.filter(|text| spoken || !text.is_empty());
            if let Some(text) = said {
                if convo.transcript.len() >= limits.max_rows {
                    convo.truncated = true;
                    break;
                }
                convo.transcript.push(Row::said(
                    Speaker::Agent,
                    text,
                    turn.step_order,
                    Some(latency),
                ));
            }
            if hung_up {
                break;
            }
        }
    }
    // The agent's own clean-up may not hang the suite either.
    let _ = guarded(agent.end(), timeout, wall_clock).await;
    // What only the end showed (a line nobody asked for) fails the last step reached.
    let late = std::panic::catch_unwind(AssertUnwindSafe(|| agent.fault_at_end()));
    let late = match late {
        Ok(late) => late.map(|err| err.to_string()),
        Err(payload) => Some(message::agent_panicked(&panic_message(&*payload))),
    };
    if let (Some(late), None) = (late, &convo.fault) {
        let last = convo.transcript.last().map_or(0, |row| row.step_order);
        convo.fault = Some(fault(last.max(first_step), late));
    }
    convo
}

/// The agent's greeting after a successful start: the tools it called meanwhile as tool rows
/// of step 0, then an agent row of step 0 with the start's latency, when it said something.
/// `Ok(true)` when it hung up as it greeted. A greeting over the reply limit means the call
/// never started properly: its error.
fn greet<A: Agent>(
    agent: &mut A,
    convo: &mut Conversation,
    latency: u64,
    limits: CallLimits,
    tools: &Tools,
) -> Result<bool, String> {
    let (greeting, hung_up) = std::panic::catch_unwind(AssertUnwindSafe(|| {
        (agent.greeting(), agent.greeting_hangs_up())
    }))
    .map_err(|payload| message::agent_panicked(&panic_message(&*payload)))?;
    let calls = tools.take_step();
    convo
        .tool_problems
        .extend(calls.problems.into_iter().map(|p| (0, p)));
    for call in calls.calls {
        if convo.transcript.len() >= limits.max_rows {
            convo.truncated = true;
            return Ok(hung_up);
        }
        convo.transcript.push(Row::tool(call, 0));
    }
    let Some(text) = greeting.filter(|text| !text.is_empty()) else {
        return Ok(hung_up);
    };
    if text.len() > MAX_REPLY_BYTES {
        return Err(message::reply_too_long(text.len()));
    }
    if convo.transcript.len() >= limits.max_rows {
        convo.truncated = true;
        return Ok(true);
    }
    convo
        .transcript
        .push(Row::said(Speaker::Agent, text, 0, Some(latency)));
    Ok(hung_up)
}

/// A caller that follows rules (docs/rules.md): says its opening, then answers each reply
/// with the first rule whose `when` the reply meets, `otherwise` when none does; hangs up
/// after a rule with `then: "hang_up"` or `max_retries` confused lines in a row; stops at
/// `max_turns` lines. Fillers, recognition noise, tools and the clock work as for a script.
#[allow(clippy::too_many_arguments)]
async fn rule_following<A: Agent>(
    case: &Case,
    seed: u64,
    agent: &mut A,
    limits: CallLimits,
    tools: &Tools,
    convo: &mut Conversation,
    rng: &mut SplitMix64,
    timeout: Option<Duration>,
) {
    let rules = case.rules.as_ref().expect("a rule-following case");
    let wall_clock = agent.wall_clock();
    let mut run = RulesRun {
        ended_by: EndedBy::MaxTurns,
        caller_turns: 0,
        rules_fired: 0,
        otherwise_lines: 0,
    };
    let mut fired = vec![false; rules.rules.len()];
    let mut confused_in_a_row = 0;
    let mut next = (rules.opening.clone(), "opening".to_owned(), false);
    for n in 1..=rules.max_turns {
        let (script, label, hang_up) = std::mem::take(&mut next);
        let said = speak(&script, case.disfluency_rate, rng);
        convo.disfluencies_injected += u32::from(said.is_some());
        let text = said.unwrap_or(script);
        let heard = match case.asr_wer {
            Some(wer) => {
                let mut noise = SplitMix64::new(hearing::turn_seed(seed, n));
                let heard = hearing::mishear(&text, wer, &mut noise);
                let (errors, words) = hearing::word_errors(&text, &heard);
                convo.asr.0 += errors;
                convo.asr.1 += words;
                heard
            }
            None => text.clone(),
        };
        if convo.transcript.len() >= limits.max_rows {
            convo.truncated = true;
            break;
        }
        // Count the line as it is said (a line chosen when `max_turns` ran out is not).
        run.caller_turns = n;
        if label.starts_with("rule ") {
            run.rules_fired += 1;
        } else if label == "otherwise" {
            run.otherwise_lines += 1;
        }
        let mut row = Row::said(Speaker::User, text, n, None);
        row.heard = (heard != row.text).then(|| heard.clone());
        row.rule = Some(label);
        convo.transcript.push(row);
        if hang_up {
            // The caller says its last line and hangs up.
            run.ended_by = EndedBy::Caller;
            break;
        }
        let line = CallerLine {
            step_order: n,
            text: &heard,
            event: CallerEvent::Said(&heard),
            interrupted: None,
            tools,
        };
        let (reply, latency, agent_hung_up) =
            match exchange(agent, &line, tools, convo, limits, (timeout, wall_clock)).await {
                Answered::Said {
                    text,
                    latency,
                    hung_up,
                } => (text, latency, hung_up),
                Answered::HungUp => (String::new(), 0, true),
                Answered::Failed(message) => {
                    convo.fault = Some(fault(n, message));
                    run.ended_by = EndedBy::Agent;
                    break;
                }
                Answered::NeverStarted(why) => {
                    let first_step = 1;
                    return never_started(case, convo, first_step, why);
                }
                Answered::Cut => break,
            };
        if !reply.is_empty() {
            if convo.transcript.len() >= limits.max_rows {
                convo.truncated = true;
                break;
            }
            convo
                .transcript
                .push(Row::said(Speaker::Agent, reply.clone(), n, Some(latency)));
        }
        if agent_hung_up {
            run.ended_by = EndedBy::Agent;
            break;
        }
        // The caller's answer: the first rule whose `when` the reply meets.
        let lower = crate::normalize::lowercase(&reply);
        let words = crate::normalize::Words::new(&lower, case.spoken_numbers);
        let matched = rules.rules.iter().enumerate().find_map(|(i, rule)| {
            if rule.once && fired[i] {
                return None;
            }
            let when = rule.when.iter().find(|k| k.met_by(&words))?;
            Some((i, when))
        });
        match matched {
            Some((i, when)) => {
                fired[i] = true;
                confused_in_a_row = 0;
                let rule = &rules.rules[i];
                next = (
                    rule.say.clone(),
                    format!("rule {}: {:?}", i + 1, when.to_string()),
                    rule.hang_up,
                );
            }
            None if confused_in_a_row >= rules.max_retries => {
                // Confused too often in a row: the caller gives up.
                run.ended_by = EndedBy::Caller;
                break;
            }
            None => {
                confused_in_a_row += 1;
                next = (rules.otherwise.clone(), "otherwise".to_owned(), false);
            }
        }
    }
    convo.rules = Some(run);
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

/// One turn's exchange, the same for a scripted and a rule-following caller: the agent
/// answers `line`, its tool calls become tool rows (and their problems the step's), and its
/// answer is read. A turn past the tool cap is stopped there, whatever the agent answered.
async fn exchange<A: Agent>(
    agent: &mut A,
    line: &CallerLine<'_>,
    tools: &Tools,
    convo: &mut Conversation,
    limits: CallLimits,
    (timeout, wall_clock): (Option<Duration>, bool),
) -> Answered {
    let step = line.step_order;
    tools.begin_step(step);
    let (answer, latency) = reply_timed(agent, line, timeout, wall_clock).await;
    let step_calls = tools.take_step();
    convo
        .tool_problems
        .extend(step_calls.problems.into_iter().map(|p| (step, p)));
    for call in step_calls.calls {
        if convo.transcript.len() >= limits.max_rows {
            convo.truncated = true;
            break;
        }
        convo.transcript.push(Row::tool(call, step));
    }
    if step_calls.capped {
        // However the turn ended (a reply, an error, a timeout while looping), the cap is why.
        return Answered::Failed(message::tool_cap(
            step,
            crate::agent::MAX_TOOL_CALLS_PER_TURN,
        ));
    }
    if convo.truncated {
        return Answered::Cut;
    }
    match answer {
        Ok(Ok(Reply::Say(text) | Reply::SayAndHangUp(text))) if text.len() > MAX_REPLY_BYTES => {
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

/// The call never started (`why`): the agent's start failed, or it failed before its first
/// answer. No caller line counts, so the call looks the same whenever the harness found
/// out: no rows, and a rule-following call ended by the agent before any line.
fn never_started(case: &Case, convo: &mut Conversation, first_step: u32, why: String) {
    convo.transcript.clear();
    convo.disfluencies_injected = 0;
    convo.asr = (0, 0);
    convo.tool_problems.clear();
    convo.truncated = false;
    convo.fault = Some(fault(first_step, format!("{why} (at call start)")));
    convo.not_started = Some(why);
    if case.rules.is_some() {
        // No caller line was said; the outcome checks still run (and the first fails).
        convo.rules = Some(RulesRun {
            ended_by: EndedBy::Agent,
            caller_turns: 0,
            rules_fired: 0,
            otherwise_lines: 0,
        });
    }
}

/// The caller of step `step` cuts in `ms` after the agent began its previous reply: what it
/// heard is the reply's first ⌊ms × wpm / 60,000⌋ words. Marks that reply cut and returns
/// the words heard; `None` when there is no previous reply or the caller let it finish.
fn barge_in(transcript: &mut [Row], step: u32, ms: u64, wpm: u32) -> Option<String> {
    let reply = transcript
        .iter_mut()
        .rev()
        .take_while(|row| row.step_order + 1 >= step)
        .find(|row| row.speaker == Speaker::Agent && row.step_order + 1 == step)?;
    let words: Vec<&str> = reply.text.split_whitespace().collect();
    let heard_words = (u128::from(ms) * u128::from(wpm) / 60_000).min(words.len() as u128) as usize;
    if heard_words >= words.len() {
        return None;
    }
    let heard = words[..heard_words].join(" ");
    reply.cut = Some(Cut {
        heard: heard.clone(),
        at_ms: Some(ms),
    });
    Some(heard)
}

fn fault(step_order: u32, message: String) -> Fault {
    Fault {
        step_order,
        message,
    }
}

/// The agent's answer to `line`, and its latency in milliseconds: the time the call's clock
/// took, plus the waits counted instead of slept (`agent::wait_ms`, on the virtual clock),
/// unless the agent measured it itself (a streaming agent's time to its first token).
async fn reply_timed<A: Agent>(
    agent: &mut A,
    line: &CallerLine<'_>,
    timeout: Option<Duration>,
    wall_clock: bool,
) -> (Result<Result<Reply, crate::agent::AgentError>, String>, u64) {
    let asked = Instant::now();
    let mut notes = Notes {
        counting: !wall_clock,
        ..Notes::default()
    };
    let answer = {
        let reply = std::pin::pin!(agent.reply(line));
        let noted = Noted {
            inner: reply,
            notes: &mut notes,
        };
        guarded(noted, timeout, wall_clock).await
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
async fn guarded<T>(
    future: impl Future<Output = T>,
    timeout: Option<Duration>,
    wall_clock: bool,
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
