//! Callers that follow rules (docs/rules.md): they answer what the agent asks, in whatever
//! order, and the call is judged by its outcome.

mod common;

use serde_json::{Value, json};
use voice_harness::{
    Agent, AgentError, BuiltinAgent, CallStart, CallerLine, Outcome, Reply, RunOptions, Status,
    appears_in, run_case,
};

fn booking_case() -> Value {
    json!({
        "test_id": "booking", "persona": "Busy Parent",
        "caller": {
            "opening": "Hi, I'd like to book a table.",
            "rules": [
                {"when": ["how many", "party size"], "say": "Four people."},
                {"when": ["what time", "which time"], "say": "Seven pm."},
                {"when": [["your name", "who is the booking for"]], "say": "It's Dana."},
                {"when": "anything else", "say": "No, that's all.", "then": "hang_up"}
            ],
            "max_turns": 12
        },
        "tools": {"ReserveRestaurant": [{"match": {"party_size": 4, "time": "7 pm", "name": "dana"}, "result": {"ref": "Q1"}}]},
        "outcome": {
            "tool_calls": [{"name": "ReserveRestaurant", "arguments": {"party_size": "4", "name": "Dana"}}],
            "forbidden_tool_calls": ["TransferToHuman"],
            "mentions": ["booked"],
            "ended_by": "caller",
            "max_turns": 6
        }
    })
}

/// Asks for the time, the party size and the name in one of their orders, then books with
/// what it heard.
struct Host {
    order: Vec<&'static str>,
    asked: usize,
    time: Option<String>,
    party: Option<u64>,
    name: Option<String>,
    tools: Option<voice_harness::agent::Tools>,
}

impl Host {
    /// The questions in the `n`-th of their 6 orders.
    fn new(n: u64) -> Self {
        let questions = [
            "What time would you like?",
            "How many people?",
            "Who is the booking for?",
        ];
        const ORDERS: [[usize; 3]; 6] = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        let order = ORDERS[(n % 6) as usize]
            .iter()
            .map(|&i| questions[i])
            .collect();
        Self {
            order,
            asked: 0,
            time: None,
            party: None,
            name: None,
            tools: None,
        }
    }
}

impl Agent for Host {
    async fn start(&mut self, call: &CallStart<'_>) -> Result<(), AgentError> {
        self.tools = Some(call.tools.clone());
        Ok(())
    }

    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        let heard = line.text;
        if appears_in("seven pm", heard) {
            self.time = Some("7 pm".into());
        }
        if appears_in("four people", heard) {
            self.party = Some(4);
        }
        if appears_in("dana", heard) {
            self.name = Some("Dana".into());
        }
        if let Some(question) = self.order.get(self.asked) {
            self.asked += 1;
            return Ok(Reply::Say((*question).into()));
        }
        let (Some(time), Some(party), Some(name)) = (&self.time, self.party, &self.name) else {
            return Ok(Reply::Say("Sorry, I lost track.".into()));
        };
        let tools = self.tools.as_ref().unwrap();
        let booked = tools
            .call(
                "ReserveRestaurant",
                json!({"party_size": party, "time": time, "name": name}),
            )
            .await;
        Ok(Reply::Say(match booked {
            Ok(result) => format!("You're booked, reference {}. Anything else?", result["ref"]),
            Err(err) => format!("That did not work: {err}"),
        }))
    }
}

fn run_host(order_seed: u64) -> Outcome {
    let case = common::case(booking_case());
    run_case(&case, &mut Host::new(order_seed), &RunOptions::default())
}

#[test]
fn the_same_case_passes_whatever_order_the_agent_asks_in() {
    let mut orders = std::collections::BTreeSet::new();
    for order_seed in 0..6 {
        let out = run_host(order_seed);
        assert_eq!(
            out.status,
            Status::Pass,
            "order {:?}: {:?}",
            Host::new(order_seed).order,
            out.steps
        );
        orders.insert(Host::new(order_seed).order);
        let rules = out.metrics.rules.as_ref().unwrap();
        assert_eq!(
            (rules.caller_turns, rules.rules_fired, rules.otherwise_lines),
            (5, 4, 0)
        );
    }
    assert_eq!(
        orders.len(),
        6,
        "every order of the three questions was tried"
    );
}

