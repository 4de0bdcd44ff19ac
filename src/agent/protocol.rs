//! The line/JSON protocol both agents in another process speak (docs/agent-protocol.md):
//! the events the harness sends, the answers it reads back, how long an answer may be, and
//! what to do with each answer ([`next_step`]). [`CommandAgent`](super::CommandAgent)
//! carries it over a program's stdin/stdout, [`HttpAgent`](super::HttpAgent) over one POST
//! per event.
//!
//! Both send the same messages: `{"event": "start", "call_id", "test_id", "persona"}` once,
//! `{"event": "user", "call_id", "step_order", "text"}` per caller line (answered by
//! `{"text": "...", "end_call": true?}` or `{"error": "..."}`), and `{"event": "end",
//! "call_id"}` at the end. Both agents run on wall time (see
//! [`Agent::wall_clock`](super::Agent::wall_clock)).

use serde::Serialize;

use crate::agent::{AgentError, CallerEvent, CallerLine, Reply, Tools};
use crate::limits::MAX_REPLY_BYTES;
use crate::message;

/// The most bytes read for one reply line or HTTP body. A reply's text may be at most
/// [`MAX_REPLY_BYTES`]; JSON escapes can make its line longer, so the line may be 8 times
/// that. Nothing past this is buffered.
pub(crate) const MAX_REPLY_LINE: usize = 8 * MAX_REPLY_BYTES;

/// One harness → agent message.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(super) enum Event<'a> {
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
pub(super) struct Heard<'a> {
    heard: &'a str,
}

/// The event for what the caller did.
pub(super) fn caller_event<'a>(call_id: &'a str, line: &'a CallerLine<'_>) -> Event<'a> {
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

/// Reads the agent's answer: `{"text": …, "end_call"?: bool, "tool_calls"?: [...]}`,
/// `{"tool_call": {…}}` or `{"error": …}`; anything else is a fault that says what was wrong.
fn parse_answer(line: &str) -> Result<Answer, AgentError> {
    use serde_json::Value;
    let value: Value = serde_json::from_str(line)
        .map_err(|e| AgentError::fault(message::reply_not_json(&e, line.trim_end())))?;
    let wrong = || AgentError::fault(message::reply_wrong_shape(line.trim_end()));
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
            AgentError::fault(message::reply_tool_call_wrong(&what, line.trim_end()))
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
                AgentError::fault(message::reply_tool_calls_item_wrong(
                    i,
                    &what,
                    line.trim_end(),
                ))
            })?,
        Some(_) => {
            return Err(AgentError::fault(message::reply_tool_calls_not_list(
                line.trim_end(),
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
    let object = request.as_object().ok_or(message::CALL_NOT_A_REQUEST)?;
    let id = match object.get("id") {
        Some(serde_json::Value::String(id)) => id.clone(),
        Some(_) => return Err(message::CALL_ID_NOT_STRING.into()),
        None => return Err(message::CALL_NO_ID.into()),
    };
    let (name, arguments) = name_and_arguments(object)?;
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "id" | "name" | "arguments"))
    {
        return Err(message::call_unknown_field(key));
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
    let object = call.as_object().ok_or(message::CALL_NOT_A_REPORT)?;
    let (name, arguments) = name_and_arguments(object)?;
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "name" | "arguments" | "result"))
    {
        return Err(message::call_unknown_field(key));
    }
    Ok((name, arguments, object.get("result").cloned()))
}

fn name_and_arguments(
    object: &serde_json::Map<String, serde_json::Value>,
) -> Result<(String, serde_json::Value), String> {
    let name = match object.get("name") {
        Some(serde_json::Value::String(name)) if !name.trim().is_empty() => name.clone(),
        Some(serde_json::Value::String(_)) => return Err(message::CALL_BLANK_NAME.into()),
        Some(_) => return Err(message::CALL_NAME_NOT_STRING.into()),
        None => return Err(message::CALL_NO_NAME.into()),
    };
    let arguments = match object.get("arguments") {
        None => serde_json::Value::Object(Default::default()),
        Some(args @ serde_json::Value::Object(_)) => args.clone(),
        Some(_) => return Err(message::CALL_ARGUMENTS_NOT_OBJECT.into()),
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
pub(super) fn event_name(line: &CallerLine<'_>) -> String {
    let kind = match line.event {
        CallerEvent::Silence { .. } => "silence",
        CallerEvent::Dtmf(_) => "dtmf",
        _ => "user",
    };
    message::event_name(kind, line.step_order)
}

/// What an agent said for `start`: its greeting (maybe empty) and whether it hung up as it
/// greeted; the calls it reports are recorded in `tools` (rows of step 0). A `tool_call`
/// request is a fault (`who` names the agent); `{"error": …}` is the agent's error.
pub(super) fn greeting_answer(
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
        Answer::ToolCall { .. } => Err(AgentError::fault(message::greeting_is_tool_call(who))),
    }
}

pub(super) fn to_json(event: &Event<'_>) -> String {
    serde_json::to_string(event).expect("events are plain data")
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
