//! The LLM mode (feature `llm`) against a small fake OpenAI-compatible server on loopback:
//! record, then replay with the server stopped; CI mode; the judge's errors; timeouts.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use voice_harness::__private::check_case_file;
use voice_harness::llm::{LlmConfig, LockMode};
use voice_harness::{BuiltinAgent, RunOptions};

/// Answers the forced tool of each request: `verdict` passes when the conversation's last
/// agent line says "friday"; `say` puts "Well, " before the line. Magic words in the
/// criterion make it misbehave.
const SERVER: &str = r#"
import json, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        open(sys.argv[1], "a").write(req["model"] + "\n")
        tool = req["tool_choice"]["function"]["name"]
        text = req["messages"][-1]["content"]
        if "SLOW" in text: time.sleep(3)
        if "FAIL500" in text:
            return self.answer(500, b"overloaded")
        if "GARBAGE" in text:
            return self.answer(200, b"<html>not json</html>")
        if tool == "verdict":
            agent = [l for l in text.split("\n") if l.startswith("agent: ")][-1].lower()
            verdict = "maybe" if "BADSCHEMA" in text else ("pass" if "friday" in agent else "fail")
            args = {"verdict": verdict, "reason": "The agent %s the day." % ("names" if verdict == "pass" else "does not name")}
        else:
            args = {"line": "Well, " + text.split("Line: ", 1)[1]}
        body = {"choices": [{"message": {"tool_calls": [{"type": "function", "function": {"name": tool, "arguments": json.dumps(args)}}]}}]}
        self.answer(200, json.dumps(body).encode())
    def answer(self, status, body):
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

mod common;

/// The fake LLM server; it logs each request to `requests.log`.
fn server(dir: &Path) -> common::PythonServer {
    let log = dir.join("requests.log");
    common::PythonServer::start(dir, SERVER, &[&log], "/v1/chat/completions")
}

fn requests(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("requests.log")).map_or(0, |t| t.lines().count())
}

const CASE: &str = r#"{
  "test_id": "booking", "persona": "Busy Parent",
  "caller": {"rephrase": "llm"},
  "agent": {"replay": ["Sure, which day?", "Booked for Friday at nine."]},
  "turns": [
    {"step_order": 1, "user_input": "I'd like to book a table.", "expected_agent_response_keywords": ["which day"]},
    {"step_order": 2, "user_input": "Friday, please.", "judge": "The agent confirms the day of the booking"}
  ]
}"#;

static SNAPSHOTS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn record_snapshot(name: &str, contents: &str) {
    SNAPSHOTS
        .lock()
        .unwrap()
        .push((name.to_owned(), contents.to_owned()));
}

/// Runs `case` as a generated test would, in `dir`; the error text, and the snapshots.
fn check(dir: &Path, case: &str, llm: LlmConfig) -> (Result<(), String>, Vec<(String, String)>) {
    std::fs::create_dir_all(dir.join("cases")).unwrap();
    std::fs::write(dir.join("cases/booking.json"), case).unwrap();
    let config = common::harness_config(dir);
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    SNAPSHOTS.lock().unwrap().clear();
    let result = check_case_file(
        &config,
        &dir.join("cases/booking.json"),
        BuiltinAgent::for_case,
        move || {
            let mut options = RunOptions::default();
            options.llm = Some(llm.clone());
            options
        },
        record_snapshot,
    )
    .map_err(|e| e.to_string());
    (result, SNAPSHOTS.lock().unwrap().clone())
}

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn config(dir: &Path, url: Option<&str>, mode: LockMode) -> LlmConfig {
    let mut config = LlmConfig::from_env(dir).unwrap();
    config.url = url.map(str::to_owned);
    config.model = "tiny-test-model".into();
    config.mode = mode;
    config.timeout = Duration::from_secs(1);
    config
}

