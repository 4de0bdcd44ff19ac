//! The docs are checked against the code (#25): every whole case shown in README.md and
//! docs/*.md loads; docs/configuration.md names every environment variable the code reads
//! and every long flag of every subcommand, and every cargo feature; the README's agent
//! quick start passes (and fails) as printed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_voice-harness");
const CONFIGURATION: &str = "docs/configuration.md";

/// README.md and every docs/*.md, sorted, named relative to the crate.
fn doc_files() -> Vec<String> {
    let mut files = vec!["README.md".to_owned()];
    let mut docs: Vec<String> = std::fs::read_dir(Path::new(ROOT).join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

fn read(file: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(file)).unwrap()
}

/// The fenced blocks of `text` whose info string starts with `lang`: (first line, body).
fn fenced(text: &str, lang: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    if info.trim() == lang || info.trim().starts_with(&format!("{lang},")) {
                        open = Some((index + 2, String::new()));
                    } else if !info.trim().is_empty() {
                        // Another language's block: skip to its end.
                        open = Some((0, String::new()));
                    }
                }
            }
            Some((start, body)) => {
                if trimmed.starts_with("```") {
                    if *start != 0 {
                        blocks.push((*start, std::mem::take(body)));
                    }
                    open = None;
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    blocks
}

/// Whole cases: ```json blocks that are an object with a `test_id` (fragments of a case,
/// reports and protocol messages are other JSON).
fn shown_cases() -> Vec<(String, usize, String)> {
    let mut cases = Vec::new();
    for file in doc_files() {
        for (line, body) in fenced(&read(&file), "json") {
            let is_case = match serde_json::from_str::<Value>(&body) {
                Ok(Value::Object(map)) => map.contains_key("test_id"),
                // A block that looks like a whole case but is not JSON is a case that fails.
                _ => {
                    body.trim_start().starts_with('{')
                        && body.contains("\"test_id\"")
                        && body.contains("\"persona\"")
                }
            };
            if is_case {
                cases.push((file.clone(), line, body));
            }
        }
    }
    cases
}

#[test]
fn every_case_shown_in_the_docs_loads() {
    let cases = shown_cases();
    // The README's case, the case-format reference, the rules and tools examples at least:
    // an extractor that finds nothing must not pass.
    assert!(
        cases.len() >= 4,
        "only {} cases found in the docs",
        cases.len()
    );
    let mut failures = String::new();
    for (file, line, body) in &cases {
        let name = format!("{file}:{line}");
        if let Err(err) = voice_harness::parse_case(&name, body.as_bytes()) {
            writeln!(
                failures,
                "{err}\n  (the ```json block at {file} line {line}; fix the example so it loads)\n"
            )
            .unwrap();
        }
    }
    assert!(
        failures.is_empty(),
        "cases in the docs that do not load:\n\n{failures}"
    );
}

/// The text of the section of `doc` under `heading` (a whole heading line), up to the next
/// heading of the same or a higher level.
fn section<'a>(doc: &'a str, heading: &str) -> Option<&'a str> {
    let level = heading.chars().take_while(|&c| c == '#').count();
    let start = doc.lines().position(|line| line.trim_end() == heading)?;
    let lines: Vec<&str> = doc.lines().collect();
    let end = lines[start + 1..]
        .iter()
        .position(|line| {
            let hashes = line.chars().take_while(|&c| c == '#').count();
            hashes > 0 && hashes <= level && line[hashes..].starts_with(' ')
        })
        .map_or(lines.len(), |n| start + 1 + n);
    let from = doc.find(lines[start]).unwrap();
    let to = if end == lines.len() {
        doc.len()
    } else {
        doc.find(lines[end]).unwrap()
    };
    Some(&doc[from..to])
}

/// The features Cargo.toml declares, sorted.
fn cargo_features() -> Vec<String> {
    let manifest = read("Cargo.toml");
    let table = manifest
        .split("\n[features]\n")
        .nth(1)
        .expect("Cargo.toml has a [features] table");
    let table = table.split("\n[").next().unwrap();
    let mut features: Vec<String> = table
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once(" = "))
        .map(|(name, _)| name.trim().to_owned())
        .filter(|name| name != "default")
        .collect();
    features.sort();
    features
}

