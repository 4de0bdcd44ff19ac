//! Shrinking a failing seed (`voice-harness sweep --shrink DIR`) to a minimal case that
//! fails the same way under any seed.

use serde_json::Value;

use crate::agent::Make;
use crate::case::{Case, Speaker, parse_case};
use crate::hearing::Mishearing;
use crate::run::{self, Drive, Outcome, RunOptions};

/// Where a line of the failing run is written down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A scripted turn (its index): `said` / `heard` pins.
    Turn(usize),
    /// A rule-following caller's `opening`, the `say` of a rule (its index), or
    /// `otherwise`: the text is written as the agent heard it.
    Opening,
    Rule(usize),
    Otherwise,
}

/// A caller line that the seed changed.
#[derive(Debug, Clone)]
struct Line {
    source: Source,
    /// The script's text: the turn's `user_input`, or the rule's line.
    script: String,
    /// What was said, when a filler went into it.
    said: Option<String>,
    /// The script → what the agent heard: one edit per word of a filler and per
    /// recognition error.
    heard: Mishearing,
}

/// One way the seed changed a line (its index): one of its edits (by index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Perturbation(usize, usize);

/// A minimal failing case for a failing seed: what the seed changed in each caller line
/// is written down (a scripted turn's as a `said` pin when it is the line with its filler,
/// else a `heard` pin; a rule-following caller's lines as the agent heard them), every
/// change the failure does not need is removed (removing any one that is left makes the
/// case stop failing the same way: each word of a filler and each recognition error is one),
/// and the random perturbations are turned off, so it fails under any seed. `None` when no written-down case fails the same way (the agent itself is not
/// deterministic).
pub(crate) fn shrink(
    raw: &Value,
    case: &Case,
    failing: &Outcome,
    make_agent: &Make<'_>,
    run: &RunOptions,
    source: &str,
) -> Option<Value> {
    let lines = lines(case, failing);
    // The written-down case has no randomness left; no seed may override that.
    let run = run.clone().with_seed(None);
    let candidate = |kept: &[Perturbation]| pinned(raw, case, failing, &lines, kept, source);
    let fails_the_same_way = |kept: &[Perturbation]| -> bool {
        let Some(candidate) = candidate(kept) else {
            return false;
        };
        let Ok(bytes) = serde_json::to_vec(&candidate) else {
            return false;
        };
        let Ok(shrunk) = parse_case("shrink.json", &bytes) else {
            return false;
        };
        match run::block(run::call(&shrunk, make_agent, &run, Drive::Block, None)) {
            Ok(ran) => {
                !ran.outcome.as_expected
                    && ran.outcome.metrics.failure_steps == failing.metrics.failure_steps
                    && ran.outcome.status == failing.status
            }
            Err(_) => false,
        }
    };
    // Every perturbation; for a rule-following caller, whose line for a rule is written
    // once for every time it fires, the first or else the last changed firing of each.
    let all = perturbations(&lines, |_| true);
    let mut starts = vec![all];
    if case.rules.is_some() {
        for pick in [first_of_each as fn(&[Line], usize) -> bool, last_of_each] {
            starts.push(perturbations(&lines, |i| pick(&lines, i)));
        }
    }
    let mut kept = starts.into_iter().find(|start| fails_the_same_way(start))?;
    // Greedy 1-minimal reduction (delta debugging with single removals): drop each
    // perturbation the failure survives without, until none can go.
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
    candidate(&kept)
}

/// Every caller line of the failing run that its seed changed (a filler, recognition
/// noise), with where it would be written down. Lines already pinned are left as they are.
fn lines(case: &Case, outcome: &Outcome) -> Vec<Line> {
    let mut found = Vec::new();
    for row in outcome
        .transcript
        .iter()
        .filter(|r| r.speaker == Speaker::User && r.event.is_none())
    {
        let (source, script) = match (&case.rules, &row.rule) {
            (Some(rules), Some(label)) => match rule_source(label) {
                Some(Source::Opening) => (Source::Opening, rules.opening.clone()),
                Some(Source::Otherwise) => (Source::Otherwise, rules.otherwise.clone()),
                Some(Source::Rule(i)) => match rules.rules.get(i) {
                    Some(rule) => (Source::Rule(i), rule.say.clone()),
                    None => continue,
                },
                _ => continue,
            },
            _ => {
                let Some(index) = (row.step_order as usize).checked_sub(1) else {
                    continue;
                };
                let Some(turn) = case.turns.get(index) else {
                    continue;
                };
                if turn.said.is_some() || turn.heard.is_some() {
                    continue;
                }
                (Source::Turn(index), turn.user_input.clone())
            }
        };
        let said = (row.text != script).then(|| row.text.clone());
        // What the agent heard, from the script: a `said` pin matters only for what the
        // agent hears (a filler is never a deviation), so the two layers are one.
        let heard = Mishearing::between(&script, row.heard.as_deref().unwrap_or(&row.text));
        if heard.errors() > 0 {
            found.push(Line {
                source,
                script,
                said,
                heard,
            });
        }
    }
    found
}

