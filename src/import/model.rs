//! The neutral call model every platform's export is read into, and what a case needs from
//! it: the transcript rows with their latencies, and the turns the zipper will pair them
//! into (docs/import.md, "How a call becomes a case").

use serde_json::Value;

use super::json::{self, At};
use super::message::{self, Problem};
use crate::case::DEFAULT_TONE_MARKERS;
use crate::normalize::appears_in;

/// Who spoke a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    User,
    Agent,
}

/// One line of a call, in the order the export has it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Line {
    /// Something said. Times are milliseconds on the export's own clock.
    Say {
        who: Who,
        text: String,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        /// The platform's own latency figure for this reply, when it has one.
        platform_latency_ms: Option<u64>,
        /// The caller cut this reply off (the export says so).
        interrupted: bool,
    },
    /// Keypad tones the caller pressed.
    Dtmf {
        digits: String,
        start_ms: Option<i64>,
    },
    /// A tool call the agent made, and its result when the export has one.
    Tool {
        id: Option<String>,
        name: String,
        arguments: Value,
        result: Option<Value>,
        is_error: bool,
        path: String,
    },
}

impl Line {
    /// A tool call as an export writes it, its result still to come: the tool's name at
    /// `name` and its arguments at `arguments` (a JSON string or an object; none is `{}`)
    /// in `function`, the call's id at `id` in `call` (`id_is` says what the id is, for
    /// the error when it is not a string).
    pub(super) fn tool_call(
        call: &At<'_>,
        (id, id_is): (&str, &str),
        function: &At<'_>,
        name: &str,
        arguments: &str,
    ) -> Result<Self, Problem> {
        let name = function.req(name, "the tool's name")?.tool_name()?;
        let arguments = match function.get(arguments) {
            Some(a) => json::arguments(&a)?,
            None => Value::Object(Default::default()),
        };
        Ok(Self::Tool {
            id: call.opt_str(id, id_is)?.map(str::to_owned),
            name: name.to_owned(),
            arguments,
            result: None,
            is_error: false,
            path: call.path.clone(),
        })
    }
}

/// One call of an export.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Call {
    /// The platform's call id, when the export has one.
    pub(crate) id: Option<String>,
    /// Where the call is in its file (`[2]` in a list of calls), for messages.
    pub(crate) path: String,
    pub(crate) lines: Vec<Line>,
}

/// Skipped rows and other notes while reading one file: (JSON path, message).
pub(crate) type Notes = Vec<(String, String)>;

impl Call {
    /// Gives the latest call `id` made that has no result yet its result; `false` when
    /// there is none.
    pub(crate) fn answer(&mut self, id: &str, result: Value, is_error: bool) -> bool {
        for line in self.lines.iter_mut().rev() {
            if let Line::Tool {
                id: Some(call_id),
                result: slot @ None,
                is_error: error,
                ..
            } = line
            {
                if call_id == id {
                    *slot = Some(result);
                    *error = is_error;
                    return true;
                }
            }
        }
        false
    }
}

/// Checks that the rows' times never go back: each row's start is at or after the one
/// before it.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    /// The last row's time, its path, and the time as the export writes it.
    last: Option<(i64, String, String)>,
}

impl Clock {
    /// The row at `path` starts at `ms`, written `shown` in the export's own unit.
    pub(crate) fn at(&mut self, ms: i64, path: &str, shown: String) -> Result<(), Problem> {
        if let Some((last, last_path, last_shown)) = &self.last {
            if ms < *last {
                return Err(Problem::new(
                    path,
                    message::out_of_order(last_shown, last_path),
                    shown,
                )
                .help(message::ORDER_HELP));
            }
        }
        self.last = Some((ms, path.to_owned(), shown));
        Ok(())
    }
}

/// A row of the case's recorded transcript.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Row {
    User {
        text: String,
    },
    Agent {
        text: String,
        latency_ms: Option<u64>,
        /// The caller cut the reply off here: the last row of a reply that was cut off.
        interrupted: bool,
    },
    Tool {
        name: String,
        arguments: Value,
        result: Value,
        is_error: bool,
    },
}

