//! `voice-harness import` (docs/import.md): each platform's export becomes a case that loads
//! and passes through the crate's own pipeline, byte for byte the same on every run; bad
//! exports give errors that name the file, the JSON path and what was expected, and write
//! nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use voice_harness::import::{self, Platform};
use voice_harness::{BuiltinAgent, RunOptions, Status, parse_case, run_case};

const BIN: &str = env!("CARGO_BIN_EXE_voice-harness");

/// Each platform's fixtures (tests/import/<platform>/*.json).
const FIXTURES: &[(Platform, &str)] = &[
    (Platform::Vapi, "vapi/end_of_call_report.json"),
    (Platform::Vapi, "vapi/calls.json"),
    (Platform::Retell, "retell/call.json"),
    (Platform::LiveKit, "livekit/table_booking.json"),
    (Platform::ElevenLabs, "elevenlabs/conversation.json"),
];

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/import")
        .join(path)
}

/// The fixture's name as messages show it.
fn name(path: &str) -> String {
    format!("tests/import/{path}")
}

fn convert(platform: Platform, path: &str, as_script: bool) -> import::Imported {
    let bytes = std::fs::read(fixture(path)).unwrap();
    import::convert(&name(path), &bytes, platform, as_script).unwrap_or_else(|e| panic!("{e}"))
}

fn convert_err(platform: Platform, path: &str) -> import::ImportError {
    let bytes = std::fs::read(fixture(path)).unwrap();
    match import::convert(&name(path), &bytes, platform, false) {
        Ok(_) => panic!("{path} imported without an error"),
        Err(e) => e,
    }
}

