//! SPEC §8: the in-memory store.

mod common;

use std::sync::Arc;

use voice_harness::limits::Limits;
use voice_harness::store::{RunId, Store};

fn limits(rows: usize, runs: usize) -> Limits {
    Limits::from_lookup(|var| match var {
        "MAX_TRANSCRIPT_SIZE" => Some(rows.to_string()),
        "VOICE_HARNESS_MAX_RUNS" => Some(runs.to_string()),
        _ => None,
    })
    .unwrap()
}

fn outcome(turns: usize) -> voice_harness::Outcome {
    let script: Vec<(String, Vec<&str>)> =
        (0..turns).map(|i| (format!("line {i}"), vec![])).collect();
    let script: Vec<(&str, &[&str])> = script
        .iter()
        .map(|(s, k)| (s.as_str(), k.as_slice()))
        .collect();
    common::run(&common::case(common::script(&script)))
}

#[test]
fn case_store_get_list_upsert_delete() {
    let store = Store::new(Limits::default());
    let case = common::case(common::script(&[("Hi", &[])]));
    assert!(store.cases.upsert(case.clone()).is_none());
    let mut changed = common::script(&[("Hi", &[])]);
    changed["persona"] = "Changed".into();
    let case = common::case(changed);
    assert_eq!(
        store.cases.upsert(case.clone()).unwrap().persona(),
        "Tester"
    );
    assert_eq!(store.cases.get("t").unwrap().persona(), "Changed");
    assert_eq!(store.cases.list().len(), 1);
    assert_eq!(store.cases.delete("t").unwrap().persona(), "Changed");
    assert!(store.cases.get("t").is_none() && store.cases.is_empty());
}

#[test]
fn runs_are_bounded_and_evictions_counted() {
    let store = Store::new(limits(1000, 3));
    let ids: Vec<RunId> = (0..5)
        .map(|i| store.runs.create(format!("case{i}.json"), outcome(1)))
        .collect();
    assert_eq!(store.runs.len(), 3);
    assert_eq!(store.runs.evicted(), 2);
    assert!(store.runs.get(ids[0]).is_none() && store.runs.get(ids[1]).is_none());
    let recent: Vec<String> = store
        .runs
        .list_recent(10)
        .into_iter()
        .map(|r| r.file)
        .collect();
    assert_eq!(recent, ["case4.json", "case3.json", "case2.json"]);
    assert!(
        store
            .runs
            .update(ids[4], |run| run.file = "renamed.json".into())
    );
    assert_eq!(store.runs.get(ids[4]).unwrap().file, "renamed.json");
    assert!(
        !store
            .runs
            .update(ids[0], |_| unreachable!("evicted runs are not updated"))
    );
}

#[test]
fn long_transcripts_are_cut_and_the_run_says_so() {
    let store = Store::new(limits(4, 10));
    let id = store.runs.create("long.json", outcome(5));
    let run = store.runs.get(id).unwrap();
    assert_eq!(run.outcome.transcript.len(), 4);
    assert!(run.outcome.truncated);
    let short = store
        .runs
        .get(store.runs.create("short.json", outcome(2)))
        .unwrap();
    assert!(!short.outcome.truncated);
}

#[test]
fn the_simulator_stops_at_the_row_limit() {
    let case = common::case(common::script(&[("a", &[]), ("b", &[]), ("c", &[])]));
    let options = voice_harness::RunOptions::default().with_max_transcript_rows(3);
    let outcome =
        voice_harness::run_case(&case, &mut voice_harness::IdealAgent::new(&case), &options);
    assert_eq!(outcome.transcript.len(), 3);
    assert!(outcome.truncated);
    assert_eq!(outcome.metrics.failure_steps, [2, 3]);
}

