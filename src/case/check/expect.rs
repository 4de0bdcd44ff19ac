//! `expect`: the outcome a negative test expects, its status and failing steps.

use super::{Checked, Checker};
use crate::case::json::{JsonPath, Node};
use crate::case::{Expect, Status};
use crate::message;

const EXPECT_FIELDS: &[&str] = &["status", "failure_steps"];

impl Checker {
    pub(super) fn expect(
        &mut self,
        node: &Node<'_>,
        path: JsonPath<'_>,
        turn_count: Option<usize>,
    ) -> Option<Expect> {
        let fields = self.object(node, path, EXPECT_FIELDS)?;
        let status = self
            .required(&fields, "status", "\"pass\" or \"fail\"")
            .and_then(|n| {
                let choices = [("pass", Status::Pass), ("fail", Status::Fail)];
                self.choice(n, &fields.at("status"), &choices)
            });
        let steps = fields
            .get("failure_steps")
            .map(|n| self.failure_steps(n, &fields.at("failure_steps"), turn_count));
        let steps = steps.checked();
        let (status, steps) = (status?, steps?);
        if let (Status::Pass, Some(list)) = (status, &steps) {
            if !list.is_empty() {
                self.rule(
                    &fields.at("failure_steps"),
                    message::failing_steps_for_pass(list),
                );
                return None;
            }
        }
        Some(Expect {
            status,
            failure_steps: steps,
        })
    }

    fn failure_steps(
        &mut self,
        node: &Node<'_>,
        path: &JsonPath<'_>,
        turn_count: Option<usize>,
    ) -> Option<Vec<u32>> {
        let items = self.array(node, path, "a list of step numbers")?;
        let mut steps: Vec<u32> = Vec::with_capacity(items.len());
        let mut ok = true;
        // Every entry is checked, so one look at the message shows every bad step.
        for (i, item) in items.iter().enumerate() {
            let item_path = path.index(i);
            let Some(step) = self.u64(item, &item_path) else {
                ok = false;
                continue;
            };
            let in_range = match turn_count {
                Some(max) => (1..=max as u64).contains(&step),
                // The turns are invalid, so their number is unknown: only 0 is surely wrong.
                None => step >= 1,
            };
            if !in_range {
                ok = false;
                self.rule(
                    &item_path,
                    message::failing_step_out_of_range(turn_count, step),
                );
                continue;
            }
            if let Some(&last) = steps.last().filter(|&&last| u64::from(last) >= step) {
                ok = false;
                self.rule(&item_path, message::failing_steps_out_of_order(step, last));
                continue;
            }
            steps.push(step as u32);
        }
        ok.then_some(steps)
    }
}
