//! `sweep`: how many seeds a case's generated test runs, and the pass rate it is held to,
//! refused when no number of passes could meet it.

use super::{Checked, Checker};
use crate::case::CaseSweep;
use crate::case::json::{JsonPath, Node};
use crate::message;

const SWEEP_FIELDS: &[&str] = &["seeds", "min_pass_rate"];

impl Checker {
    /// `sweep`: `{"seeds": N, "min_pass_rate": R}`.
    pub(super) fn sweep(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<CaseSweep> {
        let fields = self.object(node, path, SWEEP_FIELDS)?;
        let seeds = self
            .required(
                &fields,
                "seeds",
                "how many seeds (callers) the test runs, e.g. 50",
            )
            .and_then(|n| {
                let at = fields.at("seeds");
                match self.u64(n, &at)? {
                    0 => {
                        self.rule(&at, message::no_seeds());
                        None
                    }
                    n if n > 100_000 => {
                        self.rule(&at, message::too_many_seeds(n));
                        None
                    }
                    n => Some(n),
                }
            });
        let rate = fields
            .get("min_pass_rate")
            .map(|n| self.fraction(n, &fields.at("min_pass_rate"), message::MIN_PASS_RATE_HELP));
        let (seeds, min_pass_rate) = (seeds?, rate.checked()?);
        // A bound no number of passes can meet is refused here, before any call (issue 23,
        // fault 16).
        if let Some(rate) = min_pass_rate {
            let at = fields.at("min_pass_rate");
            match crate::stats::seeds_needed(rate, 1) {
                None => {
                    self.rule(&at, message::case_sweep_never(rate));
                    return None;
                }
                Some(needed) if needed > seeds => {
                    let best = crate::stats::wilson_lower(seeds, seeds);
                    let broken = message::case_sweep_too_few(seeds, best, rate, needed);
                    self.rule(&fields.at("seeds"), broken);
                    return None;
                }
                Some(_) => {}
            }
        }
        Some(CaseSweep {
            seeds,
            min_pass_rate,
        })
    }
}
