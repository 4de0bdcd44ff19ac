//! Shrinking (`sweep --shrink`, SPEC §13, docs/sweeps.md) as properties (issue #30, and
//! issue #23 fault 9): the case it writes fails alone, the same way, under any seed; and no
//! perturbation can be taken out of it, down to each recognition error of a `heard` line.
//! Scripted callers and rule-following ones alike.

mod common;

use proptest::prelude::*;
use serde_json::{Value, json};
use voice_harness::report::{CaseFiles, ShrinkTo, SuiteOptions, sweep_suite};
use voice_harness::sweep::SweepOptions;
use voice_harness::{Agent, AgentError, CallerLine, Reply, RunOptions, Status, run_case};

/// Words that confuse [`Picky`]: what recognition noise and fillers can put in a line
/// (`for` → `four`, `to` → `two`, `table` → `cable`, inserted `the` / `uh`, fillers).
const TRIGGERS: &[&str] = &["four", "two", "too", "cable", "the", "uh", "um", "like"];

/// Words the generated callers say: none of them is a trigger, several become one when
/// misheard.
const VOCABULARY: &[&str] = &[
    "table", "for", "to", "book", "a", "at", "seven", "please", "right", "time", "order", "pay",
    "tonight", "people", "can",
];

/// Deterministic, and depends only on what it heard: books unless a trigger word is there.
struct Picky;

impl Agent for Picky {
    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        let confused = voice_harness::tokens(line.text)
            .iter()
            .any(|w| TRIGGERS.contains(&w.as_str()));
        Ok(Reply::Say(
            if confused { "Sorry?" } else { "Booked." }.to_owned(),
        ))
    }
}

/// The verdict of `case` against [`Picky`] under `seed`: the status and the failing steps.
fn verdict(case: &Value, seed: u64) -> (Status, Vec<u32>) {
    let case = common::case(case.clone());
    let out = run_case(
        &case,
        &mut Picky,
        &RunOptions::default().with_seed(Some(seed)),
    );
    (out.status, out.metrics.failure_steps)
}

/// Sweeps `case` over `seeds` seeds from `from` with shrinking on: the first failing seed
/// and the shrunk case, or `None` when every seed passed. Panics when a failing seed was
/// not shrunk.
fn sweep_and_shrink(case: &Value, from: u64, seeds: u64) -> Option<(u64, Value)> {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases");
    let out = dir.path().join("shrunk");
    std::fs::create_dir_all(&cases).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(cases.join("case.json"), case.to_string()).unwrap();
    let files = CaseFiles::find(&[cases]).unwrap();
    let mut reports = Vec::new();
    sweep_suite(
        &files,
        &SuiteOptions::default(),
        &SweepOptions::new(seeds).with_from(Some(from)),
        Some(&ShrinkTo(out)),
        |_: &voice_harness::Case| Picky,
        &|| {},
        |r| reports.push(r),
    );
    let report = reports.pop().unwrap();
    let seed = report.sweep.as_ref()?.first_failure.as_ref()?.seed;
    let path = report.shrunk.as_deref().unwrap();
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("seed {seed} was not shrunk: {path}"));
    Some((seed, serde_json::from_str(&text).unwrap()))
}

/// Word-level edit distance between two lines (whitespace-separated words).
fn word_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<&str>, Vec<&str>) = (
        a.split_whitespace().collect(),
        b.split_whitespace().collect(),
    );
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
            current[j + 1] = (previous[j] + usize::from(x != y))
                .min(previous[j + 1] + 1)
                .min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// Fails alone, the same way as the original at its failing seed, under any seed, with no
/// randomness left.
fn fails_alone(original: &Value, seed: u64, shrunk: &Value) -> (Status, Vec<u32>) {
    let failing = verdict(original, seed);
    assert_eq!(failing.0, Status::Fail, "seed {seed} fails the original");
    assert!(
        shrunk.get("seed").is_none(),
        "no seed is pinned: {shrunk:#}"
    );
    let caller = shrunk.get("caller");
    assert!(
        caller.is_none_or(|c| c.get("asr").is_none() && c.get("disfluency_rate").is_none()),
        "no random perturbation is left: {shrunk:#}"
    );
    for any in [0, 1, seed, u64::MAX] {
        assert_eq!(
            verdict(shrunk, any),
            failing,
            "under seed {any}: {shrunk:#}"
        );
    }
    failing
}

fn scripted(lines: &[String], disfluency: f64, wer: f64) -> Value {
    let turns: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            json!({"step_order": i + 1, "user_input": line, "expected_agent_response_keywords": ["booked"]})
        })
        .collect();
    json!({
        "test_id": "picky", "persona": "Caller",
        "caller": {"disfluency_rate": disfluency, "asr": {"wer": wer}},
        "turns": turns
    })
}

fn line() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCABULARY), 2..6).prop_map(|w| w.join(" "))
}

