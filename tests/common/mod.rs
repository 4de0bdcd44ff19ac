//! Helpers shared by the integration tests.
#![allow(dead_code)]

use serde_json::{Value, json};
use voice_harness::{Case, IdealAgent, Outcome, RunOptions, parse_case, run_case};

/// A case from a JSON value; panics with the loader's message when it is invalid.
pub fn case(value: Value) -> Case {
    let bytes = serde_json::to_vec(&value).unwrap();
    parse_case("test.json", &bytes).unwrap_or_else(|e| panic!("{e}"))
}

/// A minimal valid case with these turns (user input, keywords).
pub fn script(turns: &[(&str, &[&str])]) -> Value {
    let turns: Vec<Value> = turns
        .iter()
        .enumerate()
        .map(|(i, (input, keywords))| {
            json!({"step_order": i + 1, "user_input": input, "expected_agent_response_keywords": keywords})
        })
        .collect();
    json!({"test_id": "t", "persona": "Tester", "turns": turns})
}

/// `script` plus a recorded transcript of (speaker, text, latency) rows.
pub fn recorded(turns: &[(&str, &[&str])], rows: &[(&str, &str, Option<u64>)]) -> Case {
    let mut value = script(turns);
    let rows: Vec<Value> = rows
        .iter()
        .map(|(speaker, text, latency)| match latency {
            Some(ms) => json!({"speaker": speaker, "text": text, "latency_ms": ms}),
            None => json!({"speaker": speaker, "text": text}),
        })
        .collect();
    value["transcript"] = Value::Array(rows);
    case(value)
}

/// Runs a case against the ideal agent (or validates its recording).
pub fn run(case: &Case) -> Outcome {
    run_case(case, &mut IdealAgent::new(case), &RunOptions::default())
}

/// Runs the case `value` describes against the agent it asks for (`BuiltinAgent`).
pub fn run_builtin(value: Value) -> Outcome {
    let case = case(value);
    run_case(
        &case,
        &mut voice_harness::BuiltinAgent::for_case(&case),
        &RunOptions::default(),
    )
}

/// The generated tests' settings for a crate at `manifest_dir` (its `cases/` and
/// `snapshots/`, a test target `cases`), as `harness!()` would make them.
pub fn harness_config(manifest_dir: &std::path::Path) -> voice_harness::__private::HarnessConfig {
    let root: &'static str =
        Box::leak(manifest_dir.to_string_lossy().into_owned().into_boxed_str());
    voice_harness::__private::HarnessConfig {
        manifest_dir: root,
        root: "cases",
        snapshots: "snapshots",
        source_file: "tests/cases.rs",
        crate_name: "cases",
        test_fn: "case",
        target_tmpdir: None,
    }
}

/// A two-step case (Hi → "hello", Bye → "bye") for agents under test.
pub fn two_steps() -> Case {
    case(script(&[("Hi", &["hello"]), ("Bye", &["bye"])]))
}

/// A Python script run as a server on loopback; killed (and reaped) when dropped.
pub struct PythonServer {
    child: std::process::Child,
    /// `http://127.0.0.1:<port><path>`, with the port the script printed first.
    pub url: String,
}

impl PythonServer {
    /// Writes `script` to `server.py` in `dir` and runs it (see [`PythonServer::run`]).
    pub fn start(
        dir: &std::path::Path,
        script: &str,
        args: &[&std::path::Path],
        path: &str,
    ) -> Self {
        std::fs::write(dir.join("server.py"), script).unwrap();
        Self::run(&dir.join("server.py"), args, path)
    }

    /// Runs the Python script `file` with `args`; it must print its port on its first
    /// line. `path` ends the URL.
    pub fn run(file: &std::path::Path, args: &[&std::path::Path], path: &str) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new("python3")
            .arg(file)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut port = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        Self {
            child,
            url: format!("http://127.0.0.1:{}{path}", port.trim()),
        }
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sample suite's case files (under `cases/`, relative to the crate), sorted, without
/// those whose path contains any of `except`.
pub fn sample_cases(except: &[&str]) -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&root.join("cases"), &mut files);
    let mut files: Vec<String> = files
        .iter()
        .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
        .filter(|p| !except.iter().any(|e| p.contains(e)))
        .collect();
    files.sort();
    files
}
