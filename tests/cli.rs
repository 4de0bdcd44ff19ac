//! The command-line runner, run as a real process on temp folders: exit codes, output, and
//! the JSON (SPEC §7) and JUnit reports.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_voice-harness");

fn write(dir: &Path, path: &str, text: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("cases")
            .join(name),
    )
    .unwrap()
}

/// A suite with every kind of case: passing, failing, negative, malformed, duplicated, nested.
fn mixed_suite() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "suite/billing_inquiry_v1.json",
        &sample("billing_inquiry_v1.json"),
    );
    write(
        d,
        "suite/nested/deeper/replay.json",
        &sample("replay/order_status_replay.json"),
    );
    write(
        d,
        "suite/negative.json",
        &sample("negative/missing_keyword_fails.json"),
    );
    write(
        d,
        "suite/bad.json",
        r#"{"test_id": "bad", "persona": "P", "turns": [{"step_order": 1, "user_inptu": "Hi"}]}"#,
    );
    write(d, "suite/not_json.json", "{ oops");
    let dup =
        r#"{"test_id": "dup", "persona": "P", "turns": [{"step_order": 1, "user_input": "Hi"}]}"#;
    write(d, "suite/dup_a.json", dup);
    write(d, "suite/nested/dup_b.json", dup);
    write(
        d,
        "suite/drifted.json",
        r#"{"test_id": "drifted", "persona": "P", "tags": ["smoke"],
            "agent": {"replay": ["Hello there", "I do not know"]},
            "turns": [{"step_order": 1, "user_input": "Hi", "expected_agent_response_keywords": ["hello"]},
                      {"step_order": 2, "user_input": "Help?", "expected_agent_response_keywords": ["help"]}]}"#,
    );
    write(d, "suite/notes.txt", "not a case");
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("COLUMNS", "100")
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