/// Loads the case text as a case file and runs it with the agent it asks for.
fn run(file: &str, text: &str) -> voice_harness::Outcome {
    let case = parse_case(file, text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    run_case(
        &case,
        &mut BuiltinAgent::for_case(&case),
        &RunOptions::default(),
    )
}

#[test]
fn each_fixture_imports_to_cases_that_load_and_pass_and_are_snapshotted() {
    for &(platform, path) in FIXTURES {
        for as_script in [false, true] {
            let imported = convert(platform, path, as_script);
            assert!(!imported.cases.is_empty(), "{path}: no case");
            for case in &imported.cases {
                let outcome = run(&case.name, &case.text);
                assert_eq!(
                    (outcome.status, outcome.as_expected),
                    (Status::Pass, true),
                    "{}: {:?}",
                    case.name,
                    outcome.failures()
                );
                assert_eq!(outcome.steps.len(), case.turns);
                insta::assert_snapshot!(case.name.trim_end_matches(".json"), case.text);
            }
            // Deterministic: the same export gives the same bytes.
            assert_eq!(convert(platform, path, as_script), imported, "{path}");
        }
    }
}

#[test]
fn recorded_cases_keep_timing_tools_keypad_and_interruptions() {
    // Vapi: latency = the reply's `time` minus the caller line's `endTime`; the greeting has
    // none; tool rows carry the parsed arguments and result.
    let vapi = &convert(Platform::Vapi, "vapi/end_of_call_report.json", false).cases[0];
    let case = parse_case("vapi", vapi.text.as_bytes()).unwrap();
    let rows = case.transcript().unwrap();
    let latencies: Vec<Option<u64>> = rows
        .iter()
        .filter(|r| r.speaker() == voice_harness::case::Speaker::Agent)
        .map(|r| r.latency_ms())
        .collect();
    assert_eq!(latencies, [None, Some(1640), Some(870), Some(2040)]);
    let call = rows[2].call().unwrap();
    assert_eq!(call.name, "checkAvailability");
    assert_eq!(call.arguments["date"], "2025-12-09");
    assert_eq!(call.result["slots"][1], "14:00");
    // The caller's goodbye got no reply: kept in the transcript, not a turn.
    assert_eq!(rows.last().unwrap().text(), "Perfect, thank you. Bye!");
    assert_eq!(case.turns().len(), 3);

    // Retell: keys pressed one by one are one keypad turn; the reply after them has no
    // timestamps to measure from, so it gets Retell's own latency figure.
    let retell = &convert(Platform::Retell, "retell/call.json", false).cases[0];
    let case = parse_case("retell", retell.text.as_bytes()).unwrap();
    assert_eq!(
        case.turns()[1].act(),
        &voice_harness::case::CallerAct::Dtmf("4407#".to_owned())
    );
    let after_keys = case
        .transcript()
        .unwrap()
        .iter()
        .find(|r| r.text().starts_with("Thanks. Your refill"))
        .unwrap();
    assert_eq!(after_keys.latency_ms(), Some(1210));

    // LiveKit: the reply marked `interrupted` makes the next turn of the script barge in,
    // as long after the reply began as the caller did.
    let livekit = &convert(Platform::LiveKit, "livekit/table_booking.json", true).cases[0];
    let case = parse_case("livekit", livekit.text.as_bytes()).unwrap();
    assert_eq!(case.turns()[1].barge_in_after_ms(), Some(3540));
    assert_eq!(case.turns()[0].max_latency_ms(), Some(2600));

    // ElevenLabs: the agent said "upset", a default tone marker; it is left out so the case
    // passes as imported, and a warning says so.
    let imported = convert(Platform::ElevenLabs, "elevenlabs/conversation.json", false);
    let case = parse_case("el", imported.cases[0].text.as_bytes()).unwrap();
    assert_eq!(case.tone_markers(), ["angry", "refund", "complain"]);
    assert!(
        imported
            .warnings
            .iter()
            .any(|w| w.message.contains("tone marker \"upset\""))
    );
}

#[test]
fn recorded_cases_mark_the_replies_the_caller_cut_off() {
    // LiveKit and ElevenLabs say so (`interrupted`); on the Vapi call the caller began
    // before the reply ended. The row is marked, so the call counts it as a barge-in.
    let cut = [
        (
            Platform::LiveKit,
            "livekit/table_booking.json",
            "Seven is fully booked, but I can offer six thirty or a quarter past eight. Would either of",
        ),
        (
            Platform::ElevenLabs,
            "elevenlabs/conversation.json",
            "I'm sorry about that, I understand you're upset. There's an outage in your area, and it should be fixed by 6 PM. I can also add a credit for the downtime to your",
        ),
        (
            Platform::Vapi,
            "vapi/end_of_call_report.json",
            "I have nine thirty in the morning or two in the afternoon on Tuesday. Which works better for you?",
        ),
    ];
    for (platform, path, reply) in cut {
        let imported = &convert(platform, path, false).cases[0];
        let case = parse_case(&imported.name, imported.text.as_bytes()).unwrap();
        let marked: Vec<&str> = case
            .transcript()
            .unwrap()
            .iter()
            .filter(|r| r.interrupted())
            .map(|r| r.text())
            .collect();
        assert_eq!(marked, [reply], "{path}");
        let outcome = run(&imported.name, &imported.text);
        assert_eq!(outcome.metrics.voice.unwrap().interruptions, 1, "{path}");
    }
    // Retell's call was not cut off (its keypad turn still makes voice metrics).
    let retell = &convert(Platform::Retell, "retell/call.json", false).cases[0];
    assert!(!retell.text.contains("interrupted"));
    let voice = run(&retell.name, &retell.text).metrics.voice.unwrap();
    assert_eq!(voice.interruptions, 0);
}

#[test]
fn bad_exports_name_the_file_the_path_and_what_was_expected() {
    let mut out = String::new();
    let cases: &[(&str, Platform, &str)] = &[
        (
            "a Retell call given to --from vapi",
            Platform::Vapi,
            "retell/call.json",
        ),
        (
            "a Vapi report given to --from elevenlabs",
            Platform::ElevenLabs,
            "vapi/end_of_call_report.json",
        ),
        (
            "an ElevenLabs conversation given to --from livekit",
            Platform::LiveKit,
            "elevenlabs/conversation.json",
        ),
        (
            "a LiveKit history given to --from retell",
            Platform::Retell,
            "livekit/table_booking.json",
        ),
        (
            "truncated JSON",
            Platform::Retell,
            "bad/retell_truncated.json",
        ),
        (
            "timestamps out of order",
            Platform::Vapi,
            "bad/vapi_out_of_order.json",
        ),
        (
            "arguments that are not JSON",
            Platform::LiveKit,
            "bad/livekit_bad_arguments.json",
        ),
        (
            "an empty list of calls (found by the import fuzz target)",
            Platform::ElevenLabs,
            "bad/empty_list.json",
        ),
    ];
    for (what, platform, path) in cases {
        let error = convert_err(*platform, path);
        assert_eq!(error.file, name(path));
        out.push_str(&format!("# {what}\n{error}\n\n"));
    }
    // A message with no text is skipped with a warning naming it; the rest imports.
    let imported = convert(Platform::Vapi, "bad/vapi_empty_message.json", false);
    out.push_str("# a message with no text\n");
    for warning in &imported.warnings {
        out.push_str(&format!("{warning}\n"));
    }
    insta::assert_snapshot!("bad_exports", out);
}

#[test]
fn a_reply_whose_arguments_are_json_but_not_an_object_is_an_error() {
    let export = br#"{"call_id": "c1", "transcript_with_tool_calls": [
        {"role": "user", "content": "Hi", "words": []},
        {"role": "tool_call_invocation", "tool_call_id": "t1", "name": "lookup", "arguments": "[1, 2]"},
        {"role": "agent", "content": "Hello", "words": []}]}"#;
    let error = import::convert("x.json", export, Platform::Retell, false).unwrap_err();
    assert_eq!(
        error.at,
        import::Where::Path("transcript_with_tool_calls[1].arguments".to_owned())
    );
    assert!(error.found.contains("not an object"), "{error}");
}

