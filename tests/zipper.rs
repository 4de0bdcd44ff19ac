//! SPEC §5 zipper validation edge cases, on recorded transcripts.

mod common;

use rstest::rstest;
use serde_json::json;
use voice_harness::Status;
use voice_harness::case::Speaker;

const TWO: &[(&str, &[&str])] = &[("Hello", &["hi"]), ("Need help", &["help"])];
const THREE: &[(&str, &[&str])] = &[("One", &["a"]), ("Two", &["b"]), ("Three", &["c"])];

type Rows<'a> = &'a [(&'a str, &'a str, Option<u64>)];

/// (details of each step) for a recorded transcript against `turns`.
fn details(turns: &[(&str, &[&str])], rows: Rows<'_>) -> Vec<Option<String>> {
    common::run(&common::recorded(turns, rows))
        .steps
        .into_iter()
        .map(|s| s.details)
        .collect()
}

#[rstest]
#[case::all_answered(TWO, &[("user", "Hello", None), ("agent", "hi", None), ("user", "Need help", None), ("agent", "help", None)], &[None, None])]
#[case::greeting_is_skipped(TWO, &[("agent", "Welcome!", None), ("user", "Hello", None), ("agent", "hi", None), ("user", "Need help", None), ("agent", "help", None)], &[None, None])]
#[case::greeting_keywords_do_not_count(TWO, &[("agent", "hi help", None), ("user", "Hello", None), ("agent", "nope", None), ("user", "Need help", None), ("agent", "help", None)], &[Some("missing keywords: hi"), None])]
#[case::agent_silent_at_the_end(TWO, &[("user", "Hello", None), ("agent", "hi", None), ("user", "Need help", None)], &[None, Some("agent never responded")])]
#[case::agent_silent_then_not_reached(THREE, &[("user", "One", None)], &[Some("agent never responded"), Some("not reached"), Some("not reached")])]
#[case::missing_user_input(THREE, &[("user", "One", None), ("agent", "a", None)], &[None, Some("missing user input"), Some("not reached")])]
#[case::empty_transcript(TWO, &[], &[Some("missing user input"), Some("not reached")])]
#[case::greeting_only(TWO, &[("agent", "Hello?", None)], &[Some("missing user input"), Some("not reached")])]
#[case::extra_rows_are_ignored(TWO, &[("user", "Hello", None), ("agent", "hi", None), ("user", "Need help", None), ("agent", "help", None), ("user", "Bye", None), ("agent", "bye", None)], &[None, None])]
#[case::consecutive_user_rows_join(TWO, &[("user", "Hello", None), ("agent", "hi", None), ("user", "Need", None), ("user", "help", None), ("agent", "help", None)], &[None, None])]
#[case::consecutive_agent_rows_join(TWO, &[("user", "Hello", None), ("agent", "oh", None), ("agent", "hi", None), ("user", "Need help", None), ("agent", "help", None)], &[None, None])]
#[case::user_deviation(TWO, &[("user", "Goodbye", None), ("agent", "hi", None), ("user", "Need help", None), ("agent", "help", None)], &[Some("user deviation"), None])]
#[case::deviation_and_missing(TWO, &[("user", "Goodbye", None), ("agent", "no", None), ("user", "Need help", None), ("agent", "help", None)], &[Some("user deviation; missing keywords: hi"), None])]
fn zipper(
    #[case] turns: &[(&str, &[&str])],
    #[case] rows: Rows<'_>,
    #[case] expected: &[Option<&str>],
) {
    let expected: Vec<Option<String>> = expected.iter().map(|d| d.map(String::from)).collect();
    assert_eq!(details(turns, rows), expected);
}

#[test]
fn joined_runs_are_reported_with_single_spaces_and_first_latency() {
    let case = common::recorded(
        &[("Need help", &["sure", "help"])],
        &[
            ("user", "Need", None),
            ("user", "help", None),
            ("agent", "Sure,", Some(300)),
            ("agent", "I can help.", Some(900)),
        ],
    );
    let outcome = common::run(&case);
    let step = &outcome.steps[0];
    assert!(step.passed, "{step:?}");
    assert_eq!(step.actual_user_input.as_deref(), Some("Need help"));
    assert_eq!(step.agent_response.as_deref(), Some("Sure, I can help."));
    assert_eq!(step.latency_ms, Some(300));
    // Latency metrics are over agent *rows*, not runs.
    assert_eq!(outcome.metrics.latency_ms_max, Some(900));
}

#[test]
fn unreached_steps_report_nulls_and_all_keywords() {
    let outcome = common::run(&common::recorded(
        THREE,
        &[("user", "One", None), ("agent", "a", None)],
    ));
    let step = &outcome.steps[2];
    assert_eq!(step.user_match, None);
    assert_eq!(step.actual_user_input, None);
    assert_eq!(step.agent_response, None);
    assert_eq!(step.latency_ms, None);
    assert_eq!(step.missing_keywords, ["c"]);
    assert_eq!(step.expected_user_input, "Three");
}

