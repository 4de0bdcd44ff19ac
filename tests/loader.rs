//! SPEC §2 loader rules: one row per rule, each error message snapshot-tested.

use rstest::rstest;
use voice_harness::case::Location;
use voice_harness::{Status, load_case, parse_case};

const TURN: &str =
    r#"{"step_order": 1, "user_input": "Hi", "expected_agent_response_keywords": ["hello"]}"#;

/// A valid case with `extra` top-level fields spliced in.
fn with(extra: &str) -> String {
    format!(r#"{{"test_id": "t", "persona": "P", {extra} "turns": [{TURN}]}}"#)
}

#[rstest]
#[case::not_json("not_json", "{ this is not json".to_owned())]
#[case::trailing_comma("trailing_comma", "{\"test_id\": \"t\",\n  \"persona\": \"P\",\n}".to_owned())]
#[case::empty_file("empty_file", String::new())]
#[case::top_level_array("top_level_array", "[1, 2]".to_owned())]
#[case::duplicate_key("duplicate_key", "{\"test_id\": \"a\",\n \"persona\": \"P\",\n \"test_id\": \"b\", \"turns\": []}".to_owned())]
#[case::missing_everything("missing_everything", "{}".to_owned())]
#[case::unknown_field_near_miss("unknown_field_near_miss", r#"{"test_id": "t", "persona": "P", "turns": [{"step_order": 1, "user_inptu": "Hi"}]}"#.to_owned())]
#[case::unknown_field_far("unknown_field_far", with(r#""colour": "blue","#))]
#[case::unknown_top_level_near_miss(
    "unknown_top_level_near_miss",
    with(r#""tone_marker": ["x"],"#)
)]
#[case::test_id_bad_char("test_id_bad_char", r#"{"test_id": "billing inquiry", "persona": "P", "turns": []}"#.to_owned())]
#[case::test_id_empty("test_id_empty", with("").replace(r#""test_id": "t""#, r#""test_id": """#))]
#[case::test_id_too_long("test_id_too_long", with("").replace(r#""test_id": "t""#, &format!(r#""test_id": "{}""#, "x".repeat(129))))]
#[case::test_id_number("test_id_number", with("").replace(r#""test_id": "t""#, r#""test_id": 7"#))]
#[case::persona_blank("persona_blank", with("").replace(r#""persona": "P""#, r#""persona": "   ""#))]
#[case::turns_empty("turns_empty", r#"{"test_id": "t", "persona": "P", "turns": []}"#.to_owned())]
#[case::turns_not_list("turns_not_list", r#"{"test_id": "t", "persona": "P", "turns": {"step_order": 1}}"#.to_owned())]
#[case::step_order_gap("step_order_gap", format!(r#"{{"test_id": "t", "persona": "P", "turns": [{TURN}, {}, {}]}}"#, TURN.replace("1,", "2,"), TURN.replace("1,", "4,")))]
#[case::step_order_zero("step_order_zero", with("").replace(r#""step_order": 1"#, r#""step_order": 0"#))]
#[case::step_order_string("step_order_string", with("").replace(r#""step_order": 1"#, r#""step_order": "1""#))]
#[case::step_order_float("step_order_float", with("").replace(r#""step_order": 1"#, r#""step_order": 1.5"#))]
#[case::step_order_negative("step_order_negative", with("").replace(r#""step_order": 1"#, r#""step_order": -1"#))]
#[case::user_input_blank("user_input_blank", with("").replace(r#""user_input": "Hi""#, r#""user_input": "" "#))]
#[case::keyword_without_token("keyword_without_token", with("").replace(r#"["hello"]"#, r#"["hello", "?!", 3]"#))]
#[case::keywords_not_list("keywords_not_list", with("").replace(r#"["hello"]"#, r#""hello""#))]
#[case::exact_without_phrase("exact_without_phrase", r#"{"test_id": "t", "persona": "P", "turns": [{"step_order": 1, "user_input": "Hi", "exact_match_required": true}]}"#.to_owned())]
#[case::exact_not_bool("exact_not_bool", with("").replace(r#"["hello"]"#, r#"["hello"], "exact_match_required": "yes""#))]
#[case::forbidden_without_token("forbidden_without_token", with("").replace(r#"["hello"]"#, r#"["hello"], "forbidden_keywords": ["..."]"#))]
#[case::max_latency_negative("max_latency_negative", with("").replace(r#"["hello"]"#, r#"["hello"], "max_latency_ms": -5"#))]
#[case::seed_negative("seed_negative", with(r#""seed": -1,"#))]
#[case::seed_too_big("seed_too_big", with(r#""seed": 18446744073709551616,"#))]
#[case::disfluency_above_one(
    "disfluency_above_one",
    with(r#""caller": {"disfluency_rate": 1.5},"#)
)]
#[case::disfluency_not_number(
    "disfluency_not_number",
    with(r#""caller": {"disfluency_rate": "high"},"#)
)]
#[case::caller_unknown("caller_unknown", with(r#""caller": {"disfluency": 0.1},"#))]
#[case::replay_bad_item(
    "replay_bad_item",
    with(r#""agent": {"replay": ["ok", 42, {"txt": "x"}]},"#)
)]
#[case::agent_and_transcript(
    "agent_and_transcript",
    with(r#""agent": {"replay": []}, "transcript": [],"#)
)]
#[case::transcript_bad_speaker(
    "transcript_bad_speaker",
    with(r#""transcript": [{"speaker": "bot", "text": "hi"}, {"speaker": "user"}],"#)
)]
#[case::tone_markers_blank("tone_markers_blank", with(r#""tone_markers": ["angry", " "],"#))]
#[case::expect_bad_status("expect_bad_status", with(r#""expect": {"status": "passed"},"#))]
#[case::expect_steps_out_of_range(
    "expect_steps_out_of_range",
    with(r#""expect": {"status": "fail", "failure_steps": [2]},"#)
)]
#[case::expect_steps_unsorted("expect_steps_unsorted", format!(r#"{{"test_id": "t", "persona": "P", "expect": {{"status": "fail", "failure_steps": [2, 1]}}, "turns": [{TURN}, {}]}}"#, TURN.replace("1,", "2,")))]
#[case::expect_pass_with_steps(
    "expect_pass_with_steps",
    with(r#""expect": {"status": "pass", "failure_steps": [1]},"#)
)]
#[case::tags_not_strings("tags_not_strings", with(r#""tags": ["ok", null],"#))]
#[case::many_problems_at_once("many_problems_at_once", r#"{"test_id": "a b", "persona": "", "seed": "x", "turns": [{"step_order": 2, "user_input": " ", "expected_agent_response_keywords": [""]}]}"#.to_owned())]
fn rule_errors_are_reported(#[case] name: &str, #[case] json: String) {
    let err = parse_case("cases/bad.json", json.as_bytes()).expect_err("the case must be rejected");
    insta::assert_snapshot!(name, err.to_string());
}