#[test]
fn a_call_with_no_answered_caller_line_is_an_error() {
    let export = br#"{"conversation_id": "conv_1", "transcript": [
        {"role": "agent", "message": "Hello?", "time_in_call_secs": 0}]}"#;
    let error = import::convert("x.json", export, Platform::ElevenLabs, false).unwrap_err();
    assert!(
        error.to_string().contains("no caller line got a reply"),
        "{error}"
    );
}

fn voice_harness(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

#[test]
fn the_runner_imports_runs_and_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fixtures = fixture("");
    let fixtures = fixtures.to_str().unwrap();
    let vapi = format!("{fixtures}/vapi/end_of_call_report.json");
    let list = format!("{fixtures}/vapi/calls.json");

    let out = voice_harness(
        &["import", "--from", "vapi", &vapi, &list, "--out", "cases"],
        d,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        listing(&d.join("cases")),
        [
            "vapi_3f1c2b9e-8a47-4d1e-9c55-2b7e6f0a1d34.json",
            "vapi_a6e2d4c8-1b3f-4a5e-9d7c-0f2b4d6e8a1c.json",
            "vapi_b7f3e5d9-2c4a-4b6f-8e0d-1a3c5e7f9b2d.json"
        ]
    );
    // The imported cases pass in the runner, as they do in `cargo test`.
    let run = voice_harness(&["run", "cases"], d);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );

    // Again: the files are there, so nothing is written without --force.
    let path = d.join("cases/vapi_3f1c2b9e-8a47-4d1e-9c55-2b7e6f0a1d34.json");
    std::fs::write(&path, "edited by hand").unwrap();
    let again = voice_harness(&["import", "--from", "vapi", &vapi, "--out", "cases"], d);
    assert_eq!(again.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains(
            "cases/vapi_3f1c2b9e-8a47-4d1e-9c55-2b7e6f0a1d34.json: expected no case file there yet"
        ) && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "edited by hand");
    let forced = voice_harness(
        &[
            "import", "--from", "vapi", &vapi, "--out", "cases", "--force",
        ],
        d,
    );
    assert_eq!(forced.status.code(), Some(0));
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("{\n  \"test_id\"")
    );

    // Scripted cases: they load, and (replaying the call's own replies) pass.
    let script = voice_harness(
        &[
            "import",
            "--from",
            "vapi",
            &vapi,
            "--out",
            "scripts",
            "--as-script",
        ],
        d,
    );
    assert_eq!(script.status.code(), Some(0));
    let run = voice_harness(&["run", "scripts"], d);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
}

