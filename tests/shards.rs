//! Shards for a CI matrix (`--shard K/N`, `VOICE_HARNESS_SHARD`) and `voice-harness merge`.

use std::path::Path;
use std::process::{Command, Output};

use proptest::prelude::*;
use voice_harness::Shard;

const BIN: &str = env!("CARGO_BIN_EXE_voice-harness");

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

proptest! {
    /// Every file is in exactly one shard of N, and adding files never moves another.
    #[test]
    fn shards_are_disjoint_complete_and_stable(
        files in prop::collection::btree_set("[a-z]{1,8}(/[a-z]{1,8}){0,2}\\\\.json", 1..60),
        added in prop::collection::btree_set("[a-z]{1,8}\\\\.json", 0..10),
        n in 1u64..9,
    ) {
        let shards: Vec<Shard> = (1..=n).map(|k| Shard { k, n }).collect();
        for file in &files {
            let holders = shards.iter().filter(|s| s.holds(file)).count();
            prop_assert_eq!(holders, 1, "{} is in {} shards", file, holders);
        }
        // Stable: a file's shard depends on its own path only.
        let before: Vec<u64> = files.iter().map(|f| shards.iter().find(|s| s.holds(f)).unwrap().k).collect();
        let mut grown = files.clone();
        grown.extend(added);
        let after: Vec<u64> = files.iter().map(|f| shards.iter().find(|s| s.holds(f)).unwrap().k).collect();
        prop_assert_eq!(before, after);
        prop_assert!(grown.len() >= files.len());
    }
}

#[test]
fn shards_are_about_even() {
    let n = 4;
    let mut counts = [0usize; 4];
    for i in 0..10_000 {
        let file = format!("g{:03}/case_{i:05}.json", i / 100);
        let k = (1..=n).find(|&k| Shard { k, n }.holds(&file)).unwrap();
        counts[(k - 1) as usize] += 1;
    }
    for count in counts {
        assert!((2300..=2700).contains(&count), "{counts:?}");
    }
}

#[test]
fn the_merged_shards_are_the_single_run_byte_for_byte() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    assert_eq!(
        run(
            root,
            &[
                "run",
                "cases",
                "--json",
                &out("all.json"),
                "--junit",
                &out("all.xml"),
                "-q"
            ]
        )
        .status
        .code(),
        Some(0)
    );
    let mut shard_reports = Vec::new();
    for k in 1..=3 {
        let report = out(&format!("s{k}.json"));
        let done = run(
            root,
            &[
                "run",
                "cases",
                "--shard",
                &format!("{k}/3"),
                "--json",
                &report,
                "-q",
            ],
        );
        assert_eq!(done.status.code(), Some(0));
        shard_reports.push(report);
    }
    let mut args = vec!["merge".to_owned()];
    args.extend(shard_reports.iter().rev().cloned());
    args.extend([
        "--json".into(),
        out("merged.json"),
        "--junit".into(),
        out("merged.xml"),
    ]);
    let merged = run(root, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        merged.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    let read = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
    assert_eq!(read("all.json"), read("merged.json"));
    assert_eq!(read("all.xml"), read("merged.xml"));
}

