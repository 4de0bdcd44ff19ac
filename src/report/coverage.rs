//! What a suite exercised (docs/report.md, "Coverage"): each mocked tool's calls and which
//! of its mocks answered them (a mock no call reaches tests nothing), each `caller.rules`
//! rule and how often it fired, the voice events and hearing features the calls used, and
//! the cases that check nothing at all.
//!
//! Each case's share ([`CaseFacts`]) is taken on the thread that ran it, from the case and
//! its call; the runner adds the shares up in file order ([`Coverage::add`]). Everything is
//! kept in file order or in `BTreeMap`s, so the numbers and their order depend only on the
//! cases.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::call::RowEvent;
use crate::case::{CallerAct, Case, Keyword, Speaker};
use crate::message;
use crate::run::Outcome;

/// What the report needs of a case beyond its call: its tags, each step's expectations,
/// and its share of the coverage. Taken from the case and its call on the thread that ran
/// it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct CaseFacts {
    pub(crate) tags: Vec<String>,
    /// What each turn expects, by `step_order`.
    pub(crate) steps: Vec<StepFacts>,
    /// The caller follows rules: the steps are checks of the whole call (`outcome`).
    pub(crate) outcome: bool,
    /// Each mock of the case (`tools.<name>[i]`) and how many calls it answered.
    mocks: Vec<MockUse>,
    /// Calls per tool name (answered or not).
    calls: BTreeMap<String, u64>,
    /// Each `caller.rules` rule and how often it fired.
    rules: Vec<RuleUse>,
    /// Per voice feature ([`FEATURES`]): used by the case (0/1), and times it happened.
    features: [(u64, u64); FEATURES.len()],
    /// The case checks no keyword, phrase, tool, mention, latency or outcome.
    checks_nothing: bool,
}

/// What one turn expects, as people read it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct StepFacts {
    pub(crate) step_order: u32,
    /// The keywords (`9 am | nine am`, `/regex/`), or the exact phrase (`= "..."`).
    pub(crate) expected: Vec<String>,
    pub(crate) forbidden: Vec<String>,
    /// Expected tool calls, written `Name(key=value)`.
    pub(crate) tools: Vec<String>,
    /// `max_latency_ms`.
    pub(crate) budget: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
struct MockUse {
    tool: String,
    index: usize,
    matcher: Option<Value>,
    calls: u64,
}

#[derive(Debug, Clone, PartialEq)]
struct RuleUse {
    when: String,
    fired: u64,
}

/// The voice events and hearing features counted, in the order they are reported: the
/// name, and what "times" counts.
pub(crate) const FEATURES: [(&str, &str); 9] = [
    ("silence", "silent turns in the calls"),
    ("dtmf", "keypad turns in the calls"),
    ("barge_in", "replies cut off"),
    ("asr_noise", "caller lines heard differently"),
    ("pinned_said_heard", "pinned turns"),
    ("fillers", "fillers inserted"),
    ("spoken_numbers", "cases"),
    ("keyword_alternatives", "keywords with alternatives"),
    ("keyword_regex", "regular-expression keywords"),
];