#[test]
fn the_same_seed_gives_the_same_call_byte_for_byte() {
    let mut value = booking_case();
    value["caller"]["disfluency_rate"] = json!(0.4);
    value["caller"]["asr"] = json!({"wer": 0.05});
    let case = common::case(value);
    for seed in [1, 2, 3] {
        let options = RunOptions::default().with_seed(Some(seed));
        let a = run_case(&case, &mut Host::new(5), &options);
        let b = run_case(&case, &mut Host::new(5), &options);
        assert_eq!(
            serde_json::to_string(&a.transcript).unwrap(),
            serde_json::to_string(&b.transcript).unwrap()
        );
        assert_eq!(a, b);
    }
}

/// Repeats one question forever.
struct Stuck;

impl Agent for Stuck {
    async fn reply(&mut self, _: &CallerLine<'_>) -> Result<Reply, AgentError> {
        Ok(Reply::Say("How many people?".into()))
    }
}

#[test]
fn a_call_that_loops_ends_at_max_turns_and_says_so() {
    let mut value = booking_case();
    value["caller"]["max_turns"] = json!(5);
    let case = common::case(value);
    let out = run_case(&case, &mut Stuck, &RunOptions::default());
    assert_eq!(out.status, Status::Fail);
    assert_eq!(
        out.steps[0].details.as_deref(),
        Some(
            "the call reached caller.max_turns (5 caller lines) without ending: the agent and the caller's rules went round in a loop (the caller's last line came from rule 1: \"how many\")"
        )
    );
    assert_eq!(
        out.metrics.rules.as_ref().unwrap().ended_by,
        voice_harness::case::EndedBy::MaxTurns
    );
    assert_eq!(
        out.transcript
            .iter()
            .filter(|r| r.speaker == voice_harness::case::Speaker::User)
            .count(),
        5
    );
}

#[test]
fn once_rules_fire_once_and_confusion_ends_the_call() {
    let case = common::case(json!({
        "test_id": "t", "persona": "P",
        "caller": {"opening": "Hello", "rules": [{"when": ["name"], "say": "Dana.", "once": true}], "max_retries": 1},
        "outcome": {"ended_by": "caller"}
    }));
    struct AsksTwice;
    impl Agent for AsksTwice {
        async fn reply(&mut self, _: &CallerLine<'_>) -> Result<Reply, AgentError> {
            Ok(Reply::Say("Your name?".into()))
        }
    }
    let out = run_case(&case, &mut AsksTwice, &RunOptions::default());
    let said: Vec<(&str, &str)> = out
        .transcript
        .iter()
        .filter(|r| r.speaker == voice_harness::case::Speaker::User)
        .map(|r| (r.rule.as_deref().unwrap(), r.text.as_str()))
        .collect();
    assert_eq!(
        said,
        [
            ("opening", "Hello"),
            ("rule 1: \"name\"", "Dana."),
            ("otherwise", "Sorry, could you say that again?")
        ]
    );
    assert_eq!(
        out.status,
        Status::Pass,
        "the caller hung up after max_retries confused lines"
    );
    let rules = out.metrics.rules.as_ref().unwrap();
    assert_eq!((rules.rules_fired, rules.otherwise_lines), (1, 1));
}

