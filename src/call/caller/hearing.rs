//! What the agent hears (docs/case-format.md, "Hearing"): seeded speech-recognition noise
//! on the caller's lines, and the word error rate of a call.
//!
//! With `caller.asr.wer` = R, each word of a caller line (after fillers) is misheard with
//! chance R: substituted (3 in 5), deleted (1 in 5), or followed by an inserted word (1 in
//! 5). Each is one word error, so over a long run the measured word error rate is close to
//! R. A substitute comes from [`CONFUSIONS`] (homophones, near-misses, digits read as words)
//! when the word is there, else from [`NOISE_WORDS`]. Every word draws three numbers from
//! the turn's own generator (seeded by the case's seed and the step), so the noise of one
//! turn never depends on another turn, on the rate, or on what was drawn before.

use crate::normalize::{lowercase, split};
use crate::rng::SplitMix64;

/// Words a recognizer confuses, both ways: homophones, near-misses, and digits read out as
/// words. Lowercase; a word is looked up by its lowercased letters and digits.
pub const CONFUSIONS: &[(&str, &str)] = &[
    // homophones
    ("to", "two"),
    ("two", "too"),
    ("too", "to"),
    ("for", "four"),
    ("four", "for"),
    ("right", "write"),
    ("write", "right"),
    ("there", "their"),
    ("their", "there"),
    ("here", "hear"),
    ("hear", "here"),
    ("by", "buy"),
    ("buy", "by"),
    ("no", "know"),
    ("know", "no"),
    ("one", "won"),
    ("won", "one"),
    ("eight", "ate"),
    ("ate", "eight"),
    ("see", "sea"),
    ("new", "knew"),
    ("week", "weak"),
    ("our", "hour"),
    ("hour", "our"),
    ("meet", "meat"),
    ("mail", "male"),
    ("sale", "sail"),
    ("fair", "fare"),
    ("fare", "fair"),
    ("weight", "wait"),
    ("wait", "weight"),
    ("would", "wood"),
    // near-misses
    ("can", "can't"),
    ("can't", "can"),
    ("fifteen", "fifty"),
    ("fifty", "fifteen"),
    ("thirteen", "thirty"),
    ("thirty", "thirteen"),
    ("fourteen", "forty"),
    ("forty", "fourteen"),
    ("sixteen", "sixty"),
    ("sixty", "sixteen"),
    ("book", "look"),
    ("bill", "pill"),
    ("card", "car"),
    ("cancel", "council"),
    ("account", "count"),
    ("order", "border"),
    ("table", "cable"),
    ("time", "dime"),
    ("pay", "play"),
    ("date", "late"),
    ("yes", "yet"),
    ("then", "than"),
    // digits read out as words
    ("0", "zero"),
    ("1", "one"),
    ("2", "two"),
    ("3", "three"),
    ("4", "four"),
    ("5", "five"),
    ("6", "six"),
    ("7", "seven"),
    ("8", "eight"),
    ("9", "nine"),
];

/// Short words a recognizer hears in noise: inserted words, and substitutes for words that
/// have no entry in [`CONFUSIONS`].
pub const NOISE_WORDS: [&str; 6] = ["the", "a", "and", "it", "in", "uh"];

/// A seed for step `step`'s noise, from the case's seed (apart from the filler draws).
pub(crate) fn turn_seed(seed: u64, step: u32) -> u64 {
    // A different stream from the fillers', one per step.
    let mut mix = SplitMix64::new(seed ^ 0x6173_725f_6e6f_6973 ^ u64::from(step).rotate_left(32));
    mix.next_u64()
}

/// `line` as the recognizer hears it at word error rate `wer`, drawn from `rng`.
pub(crate) fn mishear(line: &str, wer: f64, rng: &mut SplitMix64) -> String {
    let mut heard: Vec<String> = Vec::new();
    let mut changed = false;
    for word in line.split_whitespace() {
        // Always three draws, so later words do not depend on what happened to this one.
        let roll = rng.next_fraction();
        let kind = rng.below(5);
        let choice = rng.below(NOISE_WORDS.len() as u64) as usize;
        if roll >= wer {
            heard.push(word.to_owned());
            continue;
        }
        changed = true;
        match kind {
            // Deleted.
            0 => {}
            // Another word follows it.
            1 => {
                heard.push(word.to_owned());
                heard.push(NOISE_WORDS[choice].to_owned());
            }
            // Substituted.
            _ => heard.push(substitute(word, choice)),
        }
    }
    // A line heard right is the line as it was said, spaces and all.
    if changed {
        heard.join(" ")
    } else {
        line.to_owned()
    }
}