fn one_step(
    turn: serde_json::Value,
    agent_text: &str,
    latency: Option<u64>,
) -> voice_harness::run::StepResult {
    let mut row = json!({"speaker": "agent", "text": agent_text});
    if let Some(ms) = latency {
        row["latency_ms"] = json!(ms);
    }
    let mut turn = turn;
    turn["step_order"] = json!(1);
    turn["user_input"] = json!("Question");
    let case = common::case(json!({
        "test_id": "t", "persona": "P", "turns": [turn],
        "transcript": [{"speaker": "user", "text": "Question"}, row]
    }));
    common::run(&case).steps.remove(0)
}

#[rstest]
#[case::exact_equal_tokens(json!({"exact_match_required": true, "expected_agent_response": "We open at 9."}), "we OPEN at 9!", None, None)]
#[case::exact_extra_word(json!({"exact_match_required": true, "expected_agent_response": "We open at 9."}), "We open at 9 today", None, Some("exact match failed"))]
#[case::exact_from_keywords(json!({"exact_match_required": true, "expected_agent_response_keywords": ["open", "at 9"]}), "Open at 9.", None, None)]
#[case::forbidden_found(json!({"expected_agent_response_keywords": ["plan"], "forbidden_keywords": ["cancel", "fee"]}), "You could cancel your plan", None, Some("forbidden keywords: cancel"))]
#[case::forbidden_is_token_based(json!({"forbidden_keywords": ["cancel"]}), "No cancellation needed", None, None)]
#[case::forbidden_on_exact_step(json!({"exact_match_required": true, "expected_agent_response": "cancel now", "forbidden_keywords": ["cancel"]}), "cancel now", None, Some("forbidden keywords: cancel"))]
#[case::latency_within_budget(json!({"max_latency_ms": 500}), "ok", Some(500), None)]
#[case::latency_over_budget(json!({"max_latency_ms": 500}), "ok", Some(501), Some("latency 501 ms over budget 500 ms"))]
#[case::latency_unknown(json!({"max_latency_ms": 500}), "ok", None, Some("latency unknown"))]
#[case::no_keywords_any_reply(json!({}), "anything", None, None)]
#[case::several_reasons(json!({"expected_agent_response_keywords": ["a", "b"], "forbidden_keywords": ["z"], "max_latency_ms": 1}), "a z", Some(2), Some("missing keywords: b; forbidden keywords: z; latency 2 ms over budget 1 ms"))]
fn agent_checks(
    #[case] turn: serde_json::Value,
    #[case] reply: &str,
    #[case] latency: Option<u64>,
    #[case] expected: Option<&str>,
) {
    let step = one_step(turn, reply, latency);
    assert_eq!(step.details.as_deref(), expected);
    assert_eq!(step.passed, expected.is_none());
}

#[test]
fn exact_steps_never_report_missing_keywords() {
    let step = one_step(
        json!({"exact_match_required": true, "expected_agent_response_keywords": ["open", "now"]}),
        "closed",
        None,
    );
    assert_eq!(step.details.as_deref(), Some("exact match failed"));
    assert!(step.missing_keywords.is_empty());
}

#[rstest]
#[case::default_markers(json!(null), "I understand you are upset", false)]
#[case::marker_inside_word_does_not_count(json!(null), "the refunded amount", true)]
#[case::custom_markers(json!(["furious"]), "I understand you are upset", true)]
#[case::check_off(json!([]), "angry upset refund complain", true)]
#[case::greeting_counts(json!(["sorry"]), "ok", false)]
#[case::phrase_across_punctuation(json!(["very angry"]), "I am very, ANGRY!", false)]
#[case::phrase_words_apart(json!(["very angry"]), "very calm, not angry", true)]
#[case::marker_in_capitals(json!(["Refund"]), "a REFUND then", false)]
#[case::marker_in_unicode_capitals(json!(["ÜBEL"]), "mir ist übel", false)]
fn tone_check(#[case] markers: serde_json::Value, #[case] reply: &str, #[case] passed: bool) {
    let mut value = common::script(&[("Question", &[])]);
    if !markers.is_null() {
        value["tone_markers"] = markers;
    }
    value["transcript"] = json!([
        {"speaker": "agent", "text": "Sorry for the wait."},
        {"speaker": "user", "text": "Question"},
        {"speaker": "agent", "text": reply}
    ]);
    let outcome = common::run(&common::case(value));
    assert_eq!(outcome.tone.passed, passed, "{:?}", outcome.tone);
    assert!(outcome.steps[0].passed);
    assert_eq!(outcome.status == Status::Pass, passed);
}