#[test]
fn one_bad_file_writes_nothing_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = fixture("livekit/table_booking.json");
    let bad = fixture("bad/livekit_bad_arguments.json");
    let out = voice_harness(
        &[
            "import",
            "--from",
            "livekit",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
            "--out",
            "cases",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "livekit_bad_arguments.json: items[3].arguments: expected the call's arguments"
        ) && stderr.contains("nothing was written to cases"),
        "{stderr}"
    );
    assert!(listing(&d.join("cases")).is_empty());
}

#[test]
fn times_at_the_ends_of_the_range_do_not_overflow() {
    // Seconds this large are nonsense, but an export is input: it gets a case or an error,
    // never a panic.
    let export = br#"{"items": [
        {"type": "message", "role": "user", "content": ["Hi"], "created_at": 1,
         "metrics": {"started_speaking_at": -1e300, "stopped_speaking_at": -1e300}},
        {"type": "message", "role": "assistant", "content": ["Hello"], "created_at": 2,
         "metrics": {"started_speaking_at": 1e300, "stopped_speaking_at": 1e300}},
        {"type": "message", "role": "user", "content": ["Bye"], "created_at": 3,
         "metrics": {"started_speaking_at": 1e300, "stopped_speaking_at": 1e300}},
        {"type": "message", "role": "assistant", "content": ["Bye"], "created_at": 4}]}"#;
    for as_script in [false, true] {
        let imported = import::convert("big.json", export, Platform::LiveKit, as_script).unwrap();
        let outcome = run("big.json", &imported.cases[0].text);
        assert_eq!(outcome.status, Status::Pass);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Any export with its numbers changed (times out of order, replies before the caller
    /// ended, ...) or cut short gives cases that load and pass, or an error: never a panic.
    #[test]
    fn damaged_exports_never_panic(
        which in 0..FIXTURES.len(),
        digits in proptest::collection::vec((0.0..1.0f64, 0u8..10), 1..8),
        cut in 0.0..1.0f64,
    ) {
        let (platform, path) = FIXTURES[which];
        let mut bytes = std::fs::read(fixture(path)).unwrap();
        let positions: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i].is_ascii_digit()).collect();
        for (at, digit) in digits {
            let i = positions[((positions.len() - 1) as f64 * at) as usize];
            bytes[i] = b'0' + digit;
        }
        if cut < 0.2 {
            bytes.truncate((bytes.len() as f64 * cut * 5.0) as usize);
        }
        if let Ok(imported) = import::convert("x.json", &bytes, platform, cut < 0.6) {
            for case in &imported.cases {
                let outcome = run(&case.name, &case.text);
                proptest::prop_assert!(outcome.as_expected);
            }
        }
    }
}

#[test]
fn the_same_call_twice_is_an_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cases");
    let file = fixture("retell/call.json");
    let errors =
        import::import(&[file.clone(), file], Platform::Retell, &out, false, false).unwrap_err();
    assert_eq!(errors.len(), 1);
    let error = errors[0].to_string();
    assert!(
        error.contains("expected one call per call id, found a second call that makes retell_call_5e0b1c7a94d24f3f8a6b2d10e4c7f918.json"),
        "{error}"
    );
    assert!(!out.exists());
}

#[test]
fn the_runner_says_what_it_wrote_skipped_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("exports")).unwrap();
    for (from, to) in [
        ("elevenlabs/conversation.json", "conversation.json"),
        ("livekit/table_booking.json", "table_booking.json"),
        ("retell/call.json", "retell_call.json"),
    ] {
        std::fs::copy(fixture(from), d.join("exports").join(to)).unwrap();
    }
    let mut shown = String::new();
    for args in [
        &[
            "import",
            "--from",
            "elevenlabs",
            "exports/conversation.json",
            "--out",
            "cases",
        ][..],
        &[
            "import",
            "--from",
            "livekit",
            "exports/table_booking.json",
            "--out",
            "cases",
            "--as-script",
        ],
        &[
            "import",
            "--from",
            "livekit",
            "exports/table_booking.json",
            "exports/retell_call.json",
            "--out",
            "cases",
        ],
    ] {
        let out = voice_harness(args, d);
        shown.push_str(&format!(
            "$ voice-harness {}\n[exit {}]\n{}{}\n",
            args.join(" "),
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        ));
    }
    insta::assert_snapshot!("runner_output", shown);
}