#[test]
fn bad_shards_and_bad_merges_are_usage_errors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for bad in ["0/4", "5/4", "1/0", "abc", "1/", "-1/4"] {
        let out = run(root, &["run", "cases", &format!("--shard={bad}")]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("expected K/N with 1 <= K <= N"),
            "{bad}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    // A shard with no case says so, exits 0, and still writes its (empty) report. A file
    // named directly is hashed by its name.
    let holder = if (Shard { k: 1, n: 2 }).holds("billing_inquiry_v1.json") {
        1
    } else {
        2
    };
    let empty = 3 - holder;
    let full_run = run(
        root,
        &[
            "run",
            "cases/billing_inquiry_v1.json",
            "--shard",
            &format!("{holder}/2"),
            "--json",
            &p("a.json"),
        ],
    );
    assert!(String::from_utf8_lossy(&full_run.stdout).starts_with("1 case: 1 passed"));
    let empty_run = run(
        root,
        &[
            "run",
            "cases/billing_inquiry_v1.json",
            "--shard",
            &format!("{empty}/2"),
            "--json",
            &p("b.json"),
        ],
    );
    assert_eq!(empty_run.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&empty_run.stdout),
        format!("shard {empty}/2 holds none of the 1 case files: nothing to run here\n")
    );
    let merged = run(root, &["merge", &p("a.json"), &p("b.json")]);
    assert_eq!(merged.status.code(), Some(0));
    // Overlapping, incomplete, foreign and other suites' reports.
    run(
        root,
        &[
            "run",
            "cases",
            "--shard",
            "1/2",
            "--json",
            &p("c1.json"),
            "-q",
        ],
    );
    run(
        root,
        &[
            "run",
            "cases/tools",
            "--shard",
            "2/2",
            "--json",
            &p("t2.json"),
            "-q",
        ],
    );
    run(root, &["run", "cases", "--json", &p("whole.json"), "-q"]);
    for (args, message) in [
        (
            vec!["merge".to_owned(), p("c1.json"), p("c1.json")],
            "the shards overlap",
        ),
        (
            vec!["merge".to_owned(), p("c1.json")],
            "shard 2/2 is missing",
        ),
        (
            vec!["merge".to_owned(), p("c1.json"), p("t2.json")],
            "are reports of different suites",
        ),
        (
            vec!["merge".to_owned(), p("whole.json"), p("c1.json")],
            "is a whole run, not a shard",
        ),
        (
            vec![
                "merge".to_owned(),
                root.join("cases/billing_inquiry_v1.json")
                    .to_string_lossy()
                    .into_owned(),
            ],
            "is not a voice-harness JSON report",
        ),
    ] {
        let out = run(root, &args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(message),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Issue 23, fault 3: two files that share a `test_id` are both errors however the suite is
/// sharded, as in a single run and under `VOICE_HARNESS_SHARD`: the ids are indexed over the
/// whole suite, then the shard is taken.
#[test]
fn a_test_id_shared_across_shards_is_an_error_in_each_shard() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases");
    std::fs::create_dir(&cases).unwrap();
    let shard_of = |name: &str| (1..=2).find(|&k| Shard { k, n: 2 }.holds(name)).unwrap();
    // Two names that hash to different shards of 2.
    let other = (0..)
        .map(|i| format!("dup_{i}.json"))
        .find(|name| shard_of(name) != shard_of("dup.json"))
        .unwrap();
    for name in ["dup.json", other.as_str()] {
        let case = r#"{"test_id": "same", "persona": "P",
            "turns": [{"step_order": 1, "user_input": "Hi", "expected_agent_response_keywords": []}]}"#;
        std::fs::write(cases.join(name), case).unwrap();
    }
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let whole = run(
        dir.path(),
        &["run", "cases", "--json", &p("all.json"), "-q"],
    );
    assert_eq!(whole.status.code(), Some(1));
    for k in 1..=2 {
        let shard = format!("{k}/2");
        let out = run(
            dir.path(),
            &[
                "run",
                "cases",
                "--shard",
                &shard,
                "--json",
                &p(&format!("s{k}.json")),
                "-q",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "shard {shard}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("1 case: 0 passed, 0 failed, 1 error"),
            "shard {shard}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let merged = run(
        dir.path(),
        &[
            "merge",
            &p("s1.json"),
            &p("s2.json"),
            "--json",
            &p("merged.json"),
        ],
    );
    assert_eq!(merged.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&merged.stderr).contains("2 cases: 0 passed, 0 failed, 2 errors"),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    let read = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
    assert_eq!(read("all.json"), read("merged.json"));
}

/// Issue 23, fault 18: shards of different commands are not one run. The report's `run`
/// block records the mode, seed, selection and agent, and `merge` refuses a mix, naming
/// both files and the field that differs.
#[test]
fn merge_refuses_shards_of_different_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let shard = |k: u64, name: &str, extra: &[&str]| {
        let (mode, rest) = extra.split_first().unwrap();
        let mut args = vec![*mode, "cases", "--shard"];
        let k = format!("{k}/2");
        let json = p(name);
        args.extend([k.as_str(), "--json", json.as_str(), "-q"]);
        args.extend(rest);
        let out = run(root, &args);
        assert!(
            dir.path().join(name).is_file(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    shard(1, "run1.json", &["run"]);
    shard(2, "run2.json", &["run"]);
    shard(2, "sweep2.json", &["sweep", "--seeds", "2"]);
    shard(2, "seed2.json", &["run", "--seed", "7"]);
    shard(2, "filter2.json", &["run", "--filter", "v1"]);
    shard(2, "tag2.json", &["run", "--tag", "smoke"]);
    let ok = run(root, &["merge", &p("run1.json"), &p("run2.json")]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    for (other, field) in [
        ("sweep2.json", "mode"),
        ("seed2.json", "seed"),
        ("filter2.json", "filter"),
        ("tag2.json", "tags"),
    ] {
        let out = run(root, &["merge", &p("run1.json"), &p(other)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{other}: {stderr}");
        assert!(
            stderr.contains(&p("run1.json")) && stderr.contains(&p(other)),
            "{other}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("run.{field}")),
            "{other}: {stderr}"
        );
    }
}
