//! Who speaks on the caller's side (docs/case-format.md, "Fields"; docs/rules.md, "The
//! caller"). A [`Caller`] chooses each line from the agent's last reply: a script of turns
//! ([`script`]) or a caller that follows rules ([`rules`]). What happens to a line on its way
//! to the agent is layered here, the same for both: a filler ([`fillers`]), pins, then
//! recognition noise ([`hearing`]); voice events ([`voice`]) are what a script's turn does
//! instead of speaking.

mod fillers;
pub(crate) mod hearing;
mod rules;
mod script;
pub(crate) mod voice;

pub(crate) use rules::RuleFollowing;
pub(crate) use script::Script;

use super::conversation::{Row, RulesRun};
use crate::case::{CallerAct, Case, EndedBy};
use crate::rng::SplitMix64;

/// A line the caller is about to say, as its caller chose it.
#[derive(Debug)]
pub(crate) struct Line<'c> {
    /// The step: a script's turn, or a rule-following caller's line number (1-based).
    pub(crate) step_order: u32,
    /// What the caller means to say, before fillers.
    pub(crate) script: &'c str,
    /// Speaks, stays silent, or types keypad tones.
    pub(crate) act: &'c CallerAct,
    /// Pinned: exactly what the caller says.
    pub(crate) said: Option<&'c str>,
    /// Pinned: exactly what the agent hears.
    pub(crate) heard: Option<&'c str>,
    /// The caller cuts the agent's previous reply off this many ms after it began.
    pub(crate) barge_in_after_ms: Option<u64>,
    /// What produced the line (`opening`, `rule 2: "what time"`, `otherwise`), for a
    /// rule-following caller.
    pub(crate) rule: Option<String>,
    /// The caller hangs up once it has said the line: the agent does not answer it.
    pub(crate) hangs_up: bool,
}

impl Line<'_> {
    /// The caller speaks (not silence, not keypad tones).
    pub(crate) fn spoken(&self) -> bool {
        matches!(self.act, CallerAct::Say)
    }
}

/// What a caller does next.
#[derive(Debug)]
pub(crate) enum Next<'c> {
    /// Says this line.
    Say(Line<'c>),
    /// Hangs up without a word (a rule-following caller confused too often).
    HangUp,
    /// Has no line left: the script is over, or `max_turns` lines were said.
    Done,
}

/// Who speaks on the caller's side. The call loop asks it for each line and does the rest
/// (fillers, hearing, voice events, the agent's answer, tools, the clock) the same way for
/// every caller.
pub(crate) trait Caller<'c> {
    /// The next line, given the agent's words in answer to the last one (`None` before
    /// the first line).
    fn next(&mut self, reply: Option<&str>) -> Next<'c>;

    /// An answer of no words to a spoken line is recorded as an empty agent row (a
    /// script), or not at all (a rule-following caller). After silence or keypad tones it
    /// is never recorded: the agent stayed quiet.
    fn keeps_empty_replies(&self) -> bool;

    /// The filler and the misheard words of a line count even when the transcript was full
    /// before it could be said (a rule-following caller), or only once it is said (a script).
    fn counts_unsaid_line(&self) -> bool;

    /// How the call went, for a rule-following caller: who ended it (`ended_by`) and its
    /// lines, counted from `transcript`. `None` for a script.
    fn finish(&self, ended_by: EndedBy, transcript: &[Row]) -> Option<RulesRun>;
}

/// A line as it is said and heard.
#[derive(Debug)]
pub(crate) struct Said {
    /// What the caller said: the pinned line, or the line with its filler.
    pub(crate) text: String,
    /// What the agent hears: the pinned line, or `text` through recognition noise.
    pub(crate) heard: String,
    /// A filler was inserted.
    pub(crate) filler: bool,
    /// Word errors between `text` and `heard`, and words said: spoken lines of a case
    /// that measures hearing (`caller.asr`) only.
    pub(crate) word_errors: Option<(usize, usize)>,
}

/// Says `line` for `case` (seed `seed`): a filler drawn from `rng` (three draws for every
/// line, spoken or not, so a line never depends on the lines before it), inserted only into
/// a spoken line without pins; then the noise of the line's step, when the case has it.
pub(crate) fn say(line: &Line<'_>, case: &Case, seed: u64, rng: &mut SplitMix64) -> Said {
    let said = fillers::speak(line.script, case.disfluency_rate, rng);
    let spoken = line.spoken();
    // A pinned line (`said` / `heard`) is said and heard exactly as written.
    let pinned = line.said.is_some() || line.heard.is_some();
    let said = said.filter(|_| spoken && !pinned);
    let filler = said.is_some();
    let text = match line.said {
        Some(pinned) => pinned.to_owned(),
        None => said.unwrap_or_else(|| line.script.to_owned()),
    };
    let heard = match (line.heard, case.asr_wer) {
        (Some(heard), _) => heard.to_owned(),
        (None, Some(wer)) if spoken && !pinned => {
            let mut noise = SplitMix64::new(hearing::turn_seed(seed, line.step_order));
            hearing::mishear(&text, wer, &mut noise)
        }
        _ => text.clone(),
    };
    let word_errors =
        (spoken && case.asr_wer.is_some()).then(|| hearing::word_errors(&text, &heard));
    Said {
        text,
        heard,
        filler,
        word_errors,
    }
}