#[test]
fn keys_pressed_around_a_tool_call_are_one_spoken_turn() {
    // The zipper reads the two keypad rows as one caller run, "44 07#": as a turn that is
    // what was said, not a keypad entry (which has no spaces).
    let export = br##"{"call_id": "c2", "transcript_with_tool_calls": [
        {"role": "agent", "content": "Enter your number.", "words": []},
        {"role": "dtmf", "digit": "4"}, {"role": "dtmf", "digit": "4"},
        {"role": "tool_call_invocation", "tool_call_id": "t1", "name": "log", "arguments": "{}"},
        {"role": "tool_call_result", "tool_call_id": "t1", "content": "ok"},
        {"role": "dtmf", "digit": "0"}, {"role": "dtmf", "digit": "7"}, {"role": "dtmf", "digit": "#"},
        {"role": "agent", "content": "Thanks.", "words": []}]}"##;
    for as_script in [false, true] {
        let imported = import::convert("keys.json", export, Platform::Retell, as_script)
            .unwrap_or_else(|e| panic!("{e}"));
        let case = parse_case("keys.json", imported.cases[0].text.as_bytes()).unwrap();
        assert_eq!(case.turns()[0].user_input(), "44 07#");
        assert_eq!(
            run("keys.json", &imported.cases[0].text).status,
            Status::Pass
        );
    }
}

/// An agent that answers every caller line the same way and calls no tool: not the agent
/// the call was made with.
struct Unhelpful;

impl voice_harness::Agent for Unhelpful {
    async fn reply(
        &mut self,
        _: &voice_harness::CallerLine<'_>,
    ) -> Result<voice_harness::Reply, voice_harness::AgentError> {
        Ok(voice_harness::Reply::Say(
            "Sorry, I can't help with that.".into(),
        ))
    }
}

#[test]
fn a_scripted_import_holds_the_agent_it_is_bound_to_to_the_calls_it_made() {
    let imported = convert(Platform::Vapi, "vapi/end_of_call_report.json", true);
    let case = parse_case("script.json", imported.cases[0].text.as_bytes()).unwrap();
    let outcome = run_case(&case, &mut Unhelpful, &RunOptions::default());
    assert_eq!(outcome.status, Status::Fail);
    assert_eq!(outcome.metrics.failure_steps, [1, 3]);
    let failures = outcome.failures().join("\n");
    assert!(
        failures.contains("checkAvailability") && failures.contains("bookAppointment"),
        "{failures}"
    );
}

#[test]
fn imported_cases_pass_as_generated_cargo_tests() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cases/imported");
    for as_script in [false, true] {
        for &(platform, path) in FIXTURES {
            import::import(&[fixture(path)], platform, &out, as_script, false)
                .unwrap_or_else(|e| panic!("{}", e[0]));
        }
    }
    let config = common::harness_config(dir.path());
    let files = listing(&out);
    assert_eq!(files.len(), 12);
    for file in files {
        let result = voice_harness::__private::check_case_file(
            &config,
            &out.join(&file),
            BuiltinAgent::for_case,
            RunOptions::default,
            |_, _| {},
        );
        assert!(result.is_ok(), "{file}: {:?}", result.err());
    }
}