#[test]
fn did_you_mean_a_near_miss() {
    let err = parse_case(
        "cases/x.json",
        br#"{"test_id": "t", "persona": "P", "turns": [{"step_order": 1, "user_inptu": "Hi"}]}"#,
    )
    .unwrap_err();
    let problem = &err.problems()[0];
    assert_eq!(problem.location, Location::Path("turns[0]".into()));
    assert_eq!(problem.help.as_deref(), Some("did you mean `user_input`?"));
    assert!(
        err.to_string()
            .starts_with("invalid case file cases/x.json")
    );
}

#[test]
fn syntax_errors_have_line_and_column() {
    let err = parse_case("cases/x.json", b"{\n  \"test_id\": \"t\",\n  oops\n}").unwrap_err();
    assert_eq!(err.problems()[0].location, Location::LineColumn(3, 3));
}

#[test]
fn the_python_cases_load_unchanged() {
    // The Python project's files, pinned by length and FNV-1a hash, so this test means the
    // same on every machine: before, without `../shared` beside the repo, it compared the
    // copies in cases/ with themselves.
    let pinned = [
        ("billing_inquiry_v1.json", 711, 0x89a4_831b_b9e4_f15f_u64),
        ("appointment_booking_v1.json", 672, 0xf769_386d_5077_40b3),
    ];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (file, len, hash) in pinned {
        let bytes = std::fs::read(root.join("cases").join(file)).unwrap();
        assert_eq!(
            (bytes.len(), fnv1a(&bytes)),
            (len, hash),
            "cases/{file} changed"
        );
        // Where the originals are at hand (CI has them), they are the same bytes.
        if let Ok(original) = std::fs::read(root.join("../shared/python-original").join(file)) {
            assert_eq!(
                original, bytes,
                "cases/{file} differs from the Python original"
            );
        }
        let case = parse_case(file, &bytes).unwrap();
        assert_eq!(case.turns().len(), 3);
        assert!(case.turns().iter().all(|t| !t.exact_match_required()));
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[test]
fn every_optional_field_loads() {
    let case = parse_case(
        "full.json",
        br#"{
  "test_id": "billing_inquiry_v1", "persona": "Calm Customer", "description": "d",
  "tags": ["billing", "smoke"], "seed": 42, "caller": {"disfluency_rate": 0.15},
  "agent": {"replay": ["Let me review your account details.", {"text": "...", "latency_ms": 350}]},
  "tone_markers": ["angry"], "expect": {"status": "fail", "failure_steps": [1]},
  "turns": [{"step_order": 1, "user_input": "Hi", "expected_agent_response_keywords": ["account", "review"],
             "exact_match_required": false, "expected_agent_response": "optional exact reply",
             "forbidden_keywords": ["cancel"], "max_latency_ms": 800}]
}"#,
    )
    .unwrap();
    assert_eq!(case.seed(), 42);
    assert_eq!(case.disfluency_rate(), 0.15);
    assert_eq!(case.replay().as_ref().unwrap()[1].latency_ms(), 350);
    assert_eq!(case.expect().as_ref().unwrap().status(), Status::Fail);
    assert_eq!(case.turns()[0].max_latency_ms(), Some(800));
    assert_eq!(case.turns()[0].expected_phrase(), "optional exact reply");
}

#[test]
fn defaults_apply_when_fields_are_absent() {
    let case = parse_case("t.json", with("").as_bytes()).unwrap();
    assert_eq!(case.seed(), voice_harness::case::seed_for_test_id("t"));
    assert_eq!(case.disfluency_rate(), 0.0);
    assert_eq!(
        case.tone_markers(),
        voice_harness::case::DEFAULT_TONE_MARKERS
    );
    assert!(case.replay().is_none() && case.transcript().is_none() && case.expect().is_none());
    assert!(!case.turns()[0].exact_match_required());
}

#[test]
fn byte_order_mark_and_crlf_are_accepted() {
    let text = format!("\u{feff}{}", with("").replace('\n', "\r\n"));
    assert!(parse_case("t.json", text.as_bytes()).is_ok());
}

#[test]
fn file_level_errors() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; 1024 * 1024 + 1]).unwrap();
    let bad_utf8 = dir.path().join("latin1.json");
    std::fs::write(
        &bad_utf8,
        b"{\"test_id\": \"t\",\n \"persona\": \"Jos\xe9\"}",
    )
    .unwrap();
    let missing = dir.path().join("missing.json");

    let messages: Vec<String> = [&big, &bad_utf8, &missing]
        .iter()
        .map(|p| {
            load_case(p)
                .unwrap_err()
                .to_string()
                .replace(&*dir.path().to_string_lossy(), "[TMP]")
        })
        .collect();
    insta::assert_snapshot!("file_level_errors", messages.join("\n\n"));
    // Exactly at the limit is still read (and then judged as JSON).
    let edge = dir.path().join("edge.json");
    let mut bytes = with("").into_bytes();
    bytes.resize(1024 * 1024, b' ');
    std::fs::write(&edge, bytes).unwrap();
    assert!(load_case(&edge).is_ok());
}