/// One turn of the case: a caller run the agent answered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    /// What the caller said (its lines joined by one space), or the keys it pressed.
    pub(crate) user: String,
    /// The caller only pressed keys: the turn is a `dtmf` turn.
    pub(crate) keypad: bool,
    /// The agent's reply (its lines joined by one space).
    pub(crate) reply: String,
    /// The reply's latency (its first line's), when known.
    pub(crate) latency_ms: Option<u64>,
    /// The calls the agent made in this step.
    pub(crate) calls: Vec<usize>,
    /// The caller cut the previous step's reply off this long after it began.
    pub(crate) barge_in_after_ms: Option<u64>,
}

/// What a case is made of.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Derived {
    pub(crate) rows: Vec<Row>,
    /// Indexes of `rows` that are tool rows, in order: what `Step::calls` points into.
    pub(crate) tools: Vec<usize>,
    pub(crate) steps: Vec<Step>,
    /// The agent spoke first.
    pub(crate) greeting: Option<String>,
    /// Steps whose reply the caller cut off (1-based).
    pub(crate) interrupted: Vec<u32>,
    /// The default tone markers the agent said: left out so the case passes as imported.
    pub(crate) tone_markers_said: Vec<&'static str>,
    /// The caller's last line got no reply.
    pub(crate) unanswered_last: bool,
}

/// A run of consecutive lines of one speaker, as the zipper reads the transcript (tool
/// rows are not part of runs and do not split them).
struct Run {
    who: Who,
    texts: Vec<String>,
    keypad: bool,
    start_ms: Option<i64>,
    /// The end of the run's last line.
    end_ms: Option<i64>,
    latency_ms: Option<u64>,
    interrupted: bool,
    step: u32,
    /// The index in `rows` of the run's last line.
    last_row: usize,
}