fn substitute(word: &str, choice: usize) -> String {
    let lower = lowercase(word);
    let key = lower.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'');
    if let Some((_, to)) = CONFUSIONS.iter().find(|(from, _)| *from == key) {
        return (*to).to_owned();
    }
    // Never "substitute" a word with itself: that would be no error.
    let pick = NOISE_WORDS[choice];
    if pick == key {
        NOISE_WORDS[(choice + 1) % NOISE_WORDS.len()].to_owned()
    } else {
        pick.to_owned()
    }
}

/// Word errors (substitutions, deletions, insertions: the word-level edit distance) between
/// what was said and what was heard, and the number of words said.
pub(crate) fn word_errors(said: &str, heard: &str) -> (usize, usize) {
    let (said, heard) = (lowercase(said), lowercase(heard));
    let (a, b) = (split(&said), split(&heard));
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let cost = usize::from(x != y);
            current[j + 1] = (previous[j] + cost)
                .min(previous[j + 1] + 1)
                .min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    (previous[b.len()], a.len())
}

/// How a heard line differs from the said one, word by word (whitespace-separated words,
/// compared exactly): a shortest edit script, so each recognition error ([`mishear`]'s
/// substitution, deletion or insertion) is one edit. Shrinking (`sweep --shrink`) keeps
/// each error on its own: a `heard` pin with only the errors a failure needs (a filler's
/// words count as inserted words).
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mishearing {
    said: Vec<String>,
    ops: Vec<WordOp>,
}

/// One step of the edit script; `usize` is the index of a said word.
#[derive(Debug, Clone, PartialEq, Eq)]
enum WordOp {
    Same(usize),
    Substituted(usize, String),
    Deleted(usize),
    Inserted(String),
}