#[test]
fn a_blank_tool_name_is_an_error_and_a_blank_failure_still_loads() {
    let export = br#"{"items": [
        {"type": "message", "role": "user", "content": ["Book it"]},
        {"type": "function_call", "call_id": "c1", "name": " ", "arguments": "{}"},
        {"type": "message", "role": "assistant", "content": ["Done"]}]}"#;
    let error = import::convert("blank.json", export, Platform::LiveKit, false).unwrap_err();
    assert_eq!(error.at, import::Where::Path("items[1].name".to_owned()));

    // A failed call with an empty message: the mock's `error` must not be blank.
    let export = br#"{"items": [
        {"type": "message", "role": "user", "content": ["Book it"]},
        {"type": "function_call", "call_id": "c1", "name": "book", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "", "is_error": true},
        {"type": "message", "role": "assistant", "content": ["That failed"]}]}"#;
    for as_script in [false, true] {
        let imported = import::convert("failed.json", export, Platform::LiveKit, as_script)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(imported.cases[0].text.contains(r#""error": "error""#));
    }
}

/// Wraps the fixture's JSON as `shape` does ({} is where the fixture goes).
fn wrapped(path: &str, shape: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(fixture(path)).unwrap();
    shape.replace("{}", &text).into_bytes()
}

#[test]
fn each_platform_reads_its_other_shapes_of_export() {
    // (platform, fixture, shape, the cases' file names); no shape: the report message alone.
    let shapes: &[(Platform, &str, Option<&str>, &[&str])] = &[
        // Vapi: the report message alone, without the server message around it.
        (
            Platform::Vapi,
            "vapi/end_of_call_report.json",
            None,
            &["vapi_3f1c2b9e-8a47-4d1e-9c55-2b7e6f0a1d34.json"],
        ),
        // Retell: the `call_ended` webhook, and a list of calls.
        (
            Platform::Retell,
            "retell/call.json",
            Some(r#"{"event": "call_ended", "call": {}}"#),
            &["retell_call_5e0b1c7a94d24f3f8a6b2d10e4c7f918.json"],
        ),
        // LiveKit: a list of histories, named from the file and their place in it.
        (
            Platform::LiveKit,
            "livekit/table_booking.json",
            Some(r#"[{}, {}]"#),
            &["livekit_shape_0.json", "livekit_shape_1.json"],
        ),
        // ElevenLabs: the `post_call_transcription` webhook.
        (
            Platform::ElevenLabs,
            "elevenlabs/conversation.json",
            Some(
                r#"{"type": "post_call_transcription", "event_timestamp": 1764495941, "data": {}}"#,
            ),
            &["elevenlabs_conv_01jz6d2k4m7n9p1q3r5s7t9v1w.json"],
        ),
    ];
    for (platform, path, shape, names) in shapes {
        let bytes = match shape {
            Some(shape) => wrapped(path, shape),
            None => {
                let value: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(fixture(path)).unwrap()).unwrap();
                serde_json::to_vec(&value["message"]).unwrap()
            }
        };
        let imported = import::convert("exports/shape.json", &bytes, *platform, false)
            .unwrap_or_else(|e| panic!("{path} in {shape:?}: {e}"));
        let got: Vec<&str> = imported.cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(&got, names, "{path} in {shape:?}");
        for case in &imported.cases {
            assert_eq!(run(&case.name, &case.text).status, Status::Pass);
        }
    }

    // A Vapi server message of another type holds only a part of the call.
    let error = import::convert(
        "status.json",
        br#"{"message": {"type": "status-update", "status": "in-progress"}}"#,
        Platform::Vapi,
        false,
    )
    .unwrap_err();
    assert_eq!(error.at, import::Where::Path("message.type".to_owned()));
    assert!(
        error
            .to_string()
            .contains("expected \"end-of-call-report\""),
        "{error}"
    );
}

#[test]
fn vapi_turn_latencies_stand_in_for_missing_timestamps() {
    // The caller's lines have no `endTime`: the replies take Vapi's own turn latencies, in
    // order (the greeting is not a turn).
    let export = br#"{"id": "c9", "artifact": {
        "messages": [
            {"role": "bot", "message": "Hello!", "time": 1000, "endTime": 1900},
            {"role": "user", "message": "Hi, are you open?", "time": 2500},
            {"role": "bot", "message": "Yes, until six.", "time": 4100, "endTime": 5200},
            {"role": "user", "message": "Thanks.", "time": 6000},
            {"role": "bot", "message": "Bye!", "time": 7000, "endTime": 7400}],
        "performanceMetrics": {"turnLatencies": [
            {"modelLatency": 410, "voiceLatency": 230, "transcriberLatency": 90,
             "endpointingLatency": 300, "turnLatency": 1030},
            {"turnLatency": 880.4}]}}}"#;
    let imported = import::convert("c9.json", export, Platform::Vapi, false).unwrap();
    let case = parse_case("c9.json", imported.cases[0].text.as_bytes()).unwrap();
    let latencies: Vec<Option<u64>> = case
        .transcript()
        .unwrap()
        .iter()
        .filter(|r| r.speaker() == voice_harness::case::Speaker::Agent)
        .map(|r| r.latency_ms())
        .collect();
    assert_eq!(latencies, [None, Some(1030), Some(880)]);
}
