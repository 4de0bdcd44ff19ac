//! Malformed and extreme case files: each gives its own clear error or a correct result,
//! never a panic or a hang. The small ones live in `tests/hostile/`; the large ones are made
//! here. Every outcome is snapshot-tested, named after the file.

use std::path::Path;

use voice_harness::{BuiltinAgent, RunOptions, load_case, run_case};

/// The loader's error, or a short account of the call.
fn verdict(path: &Path, shown: &str) -> String {
    match load_case(path) {
        Err(err) => err.to_string().replace(&path.display().to_string(), shown),
        Ok(case) => {
            let outcome = run_case(
                &case,
                &mut BuiltinAgent::for_case(&case),
                &RunOptions::default(),
            );
            let details: Vec<String> = outcome
                .steps
                .iter()
                .map(|s| {
                    format!(
                        "step {}: {}",
                        s.step_order,
                        s.details.as_deref().unwrap_or("pass")
                    )
                })
                .take(5)
                .collect();
            format!(
                "loaded: {} turns\nstatus: {}\ntranscript rows: {}{}\n{}\ntone passed: {}",
                case.turns().len(),
                outcome.status.as_str(),
                outcome.transcript.len(),
                if outcome.truncated { " (cut)" } else { "" },
                details.join("\n"),
                outcome.tone.passed
            )
        }
    }
}

#[test]
fn every_hostile_file_gets_a_clear_answer() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 25, "the corpus is in tests/hostile/");
    for file in files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let shown = format!(
            "tests/hostile/{}",
            file.file_name().unwrap().to_string_lossy()
        );
        insta::assert_snapshot!(name, verdict(&file, &shown));
    }
}

fn turn(i: usize) -> String {
    format!(r#"{{"step_order":{i},"user_input":"a"}}"#)
}

#[test]
fn generated_extremes() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        verdict(&path, &format!("[TMP]/{name}"))
    };
    let mut out = Vec::new();

    // Deep nesting: far past serde_json's recursion limit.
    let deep = format!(
        r#"{{"test_id": "d", "persona": "P", "tags": {}{}, "turns": []}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    out.push(("deep_nesting (100,000 levels)", write("deep.json", &deep)));

    // 1 MiB of turns, and one byte over.
    let prefix = r#"{"test_id":"big","persona":"P","turns":["#;
    let mut turns = Vec::new();
    let mut len = prefix.len() + 2;
    while len + turn(turns.len() + 1).len() < 1024 * 1024 {
        len += turn(turns.len() + 1).len() + 1;
        turns.push(turn(turns.len() + 1));
    }
    let fits = format!("{prefix}{}]}}", turns.join(","));
    let count = turns.len();
    out.push(("as many turns as fit in 1 MiB", write("fits.json", &fits)));
    let over = format!("{prefix}{}, {}]}}", turns.join(","), turn(count + 1));
    out.push(("one turn more: over 1 MiB", write("over.json", &over)));
    // 100,000 turns cannot fit in 1 MiB: every turn needs `step_order` and `user_input`.
    let hundred_k = format!(
        "{prefix}{}]}}",
        (1..=100_000).map(turn).collect::<Vec<_>>().join(",")
    );
    out.push(("100,000 turns (3.8 MB)", write("100k.json", &hundred_k)));
    // 60,000 keys in one object: duplicate detection stays linear, and the message lists the
    // first problems only.
    let keys: Vec<String> = (0..60_000).map(|i| format!(r#""k{i}":0"#)).collect();
    let wide = format!(
        r#"{{"test_id": "w", "persona": "P", "turns": [{}], {}}}"#,
        turn(1),
        keys.join(",")
    );
    let wide = write("wide.json", &wide);
    let shown: Vec<&str> = wide.lines().take(3).chain(wide.lines().last()).collect();
    out.push(("60,000 unknown keys", shown.join("\n")));
    let dup = format!(
        r#"{{"test_id": "w", "persona": "P", {}, "k7": 1}}"#,
        keys.join(",")
    );
    out.push((
        "60,000 keys, the last one repeated",
        write("wide_dup.json", &dup),
    ));

    let text: Vec<String> = out
        .into_iter()
        .map(|(what, verdict)| format!("== {what}\n{verdict}"))
        .collect();
    insta::assert_snapshot!("generated_extremes", text.join("\n\n"));
    assert!(count > 25_000, "{count} turns fit");
}