#[test]
fn the_configuration_page_names_every_cargo_feature() {
    let table = read_doc_section("## Cargo features");
    let features = cargo_features();
    assert!(features.contains(&"harness".to_owned()), "{features:?}");
    let missing: Vec<&String> = features
        .iter()
        .filter(|f| !table.contains(&format!("| `{f}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "{CONFIGURATION}, \"Cargo features\", lacks {missing:?}"
    );
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// (variable, where it is read) for every environment variable src/ reads: through
/// `env::var`, `var_os`, a lookup closure, `env!`/`option_env!`, or a clap `env = "..."`.
fn env_vars_read() -> Vec<(String, String)> {
    let read = Regex::new(
        r#"(?:\bvar|\bvar_os|\blookup|\bread|env!|option_env!)\(\s*"([A-Z][A-Z0-9_]+)"|\benv\s*=\s*"([A-Z][A-Z0-9_]+)""#,
    )
    .unwrap();
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src"), &mut files);
    let mut found: Vec<(String, String)> = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let shown = path
            .strip_prefix(ROOT)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        for (index, line) in text.lines().enumerate() {
            for caps in read.captures_iter(line) {
                let name = caps.get(1).or_else(|| caps.get(2)).unwrap().as_str();
                if !found.iter().any(|(n, _)| n == name) {
                    found.push((name.to_owned(), format!("{shown}:{}", index + 1)));
                }
            }
        }
    }
    found
}

#[test]
fn the_configuration_page_names_every_environment_variable_the_code_reads() {
    let read = env_vars_read();
    // The scan must see the ones we know are read, or it proves nothing.
    for known in [
        "MAX_TRANSCRIPT_SIZE",
        "VOICE_HARNESS_SHARD",
        "CI",
        "NO_COLOR",
    ] {
        assert!(
            read.iter().any(|(name, _)| name == known),
            "the scan of src/ no longer finds {known}: update env_vars_read in tests/docs.rs"
        );
    }
    let doc = read_doc_section("## Environment variables");
    let missing: Vec<String> = read
        .iter()
        .filter(|(name, _)| !doc.contains(&format!("`{name}`")))
        .map(|(name, at)| {
            format!(
                "  `{name}` (read at {at}): add a row like | `{name}` | what it does | its default | \
                 to the table under `## Environment variables` in {CONFIGURATION}"
            )
        })
        .collect();
    assert!(
        missing.is_empty(),
        "environment variables the code reads that {CONFIGURATION} does not name:\n{}",
        missing.join("\n")
    );
}

fn read_doc_section(heading: &str) -> String {
    let doc = read(CONFIGURATION);
    section(&doc, heading)
        .unwrap_or_else(|| panic!("{CONFIGURATION} has no section `{heading}`"))
        .to_owned()
}

fn help(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(out.status.success(), "voice-harness {args:?} failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands `voice-harness --help` lists (without `help`).
fn subcommands() -> Vec<String> {
    let text = help(&["--help"]);
    let mut commands = Vec::new();
    let mut in_list = false;
    for line in text.lines() {
        if line.starts_with("Commands:") {
            in_list = true;
        } else if in_list && line.is_empty() {
            break;
        } else if in_list && line.starts_with("  ") && !line.starts_with("   ") {
            let name = line.split_whitespace().next().unwrap();
            if name != "help" {
                commands.push(name.to_owned());
            }
        }
    }
    commands
}

/// The long flags an option list in `--help` output names (not `--help`, `--version`).
fn long_flags(text: &str) -> Vec<String> {
    let option = Regex::new(r"^ {2,6}(?:-[A-Za-z], )?(--[a-z0-9][a-z0-9-]*)").unwrap();
    text.lines()
        .filter_map(|line| option.captures(line))
        .map(|caps| caps[1].to_owned())
        .filter(|flag| flag != "--help" && flag != "--version")
        .collect()
}

#[test]
fn the_configuration_page_names_every_flag_of_every_subcommand() {
    let commands = subcommands();
    for known in ["run", "sweep", "merge"] {
        assert!(
            commands.iter().any(|c| c == known),
            "no `{known}` in {commands:?}"
        );
    }
    let doc = read(CONFIGURATION);
    // `--json FILE`, `-j, --jobs N`: a flag at the start of a code span.
    let named = Regex::new(r"(?:`|`-[A-Za-z], )(--[a-z0-9][a-z0-9-]*)[ `,]").unwrap();
    let mut missing = Vec::new();
    for command in &commands {
        let flags = long_flags(&help(&[command, "--help"]));
        let heading = format!("### voice-harness {command}");
        let Some(text) = section(&doc, &heading) else {
            missing.push(format!(
                "  no section `{heading}` for the subcommand `{command}`: add one under \
                 `## Runner flags` in {CONFIGURATION}, with a table of its flags: {}",
                flags.join(", ")
            ));
            continue;
        };
        for flag in flags {
            let present = named.captures_iter(text).any(|caps| caps[1] == *flag);
            if !present {
                missing.push(format!(
                    "  `{flag}` of `voice-harness {command}`: add a row like | `{flag} VALUE` | what it \
                     does | its default | to the table under `{heading}` in {CONFIGURATION} \
                     (`voice-harness {command} --help` describes it)"
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "flags the runner has that {CONFIGURATION} does not name:\n{}",
        missing.join("\n")
    );
}

// ---- the README's quick start for an agent in any language -------------------------------

/// The README's case, its `agent.py`, and the output it prints for both runs.
struct QuickStart {
    case: String,
    agent: String,
    outputs: Vec<String>,
}

fn quick_start() -> QuickStart {
    let readme = read("README.md");
    let case = fenced(&readme, "json")
        .into_iter()
        .map(|(_, body)| body)
        .find(|body| body.contains("\"test_id\": \"opening_hours\""))
        .expect("README.md shows the case `opening_hours`");
    let agent = fenced(&readme, "python")
        .into_iter()
        .map(|(_, body)| body)
        .next()
        .expect("README.md shows a ```python agent");
    let outputs = fenced(&readme, "text")
        .into_iter()
        .map(|(_, body)| body)
        .filter(|body| body.contains("my_cases/") || body.starts_with("1 case:"))
        .collect();
    QuickStart {
        case,
        agent,
        outputs,
    }
}

/// Runs the README's command in a folder holding `my_cases/opening_hours.json` and
/// `agent.py`; (exit code, stdout with the run's duration replaced).
fn run_quick_start(case: &str, agent: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("my_cases")).unwrap();
    std::fs::write(dir.path().join("my_cases/opening_hours.json"), case).unwrap();
    std::fs::write(dir.path().join("agent.py"), agent).unwrap();
    let out = Command::new(BIN)
        .args(["run", "my_cases", "--agent-command", "python3 agent.py"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    (out.status.code(), without_duration(&stdout))
}

/// `(0.73 s)` → `([time])`: the only part of the summary that differs between runs.
fn without_duration(text: &str) -> String {
    Regex::new(r"\(\d+\.\d\d s\)")
        .unwrap()
        .replace_all(text, "([time])")
        .into_owned()
}

#[test]
fn the_readme_agent_passes_the_readme_case_as_printed() {
    let quick = quick_start();
    assert_eq!(quick.outputs.len(), 2, "{:?}", quick.outputs);
    let (code, stdout) = run_quick_start(&quick.case, &quick.agent);
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(stdout, without_duration(&quick.outputs[0]));
}

#[test]
fn the_readme_agent_without_the_saturday_hours_fails_as_printed() {
    let quick = quick_start();
    let wrong = quick.agent.replace("10 to 2", "ten till two");
    assert_ne!(wrong, quick.agent);
    let (code, stdout) = run_quick_start(&quick.case, &wrong);
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(stdout, without_duration(&quick.outputs[1]));
}

// ---- links -----------------------------------------------------------------------------

#[test]
fn every_link_to_a_file_in_the_docs_resolves() {
    let link = Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let mut broken = Vec::new();
    for file in doc_files() {
        let base = Path::new(&file).parent().unwrap();
        let text = read(&file);
        for (index, line) in text.lines().enumerate() {
            for caps in link.captures_iter(line) {
                let target = &caps[1];
                if target.contains("://")
                    || target.starts_with('#')
                    || target.starts_with("mailto:")
                {
                    continue;
                }
                let path = target.split('#').next().unwrap();
                let joined = base.join(path);
                // `docs/../README.md` → `README.md`, for the allow-list and the message.
                let mut parts: Vec<&str> = Vec::new();
                for part in joined.to_str().unwrap().split('/') {
                    match part {
                        "." | "" => {}
                        ".." => {
                            parts.pop();
                        }
                        part => parts.push(part),
                    }
                }
                let resolved = parts.join("/");
                if !Path::new(ROOT).join(&resolved).exists() {
                    broken.push(format!(
                        "  {file}:{}: ({target}) → {resolved} does not exist",
                        index + 1
                    ));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

// ---- the README's quick start in Rust ----------------------------------------------------

/// The README's `HoursBot`, as printed there (the test below checks the README still shows
/// these lines): the doctest only compiles it, this runs it against the README's case.
#[derive(Default)]
struct HoursBot;

const HOURS_BOT_LINES: &[&str] = &[
    "tokio::time::sleep(std::time::Duration::from_millis(180)).await; // virtual time",
    "if appears_in(\"saturday\", line.text) {",
    "Ok(Reply::Say(\"On Saturday we are open 10 to 2.\".into()))",
    "Ok(Reply::Say(\"We're open 9 to 5, Monday to Friday.\".into()))",
    "voice_harness::harness!(agent = |_case| HoursBot::default());",
];

impl voice_harness::Agent for HoursBot {
    async fn reply(
        &mut self,
        line: &voice_harness::CallerLine<'_>,
    ) -> Result<voice_harness::Reply, voice_harness::AgentError> {
        use voice_harness::{Reply, appears_in};
        tokio::time::sleep(std::time::Duration::from_millis(180)).await; // virtual time
        if appears_in("saturday", line.text) {
            Ok(Reply::Say("On Saturday we are open 10 to 2.".into()))
        } else {
            Ok(Reply::Say("We're open 9 to 5, Monday to Friday.".into()))
        }
    }
}

#[test]
fn the_readme_rust_agent_passes_the_readme_case() {
    let readme = read("README.md");
    for line in HOURS_BOT_LINES {
        assert!(
            readme.contains(line),
            "README.md no longer shows `{line}`: update HoursBot in tests/docs.rs to match it"
        );
    }
    let quick = quick_start();
    let case =
        voice_harness::parse_case("cases/opening_hours.json", quick.case.as_bytes()).unwrap();
    let outcome =
        voice_harness::run_case(&case, &mut HoursBot, &voice_harness::RunOptions::default());
    assert_eq!(outcome.status, voice_harness::Status::Pass, "{outcome:?}");
    assert_eq!(outcome.metrics.latency_ms_max, Some(180));
}