impl CaseFacts {
    /// The facts of `case`, whose call came to `outcome`.
    pub(crate) fn of(case: &Case, outcome: &Outcome) -> Self {
        let mut facts = Self {
            tags: case.tags.clone(),
            outcome: case.rules.is_some(),
            ..Self::default()
        };
        for turn in &case.turns {
            let expected = if turn.exact_match_required {
                vec![format!("= \"{}\"", turn.expected_phrase())]
            } else {
                turn.expected_agent_response_keywords
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            };
            facts.steps.push(StepFacts {
                step_order: turn.step_order,
                expected,
                forbidden: turn
                    .forbidden_keywords
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                tools: turn
                    .expected_tool_calls
                    .iter()
                    .map(|c| match &c.arguments {
                        Some(args) => format!("{}({args})", c.name),
                        None => format!("{}(…)", c.name),
                    })
                    .collect(),
                budget: turn.max_latency_ms,
            });
        }
        if let Some(tools) = &case.tools {
            for (tool, mocks) in tools {
                for (index, mock) in mocks.iter().enumerate() {
                    facts.mocks.push(MockUse {
                        tool: tool.clone(),
                        index,
                        matcher: mock.matcher.clone(),
                        calls: 0,
                    });
                }
            }
        }
        let mut feature = |name: &str, used: bool, times: u64| {
            if let Some(i) = FEATURES.iter().position(|(n, _)| *n == name) {
                facts.features[i].0 += u64::from(used);
                facts.features[i].1 += times;
            }
        };
        let turns = &case.turns;
        let count = |f: &dyn Fn(&crate::case::Turn) -> bool| turns.iter().filter(|t| f(t)).count();
        let keywords = || {
            turns.iter().flat_map(|t| {
                t.expected_agent_response_keywords
                    .iter()
                    .chain(&t.forbidden_keywords)
            })
        };
        let rows = &outcome.transcript;
        let silences = rows
            .iter()
            .filter(|r| matches!(r.event, Some(RowEvent::Silence(_))))
            .count() as u64;
        let tones = rows
            .iter()
            .filter(|r| matches!(r.event, Some(RowEvent::Dtmf)))
            .count() as u64;
        feature(
            "silence",
            count(&|t| matches!(t.act, CallerAct::Silence(_))) > 0,
            silences,
        );
        feature(
            "dtmf",
            count(&|t| matches!(t.act, CallerAct::Dtmf(_))) > 0,
            tones,
        );
        feature(
            "barge_in",
            count(&|t| t.barge_in_after_ms.is_some()) > 0,
            rows.iter().filter(|r| r.cut.is_some()).count() as u64,
        );
        feature(
            "asr_noise",
            case.asr_wer.is_some(),
            rows.iter()
                .filter(|r| r.speaker == Speaker::User && r.heard.is_some())
                .count() as u64,
        );
        let pinned = count(&|t| t.said.is_some() || t.heard.is_some()) as u64;
        feature("pinned_said_heard", pinned > 0, pinned);
        feature(
            "fillers",
            case.disfluency_rate > 0.0,
            u64::from(outcome.metrics.disfluencies_injected),
        );
        feature(
            "spoken_numbers",
            case.spoken_numbers,
            u64::from(case.spoken_numbers),
        );
        let alternatives = keywords()
            .filter(|k| matches!(k, Keyword::AnyOf(_)))
            .count() as u64;
        let mut rule_keywords = (0u64, 0u64);
        if let Some(rules) = &case.rules {
            for rule in &rules.rules {
                for k in &rule.when {
                    match k {
                        Keyword::AnyOf(_) => rule_keywords.0 += 1,
                        Keyword::Regex(_) => rule_keywords.1 += 1,
                        Keyword::Phrase(_) => {}
                    }
                }
            }
        }
        let alternatives = alternatives + rule_keywords.0;
        feature("keyword_alternatives", alternatives > 0, alternatives);
        let regexes = keywords()
            .filter(|k| matches!(k, Keyword::Regex(_)))
            .count() as u64
            + rule_keywords.1;
        feature("keyword_regex", regexes > 0, regexes);

        for row in rows {
            if let Some(call) = &row.call {
                *facts.calls.entry(call.name.clone()).or_default() += 1;
                if let Some(index) = call.mock {
                    if let Some(mock) = facts
                        .mocks
                        .iter_mut()
                        .find(|m| m.tool == call.name && m.index == index)
                    {
                        mock.calls += 1;
                    }
                }
            }
        }
        if let Some(rules) = &case.rules {
            facts.rules = rules
                .rules
                .iter()
                .map(|rule| RuleUse {
                    when: rule
                        .when
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    fired: 0,
                })
                .collect();
            for row in rows {
                // `rule 2: "what time"`: the rule's number, from 1.
                let fired = row
                    .rule
                    .as_deref()
                    .and_then(|label| label.strip_prefix("rule "))
                    .and_then(|rest| rest.split(':').next())
                    .and_then(|n| n.parse::<usize>().ok());
                if let Some(rule) = fired.and_then(|n| facts.rules.get_mut(n.wrapping_sub(1))) {
                    rule.fired += 1;
                }
            }
        }
        let turn_checks = turns.iter().any(|t| {
            !t.expected_agent_response_keywords.is_empty()
                || (t.exact_match_required && !t.expected_phrase().trim().is_empty())
                || !t.forbidden_keywords.is_empty()
                || !t.expected_tool_calls.is_empty()
                || !t.forbidden_tool_calls.is_empty()
                || !t.expected_mentions.is_empty()
                || t.max_latency_ms.is_some()
                || t.judge.is_some()
        });
        let outcome_checks = case.rules.as_ref().is_some_and(|r| {
            let o = &r.outcome;
            !o.tool_calls.is_empty()
                || !o.forbidden_tool_calls.is_empty()
                || !o.mentions.is_empty()
                || !o.forbidden_keywords.is_empty()
                || o.ended_by.is_some()
                || o.max_turns.is_some()
        });
        facts.checks_nothing = !turn_checks && !outcome_checks;
        facts
    }
}

