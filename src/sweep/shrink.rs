//! Shrinking a failing seed (`voice-harness sweep --shrink DIR`) to a minimal case that
//! fails the same way under any seed.

use serde_json::Value;

use crate::agent::Agent;
use crate::case::{Case, parse_case};
use crate::prepare;
use crate::run::{Outcome, RunOptions};

/// One way a seed changed a turn: a filler in what was said, or noise in what was heard.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Perturbation {
    turn: usize,
    said: Option<String>,
    heard: Option<String>,
}

/// A minimal failing case for a failing seed: the seed's fillers and recognition noise are
/// written down as `said` / `heard` pins, every pin the failure does not need is removed
/// (removing any one that is left makes the case stop failing the same way), and the
/// random perturbations are turned off, so it fails under any seed. `None` when the
/// written-down case does not fail the same way (the agent itself is not deterministic).
pub(crate) fn shrink<A: Agent>(
    raw: &Value,
    case: &Case,
    failing: &Outcome,
    make_agent: &impl Fn(&Case) -> A,
    run: &RunOptions,
    source: &str,
) -> Option<Value> {
    let perturbations = perturbations(case, failing);
    let fails_the_same_way = |kept: &[Perturbation]| -> bool {
        let candidate = pinned(
            raw,
            case,
            failing.seed,
            kept,
            source,
            &failing.metrics.failure_steps,
        );
        let Ok(bytes) = serde_json::to_vec(&candidate) else {
            return false;
        };
        let Ok(shrunk) = parse_case("shrink.json", &bytes) else {
            return false;
        };
        match prepare::run(&shrunk, make_agent, run) {
            Ok(ran) => {
                !ran.outcome.as_expected
                    && ran.outcome.metrics.failure_steps == failing.metrics.failure_steps
                    && ran.outcome.status == failing.status
            }
            Err(_) => false,
        }
    };
    if !fails_the_same_way(&perturbations) {
        return None;
    }
    // Greedy 1-minimal reduction (delta debugging with single removals): drop each pin
    // the failure survives without, until none can go.
    let mut kept = perturbations;
    loop {
        let before = kept.len();
        let mut i = 0;
        while i < kept.len() {
            let mut without = kept.clone();
            without.remove(i);
            if fails_the_same_way(&without) {
                kept = without;
            } else {
                i += 1;
            }
        }
        if kept.len() == before {
            break;
        }
    }
    Some(pinned(
        raw,
        case,
        failing.seed,
        &kept,
        source,
        &failing.metrics.failure_steps,
    ))
}

/// Every filler and every misheard line of the failing run, one pin each: a `said` for a
/// line with a filler, a `heard` for a line the agent misheard (a turn may give both).
fn perturbations(case: &Case, outcome: &Outcome) -> Vec<Perturbation> {
    let mut found = Vec::new();
    for row in outcome
        .transcript
        .iter()
        .filter(|r| r.speaker == crate::case::Speaker::User && r.event.is_none())
    {
        let Some(index) = (row.step_order as usize).checked_sub(1) else {
            continue;
        };
        let Some(turn) = case.turns.get(index) else {
            continue;
        };
        if turn.said.is_some() || turn.heard.is_some() {
            continue;
        }
        if row.text != turn.user_input {
            found.push(Perturbation {
                turn: index,
                said: Some(row.text.clone()),
                heard: None,
            });
        }
        if let Some(heard) = &row.heard {
            found.push(Perturbation {
                turn: index,
                said: None,
                heard: Some(heard.clone()),
            });
        }
    }
    found
}

/// The case with `kept` written down, randomness off, and a name and description that say
/// where it came from.
fn pinned(
    raw: &Value,
    case: &Case,
    seed: u64,
    kept: &[Perturbation],
    source: &str,
    failing_steps: &[u32],
) -> Value {
    let mut value = raw.clone();
    let Some(object) = value.as_object_mut() else {
        return value;
    };
    object.remove("sweep");
    object.remove("seed");
    object.insert(
        "test_id".into(),
        Value::String(shrunk_id(&case.test_id, seed)),
    );
    object.insert(
        "description".into(),
        Value::String(format!(
            "Shrunk by `voice-harness sweep --shrink` from {source} ({}) at seed {seed}: it fails at steps {failing_steps:?} with only the fillers and misheard lines written down here, under any seed.",
            case.test_id
        )),
    );
    if let Some(caller) = object.get_mut("caller").and_then(Value::as_object_mut) {
        caller.remove("disfluency_rate");
        caller.remove("asr");
        if caller.is_empty() {
            object.remove("caller");
        }
    }
    if let Some(turns) = object.get_mut("turns").and_then(Value::as_array_mut) {
        for p in kept {
            let Some(turn) = turns.get_mut(p.turn).and_then(Value::as_object_mut) else {
                continue;
            };
            if let Some(said) = &p.said {
                turn.insert("said".into(), Value::String(said.clone()));
            }
            if let Some(heard) = &p.heard {
                turn.insert("heard".into(), Value::String(heard.clone()));
            }
        }
    }
    value
}

/// `billing_v1_seed42`, kept within the 128 characters a `test_id` may have.
pub(crate) fn shrunk_id(test_id: &str, seed: u64) -> String {
    let suffix = format!("_seed{seed}");
    let keep = 128 - suffix.len();
    let head: String = test_id.chars().take(keep).collect();
    format!("{head}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrunk_ids_stay_valid() {
        assert_eq!(shrunk_id("billing_v1", 42), "billing_v1_seed42");
        let long = "x".repeat(128);
        let id = shrunk_id(&long, u64::MAX);
        assert_eq!(id.len(), 128);
        assert!(id.ends_with("_seed18446744073709551615"));
    }
}