#[test]
fn record_then_replay_offline_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let (first, recorded) = check(
        dir.path(),
        CASE,
        config(dir.path(), Some(&server.url), LockMode::Record),
    );
    assert_eq!(first, Ok(()));
    assert_eq!(requests(dir.path()), 3, "two rephrasings and one verdict");
    let transcript = &recorded.iter().find(|(n, _)| n == "transcript").unwrap().1;
    assert!(
        transcript.contains("[1] user           Well, I'd like to book a table."),
        "{transcript}"
    );
    assert!(
        transcript.contains("step 2: pass\n  judge: pass: The agent names the day."),
        "{transcript}"
    );
    let lock = std::fs::read_to_string(dir.path().join("llm/cases/booking.json")).unwrap();
    assert!(
        lock.contains("\"kind\": \"judge\"") && lock.contains("\"kind\": \"rephrase\""),
        "{lock}"
    );
    // The server stops; the lock file answers, with no request, byte for byte.
    drop(server);
    let (again, replayed) = check(
        dir.path(),
        CASE,
        config(dir.path(), None, LockMode::Offline),
    );
    assert_eq!(again, Ok(()));
    assert_eq!(replayed, recorded);
    assert_eq!(requests(dir.path()), 3);
}

#[test]
fn ci_mode_with_a_missing_entry_says_how_to_record_it() {
    let dir = tempfile::tempdir().unwrap();
    let (result, _) = check(
        dir.path(),
        CASE,
        config(dir.path(), Some("http://127.0.0.1:9/"), LockMode::Offline),
    );
    let err = result.unwrap_err();
    assert!(
        err.starts_with("no recorded LLM answer for this request (rephrase, entry "),
        "{err}"
    );
    assert!(
        err.contains("of llm/cases/booking.json); run locally to record it"),
        "{err}"
    );
}

#[test]
fn no_endpoint_names_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let (result, _) = check(dir.path(), CASE, config(dir.path(), None, LockMode::Record));
    assert!(result.unwrap_err().starts_with(
        "an LLM is needed and none is configured: set VOICE_HARNESS_LLM_URL (or --llm-url)"
    ));
}

#[test]
fn a_failing_verdict_fails_the_step_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let case = CASE.replace("Booked for Friday at nine.", "Booked for nine.");
    let (result, snapshots) = check(
        dir.path(),
        &case,
        config(dir.path(), Some(&server.url), LockMode::Record),
    );
    let err = result.unwrap_err();
    assert!(
        err.contains("step 2 failed: judge: fail: The agent does not name the day."),
        "{err}"
    );
    let transcript = &snapshots.iter().find(|(n, _)| n == "transcript").unwrap().1;
    assert!(
        transcript.contains(
            "step 2: FAIL: judge: fail: The agent does not name the day.\n  judge: fail:"
        ),
        "{transcript}"
    );
}

#[test]
fn judge_errors_are_the_judges_not_the_agents() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    for (magic, expected) in [
        (
            "FAIL500",
            "answered HTTP 500 Internal Server Error: \"overloaded\"",
        ),
        ("GARBAGE", "the LLM's answer is not JSON"),
        ("BADSCHEMA", "the LLM judge's answer is outside its schema"),
        ("SLOW", "gave no answer within 1 s"),
    ] {
        let case = CASE
            .replace("\"caller\": {\"rephrase\": \"llm\"},", "")
            .replace("confirms the day", &format!("confirms the day {magic}"));
        let (result, _) = check(
            dir.path(),
            &case,
            config(dir.path(), Some(&server.url), LockMode::Record),
        );
        let err = result.unwrap_err();
        assert!(err.contains(expected), "{magic}: {err}");
        assert!(
            !err.contains("did not go as expected"),
            "{magic}: not the agent's failure: {err}"
        );
    }
}

#[test]
fn a_corrupt_lock_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("llm/cases")).unwrap();
    std::fs::write(dir.path().join("llm/cases/booking.json"), "{ nope").unwrap();
    let (result, _) = check(
        dir.path(),
        CASE,
        config(dir.path(), None, LockMode::Offline),
    );
    let err = result.unwrap_err();
    assert!(err.starts_with("the LLM lock file "), "{err}");
    assert!(err.contains("llm/cases/booking.json is corrupt"), "{err}");
}

