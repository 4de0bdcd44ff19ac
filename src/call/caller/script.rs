//! A scripted caller (docs/case-format.md, "Fields"): says each of the case's turns in
//! order, whatever the agent answers, with the turn's pins and voice events.

use super::{Caller, Line, Next};
use crate::call::conversation::{Row, RulesRun};
use crate::case::{EndedBy, Turn};

/// The caller of a script of turns.
#[derive(Debug)]
pub(crate) struct Script<'c> {
    turns: std::slice::Iter<'c, Turn>,
}

impl<'c> Script<'c> {
    /// A caller that says `turns`, in order.
    pub(crate) fn new(turns: &'c [Turn]) -> Self {
        Self {
            turns: turns.iter(),
        }
    }
}

impl<'c> Caller<'c> for Script<'c> {
    fn next(&mut self, _reply: Option<&str>) -> Next<'c> {
        let Some(turn) = self.turns.next() else {
            return Next::Done;
        };
        Next::Say(Line {
            step_order: turn.step_order,
            script: &turn.user_input,
            act: &turn.act,
            said: turn.said.as_deref(),
            heard: turn.heard.as_deref(),
            barge_in_after_ms: turn.barge_in_after_ms,
            rule: None,
            hangs_up: false,
        })
    }

    fn keeps_empty_replies(&self) -> bool {
        true
    }

    fn counts_unsaid_line(&self) -> bool {
        false
    }

    fn finish(&self, _ended_by: EndedBy, _transcript: &[Row]) -> Option<RulesRun> {
        None
    }
}