#[test]
fn failed_checks_give_their_evidence() {
    let case = common::case(json!({
        "test_id": "t", "persona": "P",
        "caller": {"opening": "Book four at seven", "rules": [{"when": ["anything else"], "say": "No", "then": "hang_up"}]},
        "tools": {"ReserveRestaurant": [{"result": {}}], "TransferToHuman": [{"result": {}}]},
        "agent": {"replay": [{"text": "Unfortunately I booked two. Anything else?", "tool_calls": [
            {"name": "ReserveRestaurant", "arguments": {"party_size": 2}}, {"name": "TransferToHuman", "arguments": {}}]}]},
        "outcome": {
            "tool_calls": [{"name": "ReserveRestaurant", "arguments": {"party_size": 4}}],
            "forbidden_tool_calls": ["TransferToHuman"],
            "mentions": ["booked", ["four", "4"]],
            "forbidden_keywords": ["unfortunately"],
            "ended_by": "agent",
            "max_turns": 1
        }
    }));
    let out = run_case(
        &case,
        &mut BuiltinAgent::for_case(&case),
        &RunOptions::default(),
    );
    let details: Vec<String> = out
        .steps
        .iter()
        .map(|s| {
            format!(
                "{}: {}",
                s.expected_user_input,
                s.details.as_deref().unwrap_or("pass")
            )
        })
        .collect();
    assert_eq!(
        details,
        [
            "the call ended: pass",
            "every tool call answered by a mock: pass",
            "tool_calls: ReserveRestaurant(party_size=4): missing tool call: expected ReserveRestaurant(party_size=4), got ReserveRestaurant(party_size=2): party_size differs; the calls made: ReserveRestaurant(party_size=2), TransferToHuman()",
            "forbidden_tool_calls: TransferToHuman: forbidden tool calls: TransferToHuman",
            "mentions: booked, four | 4: no agent line said: four | 4",
            "forbidden_keywords: unfortunately: forbidden keywords: unfortunately (agent line after caller line 1)",
            "ended_by: agent: expected the agent to end the call; it was ended by the caller",
            "max_turns: 1: the call took 2 caller lines, more than 1",
        ]
    );
    assert_eq!(out.metrics.failure_steps, [3, 4, 5, 6, 7, 8]);
}

#[test]
fn a_program_agent_answers_a_rule_following_caller() {
    // Asks for the party size, then books through the mock loop.
    let source = r#"
import sys, json
asked = False
for line in sys.stdin:
    e = json.loads(line)
    if e["event"] == "user" and not asked:
        asked = True
        print(json.dumps({"text": "Sure, how many people?"}), flush=True)
    elif e["event"] == "user":
        print(json.dumps({"tool_call": {"id": "1", "name": "ReserveRestaurant", "arguments": {"party_size": 4}}}), flush=True)
    elif e["event"] == "tool_result":
        print(json.dumps({"text": "Booked, reference " + e["result"]["ref"] + ". Anything else?"}), flush=True)
"#;
    let case = common::case(json!({
        "test_id": "t", "persona": "P",
        "caller": {"opening": "A table please", "rules": [
            {"when": ["how many"], "say": "Four of us"},
            {"when": ["anything else"], "say": "No thanks", "then": "hang_up"}]},
        "tools": {"ReserveRestaurant": [{"match": {"party_size": 4}, "result": {"ref": "Z9"}}]},
        "outcome": {"tool_calls": [{"name": "ReserveRestaurant"}], "mentions": ["z9"], "ended_by": "caller"}
    }));
    let mut agent = voice_harness::CommandAgent::new(["python3", "-c", source]);
    let out = run_case(&case, &mut agent, &RunOptions::default());
    assert_eq!(out.status, Status::Pass, "{:?}", out.steps);
}

/// A Rust agent whose `start` fails: the call never starts.
struct NoLicence;

impl Agent for NoLicence {
    async fn start(&mut self, _: &CallStart<'_>) -> Result<(), AgentError> {
        Err("no licence".into())
    }
    async fn reply(&mut self, _: &CallerLine<'_>) -> Result<Reply, AgentError> {
        unreachable!("a call that failed to start gets no lines")
    }
}

#[test]
fn a_call_that_never_started_is_an_error_not_a_pass() {
    // Before: the outcome checks were skipped, so no check failed and the case passed.
    let case = common::case(booking_case());
    let out = run_case(&case, &mut NoLicence, &RunOptions::default());
    let why = "the call never started: agent error: no licence";
    assert_eq!(out.error.as_deref(), Some(why));
    assert_eq!(out.status, Status::Fail);
    assert!(!out.as_expected);
    assert_eq!(out.steps[0].expected_user_input, "the call ended");
    assert_eq!(out.steps[0].details.as_deref(), Some(why));
    assert!(out.transcript.is_empty());
    let metrics = out.metrics.rules.unwrap();
    assert_eq!(metrics.caller_turns, 0);

    // A negative test cannot be "as expected" by an agent that never answered either.
    let mut value = booking_case();
    value["expect"] = json!({"status": "fail"});
    let out = run_case(&common::case(value), &mut NoLicence, &RunOptions::default());
    assert_eq!(out.status, Status::Fail);
    assert!(!out.as_expected);
}
