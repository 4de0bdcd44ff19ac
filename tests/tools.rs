//! Tool calls (docs/case-format.md, "Tool calls"): argument matching, mocks, mentions,
//! recorded tool rows, the mock loop of agents in another process, and the per-turn cap.

mod common;

use rstest::rstest;
use serde_json::{Value, json};
use voice_harness::agent::{MAX_TOOL_CALLS_PER_TURN, Tools};
use voice_harness::{
    Agent, AgentError, CallStart, CallerLine, CommandAgent, Outcome, Reply, RunOptions, Status,
    run_case,
};

/// Whether a call with `actual` arguments meets an expected call with `expected` ones, by
/// running a case whose replayed agent makes exactly that call.
fn meets(expected: Value, actual: Value) -> bool {
    let outcome = common::run_builtin(json!({
        "test_id": "t", "persona": "P",
        "agent": {"replay": [{"text": "done", "tool_calls": [{"name": "Book", "arguments": actual}]}]},
        "turns": [{"step_order": 1, "user_input": "Book it",
                   "expected_tool_calls": [{"name": "Book", "arguments": expected}]}]
    }));
    outcome.status == Status::Pass
}

#[rstest]
#[case::same(json!({"time": "11:30"}), json!({"time": "11:30"}), true)]
#[case::extra_actual_keys(json!({"time": "11:30"}), json!({"time": "11:30", "name": "Dana"}), true)]
#[case::missing_key(json!({"time": "11:30", "name": "Dana"}), json!({"time": "11:30"}), false)]
#[case::string_words(json!({"city": "San Jose"}), json!({"city": "san  jose!"}), true)]
#[case::string_differs(json!({"time": "11:30"}), json!({"time": "12:30"}), false)]
#[case::number_as_string(json!({"party": 2}), json!({"party": "2"}), true)]
#[case::string_as_number(json!({"party": "2"}), json!({"party": 2}), true)]
#[case::numbers_numerically(json!({"amount": 12.5}), json!({"amount": "12.50"}), true)]
#[case::integer_and_float(json!({"n": 3}), json!({"n": 3.0}), true)]
#[case::number_differs(json!({"party": 2}), json!({"party": 3}), false)]
#[case::word_is_not_a_number(json!({"party": 2}), json!({"party": "two"}), false)]
#[case::bool_exact(json!({"vip": true}), json!({"vip": true}), true)]
#[case::bool_is_not_a_string(json!({"vip": true}), json!({"vip": "true"}), false)]
#[case::null_exact(json!({"note": null}), json!({"note": null}), true)]
#[case::null_is_not_missing(json!({"note": null}), json!({}), false)]
#[case::nested_subset(json!({"guest": {"name": "Dana"}}), json!({"guest": {"name": "dana", "phone": "5"}}), true)]
#[case::nested_differs(json!({"guest": {"name": "Dana"}}), json!({"guest": {"name": "Kim"}}), false)]
#[case::array_same(json!({"items": ["a", 2]}), json!({"items": ["A", "2"]}), true)]
#[case::array_length(json!({"items": ["a"]}), json!({"items": ["a", "b"]}), false)]
#[case::array_order(json!({"items": ["a", "b"]}), json!({"items": ["b", "a"]}), false)]
#[case::array_of_objects(json!({"items": [{"id": 1}]}), json!({"items": [{"id": "1", "q": 2}]}), true)]
#[case::empty_matches_anything(json!({}), json!({"any": "thing"}), true)]
fn argument_matching(#[case] expected: Value, #[case] actual: Value, #[case] passes: bool) {
    assert_eq!(meets(expected, actual), passes);
}

#[test]
fn expected_calls_are_an_ordered_subsequence() {
    let case = |expected: Value| {
        common::run_builtin(json!({
            "test_id": "t", "persona": "P",
            "agent": {"replay": [{"text": "ok", "tool_calls": [
                {"name": "A", "arguments": {}}, {"name": "B", "arguments": {}}, {"name": "C", "arguments": {}}]}]},
            "turns": [{"step_order": 1, "user_input": "Go", "expected_tool_calls": expected}]
        }))
    };
    assert_eq!(
        case(json!([{"name": "A"}, {"name": "C"}])).status,
        Status::Pass
    );
    assert_eq!(case(json!([{"name": "B"}])).status, Status::Pass);
    let out = case(json!([{"name": "C"}, {"name": "A"}]));
    assert_eq!(out.status, Status::Fail);
    assert_eq!(
        out.steps[0].missing_tool_calls.as_deref(),
        Some(&["A()".to_owned()][..])
    );
    // One call cannot meet two expected entries.
    let out = case(json!([{"name": "A"}, {"name": "A"}]));
    assert_eq!(
        out.steps[0].details.as_deref(),
        Some("missing tool call: expected A(), got A()")
    );
}