#[test]
fn the_runner_records_and_replays_too() {
    let bin = env!("CARGO_BIN_EXE_voice-harness");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("cases")).unwrap();
    std::fs::write(dir.path().join("cases/booking.json"), CASE).unwrap();
    let server = server(dir.path());
    let run = |extra: &[&str]| {
        Command::new(bin)
            .args(["run", "cases", "--llm-model", "tiny-test-model"])
            .args(extra)
            .current_dir(dir.path())
            .env_remove("CI")
            .output()
            .unwrap()
    };
    let recorded = run(&["--llm-url", &server.url, "--json", "first.json"]);
    assert_eq!(
        recorded.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&recorded.stdout)
    );
    assert!(dir.path().join("llm/cases/booking.json").exists());
    drop(server);
    let replayed = run(&["--offline", "--json", "second.json"]);
    assert_eq!(
        replayed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&replayed.stdout)
    );
    let read = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
    assert_eq!(read("first.json"), read("second.json"));
    // Offline with nothing recorded for a changed case: an error of the case, exit 1.
    std::fs::write(
        dir.path().join("cases/booking.json"),
        CASE.replace("Friday, please.", "Saturday, please."),
    )
    .unwrap();
    let missing = run(&["--offline"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stdout)
            .contains("no recorded LLM answer for this request")
    );
}

#[test]
fn a_silent_step_the_agent_does_not_answer_is_still_judged() {
    // Before: the judge was asked only about steps with a reply, so "said nothing" passed.
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let case = r#"{
      "test_id": "booking", "persona": "Busy Parent",
      "agent": {"replay": ["Sure, which day?", ""]},
      "turns": [
        {"step_order": 1, "user_input": "I'd like to book a table.", "expected_agent_response_keywords": ["which day"]},
        {"step_order": 2, "silence_ms": 6000, "judge": "The agent confirms the day of the booking"}
      ]
    }"#;
    let (result, _) = check(
        dir.path(),
        case,
        config(dir.path(), Some(&server.url), LockMode::Record),
    );
    assert_eq!(requests(dir.path()), 1, "the judge was asked");
    let err = result.unwrap_err();
    assert!(
        err.contains("step 2 failed: judge: fail: The agent does not name the day."),
        "{err}"
    );
}

/// Issue 23, fault 15: a case named by an absolute path or through `..` has its lock file
/// under `llm/` like any other. Before, `llm/` joined with such a name was the case file
/// itself, which was then "a corrupt lock file" to delete, and `..` wrote outside `llm/`.
#[test]
fn a_case_outside_the_current_folder_keeps_its_lock_file_under_llm() {
    let bin = env!("CARGO_BIN_EXE_voice-harness");
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(dir.path().join("shared")).unwrap();
    let case_file = dir.path().join("shared/booking.json");
    std::fs::write(&case_file, CASE).unwrap();
    let server = server(dir.path());
    let absolute = case_file.to_string_lossy().into_owned();
    let absolute_lock = format!("llm/_root/{}", absolute.trim_start_matches('/'));
    for (name, lock) in [
        ("../shared/booking.json", "llm/_parent/shared/booking.json"),
        (absolute.as_str(), absolute_lock.as_str()),
    ] {
        let out = Command::new(bin)
            .args([
                "run",
                name,
                "--llm-model",
                "tiny-test-model",
                "--llm-url",
                &server.url,
            ])
            .current_dir(&project)
            .env_remove("CI")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(std::fs::read_to_string(&case_file).unwrap(), CASE, "{name}");
        assert!(project.join(lock).is_file(), "{name}: no {lock}");
    }
    // Nothing was written beside the case.
    let beside: Vec<_> = std::fs::read_dir(dir.path().join("shared"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["booking.json"]);
    let project_files: Vec<_> = std::fs::read_dir(&project)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(project_files, ["llm"], "only llm/ in the current folder");
}
