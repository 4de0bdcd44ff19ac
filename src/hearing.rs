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
}
