//! `caller`: the filler rate, the recognition noise, an LLM rephrasing, and (through
//! `rules.rs`) the fields of a caller that follows rules.

use super::rules::RulesPart;
use super::{Checked, Checker};
use crate::case::json::{JsonPath, Node};
use crate::message;

/// The `caller` object, checked.
#[derive(Default)]
pub(super) struct CallerSection {
    pub(super) disfluency_rate: Option<f64>,
    pub(super) asr_wer: Option<f64>,
    pub(super) rules: Option<RulesPart>,
    pub(super) rephrase: bool,
}

const CALLER_FIELDS: &[&str] = &[
    "disfluency_rate",
    "asr",
    "opening",
    "rules",
    "otherwise",
    "max_retries",
    "max_turns",
    "rephrase",
];
const ASR_FIELDS: &[&str] = &["wer"];

impl Checker {
    /// `caller`: the filler rate and the recognition noise (each `None` when absent).
    pub(super) fn caller(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<CallerSection> {
        let fields = self.object(node, path, CALLER_FIELDS)?;
        let rules = self.caller_rules(&fields);
        let rephrase = fields.get("rephrase").map(|n| {
            let at = fields.at("rephrase");
            let llm = self.choice(n, &at, &[("llm", true)])?;
            self.needs_llm(&at, "`caller.rephrase`")?;
            Some(llm)
        });
        let rate = fields.get("disfluency_rate").map(|n| {
            self.fraction(
                n,
                &fields.at("disfluency_rate"),
                message::DISFLUENCY_RATE_HELP,
            )
        });
        let wer = fields.get("asr").map(|n| {
            let asr = self.object(n, fields.at("asr"), ASR_FIELDS)?;
            let Some(wer) = asr.get("wer") else {
                self.push(message::missing_field(
                    &asr.path.to_string(),
                    "wer",
                    "the word error rate of the recognition noise, e.g. 0.1",
                ));
                return None;
            };
            self.fraction(wer, &asr.at("wer"), message::WER_HELP)
        });
        Some(CallerSection {
            disfluency_rate: rate.checked()?,
            asr_wer: wer.checked()?,
            rules: rules?,
            rephrase: rephrase.checked()?.unwrap_or(false),
        })
    }

    /// A number from 0.0 to 1.0.
    pub(super) fn fraction(
        &mut self,
        node: &Node<'_>,
        path: &JsonPath<'_>,
        help: &str,
    ) -> Option<f64> {
        let value = self.f64(node, path)?;
        if !(0.0..=1.0).contains(&value) {
            self.rule(path, message::not_a_fraction(value, help));
            return None;
        }
        Some(value)
    }
}