/// stdout with the elapsed time of the summary line replaced.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|line| match line.rfind(" (") {
            Some(i) if line.ends_with(" s)") => format!("{} ([time])", &line[..i]),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_sample_suite_passes() {
    // Counted, not pinned: adding a case to cases/ (as the README says to) must not break
    // the crate's own tests.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = run(root, &["run", "cases", "--json", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = &report["summary"];
    assert_eq!(summary["as_expected"], summary["total"]);
    assert_eq!(summary["errors"], 0);
    let files = voice_harness::report::CaseFiles::find(&[root.join("cases")]).unwrap();
    assert_eq!(summary["total"], files.len());
    assert!(files.len() >= 2, "the Python cases at least");
    assert!(
        text(&out.stderr).starts_with(&format!("{} cases: ", files.len())),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_mixed_suite_reports_every_case_and_exits_1() {
    let dir = mixed_suite();
    let out = run(
        dir.path(),
        &[
            "run",
            "suite",
            "--json",
            "report.json",
            "--junit",
            "report.xml",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("mixed_suite_stdout", text(&out.stdout));

    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    let files: Vec<&str> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "suite/bad.json",
            "suite/billing_inquiry_v1.json",
            "suite/drifted.json",
            "suite/dup_a.json",
            "suite/negative.json",
            "suite/nested/deeper/replay.json",
            "suite/nested/dup_b.json",
            "suite/not_json.json",
        ],
        "sorted by path, relative to the current directory, `/`-separated"
    );
    assert_eq!(
        report["summary"],
        serde_json::json!({"total": 8, "passed": 2, "failed": 2, "errors": 4, "as_expected": 3})
    );
    let keys: Vec<&str> = report["cases"][1]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "test_id",
        "file",
        "status",
        "as_expected",
        "error",
        "seed",
        "transcript",
        "truncated",
        "steps",
        "failures",
        "metrics",
        "tone_passed",
        "reason",
    ];
    expected.sort_unstable(); // serde_json::Value sorts keys
    assert_eq!(keys, expected);
    let drifted = &report["cases"][2];
    assert_eq!(drifted["status"], "fail");
    assert_eq!(
        drifted["failures"][0],
        "Step 2 Failed: missing keywords: help"
    );
    assert_eq!(report["cases"][0]["status"], "error");
    assert_eq!(report["cases"][0]["test_id"], "bad");
    assert!(
        report["cases"][0]["error"]
            .as_str()
            .unwrap()
            .contains("did you mean `user_input`?")
    );

    insta::assert_snapshot!(
        "mixed_suite_report",
        std::fs::read_to_string(dir.path().join("report.json")).unwrap()
    );
    insta::assert_snapshot!(
        "mixed_suite_junit",
        std::fs::read_to_string(dir.path().join("report.xml")).unwrap()
    );
}

#[test]
fn reports_are_identical_for_any_number_of_jobs() {
    let dir = mixed_suite();
    for jobs in ["1", "4"] {
        let out = run(
            dir.path(),
            &[
                "run",
                "suite",
                "-q",
                "--jobs",
                jobs,
                "--json",
                &format!("r{jobs}.json"),
                "--junit",
                &format!("r{jobs}.xml"),
            ],
        );
        assert_eq!(out.status.code(), Some(1));
    }
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    assert_eq!(read("r1.json"), read("r4.json"));
    assert_eq!(read("r1.xml"), read("r4.xml"));
}

#[test]
fn verbose_quiet_and_selection() {
    let dir = mixed_suite();
    // Files that cannot be loaded have unknown tags: they stay in a --tag run, never hidden.
    let tagged = run(dir.path(), &["run", "suite", "-v", "--tag", "smoke"]);
    let tagged = text(&tagged.stdout);
    // With -v a file that cannot be loaded shows every problem, as under `cargo test`.
    insta::assert_snapshot!("verbose_tagged", tagged);
    // Without -v, the first problem with its "did you mean" (not the list of every field
    // a turn may have), and how many more problems -v shows (#25).
    let plain = run(dir.path(), &["run", "suite", "--tag", "smoke"]);
    let first = text(&plain.stdout);
    let first = first.lines().next().unwrap();
    assert_eq!(
        first,
        "ERROR suite/bad.json (bad): turns[0]: unknown field `user_inptu`; did you mean `user_input`? (+1 more problem; -v shows it)"
    );
    let quiet = run(dir.path(), &["run", "suite", "-q"]);
    assert_eq!(
        text(&quiet.stdout),
        "8 cases: 2 passed, 2 failed, 4 errors; 5 not as expected ([time])"
    );
    let filtered = run(dir.path(), &["run", "suite", "-v", "--filter", "billing"]);
    assert_eq!(filtered.status.code(), Some(0));
    assert_eq!(
        text(&filtered.stdout),
        "ok    suite/billing_inquiry_v1.json (billing_inquiry_v1)\n1 case: 1 passed, 0 failed, 0 errors; all as expected ([time])"
    );
    let none = run(dir.path(), &["run", "suite", "--filter", "no-such-case"]);
    assert_eq!(none.status.code(), Some(2));
    assert_eq!(
        text(&none.stderr),
        "error: no case matched the selection (--filter / --tag) among 8 case files"
    );
}

#[test]
fn seed_overrides_every_case() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "c/x.json", &sample("disfluent_caller.json"));
    let report = |seed: &str| {
        let out = run(dir.path(), &["run", "c", "--seed", seed, "--json", "-"]);
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["cases"][0].clone()
    };
    let (a, b) = (report("1"), report("2"));
    assert_eq!((a["seed"].as_u64(), b["seed"].as_u64()), (Some(1), Some(2)));
    assert_ne!(a["transcript"], b["transcript"]);
    assert_eq!(report("1"), a);
}