#[test]
fn every_bad_failure_step_is_reported_with_sensible_bounds() {
    // Before: only the first bad entry, and "from 1 to 18446744073709551615" when `turns`
    // was itself invalid.
    let err = parse_case(
        "cases/x.json",
        br#"{"test_id": "t", "persona": "P", "expect": {"status": "fail", "failure_steps": [0, "two", 9, 3, 3]},
             "turns": [{"step_order": 1, "user_input": "Hi"}, {"step_order": 2, "user_input": "Bye"}, {"step_order": 3, "user_input": "Ok"}]}"#,
    )
    .unwrap_err();
    let messages: Vec<String> = err
        .problems()
        .iter()
        .map(|p| format!("{:?}: {}", p.location, p.message))
        .collect();
    assert_eq!(
        messages,
        [
            r#"Path("expect.failure_steps[0]"): expected a step from 1 to 3, found 0"#,
            r#"Path("expect.failure_steps[1]"): expected a whole number (0 or more), found the string "two""#,
            r#"Path("expect.failure_steps[2]"): expected a step from 1 to 3, found 9"#,
            r#"Path("expect.failure_steps[4]"): expected steps in ascending order without repeats, found 3 after 3"#,
        ]
    );
    let err = parse_case(
        "cases/x.json",
        br#"{"test_id": "t", "persona": "P", "expect": {"status": "fail", "failure_steps": [0, 4]}, "turns": "oops"}"#,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("expect.failure_steps[0]: expected a step number of at least 1, found 0"),
        "{text}"
    );
    assert!(!text.contains("18446744073709551615"), "{text}");
}