proptest! {
    // Each case sweeps 30 seeds and shrinks (dozens of calls more): a few dozen cases.
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// A scripted caller's shrunk case fails alone, under any seed; without any one of its
    /// pins it stops failing that way; and each `heard` pin keeps one recognition error
    /// (with this agent any one that puts a trigger word in a line is enough, so a
    /// 1-minimal line has exactly one).
    #[test]
    fn a_shrunk_scripted_case_fails_alone_and_needs_every_pin(
        lines in prop::collection::vec(line(), 1..4),
        disfluency in prop::sample::select(vec![0.0, 0.4]),
        wer in prop::sample::select(vec![0.15, 0.3, 0.5]),
        from in 0u64..1_000_000,
    ) {
        let original = scripted(&lines, disfluency, wer);
        let Some((seed, shrunk)) = sweep_and_shrink(&original, from, 30) else {
            return Ok(());
        };
        let failing = fails_alone(&original, seed, &shrunk);
        let turns = shrunk["turns"].as_array().unwrap();
        for (i, turn) in turns.iter().enumerate() {
            for pin in ["said", "heard"] {
                if turn.get(pin).is_none() {
                    continue;
                }
                let mut without = shrunk.clone();
                without["turns"][i].as_object_mut().unwrap().remove(pin);
                prop_assert_ne!(verdict(&without, 0), failing.clone(), "turn {}'s {} is not needed: {:#}", i + 1, pin, shrunk);
            }
            if let Some(heard) = turn["heard"].as_str() {
                let said = turn["said"].as_str().unwrap_or(turn["user_input"].as_str().unwrap());
                prop_assert_eq!(word_distance(said, heard), 1, "turn {} keeps errors it does not need: {:?} heard as {:?}", i + 1, said, heard);
            }
        }
    }
}

/// A rule-following caller: misheard, the agent says "Sorry?" and the call takes a line
/// more than `outcome.max_turns` allows.
fn rules_case() -> Value {
    json!({
        "test_id": "picky_rules", "persona": "Caller",
        "caller": {
            "opening": "A table for seven tonight please",
            "rules": [
                {"when": ["sorry"], "say": "I said a table for seven"},
                {"when": ["booked"], "say": "Right thanks", "then": "hang_up"}
            ],
            "max_turns": 6,
            "disfluency_rate": 0.3,
            "asr": {"wer": 0.3}
        },
        "outcome": {"mentions": ["booked"], "ended_by": "caller", "max_turns": 2}
    })
}

/// Issue #23 fault 9: a rule-following case came back "not shrunk … the agent varies
/// between runs?" with this deterministic agent, because pins were made only for scripted
/// turns. Its lines are now written down as the agent heard them, each line's text needed.
#[test]
fn a_rule_following_case_is_shrunk_and_needs_every_line_it_writes_down() {
    let original = rules_case();
    let (seed, shrunk) =
        sweep_and_shrink(&original, 1, 40).expect("some seed fails with this much noise");
    let failing = fails_alone(&original, seed, &shrunk);
    // What changed from the original caller: the lines written as the agent heard them.
    let caller = &shrunk["caller"];
    let mut changed = Vec::new();
    if caller["opening"] != original["caller"]["opening"] {
        changed.push("/caller/opening".to_owned());
    }
    for (i, rule) in caller["rules"].as_array().unwrap().iter().enumerate() {
        if rule["say"] != original["caller"]["rules"][i]["say"] {
            changed.push(format!("/caller/rules/{i}/say"));
        }
    }
    if caller.get("otherwise").is_some() {
        changed.push("/caller/otherwise".to_owned());
    }
    assert!(
        !changed.is_empty(),
        "the failure came from the noise: {shrunk:#}"
    );
    for pointer in changed {
        let mut without = shrunk.clone();
        let original_text = original
            .pointer(&pointer)
            .cloned()
            .unwrap_or(json!("Sorry, could you say that again?"));
        let written = shrunk
            .pointer(&pointer)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            word_distance(original_text.as_str().unwrap(), &written),
            1,
            "{pointer} keeps errors it does not need: {written:?}"
        );
        *without.pointer_mut(&pointer).unwrap() = original_text;
        assert_ne!(
            verdict(&without, 0),
            failing,
            "{pointer} is not needed: {shrunk:#}"
        );
    }
}

/// Found by the property above (`PROPTEST_CASES=1500`, fails on 45d14df too): the seed's
/// recognition errors deleted every word of one line, so the first written-down case (every
/// perturbation kept) pinned it as `"heard": ""`, which the loader refused as blank: the
/// shrink gave up before it could drop that pin as not needed.
#[test]
fn a_line_heard_as_nothing_is_written_down_and_fails_alone() {
    let lines = vec!["table table".to_owned(); 3];
    let original = scripted(&lines, 0.0, 0.3);
    let (seed, shrunk) = sweep_and_shrink(&original, 724518, 30).expect("a failing seed");
    let failing = fails_alone(&original, seed, &shrunk);
    let turns = shrunk["turns"].as_array().unwrap();
    for (i, turn) in turns.iter().enumerate() {
        if turn.get("heard").is_some() {
            let mut without = shrunk.clone();
            without["turns"][i].as_object_mut().unwrap().remove("heard");
            assert_ne!(
                verdict(&without, 0),
                failing,
                "turn {}'s pin is not needed",
                i + 1
            );
        }
    }
}