#[test]
fn bad_environment_values_are_errors_not_defaults() {
    let bad = |var: &'static str, value: &'static str| {
        Limits::from_lookup(move |v| (v == var).then(|| value.to_owned()))
            .unwrap_err()
            .to_string()
    };
    let messages = [
        bad("MAX_TRANSCRIPT_SIZE", "ten"),
        bad("MAX_TRANSCRIPT_SIZE", "0"),
        bad("VOICE_HARNESS_MAX_RUNS", "-5"),
        bad("VOICE_HARNESS_MAX_RUNS", ""),
    ];
    insta::assert_snapshot!("env_errors", messages.join("\n"));
    assert_eq!(
        limits(7, 9),
        Limits::from_lookup(|v| Some(
            if v == "MAX_TRANSCRIPT_SIZE" {
                "7"
            } else {
                " 9 "
            }
            .into()
        ))
        .unwrap()
    );
    assert_eq!(Limits::from_lookup(|_| None).unwrap(), Limits::default());
}

#[test]
fn concurrent_use_loses_nothing() {
    let store = Arc::new(Store::new(limits(1000, 100_000)));
    let base = outcome(1);
    std::thread::scope(|scope| {
        for t in 0..8 {
            let (store, base) = (&store, &base);
            scope.spawn(move || {
                for i in 0..500 {
                    let id = store.runs.create(format!("{t}/{i}"), base.clone());
                    assert!(store.runs.update(id, |run| run.file.push('!')));
                    let mut case = common::script(&[("Hi", &[])]);
                    case["test_id"] = format!("c{t}_{}", i % 50).into();
                    store.cases.upsert(common::case(case));
                }
            });
        }
    });
    assert_eq!(store.runs.len(), 4000);
    assert_eq!(store.runs.evicted(), 0);
    assert!(
        store
            .runs
            .list_recent(4000)
            .iter()
            .all(|r| r.file.ends_with('!'))
    );
    assert_eq!(store.cases.len(), 8 * 50);
}

#[test]
fn the_generated_harness_records_its_runs() {
    let store = voice_harness::__private::harness_store(&voice_harness::RunOptions::default());
    let before = store.runs.len() as u64 + store.runs.evicted();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("cases")).unwrap();
    std::fs::write(
        dir.path().join("cases/one.json"),
        r#"{"test_id": "one", "persona": "P", "turns": [{"step_order": 1, "user_input": "Hi"}]}"#,
    )
    .unwrap();
    let root: &'static str = Box::leak(dir.path().to_string_lossy().into_owned().into_boxed_str());
    let config = voice_harness::__private::HarnessConfig {
        manifest_dir: root,
        root: "cases",
        snapshots: "snapshots",
        source_file: "tests/t.rs",
        crate_name: "t",
        test_fn: "case",
        target_tmpdir: None,
    };
    fn no_snapshots(_: &str, _: &str) {}
    voice_harness::__private::check_case_file(
        &config,
        &dir.path().join("cases/one.json"),
        voice_harness::BuiltinAgent::for_case,
        voice_harness::RunOptions::default,
        no_snapshots,
    )
    .unwrap();
    assert_eq!(store.runs.len() as u64 + store.runs.evicted(), before + 1);
    assert_eq!(store.runs.list_recent(1)[0].file, "cases/one.json");
}

/// What one thread did: updates that succeeded per run, runs created, each case's last value.
type Model = (
    std::collections::BTreeMap<RunId, usize>,
    usize,
    std::collections::BTreeMap<String, Option<String>>,
);