#[test]
fn a_report_on_stdout_moves_the_summary_to_stderr() {
    let dir = mixed_suite();
    let out = run(dir.path(), &["run", "suite", "--json", "-"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is only the report");
    assert_eq!(report["summary"]["total"], 8);
    assert!(
        text(&out.stderr)
            .ends_with("8 cases: 2 passed, 2 failed, 4 errors; 5 not as expected ([time])")
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = mixed_suite();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let cases = [
        (
            vec!["run", "missing"],
            "error: no such file or folder: missing",
        ),
        (
            vec!["run", "empty"],
            "error: no case files (*.json) found in empty",
        ),
        (
            vec!["run", "suite", "--json", "no/such/dir/r.json"],
            "error: could not write the JSON report to no/such/dir/r.json",
        ),
        (
            vec!["run", "suite", "--json", "-", "--junit", "-"],
            "error: --json and --junit cannot both write to standard output",
        ),
        (
            vec!["run", "suite", "--bogus"],
            "error: unexpected argument '--bogus' found",
        ),
        (
            vec!["run"],
            "error: the following required arguments were not provided",
        ),
        // Problems that would fail every case are said once, before any call (issue #17).
        (
            vec!["run", "suite", "--agent-url", "127.0.0.1:8080/agent"],
            "error: --agent-url \"127.0.0.1:8080/agent\": expected a URL starting with http://, e.g. http://127.0.0.1:8080/agent",
        ),
        (
            vec!["run", "suite", "--agent-url", "https://example.test/agent"],
            "error: --agent-url https://example.test/agent: https is not supported; the runner speaks plain http",
        ),
        (
            vec![
                "run",
                "suite",
                "--agent-command",
                "no-such-agent-program --flag",
            ],
            "error: --agent-command: no program `no-such-agent-program` (not a file, and not found on PATH)",
        ),
        (
            vec!["run", "suite", "--agent-command", "./missing/agent.py"],
            "error: --agent-command: no program `./missing/agent.py`",
        ),
        // Values the parser rejects say what is expected.
        (
            vec!["run", "suite", "--seed", "abc"],
            "error: invalid value 'abc' for '--seed <N>': expected a whole number from 0 to 18446744073709551615 (a seed), found \"abc\"",
        ),
        (
            vec!["run", "suite", "--seed=-1"],
            "error: invalid value '-1' for '--seed <N>': expected a whole number from 0 to 18446744073709551615 (a seed), found \"-1\"",
        ),
        // An agent URL that cannot be parsed fails every case: said once, up front (#23.20).
        (
            vec!["run", "suite", "--agent-url", "http://[::1"],
            "error: --agent-url \"http://[::1\": not a URL (",
        ),
        (
            vec!["run", "suite", "--agent-url", "http://"],
            "error: --agent-url \"http://\": not a URL (",
        ),
        // Runs per seed past what anyone can wait for: refused, not a 4 GiB allocation.
        (
            vec!["sweep", "suite", "--seeds", "1", "--repeat", "4294967295"],
            "error: invalid value '4294967295' for '--repeat <K>': expected a whole number from 1 to 10000 (runs per seed), found \"4294967295\"",
        ),
        // The calls of such a sweep overflowed a u64 (a panic in a debug build) before the
        // selection said it matched nothing.
        (
            vec![
                "sweep",
                "suite",
                "--seeds",
                "18446744073709551615",
                "--repeat",
                "2",
                "--filter",
                "no-such-case",
            ],
            "error: no case matched the selection (--filter / --tag) among 8 case files",
        ),
        (
            vec!["run", "suite", "-j", "0"],
            "error: invalid value '0' for '--jobs <N>': expected a whole number of at least 1 (calls at a time), found \"0\"",
        ),
    ];
    for (args, message) in cases {
        let out = run(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).starts_with(message),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn help_documents_every_flag() {
    let out = run(Path::new("."), &["run", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    // The LLM flags exist only in a build with the `llm` feature.
    let name = if cfg!(feature = "llm") {
        "run_help_llm"
    } else {
        "run_help"
    };
    insta::assert_snapshot!(name, text(&out.stdout));
}

// ---- the faults of the review (issue #10): one path, so the runner and cargo test agree ----

fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args).current_dir(dir).env("COLUMNS", "100");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

/// A case of `turns` steps that the ideal agent passes.
fn long_case(turns: usize) -> String {
    let turns: Vec<Value> = (1..=turns)
        .map(|i| serde_json::json!({"step_order": i, "user_input": format!("Line {i}"), "expected_agent_response_keywords": ["ok"]}))
        .collect();
    serde_json::json!({"test_id": "long", "persona": "P", "turns": turns}).to_string()
}

#[test]
fn the_runner_honours_the_limits_of_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "c/three.json", &long_case(3));
    // Before: the runner passed a 3-turn case that `cargo test` failed at 2 rows.
    let out = run_env(
        dir.path(),
        &["run", "c", "--json", "r.json"],
        &[("MAX_TRANSCRIPT_SIZE", "2")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["cases"][0]["truncated"], true);
    assert_eq!(
        report["cases"][0]["failures"][0],
        "Step 2 Failed: the call was cut at 2 rows (MAX_TRANSCRIPT_SIZE); raise the limit to run it whole, e.g. MAX_TRANSCRIPT_SIZE=6"
    );
    // Before: a bad value was accepted silently.
    for (var, value) in [
        ("MAX_TRANSCRIPT_SIZE", "bogus"),
        ("VOICE_HARNESS_MAX_RUNS", "0"),
    ] {
        let out = run_env(dir.path(), &["run", "c"], &[(var, value)]);
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).lines().next().unwrap(),
            format!(
                "error: environment variable {var}: expected a whole number of at least 1, found {value:?}"
            )
        );
    }
}

#[test]
fn the_row_limit_hint_counts_the_greeting() {
    // Before: cut at 1 row (the greeting), the hint said 2, which still cut the call.
    let dir = tempfile::tempdir().unwrap();
    let mut case: Value = serde_json::from_str(&long_case(1)).unwrap();
    case["greeting"] = serde_json::json!([]);
    write(dir.path(), "c/greets.json", &case.to_string());
    let out = run_env(
        dir.path(),
        &["run", "c", "--json", "r.json"],
        &[("MAX_TRANSCRIPT_SIZE", "1")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(
        report["cases"][0]["failures"][0],
        "Step 1 Failed: the call was cut at 1 rows (MAX_TRANSCRIPT_SIZE); raise the limit to run it whole, e.g. MAX_TRANSCRIPT_SIZE=3"
    );
    // The hint is enough.
    let out = run_env(dir.path(), &["run", "c"], &[("MAX_TRANSCRIPT_SIZE", "3")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn a_cut_call_says_so_at_the_step_it_cut() {
    // Before: a 600-turn case failed at step 501 with "missing user input".
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "c/long.json", &long_case(600));
    let out = run(dir.path(), &["run", "c"]);
    assert_eq!(
        text(&out.stdout).lines().next().unwrap(),
        "FAIL  c/long.json (long): step 501 failed: the call was cut at 1000 rows (MAX_TRANSCRIPT_SIZE); raise the limit to run it whole, e.g. MAX_TRANSCRIPT_SIZE=2000"
    );
    let out = run_env(
        dir.path(),
        &["run", "c"],
        &[("MAX_TRANSCRIPT_SIZE", "2000")],
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_file_named_twice_is_one_file() {
    // Before: `run a.json ./a.json` reported it as a duplicate of nothing.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "c/a.json", &sample("billing_inquiry_v1.json"));
    let out = run(dir.path(), &["run", "c/a.json", "./c/a.json", "c"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).starts_with("1 case: 1 passed"));
}

#[test]
fn a_negative_test_that_fails_differently_says_expected_and_got() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "c/neg.json",
        r#"{"test_id": "neg", "persona": "P", "expect": {"status": "fail", "failure_steps": [2]},
            "agent": {"replay": ["nope", "nope"]},
            "turns": [{"step_order": 1, "user_input": "Hi", "expected_agent_response_keywords": ["hello"]},
                      {"step_order": 2, "user_input": "Bye", "expected_agent_response_keywords": ["bye"]}]}"#,
    );
    let out = run(dir.path(), &["run", "c", "--junit", "r.xml"]);
    let line = "FAIL  c/neg.json (neg): expected fail, failing steps [2]; got fail, failing steps [1, 2]; step 1 failed: missing keywords: hello";
    assert_eq!(text(&out.stdout).lines().next().unwrap(), line);
    let junit = std::fs::read_to_string(dir.path().join("r.xml")).unwrap();
    assert!(junit.contains(r#"message="expected fail, failing steps [2]; got fail, failing steps [1, 2]; step 1 failed: missing keywords: hello""#), "{junit}");
}

#[test]
fn one_file_for_both_reports_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "c/a.json", &sample("billing_inquiry_v1.json"));
    for (json, junit) in [("r", "r"), ("r", "./r")] {
        let out = run(dir.path(), &["run", "c", "--json", json, "--junit", junit]);
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            text(&out.stderr),
            "error: --json and --junit name the same file; give each report its own"
        );
    }
    assert!(!dir.path().join("r").exists(), "nothing was written");
}

#[test]
fn a_panic_while_building_an_agent_is_that_cases_error() {
    use voice_harness::report::{CaseFiles, ReportStatus, SuiteOptions, run_suite};
    // Before: the panic ended the whole run.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "c/a.json", &sample("billing_inquiry_v1.json"));
    write(
        dir.path(),
        "c/b.json",
        &sample("appointment_booking_v1.json"),
    );
    let files = CaseFiles::find(&[dir.path().join("c")]).unwrap();
    let mut reports = Vec::new();
    let summary = run_suite(
        &files,
        &SuiteOptions::default(),
        |case: &voice_harness::Case| {
            assert_ne!(
                case.test_id(),
                "billing_inquiry_v1",
                "no licence for this one"
            );
            voice_harness::BuiltinAgent::for_case(case)
        },
        || {},
        |report| reports.push((report.status, report.error.clone())),
    );
    assert_eq!((summary.total, summary.passed, summary.errors), (2, 1, 1));
    let (status, error) = &reports[0];
    assert_eq!(*status, ReportStatus::Error);
    assert!(
        error.as_deref().unwrap().starts_with(
            "the agent could not be built for this case: it panicked: assertion `left != right` failed: no licence for this one"
        ),
        "{error:?}"
    );
}

#[test]
fn reports_rendered_on_the_workers_are_the_bytes_written_in_order() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use voice_harness::report::{
        CaseFiles, CaseJson, JsonReportWriter, SuiteOptions, run_suite_with,
    };
    let files = CaseFiles::find(&[std::path::PathBuf::from("cases")]).unwrap();
    let mut options = SuiteOptions::default();
    // A selection: a case left out is not rendered.
    options.filter = Some("billing".to_owned());
    options.jobs = std::num::NonZeroUsize::new(4);
    let rendered = AtomicUsize::new(0);
    let mut ahead = JsonReportWriter::new(Vec::new()).unwrap();
    let mut in_order = JsonReportWriter::new(Vec::new()).unwrap();
    let summary = run_suite_with(
        &files,
        &options,
        voice_harness::BuiltinAgent::for_case,
        |case| {
            rendered.fetch_add(1, Ordering::Relaxed);
            CaseJson::of(case)
        },
        || {},
        |case, line| {
            ahead.rendered(&line.unwrap()).unwrap();
            in_order.case(&case).unwrap();
        },
    );
    assert!(
        summary.total >= 2 && summary.total < files.len(),
        "{summary:?}"
    );
    assert_eq!(rendered.load(Ordering::Relaxed), summary.total);
    let meta = files.meta(None);
    let ahead = ahead.finish(&summary, &meta).unwrap();
    let in_order = in_order.finish(&summary, &meta).unwrap();
    assert_eq!(
        String::from_utf8(ahead).unwrap(),
        String::from_utf8(in_order).unwrap()
    );
}

#[test]
fn a_panic_in_render_ends_the_run_instead_of_hanging_it() {
    use voice_harness::report::{CaseFiles, SuiteOptions, run_suite_with};
    let files = CaseFiles::find(&[std::path::PathBuf::from("cases")]).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = std::panic::catch_unwind(|| {
            run_suite_with(
                &files,
                &SuiteOptions::default(),
                voice_harness::BuiltinAgent::for_case,
                |case| assert!(!case.file.contains("billing"), "a bug in render"),
                || {},
                |_, ()| {},
            )
        });
        let _ = tx.send(result.is_err());
    });
    // The loop that hands reports on must not wait forever for a job that panicked.
    let panicked = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the run ended");
    assert!(panicked, "the panic reached the caller");
}

#[test]
fn slow_and_out_of_order_calls_are_handed_on_in_file_order_every_one_counted() {
    use voice_harness::report::{CaseFiles, SuiteOptions, run_suite};
    let dir = tempfile::tempdir().unwrap();
    let case: Value = serde_json::from_str(&sample("billing_inquiry_v1.json")).unwrap();
    // More files than the window of calls started ahead, and more than one wake's worth.
    let n = 1500;
    for i in 0..n {
        let mut case = case.clone();
        case["test_id"] = Value::from(format!("c{i:04}"));
        write(dir.path(), &format!("c/{i:04}.json"), &case.to_string());
    }
    let files = CaseFiles::find(&[dir.path().join("c")]).unwrap();
    let mut options = SuiteOptions::default();
    options.jobs = std::num::NonZeroUsize::new(3);
    let (mut progress, mut ids) = (0, Vec::new());
    let summary = run_suite(
        &files,
        &options,
        |case: &voice_harness::Case| {
            // A few slow calls hold the ones after them; others finish out of order.
            let i: usize = case.test_id()[1..].parse().unwrap();
            if i % 400 == 7 {
                std::thread::sleep(std::time::Duration::from_millis(250));
            } else if i % 3 == 0 {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            voice_harness::BuiltinAgent::for_case(case)
        },
        || progress += 1,
        |report| ids.push(report.test_id.unwrap()),
    );
    assert_eq!((summary.total, summary.passed), (n, n));
    assert_eq!(progress, n, "every file is counted once");
    let expected: Vec<String> = (0..n).map(|i| format!("c{i:04}")).collect();
    assert_eq!(ids, expected, "in file order, none lost or repeated");
}

#[test]
fn the_runner_takes_a_slow_replayed_reply_as_cargo_test_does() {
    // Before: the runner's agent wrapper hid that built-in agents are not timed, so a
    // replayed 12 s reply failed with "no reply within 10 s" there and passed under
    // `cargo test` (tests/agents.rs).
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "c/slow.json",
        r#"{"test_id": "slow", "persona": "P",
            "agent": {"replay": [{"text": "hello there", "latency_ms": 12000}]},
            "turns": [{"step_order": 1, "user_input": "Hi", "expected_agent_response_keywords": ["hello"]}]}"#,
    );
    let out = run(dir.path(), &["run", "c", "-q", "--json", "-"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let case = &report["cases"][0];
    assert_eq!(case["status"], "pass", "{case}");
    assert_eq!(case["steps"][0]["latency_ms"], 12000);
}

#[test]
fn a_report_replaces_an_old_one_writes_through_a_link_and_keeps_a_read_only_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "c/a.json", &sample("billing_inquiry_v1.json"));
    let report = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();
    // An old report, larger than the new one: replaced whole.
    write(d, "old.json", &"x".repeat(100_000));
    let out = run(d, &["run", "c", "-q", "--json", "old.json"]);
    assert!(out.status.success(), "{}", report(&out));
    let text = std::fs::read_to_string(d.join("old.json")).unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_ok(), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Through a link: the link stays, its target gets the report.
        write(d, "target.json", "old");
        std::os::unix::fs::symlink(d.join("target.json"), d.join("link.json")).unwrap();
        let out = run(d, &["run", "c", "-q", "--json", "link.json"]);
        assert!(out.status.success(), "{}", report(&out));
        assert!(d.join("link.json").symlink_metadata().unwrap().is_symlink());
        let text = std::fs::read_to_string(d.join("target.json")).unwrap();
        assert!(serde_json::from_str::<Value>(&text).is_ok(), "{text}");
        // A read-only report is not replaced behind the user's back (root may write it).
        write(d, "locked.json", "keep");
        let locked = d.join("locked.json");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o444)).unwrap();
        let out = run(d, &["run", "c", "-q", "--json", "locked.json"]);
        // The same file (a new one would not be read-only): refused, or written by root.
        let mode = std::fs::symlink_metadata(&locked).unwrap().permissions();
        assert!(mode.readonly(), "the read-only file was replaced");
        if std::fs::read_to_string(&locked).unwrap() == "keep" {
            assert_eq!(out.status.code(), Some(2));
            assert!(
                report(&out).contains("could not write the JSON report"),
                "{}",
                report(&out)
            );
        }
    }
}