#[test]
fn a_missing_call_names_the_closest_call_and_the_argument_that_differs() {
    let out = common::run_builtin(json!({
        "test_id": "t", "persona": "P",
        "agent": {"replay": [{"text": "Booked.", "tool_calls": [
            {"name": "ReserveRestaurant", "arguments": {"time": "12:30", "party_size": 9}},
            {"name": "ReserveRestaurant", "arguments": {"time": "12:30", "party_size": 4}}]}]},
        "turns": [{"step_order": 1, "user_input": "Four at eleven thirty",
                   "expected_tool_calls": [{"name": "ReserveRestaurant", "arguments": {"time": "11:30", "party_size": 4}}]}]
    }));
    assert_eq!(
        out.steps[0].details.as_deref(),
        Some(
            r#"missing tool call: expected ReserveRestaurant(party_size=4, time="11:30"), got ReserveRestaurant(party_size=4, time="12:30"): time differs"#
        )
    );
    assert_eq!(out.metrics.tool_calls_expected, Some(1));
    assert_eq!(out.metrics.tool_calls_matched, Some(0));
}

#[test]
fn forbidden_calls_and_mentions() {
    let out = common::run_builtin(json!({
        "test_id": "t", "persona": "P",
        "tools": {"Lookup": [{"result": {"order": {"eta": "Friday", "items": [{"name": "lamp"}]}}}],
                  "TransferToHuman": [{"result": {}}]},
        "agent": {"replay": [
            {"text": "It arrives Friday with your lamp.", "tool_calls": [{"name": "Lookup", "arguments": {}}]},
            {"text": "Let me get someone.", "tool_calls": [{"name": "Lookup", "arguments": {}}, {"name": "TransferToHuman", "arguments": {}}]}]},
        "turns": [
            {"step_order": 1, "user_input": "Where is it?",
             "expected_mentions": [{"tool": "Lookup", "path": "order.eta"}, {"tool": "Lookup", "path": "order.items.0.name"}]},
            {"step_order": 2, "user_input": "And?", "forbidden_tool_calls": ["TransferToHuman"],
             "expected_mentions": [{"tool": "Lookup", "path": "order.eta"}, {"tool": "Lookup", "path": "order.missing"}]}
        ]
    }));
    assert_eq!(out.steps[0].details, None);
    assert_eq!(
        out.steps[1].details.as_deref(),
        Some(
            r#"forbidden tool calls: TransferToHuman; missing mention: Lookup result order.eta = "Friday" is not in the reply; missing mention: Lookup result has no order.missing to say"#
        )
    );
    assert_eq!(
        out.steps[1].forbidden_tool_calls_found.as_deref(),
        Some(&["TransferToHuman".to_owned()][..])
    );
}