#[cfg_attr(not(feature = "cli"), allow(dead_code))]
impl Mishearing {
    /// The word errors that turn `said` into `heard`, as few as there can be.
    pub(crate) fn between(said: &str, heard: &str) -> Self {
        let a: Vec<&str> = said.split_whitespace().collect();
        let b: Vec<&str> = heard.split_whitespace().collect();
        // cost[i][j]: (edits, substitutions) from a[i..] to b[j..]. Fewest edits first, then
        // fewest substitutions, so words that were heard stay paired with themselves.
        let mut cost = vec![vec![(0usize, 0usize); b.len() + 1]; a.len() + 1];
        for i in (0..=a.len()).rev() {
            for j in (0..=b.len()).rev() {
                cost[i][j] = if i == a.len() {
                    (b.len() - j, 0)
                } else if j == b.len() {
                    (a.len() - i, 0)
                } else {
                    let (e, s) = cost[i + 1][j + 1];
                    let pair = if a[i] == b[j] { (e, s) } else { (e + 1, s + 1) };
                    let (e, s) = cost[i + 1][j];
                    let delete = (e + 1, s);
                    let (e, s) = cost[i][j + 1];
                    pair.min(delete).min((e + 1, s))
                };
            }
        }
        let mut ops = Vec::with_capacity(a.len().max(b.len()));
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let here = cost[i][j];
            let step = |(e, s): (usize, usize), de: usize, ds: usize| (e + de, s + ds) == here;
            if i < a.len() && j < b.len() && a[i] == b[j] && step(cost[i + 1][j + 1], 0, 0) {
                ops.push(WordOp::Same(i));
                (i, j) = (i + 1, j + 1);
            } else if i < a.len() && step(cost[i + 1][j], 1, 0) {
                ops.push(WordOp::Deleted(i));
                i += 1;
            } else if j < b.len() && step(cost[i][j + 1], 1, 0) {
                ops.push(WordOp::Inserted(b[j].to_owned()));
                j += 1;
            } else {
                ops.push(WordOp::Substituted(i, b[j].to_owned()));
                (i, j) = (i + 1, j + 1);
            }
        }
        Self {
            said: a.into_iter().map(str::to_owned).collect(),
            ops,
        }
    }

    /// How many word errors there are (numbered `0..errors()` in line order).
    pub(crate) fn errors(&self) -> usize {
        self.ops
            .iter()
            .filter(|op| !matches!(op, WordOp::Same(_)))
            .count()
    }

    /// The line heard with only the errors `keep` says yes to, the others undone; words
    /// are joined by single spaces.
    pub(crate) fn heard_with(&self, keep: impl Fn(usize) -> bool) -> String {
        let mut words: Vec<&str> = Vec::with_capacity(self.said.len());
        let mut error = 0;
        for op in &self.ops {
            let kept = match op {
                WordOp::Same(_) => false,
                _ => {
                    error += 1;
                    keep(error - 1)
                }
            };
            match op {
                WordOp::Same(i) => words.push(&self.said[*i]),
                WordOp::Substituted(i, heard) => {
                    words.push(if kept { heard } else { &self.said[*i] })
                }
                WordOp::Deleted(i) => {
                    if !kept {
                        words.push(&self.said[*i]);
                    }
                }
                WordOp::Inserted(heard) => {
                    if kept {
                        words.push(heard);
                    }
                }
            }
        }
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_errors_count_substitutions_deletions_and_insertions() {
        assert_eq!(
            word_errors("I want two tickets", "I want two tickets"),
            (0, 4)
        );
        assert_eq!(
            word_errors("I want two tickets", "I want to tickets"),
            (1, 4)
        );
        assert_eq!(word_errors("I want two tickets", "I two tickets"), (1, 4));
        assert_eq!(
            word_errors("I want two tickets", "I want two the tickets"),
            (1, 4)
        );
        assert_eq!(word_errors("a b", ""), (2, 2));
        assert_eq!(word_errors("", "a"), (1, 0));
    }

    #[test]
    fn the_noise_is_pinned() {
        // The crate's own generator: these exact lines for this seed on every machine.
        let mut rng = SplitMix64::new(turn_seed(42, 1));
        let line = "I would like to book a table for four at seven thirty please";
        assert_eq!(
            mishear(line, 0.3, &mut rng),
            "I would like to a four four at in thirteen please"
        );
        let mut rng = SplitMix64::new(turn_seed(42, 2));
        assert_eq!(
            mishear(line, 0.3, &mut rng),
            "I would like to book it cable four for and thirty please"
        );
        assert_ne!(turn_seed(42, 1), turn_seed(42, 2));
        assert_ne!(turn_seed(42, 1), turn_seed(43, 1));
    }

    #[test]
    fn no_noise_at_rate_zero() {
        let mut rng = SplitMix64::new(7);
        let line = "  Hello,   my order   5512 please ";
        assert_eq!(mishear(line, 0.0, &mut rng), line);
    }

    #[test]
    fn each_recognition_error_is_one_edit() {
        let said = "I would like to book a table for four at seven thirty please";
        let mut rng = SplitMix64::new(turn_seed(42, 1));
        let heard = mishear(said, 0.3, &mut rng);
        let m = Mishearing::between(said, &heard);
        let (errors, _) = word_errors(said, &heard);
        assert_eq!(m.errors(), errors);
        assert_eq!(m.heard_with(|_| true), heard);
        assert_eq!(m.heard_with(|_| false), said);
        // Each error alone is one word error away from what was said.
        for k in 0..m.errors() {
            let one = m.heard_with(|e| e == k);
            assert_eq!(word_errors(said, &one).0, 1, "{one}");
        }
    }

    #[test]
    fn errors_keep_their_places() {
        let m = Mishearing::between("book a table for four", "book table for for four uh");
        // `a` deleted, a second `for` inserted, `uh` inserted: no word is paired with another.
        assert_eq!(m.errors(), 3);
        assert_eq!(m.heard_with(|e| e == 0), "book table for four");
        assert_eq!(m.heard_with(|e| e == 1), "book a table for for four");
        assert_eq!(m.heard_with(|e| e == 2), "book a table for four uh");
        // A filler is inserted words like any other.
        let filler = Mishearing::between("table for two", "table you know for two");
        assert_eq!(filler.errors(), 2);
        assert_eq!(filler.heard_with(|e| e == 1), "table know for two");
    }
}