#[test]
fn recorded_rows_are_numbered_like_the_zipper_pairs_them() {
    let outcome = common::run(&common::recorded(
        TWO,
        &[
            ("agent", "Welcome", Some(0)),
            ("user", "Hello", None),
            ("agent", "hi", Some(5)),
            ("user", "Need help", None),
        ],
    ));
    let numbers: Vec<(Speaker, u32)> = outcome
        .transcript
        .iter()
        .map(|r| (r.speaker, r.step_order))
        .collect();
    assert_eq!(
        numbers,
        [
            (Speaker::Agent, 0),
            (Speaker::User, 1),
            (Speaker::Agent, 1),
            (Speaker::User, 2)
        ]
    );
}

// ---- the agent's greeting (issue #23, fault 7) ---------------------------------------------

/// Greets as the call starts, then answers each line with its keywords.
struct Greeter(Option<&'static str>);

impl voice_harness::Agent for Greeter {
    async fn reply(
        &mut self,
        line: &voice_harness::CallerLine<'_>,
    ) -> Result<voice_harness::Reply, voice_harness::AgentError> {
        Ok(voice_harness::Reply::Say(
            if line.step_order == 1 { "hi" } else { "help" }.into(),
        ))
    }
    fn greeting(&mut self) -> Option<String> {
        self.0.map(str::to_owned)
    }
}

fn greeted(greeting: Option<serde_json::Value>, agent: Greeter) -> voice_harness::Outcome {
    let mut value = common::script(TWO);
    if let Some(greeting) = greeting {
        value["greeting"] = greeting;
    }
    let case = common::case(value);
    voice_harness::run_case(&case, &mut { agent }, &voice_harness::RunOptions::default())
}

#[test]
fn a_greeting_is_its_own_row_before_step_1_and_shifts_nothing() {
    let out = greeted(None, Greeter(Some("Welcome to Bella's!")));
    let first = &out.transcript[0];
    assert_eq!(
        (first.speaker, first.text.as_str(), first.step_order),
        (Speaker::Agent, "Welcome to Bella's!", 0)
    );
    assert_eq!(out.status, Status::Pass, "{:?}", out.steps);
    assert_eq!(out.transcript[2].text, "hi");
    // No `greeting` in the case: nothing checked, nothing said about it.
    assert!(out.greeting.is_none());
}

#[rstest]
#[case::met(json!(["welcome", ["how can i help", "bella s"]]), Greeter(Some("Welcome to Bella's!")), None)]
#[case::missing_keyword(json!(["welcome", "how can i help"]), Greeter(Some("Welcome to Bella's!")), Some("missing keywords: how can i help"))]
#[case::no_greeting(json!(["welcome"]), Greeter(None), Some("the agent did not greet (the case's `greeting` expects it to speak first); missing keywords: welcome"))]
#[case::any_greeting(json!([]), Greeter(Some("Hello?")), None)]
#[case::any_greeting_missing(json!([]), Greeter(None), Some("the agent did not greet (the case's `greeting` expects it to speak first)"))]
fn the_greeting_is_checked_when_the_case_has_one(
    #[case] greeting: serde_json::Value,
    #[case] agent: Greeter,
    #[case] failed: Option<&str>,
) {
    let out = greeted(Some(greeting), agent);
    let check = out.greeting.as_ref().unwrap();
    assert_eq!(check.details.as_deref(), failed);
    assert_eq!(check.passed, failed.is_none());
    let want = if failed.is_none() {
        Status::Pass
    } else {
        Status::Fail
    };
    assert_eq!(out.status, want);
    // The steps themselves are not shifted by the greeting.
    assert!(out.steps.iter().all(|s| s.passed), "{:?}", out.steps);
    if let Some(failed) = failed {
        assert_eq!(out.failures(), [format!("Greeting Failed: {failed}")]);
    }
}

#[test]
fn a_recorded_greeting_is_checked_too() {
    let mut value = common::script(TWO);
    value["greeting"] = json!(["welcome"]);
    value["transcript"] = json!([
        {"speaker": "agent", "text": "Hello?"},
        {"speaker": "user", "text": "Hello"}, {"speaker": "agent", "text": "hi"},
        {"speaker": "user", "text": "Need help"}, {"speaker": "agent", "text": "help"}
    ]);
    let out = common::run(&common::case(value));
    assert_eq!(
        out.greeting.unwrap().details.as_deref(),
        Some("missing keywords: welcome")
    );
    assert_eq!(out.status, Status::Fail);
}

#[rstest]
#[case::not_a_list(json!("welcome"), "greeting: expected")]
#[case::blank_keyword(json!(["welcome", " "]), "greeting[1]:")]
fn a_bad_greeting_is_a_loader_error(#[case] greeting: serde_json::Value, #[case] at: &str) {
    let mut value = common::script(TWO);
    value["greeting"] = greeting;
    let bytes = serde_json::to_vec(&value).unwrap();
    let err = voice_harness::parse_case("g.json", &bytes)
        .unwrap_err()
        .to_string();
    assert!(err.contains(at), "{err}");
}