#[test]
fn every_malformed_tool_field_is_reported_with_its_path() {
    let err = parse_case(
        "cases/tools.json",
        br#"{"test_id": "t", "persona": "P",
             "tools": {
               " ": [],
               "Book": [{"match": {"time": "7"}, "result": {"ok": true}, "error": "busy"},
                        {"match": "7", "result": 1},
                        {"latency_ms": -5, "result": 1},
                        {"match": {}}],
               "Lookup": {"result": 1}
             },
             "agent": {"replay": [{"text": "ok", "tool_calls": [{"name": "", "arguments": {}}]}]},
             "turns": [{"step_order": 1, "user_input": "Hi",
                        "expected_tool_calls": [{"name": "Book", "arguments": [1]}, {"arguments": {}}, {"name": "Transfer"}],
                        "forbidden_tool_calls": ["", 3],
                        "expected_mentions": [{"tool": "Book", "path": ""}, {"tool": "Book", "path": "a..b"}, {"tool": "Nope", "path": "id"}]}]}"#,
    )
    .unwrap_err();
    insta::assert_snapshot!("malformed_tool_fields", err.to_string());
    let err = parse_case(
        "cases/tools.json",
        br#"{"test_id": "t", "persona": "P",
             "transcript": [{"speaker": "user", "text": "Hi"},
                            {"speaker": "tool", "name": "Book", "arguments": "x", "text": "no"},
                            {"speaker": "agent", "text": "ok", "result": {}}],
             "turns": [{"step_order": 1, "user_input": "Hi"}]}"#,
    )
    .unwrap_err();
    insta::assert_snapshot!("malformed_tool_rows", err.to_string());
    // With mocks, an expected call or a mention of a tool that has none can only fail.
    let err = parse_case(
        "cases/tools.json",
        br#"{"test_id": "t", "persona": "P",
             "tools": {"Book": [{"result": {"id": 1}}]},
             "turns": [{"step_order": 1, "user_input": "Hi",
                        "expected_tool_calls": [{"name": "Book"}, {"name": "Transfer"}],
                        "expected_mentions": [{"tool": "Lookup", "path": "id"}]}]}"#,
    )
    .unwrap_err();
    insta::assert_snapshot!("unmocked_tools", err.to_string());
}

#[test]
fn every_malformed_voice_field_is_reported_with_its_path() {
    let err = parse_case(
        "cases/voice.json",
        br#"{"test_id": "t", "persona": "P", "speech_wpm": 0,
             "turns": [
               {"step_order": 1, "user_input": "Hi", "barge_in_after_ms": 100},
               {"step_order": 2},
               {"step_order": 3, "user_input": "Hi", "silence_ms": 100},
               {"step_order": 4, "dtmf": "12x#"},
               {"step_order": 5, "dtmf": ""},
               {"step_order": 6, "silence_ms": -5},
               {"step_order": 7, "silence_ms": 1.5},
               {"step_order": 8, "silence_ms": 0},
               {"step_order": 9, "dtmf": "1", "barge_in_after_ms": 100},
               {"step_order": 10, "user_input": "Hi", "barge_in_after_ms": "soon"}
             ]}"#,
    )
    .unwrap_err();
    insta::assert_snapshot!("malformed_voice_fields", err.to_string());
}