/// Turns the call's lines into rows, steps and notes. `notes` gets the rows whose latency
/// could not be kept.
pub(crate) fn derive(call: &Call, notes: &mut Notes) -> Derived {
    let mut rows = Vec::new();
    let mut tools = Vec::new();
    let mut runs: Vec<Run> = Vec::new();
    let mut tool_steps: Vec<u32> = Vec::new();
    let mut step = 0u32;
    // The speaker of the last line that was not a tool call, and when the caller's last
    // line ended.
    let mut previous = Who::Agent;
    let mut user_end: Option<i64> = None;
    let mut lines = call.lines.iter().peekable();
    while let Some(line) = lines.next() {
        match line {
            Line::Tool {
                name,
                arguments,
                result,
                is_error,
                ..
            } => {
                tools.push(rows.len());
                tool_steps.push(step);
                rows.push(Row::Tool {
                    name: name.clone(),
                    arguments: arguments.clone(),
                    result: result.clone().unwrap_or(Value::Null),
                    is_error: *is_error,
                });
            }
            Line::Dtmf { digits, start_ms } => {
                // Keys pressed one after another are one entry: the zipper would join them
                // with spaces, which is not what was typed.
                let mut digits = digits.clone();
                while let Some(Line::Dtmf { digits: more, .. }) = lines.peek() {
                    digits.push_str(more);
                    lines.next();
                }
                if previous == Who::Agent {
                    step += 1;
                }
                previous = Who::User;
                user_end = *start_ms;
                push_run(
                    &mut runs,
                    Who::User,
                    &digits,
                    true,
                    *start_ms,
                    *start_ms,
                    None,
                    false,
                    step,
                    rows.len(),
                );
                rows.push(Row::User { text: digits });
            }
            Line::Say {
                who: Who::User,
                text,
                start_ms,
                end_ms,
                ..
            } => {
                if previous == Who::Agent {
                    step += 1;
                }
                previous = Who::User;
                user_end = *end_ms;
                push_run(
                    &mut runs,
                    Who::User,
                    text,
                    false,
                    *start_ms,
                    *end_ms,
                    None,
                    false,
                    step,
                    rows.len(),
                );
                rows.push(Row::User { text: text.clone() });
            }
            Line::Say {
                who: Who::Agent,
                text,
                start_ms,
                end_ms,
                platform_latency_ms,
                interrupted,
            } => {
                let latency_ms = if previous == Who::User {
                    match (start_ms, user_end) {
                        (Some(start), Some(end)) if start >= &end => {
                            Some(start.saturating_sub(end) as u64)
                        }
                        (Some(start), Some(end)) => {
                            if platform_latency_ms.is_none() {
                                notes.push((String::new(), message::overlap(*start, end)));
                            }
                            *platform_latency_ms
                        }
                        _ => *platform_latency_ms,
                    }
                } else {
                    None
                };
                previous = Who::Agent;
                push_run(
                    &mut runs,
                    Who::Agent,
                    text,
                    false,
                    *start_ms,
                    *end_ms,
                    latency_ms,
                    *interrupted,
                    step,
                    rows.len(),
                );
                rows.push(Row::Agent {
                    text: text.clone(),
                    latency_ms,
                    interrupted: false,
                });
            }
        }
    }

    let greeting = runs
        .first()
        .filter(|r| r.who == Who::Agent)
        .map(|r| r.texts.join(" "));
    // Each caller run the agent answered is a step; `replies[k]` is step k's reply run.
    let mut steps: Vec<Step> = Vec::new();
    let mut replies: Vec<usize> = Vec::new();
    let mut unanswered_last = false;
    for (i, run) in runs.iter().enumerate() {
        if run.who != Who::User {
            continue;
        }
        if runs.get(i + 1).is_none() {
            unanswered_last = true;
            continue;
        }
        replies.push(i + 1);
        steps.push(Step {
            user: run.texts.join(" "),
            keypad: run.keypad,
            reply: runs[i + 1].texts.join(" "),
            latency_ms: runs[i + 1].latency_ms,
            calls: tool_steps
                .iter()
                .enumerate()
                .filter(|(_, s)| **s == run.step)
                .map(|(k, _)| k)
                .collect(),
            barge_in_after_ms: None,
        });
    }
    // A reply was cut off when the export says so, or when the caller's next line began
    // before the reply ended. The next turn then barges in that long after the reply began.
    let mut interrupted = Vec::new();
    for (k, &r) in replies.iter().enumerate() {
        let reply = &runs[r];
        let next = runs.get(r + 1);
        let overlapped =
            next.is_some_and(|n| matches!((n.start_ms, reply.end_ms), (Some(s), Some(e)) if s < e));
        if !(reply.interrupted || overlapped) {
            continue;
        }
        interrupted.push(k as u32 + 1);
        // The row the caller cut into is the reply's last: it says so in the transcript.
        if let Some(Row::Agent {
            interrupted: cut, ..
        }) = rows.get_mut(reply.last_row)
        {
            *cut = true;
        }
        if let (Some(next), Some(step)) = (next, steps.get_mut(k + 1)) {
            if let (false, Some(s), Some(b)) = (next.keypad, next.start_ms, reply.start_ms) {
                if s >= b {
                    step.barge_in_after_ms = Some(s.saturating_sub(b) as u64);
                }
            }
        }
    }

    let tone_markers_said = DEFAULT_TONE_MARKERS
        .iter()
        .copied()
        .filter(|marker| {
            rows.iter().any(|row| match row {
                Row::Agent { text, .. } => appears_in(marker, text),
                _ => false,
            })
        })
        .collect();

    Derived {
        rows,
        tools,
        steps,
        greeting,
        interrupted,
        tone_markers_said,
        unanswered_last,
    }
}

#[allow(clippy::too_many_arguments)]
fn push_run(
    runs: &mut Vec<Run>,
    who: Who,
    text: &str,
    keypad: bool,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    latency_ms: Option<u64>,
    interrupted: bool,
    step: u32,
    row: usize,
) {
    match runs.last_mut() {
        Some(run) if run.who == who => {
            run.last_row = row;
            run.texts.push(text.to_owned());
            // Keys pressed one after another are already one line: keys with another line
            // between (a tool call) are read by the zipper as words, so the turn says them.
            run.keypad = false;
            run.end_ms = end_ms;
            run.interrupted |= interrupted;
        }
        _ => runs.push(Run {
            who,
            texts: vec![text.to_owned()],
            keypad,
            start_ms,
            end_ms,
            latency_ms,
            interrupted,
            step,
            last_row: row,
        }),
    }
}
