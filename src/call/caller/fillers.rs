//! Fillers (docs/case-format.md, "Time and latency"): a caller line with one filler word
//! inserted, seeded, for either kind of caller.

use crate::normalize::FILLERS;
use crate::rng::SplitMix64;

/// Says `line`, inserting one filler when the roll falls under `rate`. Always draws three
/// numbers (roll, filler, position) so later lines do not depend on `rate`; see
/// [`crate::rng`].
pub(crate) fn speak(line: &str, rate: f64, rng: &mut SplitMix64) -> Option<String> {
    // Three draws a turn whatever happens, so a turn's caller never depends on the turns
    // before it; the words are counted only when a filler is said (`below` is one draw).
    let roll = rng.next_fraction();
    let (filler_draw, position_draw) = (rng.next_u64(), rng.next_u64());
    if roll >= rate {
        return None;
    }
    let filler = FILLERS[(filler_draw % FILLERS.len() as u64) as usize];
    let word_count = line.split_whitespace().count();
    let position = (position_draw % (word_count as u64 + 1)) as usize;
    let mut out = String::with_capacity(line.len() + filler.len() + 1);
    let mut words = line.split_whitespace();
    for (i, word) in words.by_ref().take(position).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    if position > 0 {
        out.push(' ');
    }
    out.push_str(filler);
    for word in words {
        out.push(' ');
        out.push_str(word);
    }
    Some(out)
}