#[test]
fn every_malformed_hearing_field_is_reported_with_its_path() {
    let err = parse_case(
        "cases/hearing.json",
        br#"{"test_id": "t", "persona": "P",
             "caller": {"asr": {"wer": 1.5}},
             "matching": {"numbers": "roman"},
             "turns": [
               {"step_order": 1, "user_input": "Hi",
                "expected_agent_response_keywords": [[], ["ok", "  "], {"regex": "(unclosed"}, {"regexp": "x"}],
                "forbidden_keywords": [{"regex": 3}]},
               {"step_order": 2, "silence_ms": 100, "heard": "hello"},
               {"step_order": 3, "user_input": "Hi", "said": "", "heard": " "},
               {"step_order": 4, "user_input": "Hi", "exact_match_required": true, "expected_agent_response_keywords": [["a", "b"]]}
             ]}"#,
    )
    .unwrap_err();
    insta::assert_snapshot!("malformed_hearing_fields", err.to_string());
    let err = parse_case("cases/hearing.json", br#"{"test_id": "t", "persona": "P", "caller": {"asr": {}}, "turns": [{"step_order": 1, "user_input": "Hi"}]}"#).unwrap_err();
    assert_eq!(
        err.problems()[0].message,
        "missing required field `wer` (the word error rate of the recognition noise, e.g. 0.1)"
    );
}

#[test]
fn sweep_fields_of_the_wrong_type_are_reported() {
    let err = parse_case(
        "cases/sweep.json",
        br#"{"test_id": "t", "persona": "P", "sweep": {"seeds": 0, "min_pass_rate": "high", "runs": 3},
             "turns": [{"step_order": 1, "user_input": "Hi"}]}"#,
    )
    .unwrap_err();
    insta::assert_snapshot!("malformed_sweep_fields", err.to_string());
    let err = parse_case("cases/sweep.json", br#"{"test_id": "t", "persona": "P", "sweep": 50, "turns": [{"step_order": 1, "user_input": "Hi"}]}"#).unwrap_err();
    assert_eq!(
        err.problems()[0].message,
        "expected an object, found the number 50"
    );
}

#[test]
fn every_malformed_rules_field_is_reported_with_its_path() {
    let err = parse_case(
        "cases/rules.json",
        br#"{"test_id": "t", "persona": "P",
             "caller": {"opening": "Hi", "max_turns": 0, "rules": [
               {"say": "Four"},
               {"when": ["how many"]},
               {"when": [""], "say": "Four"},
               {"when": ["x"], "say": "Bye", "then": "transfer"},
               {"when": [], "say": "x"}
             ]},
             "turns": [{"step_order": 1, "user_input": "Hi"}],
             "outcome": {"ended_by": "nobody", "max_turns": "many", "mentions": "booked", "tool_calls": [{"name": ""}]}}"#,
    )
    .unwrap_err();
    insta::assert_snapshot!("malformed_rules_fields", err.to_string());
    let err = parse_case(
        "cases/rules.json",
        br#"{"test_id": "t", "persona": "P", "outcome": {"ended_by": "caller"}, "turns": [{"step_order": 1, "user_input": "Hi"}]}"#,
    )
    .unwrap_err();
    insta::assert_snapshot!("outcome_without_rules", err.to_string());
    let err = parse_case(
        "cases/rules.json",
        br#"{"test_id": "t", "persona": "P", "caller": {"opening": "Hi", "rules": [{"when": "x", "say": "y"}]}}"#,
    )
    .unwrap_err();
    insta::assert_snapshot!("rules_without_outcome", err.to_string());
}

/// Without the `llm` feature, a case that needs an LLM is refused, saying how to get one.
#[cfg(not(feature = "llm"))]
#[test]
fn a_case_that_needs_an_llm_names_the_feature() {
    let err = parse_case(
        "cases/llm.json",
        br#"{"test_id": "t", "persona": "P", "caller": {"rephrase": "llm"},
             "turns": [{"step_order": 1, "user_input": "Hi", "judge": "The agent greets the caller"}]}"#,
    )
    .unwrap_err();
    insta::assert_snapshot!("needs_llm", err.to_string());
    // A runner user has no Cargo.toml to edit: the help says how to get a runner with the
    // feature too (#25).
    let help = err.problems()[0].help.as_deref().unwrap();
    assert!(help.contains("Cargo.toml"), "{help}");
    assert!(
        help.contains("cargo install --path . --features llm"),
        "{help}"
    );
}

/// A case without `turns` is told that a caller following rules needs none (#25).
#[test]
fn a_case_without_turns_is_told_a_rules_case_needs_none() {
    let err = parse_case("cases/t.json", br#"{"test_id": "t", "persona": "P"}"#).unwrap_err();
    let problem = &err.problems()[0];
    assert_eq!(
        problem.message,
        "missing required field `turns` (the scripted steps of the call)"
    );
    let help = problem.help.as_deref().unwrap_or_default();
    assert!(
        help.contains("`caller.rules`") && help.contains("docs/rules.md"),
        "{help:?}"
    );
}