/// What a suite exercised: the `coverage` block of the JSON report, a section of the HTML
/// page, and the runner's `--coverage` summary (docs/report.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Coverage {
    /// Cases whose calls were counted (cases that ran; not those that could not be loaded).
    pub cases: u64,
    /// Each tool mocked or called in the suite, by name.
    pub tools: BTreeMap<String, ToolCoverage>,
    /// Each `caller.rules` rule of the suite, in file order.
    pub rules: Vec<RuleCoverage>,
    /// Voice events and hearing features, in a fixed order.
    pub voice: Vec<FeatureCoverage>,
    /// Cases that check no keyword, exact phrase, tool call, mention, latency budget, judge
    /// or outcome: they pass whatever the agent says.
    pub checks_nothing: Vec<CaseRef>,
}

impl Default for Coverage {
    fn default() -> Self {
        Self::new()
    }
}

/// One tool: its calls and its mocks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolCoverage {
    /// Calls of the tool in all calls of the suite.
    pub calls: u64,
    /// Calls that no mock answered.
    pub unanswered: u64,
    /// Mocks of the tool (each case's `tools.<name>[i]`), in file order.
    pub mocks: Vec<MockCoverage>,
    /// How many of them answered no call.
    pub never_matched: u64,
}

/// One mock entry and the calls it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MockCoverage {
    /// The case file.
    pub file: String,
    /// The case's `test_id`.
    pub test_id: String,
    /// Where the mock is in the case: `tools.lookup_order[1]`.
    pub path: String,
    /// Its `match` (`null`: it answers any call).
    #[serde(rename = "match")]
    pub matcher: Option<Value>,
    /// Calls it answered.
    pub calls: u64,
}

/// One `caller.rules` rule and how often it fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RuleCoverage {
    /// The case file.
    pub file: String,
    /// The case's `test_id`.
    pub test_id: String,
    /// `caller.rules[2]`.
    pub path: String,
    /// Its `when` phrases.
    pub when: String,
    /// Caller lines it produced.
    pub fired: u64,
}

/// A voice event or hearing feature: the cases that use it and how often it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FeatureCoverage {
    /// `silence`, `dtmf`, `barge_in`, `asr_noise`, `pinned_said_heard`, `fillers`,
    /// `spoken_numbers`, `keyword_alternatives`, `keyword_regex`.
    pub feature: String,
    /// Cases that use it.
    pub cases: u64,
    /// How often it happened (what is counted: `counts`).
    pub times: u64,
    /// What `times` counts.
    pub counts: String,
}

/// A case named in the coverage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CaseRef {
    /// The case file.
    pub file: String,
    /// The case's `test_id`.
    pub test_id: String,
}

impl Coverage {
    /// Nothing counted yet.
    pub fn new() -> Self {
        Self {
            cases: 0,
            tools: BTreeMap::new(),
            rules: Vec::new(),
            voice: FEATURES
                .iter()
                .map(|(feature, counts)| FeatureCoverage {
                    feature: (*feature).to_owned(),
                    cases: 0,
                    times: 0,
                    counts: (*counts).to_owned(),
                })
                .collect(),
            checks_nothing: Vec::new(),
        }
    }

    /// Adds a case's share (cases that could not be run have none). Call in file order.
    pub fn add(&mut self, case: &super::CaseReport) {
        let Some(facts) = &case.facts else {
            return;
        };
        let test_id = case.test_id.clone().unwrap_or_default();
        self.cases += 1;
        for mock in &facts.mocks {
            let tool = self.tools.entry(mock.tool.clone()).or_default();
            tool.never_matched += u64::from(mock.calls == 0);
            tool.mocks.push(MockCoverage {
                file: case.file.clone(),
                test_id: test_id.clone(),
                path: format!("tools.{}[{}]", mock.tool, mock.index),
                matcher: mock.matcher.clone(),
                calls: mock.calls,
            });
        }
        for (name, calls) in &facts.calls {
            let answered: u64 = facts
                .mocks
                .iter()
                .filter(|m| &m.tool == name)
                .map(|m| m.calls)
                .sum();
            let tool = self.tools.entry(name.clone()).or_default();
            tool.calls += calls;
            tool.unanswered += calls.saturating_sub(answered);
        }
        for (index, rule) in facts.rules.iter().enumerate() {
            self.rules.push(RuleCoverage {
                file: case.file.clone(),
                test_id: test_id.clone(),
                path: format!("caller.rules[{index}]"),
                when: rule.when.clone(),
                fired: rule.fired,
            });
        }
        for (feature, (used, times)) in self.voice.iter_mut().zip(facts.features) {
            feature.cases += used;
            feature.times += times;
        }
        if facts.checks_nothing {
            self.checks_nothing.push(CaseRef {
                file: case.file.clone(),
                test_id,
            });
        }
    }