/// `opening`, `rule 2: "what time"` or `otherwise` (the transcript's labels).
fn rule_source(label: &str) -> Option<Source> {
    match label {
        "opening" => Some(Source::Opening),
        "otherwise" => Some(Source::Otherwise),
        _ => {
            let number = label.strip_prefix("rule ")?.split(':').next()?;
            Some(Source::Rule(number.parse::<usize>().ok()?.checked_sub(1)?))
        }
    }
}

/// The perturbations of the lines `take` says yes to, in line order.
fn perturbations(lines: &[Line], take: impl Fn(usize) -> bool) -> Vec<Perturbation> {
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate().filter(|(i, _)| take(*i)) {
        out.extend((0..line.heard.errors()).map(|k| Perturbation(i, k)));
    }
    out
}

fn first_of_each(lines: &[Line], i: usize) -> bool {
    !lines[..i].iter().any(|l| l.source == lines[i].source)
}

fn last_of_each(lines: &[Line], i: usize) -> bool {
    !lines[i + 1..].iter().any(|l| l.source == lines[i].source)
}

/// `line` with only the `kept` perturbations: a `said` pin when the agent heard what was
/// said with its filler, else a `heard` pin; neither when it heard the script.
fn written(line: &Line, index: usize, kept: &[Perturbation]) -> (Option<String>, Option<String>) {
    let edits: Vec<usize> = kept.iter().filter(|p| p.0 == index).map(|p| p.1).collect();
    let heard = line.heard.heard_with(|k| edits.contains(&k));
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    if edits.is_empty() || heard == words(&line.script) {
        return (None, None);
    }
    match &line.said {
        Some(said) if heard == words(said) => (Some(said.clone()), None),
        _ => (None, Some(heard)),
    }
}

/// The case with `kept` written down, randomness off, and a name and description that say
/// where it came from; `None` when a rule-following caller's line would have to be written
/// two ways.
fn pinned(
    raw: &Value,
    case: &Case,
    failing: &Outcome,
    lines: &[Line],
    kept: &[Perturbation],
    source: &str,
) -> Option<Value> {
    let seed = failing.seed;
    let mut value = raw.clone();
    let Some(object) = value.as_object_mut() else {
        return Some(value);
    };
    object.remove("sweep");
    object.remove("seed");
    object.insert(
        "test_id".into(),
        Value::String(shrunk_id(&case.test_id, seed)),
    );
    object.insert(
        "description".into(),
        Value::String(crate::message::shrunk_description(
            source,
            &case.test_id,
            seed,
            &failing.metrics.failure_steps,
            case.rules.is_some(),
        )),
    );
    if let Some(caller) = object.get_mut("caller").and_then(Value::as_object_mut) {
        caller.remove("disfluency_rate");
        caller.remove("asr");
        if caller.is_empty() {
            object.remove("caller");
        }
    }
    // A rule-following caller's line, by where it is written: the text the agent heard.
    let mut rule_lines: Vec<(Source, String)> = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let (said, heard) = written(line, index, kept);
        if said.is_none() && heard.is_none() {
            continue;
        }
        match line.source {
            Source::Turn(turn) => {
                let turn = value
                    .get_mut("turns")
                    .and_then(Value::as_array_mut)
                    .and_then(|turns| turns.get_mut(turn))
                    .and_then(Value::as_object_mut)?;
                if let Some(said) = said {
                    turn.insert("said".into(), Value::String(said));
                }
                if let Some(heard) = heard {
                    turn.insert("heard".into(), Value::String(heard));
                }
            }
            source => {
                let text = heard.or(said)?;
                match rule_lines.iter().find(|(s, _)| *s == source) {
                    Some((_, other)) if *other != text => return None,
                    Some(_) => {}
                    None => rule_lines.push((source, text)),
                }
            }
        }
    }
    for (source, text) in rule_lines {
        let caller = value.get_mut("caller").and_then(Value::as_object_mut)?;
        let slot = match source {
            Source::Opening => caller.get_mut("opening")?,
            Source::Otherwise => caller
                .entry("otherwise")
                .or_insert(Value::String(String::new())),
            Source::Rule(i) => caller
                .get_mut("rules")
                .and_then(Value::as_array_mut)
                .and_then(|rules| rules.get_mut(i))
                .and_then(Value::as_object_mut)
                .and_then(|rule| rule.get_mut("say"))?,
            Source::Turn(_) => continue,
        };
        *slot = Value::String(text);
    }
    Some(value)
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