/// A report written over one of the run's own case files would replace that case: refused
/// before anything is written, however the path is spelt (#23.11).
#[test]
fn a_report_path_that_is_a_case_file_of_the_run_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let case = sample("billing_inquiry_v1.json");
    write(d, "c/a.json", &case);
    write(
        d,
        "c/b.json",
        &case.replace("billing_inquiry_v1", "billing_b"),
    );
    let absolute = d.join("c/a.json").canonicalize().unwrap();
    let absolute = absolute.to_str().unwrap();
    let mut attempts = vec![
        vec!["run", "c", "--json", "c/a.json"],
        vec!["run", "c", "--junit", "./c/../c/b.json"],
        vec!["run", "c/a.json", "c/b.json", "--json", absolute],
        vec!["sweep", "c", "--seeds", "2", "--json", "c/b.json"],
    ];
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(d.join("c/a.json"), d.join("link.json")).unwrap();
        attempts.push(vec!["run", "c", "--json", "link.json"]);
    }
    for args in attempts {
        let out = run(d, &args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: --json ") || stderr.starts_with("error: --junit "),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("is the case file c/a.json of this run")
                || stderr.contains("is the case file c/b.json of this run"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("give the report another path"), "{stderr}");
        assert_eq!(std::fs::read_to_string(d.join("c/a.json")).unwrap(), case);
        assert!(
            std::fs::read_to_string(d.join("c/b.json"))
                .unwrap()
                .contains("billing_b")
        );
    }
    // Another file beside them is fine.
    let out = run(d, &["run", "c", "-q", "--json", "c/report.txt"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// `sweep -q`, like `run -q`, prints only the summary line: not a table header without rows.
#[test]
fn a_quiet_sweep_prints_only_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "c/a.json", &sample("billing_inquiry_v1.json"));
    let out = run(d, &["sweep", "c", "--seeds", "3", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "1 case: 1 passed, 0 failed, 0 errors; all as expected ([time])"
    );
    // Without -q the table has its header and a row per case.
    let out = run(d, &["sweep", "c", "--seeds", "3"]);
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(
        stdout.lines().nth(1).unwrap().contains("c/a.json"),
        "{stdout}"
    );
}

/// An interrupted run's report (`run.interrupted`, #23.10) lacks the cases that had not
/// finished: `merge` refuses it rather than call the shards a whole run.
#[test]
fn merge_refuses_the_report_of_an_interrupted_shard() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "c/a.json", &sample("billing_inquiry_v1.json"));
    write(
        d,
        "c/b.json",
        &sample("billing_inquiry_v1.json").replace("billing_inquiry_v1", "billing_b"),
    );
    for k in ["1/2", "2/2"] {
        let out = run(
            d,
            &[
                "run",
                "c",
                "-q",
                "--shard",
                k,
                "--json",
                &format!("{}.json", &k[..1]),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let out = run(d, &["merge", "1.json", "2.json", "--json", "all.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shard = std::fs::read_to_string(d.join("2.json")).unwrap();
    assert!(
        !shard.contains("interrupted"),
        "a whole shard says nothing of it"
    );
    let interrupted = shard.replace(
        "\"shard\":\"2/2\"",
        "\"shard\":\"2/2\",\"interrupted\":true",
    );
    assert_ne!(interrupted, shard);
    std::fs::write(d.join("2.json"), interrupted).unwrap();
    let out = run(d, &["merge", "1.json", "2.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: 2.json is the report of an interrupted run: it lacks the cases that had not finished. Run that shard again, then merge"
    );
}

/// An agent URL nobody listens on is one usage error before any call (#25), not a
/// `connection refused` in every case: one bounded connect probe per protocol.
#[test]
fn an_agent_url_nobody_listens_on_is_a_usage_error() {
    let dir = mixed_suite();
    // A port that was just free: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (flag, url) in [
        ("--agent-url", format!("http://127.0.0.1:{port}/agent")),
        ("--agent-openai", format!("http://127.0.0.1:{port}/v1")),
        (
            "--agent-retell",
            format!("ws://127.0.0.1:{port}/llm-websocket"),
        ),
    ] {
        let out = run(
            dir.path(),
            &["run", "suite/billing_inquiry_v1.json", flag, &url],
        );
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stderr),
            format!(
                "error: {flag} {url}: nothing listens on 127.0.0.1:{port}: start the agent \
                 first, or check the port"
            )
        );
        assert!(out.stdout.is_empty(), "no case ran");
    }
}

/// A suite whose failures each show a part of the exchange: a scripted step with a tool
/// call, a misheard line, a reply cut by a barge-in, keypad tones and silence, a rules case
/// with two failed checks, and a negative case that fails as expected.
fn exchange_suite() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "suite/a_tools.json",
        r#"{"test_id": "tools", "persona": "P",
            "tools": {"lookup_order": [{"match": {"order_id": "5512"}, "result": {"eta": "Friday"}}]},
            "agent": {"replay": ["Sure, what is the order number?",
              {"text": "I could not find that order.",
               "tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "5513"}}]}]},
            "turns": [
              {"step_order": 1, "user_input": "Where is my order?", "expected_agent_response_keywords": ["open"]},
              {"step_order": 2, "user_input": "It's 5512.",
               "expected_agent_response_keywords": ["friday"],
               "expected_tool_calls": [{"name": "lookup_order", "arguments": {"order_id": 5512}}]}]}"#,
    );
    write(
        d,
        "suite/b_misheard.json",
        r#"{"test_id": "misheard", "persona": "P",
            "agent": {"replay": ["Booked: a table for four at seven. This sentence is long on purpose, so that the runner has to shorten it where it shows the reply under the failing line of the case."]},
            "turns": [{"step_order": 1, "user_input": "A table for two at seven.",
              "said": "A table for two at seven.", "heard": "a table four two at seven",
              "expected_agent_response_keywords": [["for two", "for 2"]]}]}"#,
    );
    write(
        d,
        "suite/c_barge_in.json",
        r#"{"test_id": "barge_in", "persona": "P", "speech_wpm": 150,
            "agent": {"replay": [
              "This call is recorded for quality. Our terms of service apply to every order, and you can ask for a copy at any time.",
              "Of course, let me look up your order."]},
            "turns": [
              {"step_order": 1, "user_input": "Hi, it's about my order.", "expected_agent_response_keywords": ["copy"]},
              {"step_order": 2, "user_input": "Yes yes, my order please.", "barge_in_after_ms": 2000}]}"#,
    );
    let rules = sample("rules/booking_in_any_order.json")
        .replace(
            r#""mentions": ["booked", "k7q2"]"#,
            r#""mentions": ["booked", "receipt"]"#,
        )
        .replace(r#""ended_by": "caller""#, r#""ended_by": "agent""#);
    write(d, "suite/d_rules.json", &rules);
    write(
        d,
        "suite/d_silence.json",
        r#"{"test_id": "silence", "persona": "P",
            "agent": {"replay": ["Please enter your PIN.", "Thank you.", "Are you there?"]},
            "turns": [
              {"step_order": 1, "user_input": "My balance, please.", "expected_agent_response_keywords": ["pin"]},
              {"step_order": 2, "dtmf": "4521#", "expected_agent_response_keywords": ["verified"]},
              {"step_order": 3, "silence_ms": 6000, "expected_agent_response_keywords": ["still there"]}]}"#,
    );
    write(
        d,
        "suite/e_negative.json",
        &sample("negative/missing_keyword_fails.json"),
    );
    dir
}

/// A failing case shows the exchange of its first failing step under its line; -v shows
/// every failed step and every failed outcome check; -q none of it (#25). The reports do
/// not change.
#[test]
fn a_failure_shows_the_exchange_of_its_step() {
    let dir = exchange_suite();
    let plain = run(dir.path(), &["run", "suite", "--json", "plain.json"]);
    assert_eq!(plain.status.code(), Some(1));
    insta::assert_snapshot!("exchange_stdout", text(&plain.stdout));
    let verbose = run(
        dir.path(),
        &["run", "suite", "-v", "--json", "verbose.json"],
    );
    assert_eq!(verbose.status.code(), Some(1));
    insta::assert_snapshot!("exchange_verbose_stdout", text(&verbose.stdout));
    let quiet = run(dir.path(), &["run", "suite", "-q"]);
    assert_eq!(
        text(&quiet.stdout),
        "6 cases: 0 passed, 6 failed, 0 errors; 5 not as expected ([time])"
    );
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    assert_eq!(read("plain.json"), read("verbose.json"));
}
