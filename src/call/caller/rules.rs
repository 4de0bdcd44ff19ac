//! A caller that follows rules (docs/rules.md, "The caller"): says its opening, then
//! answers each reply with the first rule whose `when` the reply meets, `otherwise` when
//! none does; hangs up after a rule with `then: "hang_up"` or after `max_retries` confused
//! lines in a row; has no line left after `max_turns` lines.

use super::{Caller, Line, Next};
use crate::call::conversation::{Row, RulesRun};
use crate::case::{CallerAct, EndedBy, Rules, Speaker};
use crate::normalize::{Words, lowercase};

/// The label of a caller row said because no rule matched.
const OTHERWISE: &str = "otherwise";

/// The caller of a rule-following case.
#[derive(Debug)]
pub(crate) struct RuleFollowing<'c> {
    rules: &'c Rules,
    /// Read the replies' numbers as spoken (`matching.numbers`).
    spoken_numbers: bool,
    /// Which rules fired (a `once` rule fires only once).
    fired: Vec<bool>,
    /// `otherwise` lines in a row.
    confused_in_a_row: u32,
    /// Lines chosen so far.
    lines: u32,
}

impl<'c> RuleFollowing<'c> {
    /// A caller that follows `rules`, reading numbers in replies as spoken when
    /// `spoken_numbers`.
    pub(crate) fn new(rules: &'c Rules, spoken_numbers: bool) -> Self {
        Self {
            rules,
            spoken_numbers,
            fired: vec![false; rules.rules.len()],
            confused_in_a_row: 0,
            lines: 0,
        }
    }

    /// The caller's answer to `reply`: the first rule whose `when` the reply meets (what it
    /// says, its label, whether it hangs up), `otherwise`, or `None` when the caller was
    /// confused too often in a row and gives up.
    fn answer(&mut self, reply: &str) -> Option<(&'c str, String, bool)> {
        let rules = self.rules;
        let lower = lowercase(reply);
        let words = Words::new(&lower, self.spoken_numbers);
        let fired = &self.fired;
        let matched = rules.rules.iter().enumerate().find_map(|(i, rule)| {
            if rule.once && fired[i] {
                return None;
            }
            let when = rule.when.iter().find(|k| k.met_by(&words))?;
            Some((i, when))
        });
        match matched {
            Some((i, when)) => {
                self.fired[i] = true;
                self.confused_in_a_row = 0;
                let rule = &rules.rules[i];
                let label = format!("rule {}: {:?}", i + 1, when.to_string());
                Some((&rule.say, label, rule.hang_up))
            }
            // Confused too often in a row: the caller gives up.
            None if self.confused_in_a_row >= rules.max_retries => None,
            None => {
                self.confused_in_a_row += 1;
                Some((&rules.otherwise, OTHERWISE.to_owned(), false))
            }
        }
    }
}

impl<'c> Caller<'c> for RuleFollowing<'c> {
    fn next(&mut self, reply: Option<&str>) -> Next<'c> {
        let (script, label, hangs_up) = match reply {
            None => (self.rules.opening.as_str(), "opening".to_owned(), false),
            Some(reply) => match self.answer(reply) {
                Some(line) => line,
                None => return Next::HangUp,
            },
        };
        // A line chosen when `max_turns` ran out is not said.
        if self.lines >= self.rules.max_turns {
            return Next::Done;
        }
        self.lines += 1;
        Next::Say(Line {
            step_order: self.lines,
            script,
            act: &CallerAct::Say,
            said: None,
            heard: None,
            barge_in_after_ms: None,
            rule: Some(label),
            hangs_up,
        })
    }

    fn keeps_empty_replies(&self) -> bool {
        false
    }

    fn counts_unsaid_line(&self) -> bool {
        true
    }

    fn finish(&self, ended_by: EndedBy, transcript: &[Row]) -> Option<RulesRun> {
        // Every line said is a caller row with its label; a call that never started has none.
        let mut run = RulesRun {
            ended_by,
            caller_turns: 0,
            rules_fired: 0,
            otherwise_lines: 0,
        };
        for row in transcript.iter().filter(|r| r.speaker == Speaker::User) {
            run.caller_turns += 1;
            match row.rule.as_deref() {
                Some(label) if label.starts_with("rule ") => run.rules_fired += 1,
                Some(OTHERWISE) => run.otherwise_lines += 1,
                _ => {}
            }
        }
        Some(run)
    }
}