    /// Adds up the coverage of another shard of the same suite (`voice-harness merge`):
    /// every count is summed, and the lists are put back in file order, as one run gives.
    pub(crate) fn absorb(&mut self, other: Coverage) {
        self.cases += other.cases;
        for (name, tool) in other.tools {
            let mine = self.tools.entry(name).or_default();
            mine.calls += tool.calls;
            mine.unanswered += tool.unanswered;
            mine.never_matched += tool.never_matched;
            mine.mocks.extend(tool.mocks);
            // Stable: a file's mocks keep their order (each file is in one shard).
            mine.mocks.sort_by(|a, b| a.file.cmp(&b.file));
        }
        self.rules.extend(other.rules);
        self.rules.sort_by(|a, b| a.file.cmp(&b.file));
        for feature in other.voice {
            match self.voice.iter_mut().find(|f| f.feature == feature.feature) {
                Some(mine) => {
                    mine.cases += feature.cases;
                    mine.times += feature.times;
                }
                None => self.voice.push(feature),
            }
        }
        self.checks_nothing.extend(other.checks_nothing);
        self.checks_nothing.sort_by(|a, b| a.file.cmp(&b.file));
    }

    /// Mocks that answered no call, with their tool, in tool then file order.
    pub fn never_matched(&self) -> impl Iterator<Item = (&str, &MockCoverage)> {
        self.tools.iter().flat_map(|(name, tool)| {
            tool.mocks
                .iter()
                .filter(|m| m.calls == 0)
                .map(move |m| (name.as_str(), m))
        })
    }

    /// The runner's `--coverage` summary: a few lines, lists cut at ten entries.
    pub fn summary(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let mocks: usize = self.tools.values().map(|t| t.mocks.len()).sum();
        let unused: Vec<String> = self
            .never_matched()
            .map(|(_, m)| format!("{} {} (match {})", m.file, m.path, matcher_text(m)))
            .collect();
        let calls: u64 = self.tools.values().map(|t| t.calls).sum();
        let _ = writeln!(
            out,
            "{}",
            message::coverage_headline(
                self.cases as usize,
                calls,
                self.tools.len(),
                mocks - unused.len(),
                mocks
            )
        );
        list(&mut out, message::COVERAGE_MOCKS_NEVER_MATCHED, &unused);
        let silent: Vec<String> = self
            .rules
            .iter()
            .filter(|r| r.fired == 0)
            .map(|r| format!("{} {} ({})", r.file, r.path, r.when))
            .collect();
        if self.rules.is_empty() {
            let _ = writeln!(out, "{}", message::COVERAGE_NO_RULES);
        } else {
            let _ = writeln!(
                out,
                "{}",
                message::coverage_rules_fired(self.rules.len() - silent.len(), self.rules.len())
            );
        }
        list(&mut out, message::COVERAGE_RULES_NEVER_FIRED, &silent);
        let voice: Vec<String> = self
            .voice
            .iter()
            .map(|f| format!("{} {}/{}", f.feature, f.cases, f.times))
            .collect();
        let _ = writeln!(out, "{}", message::coverage_voice(&voice));
        let nothing: Vec<String> = self
            .checks_nothing
            .iter()
            .map(|c| format!("{} ({})", c.file, c.test_id))
            .collect();
        let _ = writeln!(out, "{}", message::coverage_checking_nothing(nothing.len()));
        list(&mut out, message::COVERAGE_CHECK_NOTHING, &nothing);
        out.pop();
        out
    }
}

/// A mock's `match` on one line: `{"order_id":"5512"}`, or `any call`.
pub(crate) fn matcher_text(mock: &MockCoverage) -> String {
    match &mock.matcher {
        Some(m) => m.to_string(),
        None => "any call".to_owned(),
    }
}

/// `  what: a, b, c (+7 more)` on its own line, when there is anything.
fn list(out: &mut String, what: &str, items: &[String]) {
    use std::fmt::Write;
    const SHOWN: usize = 10;
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{what}:");
    for item in items.iter().take(SHOWN) {
        let _ = writeln!(out, "    {item}");
    }
    if items.len() > SHOWN {
        let _ = writeln!(out, "    (+{} more)", items.len() - SHOWN);
    }
}
