//! The agent protocol (SPEC §9, §10): what a program writes on its stdout, or an HTTP agent
//! answers in its response bodies, read by the same code the real transports use
//! (`agent::protocol::next_step`), inside a whole call that is then judged.

use std::collections::VecDeque;

use serde_json::Value;

use super::invariants;
use crate::agent::protocol::{MAX_REPLY_LINE, Next, next_step};
use crate::agent::{Agent, AgentError, CallerLine, Reply};
use crate::case::{Case, parse_case};
use crate::run::{RunOptions, run_case};

/// A scripted call with tools (mocks that match, fail and take time), a silence and keypad
/// tones: every path of a reply and of a tool call.
const SCRIPTED: &str = r#"{
  "test_id": "fuzz_protocol", "persona": "Fuzz",
  "tools": {
    "lookup_order": [
      {"match": {"order_id": "5512"}, "result": {"status": "shipped", "eta": "Friday"}, "latency_ms": 120},
      {"match": {"order_id": 7}, "error": "timeout"}
    ],
    "transfer": [{"result": {"ok": true}}]
  },
  "turns": [
    {"step_order": 1, "user_input": "Where is order 5512?",
     "expected_agent_response_keywords": ["shipped"],
     "expected_tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "5512"}}],
     "expected_mentions": [{"tool": "lookup_order", "path": "eta"}],
     "forbidden_tool_calls": ["transfer"], "max_latency_ms": 500},
    {"step_order": 2, "silence_ms": 4000},
    {"step_order": 3, "dtmf": "12#", "expected_agent_response_keywords": [["got it", "thanks"]]},
    {"step_order": 4, "user_input": "Thanks, bye.", "forbidden_keywords": ["cancel"],
     "exact_match_required": true, "expected_agent_response": "Goodbye"}
  ]
}"#;

/// A rule-following caller with tools, judged by its outcome.
const RULES: &str = r#"{
  "test_id": "fuzz_protocol_rules", "persona": "Fuzz",
  "tools": {"book": [{"match": {"party_size": 4}, "result": {"ref": "B7"}}]},
  "caller": {
    "opening": "I'd like a table.",
    "rules": [
      {"when": ["how many"], "say": "Four people."},
      {"when": ["booked"], "say": "Great, bye.", "then": "hang_up"}
    ],
    "max_turns": 6
  },
  "outcome": {
    "tool_calls": [{"name": "book", "arguments": {"party_size": 4}}],
    "mentions": ["booked"], "forbidden_keywords": ["sorry"], "ended_by": "caller", "max_turns": 4
  }
}"#;

/// Protocol target. The first byte chooses: bit 0 the transport (0: a program, whose
/// answers are the lines of the rest, each read as UTF-8 the way a pipe is read; 1: an HTTP
/// agent, whose answers are the response bodies separated by NUL bytes, read as lossy
/// UTF-8), bit 1 the call (0: the scripted call with tools, 1: the rule-following one). The
/// agent answers each event with its next answer; when they run out it has "exited".
pub fn protocol(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let http = mode & 1 == 1;
    let answers: VecDeque<Result<String, AgentError>> = if http {
        rest.split(|b| *b == 0)
            .take(64)
            .map(|body| Ok(String::from_utf8_lossy(body).into_owned()))
            .collect()
    } else {
        rest.split(|b| *b == b'\n')
            .take(64)
            .map(|line| {
                if line.len() >= MAX_REPLY_LINE {
                    return Err(AgentError::fault("the line is too long"));
                }
                String::from_utf8(line.to_vec())
                    .map_err(|_| AgentError::fault("the line is not UTF-8 text"))
            })
            .collect()
    };
    let source = if mode & 2 == 0 { SCRIPTED } else { RULES };
    let case = parse_case("fuzz_protocol.json", source.as_bytes())
        .expect("the protocol target's own case loads");
    let mut agent = Answers { answers };
    let options = RunOptions::default().with_max_transcript_rows(super::MAX_ROWS);
    let outcome = run_case(&case, &mut agent, &options);
    invariants::check_outcome(&case, &outcome, super::MAX_ROWS);
    replies_recorded(&case, &outcome);
}

/// An agent that answers with the fuzzed answers, through the real protocol code.
struct Answers {
    answers: VecDeque<Result<String, AgentError>>,
}

impl Answers {
    fn next(&mut self) -> Result<String, AgentError> {
        self.answers
            .pop_front()
            .unwrap_or_else(|| Err(AgentError::fault("the agent exited before replying")))
    }
}

impl Agent for Answers {
    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        let mut answer = self.next()?;
        loop {
            match next_step(line, "fuzz", &answer).await? {
                Next::Done(reply) => return Ok(reply),
                Next::Send(event) => {
                    // What the harness sends back is one JSON object: the tool's result.
                    let sent: Value = serde_json::from_str(&event).expect("events are JSON");
                    assert_eq!(sent["event"], "tool_result", "a tool call gets its result");
                    assert_eq!(sent["call_id"], "fuzz", "the result names the call");
                    assert!(!event.contains('\n'), "one event is one line: {event}");
                    answer = self.next()?;
                }
            }
        }
    }
}

/// Every reply the agent gave is in the transcript as it said it, or failed its step.
fn replies_recorded(case: &Case, outcome: &crate::run::Outcome) {
    for row in &outcome.transcript {
        if let Some(call) = &row.call {
            assert!(!call.name.trim().is_empty(), "a recorded call has a name");
            assert!(
                call.arguments.is_object(),
                "a recorded call's arguments are an object"
            );
        }
    }
    if case.rules.is_none() {
        let calls = outcome
            .transcript
            .iter()
            .filter(|r| r.call.is_some())
            .count();
        assert!(
            calls <= case.turns.len() * crate::agent::MAX_TOOL_CALLS_PER_TURN,
            "at most the cap of tool calls per turn"
        );
    }
}