#[test]
fn an_unanswered_call_fails_its_step_with_the_call_and_the_mocks() {
    let out = common::run_builtin(json!({
        "test_id": "t", "persona": "P",
        "tools": {"lookup_order": [{"match": {"order_id": "5512"}, "result": {"status": "shipped"}},
                                   {"match": {"order_id": "7"}, "error": "timeout"}]},
        "agent": {"replay": [{"text": "Hmm.", "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "5513"}}]}]},
        "turns": [{"step_order": 1, "user_input": "Order 5512"}]
    }));
    let message = r#"no mock of lookup_order matches {"order_id": "5513"}; mocks match {"order_id": "5512"}, {"order_id": "7"}"#;
    assert_eq!(out.steps[0].details.as_deref(), Some(message));
    // The agent received the failure as the result.
    let call = &out.steps[0].tool_calls.as_ref().unwrap()[0];
    assert_eq!(call.result, json!({"error": message}));
}

#[test]
fn without_tools_calls_are_recorded_and_fail_nothing() {
    let out = common::run_builtin(json!({
        "test_id": "t", "persona": "P",
        "agent": {"replay": [{"text": "ok", "tool_calls": [{"name": "Anything", "arguments": {"x": 1}}]}]},
        "turns": [{"step_order": 1, "user_input": "Hi", "expected_agent_response_keywords": ["ok"]}]
    }));
    assert_eq!(out.status, Status::Pass);
    let call = &out.steps[0].tool_calls.as_ref().unwrap()[0];
    assert_eq!(call.result, json!({"error": "no mock for tool Anything"}));
}

#[test]
fn mock_latency_counts_in_the_reply_latency() {
    let out = common::run_builtin(json!({
        "test_id": "t", "persona": "P",
        "tools": {"Slow": [{"result": 1, "latency_ms": 700}]},
        "agent": {"replay": [{"text": "ok", "latency_ms": 200, "tool_calls": [{"name": "Slow", "arguments": {}}]}]},
        "turns": [{"step_order": 1, "user_input": "Hi", "max_latency_ms": 800}]
    }));
    assert_eq!(out.steps[0].latency_ms, Some(900));
    assert_eq!(
        out.steps[0].details.as_deref(),
        Some("latency 900 ms over budget 800 ms")
    );
}

#[test]
fn recorded_tool_rows_are_validated_the_same_way() {
    let out = common::run_builtin(json!({
        "test_id": "t", "persona": "P",
        "transcript": [
            {"speaker": "agent", "text": "Hello."},
            {"speaker": "user", "text": "A table for two at eight."},
            {"speaker": "tool", "name": "ReserveRestaurant", "arguments": {"party_size": 2, "time": "20:00"}, "result": {"id": "Z9"}},
            {"speaker": "agent", "text": "Booked.", "latency_ms": 400},
            {"speaker": "agent", "text": "Reference Z9."},
            {"speaker": "user", "text": "Thanks."},
            {"speaker": "agent", "text": "Bye."}
        ],
        "turns": [
            {"step_order": 1, "user_input": "A table for two at eight.",
             "expected_tool_calls": [{"name": "ReserveRestaurant", "arguments": {"party_size": "2"}}],
             "expected_mentions": [{"tool": "ReserveRestaurant", "path": "id"}]},
            {"step_order": 2, "user_input": "Thanks.", "forbidden_tool_calls": ["ReserveRestaurant"]}
        ]
    }));
    assert_eq!(out.status, Status::Pass, "{:?}", out.steps);
    // The tool row did not split the agent's run or change its latency.
    assert_eq!(
        out.steps[0].agent_response.as_deref(),
        Some("Booked. Reference Z9.")
    );
    assert_eq!(out.steps[0].latency_ms, Some(400));
    assert_eq!(out.transcript[2].step_order, 1);
}

/// A Rust agent whose tool layer is pointed at the harness once, at `start`.
struct Concierge {
    tools: Option<Tools>,
}

impl Agent for Concierge {
    async fn start(&mut self, call: &CallStart<'_>) -> Result<(), AgentError> {
        self.tools = Some(call.tools.clone());
        Ok(())
    }

    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        let tools = self.tools.as_ref().expect("started");
        let found = tools
            .call("lookup_order", json!({"order_id": "5512"}))
            .await;
        let text = match found {
            Ok(result) => format!("It arrives {}.", result["eta"].as_str().unwrap_or("?")),
            Err(err) => format!("Sorry: {err}"),
        };
        // The line carries the same handle.
        let again = line
            .tools
            .call("lookup_order", json!({"order_id": "0"}))
            .await;
        assert_eq!(again.unwrap_err().message(), "warehouse down");
        Ok(Reply::Say(text))
    }
}

#[test]
fn a_rust_agent_calls_tools_through_its_own_tool_layer() {
    let case = common::case(json!({
        "test_id": "t", "persona": "P",
        "tools": {"lookup_order": [{"match": {"order_id": "5512"}, "result": {"eta": "Friday"}, "latency_ms": 120},
                                   {"error": "warehouse down"}]},
        "turns": [{"step_order": 1, "user_input": "Where is order 5512?",
                   "expected_tool_calls": [{"name": "lookup_order", "arguments": {"order_id": 5512}}],
                   "expected_mentions": [{"tool": "lookup_order", "path": "eta"}]}]
    }));
    let out = run_case(
        &case,
        &mut Concierge { tools: None },
        &RunOptions::default(),
    );
    assert_eq!(out.status, Status::Pass, "{:?}", out.steps[0].details);
    assert_eq!(out.steps[0].latency_ms, Some(120));
    assert_eq!(out.steps[0].tool_calls.as_ref().unwrap().len(), 2);
}

/// Calls a tool forever, ignoring every error.
struct Looper;

impl Agent for Looper {
    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        loop {
            let _ = line.tools.call("spin", json!({})).await;
        }
    }
}

#[test]
fn an_agent_that_loops_on_tool_calls_is_stopped_by_the_cap() {
    let case = common::two_steps();
    let out = run_case(&case, &mut Looper, &RunOptions::default());
    assert_eq!(
        out.steps[0].details.as_deref(),
        Some(format!("the agent made more than {MAX_TOOL_CALLS_PER_TURN} tool calls in step 1 (the per-turn cap); it was stopped there").as_str())
    );
    assert_eq!(out.steps[1].details.as_deref(), Some("not reached"));
}

// ---- agents in another process --------------------------------------------------------------

fn program(source: &str, case: Value) -> Outcome {
    let case = common::case(case);
    let mut agent = CommandAgent::new(["python3", "-c", source]);
    run_case(&case, &mut agent, &RunOptions::default())
}

const BOOKING: &str = r#"
import sys, json
def send(m): print(json.dumps(m), flush=True)
for line in sys.stdin:
    e = json.loads(line)
    if e["event"] == "user":
        send({"tool_call": {"id": "a", "name": "Check", "arguments": {"time": "19:00"}}})
    elif e["event"] == "tool_result" and e["id"] == "a":
        assert e["result"] == {"free": True}, e
        send({"tool_call": {"id": "b", "name": "Book", "arguments": {"time": "19:00", "party": 4}}})
    elif e["event"] == "tool_result" and e["id"] == "b":
        send({"text": "Booked, reference " + e["result"]["ref"] + ".",
              "tool_calls": [{"name": "SendSms", "arguments": {"to": "me"}, "result": {"sent": True}}]})
"#;

#[test]
fn the_mock_loop_over_json_lines_runs_several_rounds() {
    let out = program(
        BOOKING,
        json!({
            "test_id": "t", "persona": "P",
            "tools": {"Check": [{"result": {"free": true}}], "Book": [{"match": {"party": 4}, "result": {"ref": "Q1"}}],
                      "SendSms": [{"result": {}}]},
            "turns": [{"step_order": 1, "user_input": "Four at seven",
                       "expected_tool_calls": [{"name": "Check"}, {"name": "Book", "arguments": {"party": "4"}}, {"name": "SendSms"}],
                       "expected_mentions": [{"tool": "Book", "path": "ref"}]}]
        }),
    );
    assert_eq!(out.status, Status::Pass, "{:?}", out.steps[0].details);
    let calls = out.steps[0].tool_calls.as_ref().unwrap();
    let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Check", "Book", "SendSms"]);
    // A reported call keeps the result the agent gave.
    assert_eq!(calls[2].result, json!({"sent": true}));
}

#[test]
fn a_program_that_loops_on_tool_calls_is_stopped_by_the_cap() {
    let source = "import sys, json\nfor line in sys.stdin:\n    e = json.loads(line)\n    if e['event'] in ('user', 'tool_result'):\n        print(json.dumps({'tool_call': {'id': 'x', 'name': 'spin', 'arguments': {}}}), flush=True)\n";
    let out = program(
        source,
        serde_json::to_value(common::script(&[("Hi", &[])])).unwrap(),
    );
    assert_eq!(
        out.steps[0].details.as_deref(),
        Some(format!("the agent made more than {MAX_TOOL_CALLS_PER_TURN} tool calls in step 1 (the per-turn cap); it was stopped there").as_str())
    );
}

#[test]
fn a_malformed_tool_call_fails_its_step_saying_what_is_wrong() {
    let source = "import sys, json\nfor line in sys.stdin:\n    e = json.loads(line)\n    if e['event'] == 'user':\n        print(json.dumps({'tool_call': {'id': 'x', 'name': 'lookup', 'arguments': ['5512']}}), flush=True)\n";
    let out = program(
        source,
        serde_json::to_value(common::script(&[("Hi", &[])])).unwrap(),
    );
    let details = out.steps[0].details.as_deref().unwrap();
    assert!(
        details.starts_with("the agent's tool_call has `arguments` that are not an object: "),
        "{details}"
    );
}

/// Whether a reply mentions a tool result's number, `numbers` being the case's
/// `matching.numbers` ("literal" or "spoken"); `Err` holds the step's details.
fn mentions_number(result: Value, reply: &str, numbers: &str) -> Result<(), String> {
    let out = common::run_builtin(json!({
        "test_id": "t", "persona": "P",
        "matching": {"numbers": numbers},
        "tools": {"lookup": [{"result": {"price": result}}]},
        "agent": {"replay": [{"text": reply, "tool_calls": [{"name": "lookup", "arguments": {}}]}]},
        "turns": [{"step_order": 1, "user_input": "Price?",
                   "expected_mentions": [{"tool": "lookup", "path": "price"}]}]
    }));
    match out.status {
        Status::Pass => Ok(()),
        _ => Err(out.steps[0].details.clone().unwrap_or_default()),
    }
}

/// A number in a tool result is mentioned when the reply says a number of the same exact
/// decimal value, as arguments are matched (12.5 = 12.50), not when it repeats serde's
/// float text (`10.0`): review P6.
#[rstest]
#[case::float_as_integer(json!(10.0), "That is $10 in total", "literal", true)]
#[case::float_with_cents(json!(10.0), "That is $10.00 in total", "literal", true)]
#[case::trailing_zero(json!(12.50), "That is $12.50.", "literal", true)]
#[case::exponent(json!(1e3), "About 1000 points", "literal", true)]
#[case::thousands_separator(json!(1200), "It is 1,200 dollars", "literal", true)]
#[case::integer(json!(5512), "Order 5512 is ready", "literal", true)]
#[case::negative(json!(-3), "Your balance is -3 dollars", "literal", true)]
#[case::spoken_word(json!(10.0), "That is ten dollars", "spoken", true)]
#[case::spoken_cents(json!(10.0), "That is $10.00", "spoken", true)]
#[case::spoken_digits(json!(5512), "five five one two", "spoken", true)]
#[case::other_cents(json!(10.0), "That is $10.50", "literal", false)]
#[case::other_cents_spoken(json!(10.0), "That is $10.50", "spoken", false)]
#[case::other_number(json!(12.5), "That is $12.05", "literal", false)]
#[case::inside_a_word(json!(10), "Room a10 is free", "literal", false)]
#[case::word_without_spoken(json!(10), "That is ten dollars", "literal", false)]
fn a_number_is_mentioned_by_value(
    #[case] result: Value,
    #[case] reply: &str,
    #[case] numbers: &str,
    #[case] said: bool,
) {
    let outcome = mentions_number(result, reply, numbers);
    assert_eq!(outcome.is_ok(), said, "{reply:?}: {outcome:?}");
}

/// The message names the number as people write it, not as serde writes a float.
#[test]
fn a_missing_number_mention_names_the_number_as_written() {
    assert_eq!(
        mentions_number(json!(10.0), "That is free", "literal"),
        Err(r#"missing mention: lookup result price = "10" is not in the reply"#.to_owned())
    );
    assert_eq!(
        mentions_number(json!(1e3), "Nothing", "literal"),
        Err(r#"missing mention: lookup result price = "1000" is not in the reply"#.to_owned())
    );
}

/// Review P8: numbers are read as 64-bit floats past the 64-bit integers, so
/// 18446744073709551617 and 18446744073709551616 were the same number and matched. A number
/// in a case that a float cannot hold exactly is refused at load, at its line and column;
/// numbers it holds exactly load, however they are written.
#[test]
fn a_number_a_float_cannot_hold_is_refused_at_load() {
    let case = |actual: &str, expected: &str| {
        format!(
            r#"{{"test_id": "t", "persona": "P",
  "tools": {{"lookup": [{{"result": {{"ok": true}}}}]}},
  "agent": {{"replay": [{{"text": "done", "tool_calls": [{{"name": "lookup", "arguments": {{"id": {actual}}}}}]}}]}},
  "turns": [{{"step_order": 1, "user_input": "hi",
    "expected_tool_calls": [{{"name": "lookup", "arguments": {{"id": {expected}, "s": "1.00000000000000000001"}}}}]}}]}}"#
        )
    };
    let err = voice_harness::parse_case(
        "t.json",
        case("18446744073709551616", "18446744073709551617").as_bytes(),
    )
    .expect_err("a number a float cannot hold must not load");
    insta::assert_snapshot!("number_a_float_cannot_hold", err.to_string());
    let err = voice_harness::parse_case("t.json", case("0.3", "0.30000000000000001").as_bytes())
        .expect_err("a fraction a float cannot hold must not load");
    assert!(err.to_string().contains("0.30000000000000001"), "{err}");
    for exact in [
        "18446744073709551615",
        "-9223372036854775808",
        "0.1",
        "12.50",
        "1e3",
        "1.8446744073709552e19",
        "-0.0",
    ] {
        let loaded = voice_harness::parse_case("t.json", case(exact, exact).as_bytes());
        assert!(loaded.is_ok(), "{exact}: {}", loaded.unwrap_err());
    }
}