/// 8 threads × 10,000 mixed operations on both stores. Each thread keeps a model of what it
/// did; afterwards the store must agree with every model exactly: no lost update, the bound
/// held at every look, and evictions counted exactly. A watchdog turns a deadlock into a
/// failure instead of a hang.
#[test]
fn eight_threads_of_mixed_operations_lose_nothing() {
    use std::collections::BTreeMap;
    const THREADS: usize = 8;
    const OPS: usize = 10_000;
    const MAX_RUNS: usize = 500;

    let (done, finished) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let store = Store::new(limits(1000, MAX_RUNS));
        let base = outcome(1);
        let models: Vec<Model> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (store, base) = (&store, &base);
                    scope.spawn(move || {
                        let mut updates: BTreeMap<RunId, usize> = BTreeMap::new();
                        let mut created = 0;
                        let mut cases: BTreeMap<String, Option<String>> = BTreeMap::new();
                        let mut mine: Vec<RunId> = Vec::new();
                        for i in 0..OPS {
                            match (t * 7919 + i * 104_729) % 7 {
                                0 | 1 => {
                                    mine.push(store.runs.create(format!("t{t}/"), base.clone()));
                                    created += 1;
                                }
                                2 => {
                                    if let Some(&id) = mine.last() {
                                        if store.runs.update(id, |run| run.file.push('+')) {
                                            *updates.entry(id).or_default() += 1;
                                        }
                                    }
                                }
                                3 => {
                                    if let Some(&id) = mine.get(i % mine.len().max(1)) {
                                        if let Some(run) = store.runs.get(id) {
                                            assert!(run.file.starts_with(&format!("t{t}/")));
                                        }
                                    }
                                }
                                4 => {
                                    let recent = store.runs.list_recent(10);
                                    assert!(recent.len() <= 10);
                                    assert!(
                                        recent.windows(2).all(|w| w[0].id > w[1].id),
                                        "newest first"
                                    );
                                    assert!(
                                        store.runs.len() <= MAX_RUNS,
                                        "the bound holds at every look"
                                    );
                                }
                                5 => {
                                    let id = format!("c{t}_{}", i % 20);
                                    let mut case = common::script(&[("Hi", &[])]);
                                    case["test_id"] = id.clone().into();
                                    case["persona"] = format!("v{i}").into();
                                    store.cases.upsert(common::case(case));
                                    cases.insert(id, Some(format!("v{i}")));
                                }
                                _ => {
                                    let id = format!("c{t}_{}", (i * 3) % 20);
                                    let removed =
                                        store.cases.delete(&id).map(|c| c.persona().to_owned());
                                    assert_eq!(
                                        removed,
                                        cases.get(&id).cloned().flatten(),
                                        "a delete sees the last upsert"
                                    );
                                    cases.insert(id, None);
                                }
                            }
                        }
                        (updates, created, cases)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });

        let created: usize = models.iter().map(|m| m.1).sum();
        assert_eq!(store.runs.len(), MAX_RUNS.min(created));
        assert_eq!(
            store.runs.evicted() as usize,
            created - store.runs.len(),
            "every eviction counted"
        );
        for run in store.runs.list_recent(MAX_RUNS) {
            let t: usize = run.file[1..run.file.find('/').unwrap()].parse().unwrap();
            let plus = run.file.chars().filter(|&c| c == '+').count();
            assert_eq!(
                plus,
                models[t].0.get(&run.id).copied().unwrap_or(0),
                "no update lost on {:?}",
                run.id
            );
        }
        for (t, (_, _, cases)) in models.iter().enumerate() {
            for (id, persona) in cases {
                assert_eq!(
                    store.cases.get(id).map(|c| c.persona().to_owned()),
                    *persona,
                    "thread {t}, case {id}"
                );
            }
        }
        let expected_cases: usize = models
            .iter()
            .map(|m| m.2.values().filter(|p| p.is_some()).count())
            .sum();
        assert_eq!(store.cases.len(), expected_cases);
        done.send(()).unwrap();
    });
    match finished.recv_timeout(std::time::Duration::from_secs(300)) {
        Ok(()) => worker.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(worker.join().unwrap_err())
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("the store deadlocked: 80,000 operations did not finish in 300 s")
        }
    }
}

#[test]
fn an_update_may_use_the_store_without_deadlocking() {
    // Before: the closure ran under the store's lock, so this deadlocked.
    let store = Arc::new(Store::new(Limits::default()));
    let id = store.runs.create("a.json", outcome(1));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let shared = Arc::clone(&store);
    std::thread::spawn(move || {
        let updated = shared.runs.update(id, |run| {
            let current = shared
                .runs
                .get(id)
                .expect("readable from inside its update");
            run.file = format!("{}+", current.file);
            shared.runs.create("b.json", outcome(1));
        });
        done_tx.send(updated).unwrap();
    });
    let updated = done_rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the update finished (no deadlock)");
    assert!(updated);
    assert_eq!(store.runs.get(id).unwrap().file, "a.json+");
}

#[test]
fn concurrent_updates_of_one_run_are_all_kept() {
    let store = Store::new(Limits::default());
    let id = store.runs.create("", outcome(1));
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..200 {
                    assert!(store.runs.update(id, |run| run.file.push('x')));
                }
            });
        }
    });
    assert_eq!(store.runs.get(id).unwrap().file.len(), 8 * 200);
}
