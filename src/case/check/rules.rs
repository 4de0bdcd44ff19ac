//! A caller that follows rules: `caller.opening`, `caller.rules`, `caller.otherwise`,
//! `caller.max_retries`, `caller.max_turns`; and the call's `outcome` checks.

use super::{Checked, Checker, Fields, every};
use crate::case::json::{JsonPath, Node};
use crate::case::{EndedBy, OutcomeChecks, Rule, Rules};
use crate::message;

const RULE_FIELDS: &[&str] = &["when", "say", "once", "then"];
const OUTCOME_FIELDS: &[&str] = &[
    "tool_calls",
    "forbidden_tool_calls",
    "mentions",
    "forbidden_keywords",
    "ended_by",
    "max_turns",
];
/// What the caller says when no rule matches, unless `otherwise` says otherwise.
pub(crate) const DEFAULT_OTHERWISE: &str = "Sorry, could you say that again?";

impl Checker {
    /// The rule-following fields of `caller`, when it has `rules`. `None` (with problems
    /// reported) when they are invalid; `Some(None)` when the caller follows a script.
    pub(super) fn caller_rules(&mut self, fields: &Fields<'_, '_>) -> Option<Option<RulesPart>> {
        let given = ["opening", "rules", "otherwise", "max_retries", "max_turns"]
            .into_iter()
            .any(|f| fields.get(f).is_some());
        if !given {
            return Some(None);
        }
        let Some(rules_node) = fields.get("rules") else {
            self.rule(&fields.path, message::rules_fields_without_rules());
            return None;
        };
        let opening = self
            .required(fields, "opening", "the caller's first line")
            .and_then(|n| self.words(n, &fields.at("opening")));
        let rules = self.rules_list(rules_node, &fields.at("rules"));
        let otherwise = fields
            .get("otherwise")
            .map(|n| self.words(n, &fields.at("otherwise")));
        let retries = fields
            .get("max_retries")
            .map(|n| self.u64(n, &fields.at("max_retries")));
        let max_turns = fields
            .get("max_turns")
            .map(|n| self.caller_lines(n, &fields.at("max_turns")));
        Some(Some(RulesPart {
            opening: opening?,
            rules: rules?,
            otherwise: otherwise
                .checked()?
                .unwrap_or_else(|| DEFAULT_OTHERWISE.to_owned()),
            max_retries: retries
                .checked()?
                .map_or(2, |r| r.min(u64::from(u32::MAX)) as u32),
            max_turns: max_turns.checked()?.unwrap_or(20),
        }))
    }

    fn rules_list(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<Vec<Rule>> {
        let items = self.array(node, path, "a list of rules {\"when\": […], \"say\": …}")?;
        if items.is_empty() {
            self.rule(path, message::no_rules());
            return None;
        }
        every(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| self.one_rule(item, path.index(i))),
        )
    }

    fn one_rule(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<Rule> {
        let fields = self.object(node, path, RULE_FIELDS)?;
        let when = self
            .required(
                &fields,
                "when",
                "the phrases in the agent's reply that make the rule speak",
            )
            .and_then(|n| {
                let at = fields.at("when");
                // A single phrase is a list of one.
                let when = match n {
                    Node::String(_) => self.keyword(n, &at).map(|k| vec![k]),
                    _ => self.keywords(n, &at),
                }?;
                if when.is_empty() {
                    self.rule(&at, message::no_when());
                    return None;
                }
                Some(when)
            });
        let say = self
            .required(&fields, "say", "what the caller says when the rule matches")
            .and_then(|n| self.words(n, &fields.at("say")));
        let once = fields.get("once").map(|n| self.bool(n, &fields.at("once")));
        let then = fields
            .get("then")
            .map(|n| self.choice(n, &fields.at("then"), &[("hang_up", true)]));
        Some(Rule {
            when: when?,
            say: say?,
            once: once.checked()?.unwrap_or(false),
            hang_up: then.checked()?.unwrap_or(false),
        })
    }

    /// A number of caller lines: at least 1.
    fn caller_lines(&mut self, node: &Node<'_>, at: &JsonPath<'_>) -> Option<u32> {
        match self.u64(node, at)? {
            0 => {
                self.rule(at, message::no_caller_lines());
                None
            }
            n => Some(n.min(u64::from(u32::MAX)) as u32),
        }
    }

    pub(super) fn outcome(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<OutcomeChecks> {
        let fields = self.object(node, path, OUTCOME_FIELDS)?;
        let calls = fields
            .get("tool_calls")
            .map(|n| self.expected_calls(n, &fields.at("tool_calls")));
        let forbidden_calls = fields
            .get("forbidden_tool_calls")
            .map(|n| self.tool_names(n, &fields.at("forbidden_tool_calls")));
        let mentions = fields
            .get("mentions")
            .map(|n| self.keywords(n, &fields.at("mentions")));
        let forbidden = fields
            .get("forbidden_keywords")
            .map(|n| self.keywords(n, &fields.at("forbidden_keywords")));
        let ended_by = fields.get("ended_by").map(|n| {
            self.choice(
                n,
                &fields.at("ended_by"),
                &[("caller", EndedBy::Caller), ("agent", EndedBy::Agent)],
            )
        });
        let max_turns = fields
            .get("max_turns")
            .map(|n| self.caller_lines(n, &fields.at("max_turns")));
        Some(OutcomeChecks {
            tool_calls: calls.checked()?.unwrap_or_default(),
            forbidden_tool_calls: forbidden_calls.checked()?.unwrap_or_default(),
            mentions: mentions.checked()?.unwrap_or_default(),
            forbidden_keywords: forbidden.checked()?.unwrap_or_default(),
            ended_by: ended_by.checked()?,
            max_turns: max_turns.checked()?,
        })
    }
}

/// The caller's rule-following fields, before `outcome` joins them.
pub(super) struct RulesPart {
    pub(super) opening: String,
    pub(super) rules: Vec<Rule>,
    pub(super) otherwise: String,
    pub(super) max_retries: u32,
    pub(super) max_turns: u32,
}

impl RulesPart {
    pub(super) fn with(self, outcome: OutcomeChecks) -> Rules {
        Rules {
            opening: self.opening,
            rules: self.rules,
            otherwise: self.otherwise,
            max_retries: self.max_retries,
            max_turns: self.max_turns,
            outcome,
        }
    }
}
