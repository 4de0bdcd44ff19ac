//! Text normalization and phrase matching (SPEC §4).
//!
//! A text is lowercased (Unicode, [`str::to_lowercase`]), every character that is not
//! alphanumeric ([`char::is_alphanumeric`]) becomes a space, and the result is split on
//! whitespace into tokens. A phrase *appears in* a text when the phrase's tokens occur as a
//! contiguous run of the text's tokens, so `hi` does not appear in `"this"`.

/// The caller fillers the simulator may insert, as written into the transcript.
pub const FILLERS: [&str; 5] = ["um", "uh", "you know", "I mean", "like"];

/// Filler phrases as token runs, longest first so `you know` wins over a lone `you`.
const FILLER_TOKENS: [&[&str]; 5] = [
    &["you", "know"],
    &["i", "mean"],
    &["um"],
    &["uh"],
    &["like"],
];

/// Splits `text` into normalized tokens (SPEC §4).
///
/// ```
/// use voice_harness::tokens;
/// assert_eq!(tokens("Hi, there!"), ["hi", "there"]);
/// assert_eq!(tokens("11:30 AM"), ["11", "30", "am"]);
/// assert_eq!(tokens("don't"), ["don", "t"]);
/// ```
pub fn tokens(text: &str) -> Vec<String> {
    if text.is_ascii() {
        // Fast path: ASCII lowercasing is per byte and needs no intermediate string.
        return text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(|t| t.to_ascii_lowercase())
            .collect();
    }
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether `needle` occurs as a contiguous run in `haystack`. An empty needle always does.
pub(crate) fn contains_run<T: PartialEq>(haystack: &[T], needle: &[T]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether `phrase` appears in `text` (SPEC §4).
///
/// ```
/// use voice_harness::appears_in;
/// assert!(appears_in("11:30", "See you at 11:30 am."));
/// assert!(!appears_in("hi", "this is high"));
/// ```
pub fn appears_in(phrase: &str, text: &str) -> bool {
    contains_run(&tokens(text), &tokens(phrase))
}

/// Removes filler phrases from a token list, scanning left to right.
pub(crate) fn strip_fillers(tokens: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    'outer: while i < tokens.len() {
        for filler in FILLER_TOKENS {
            let end = i + filler.len();
            if end <= tokens.len() && tokens[i..end].iter().zip(filler).all(|(t, f)| t == f) {
                i = end;
                continue 'outer;
            }
        }
        out.push(tokens[i].clone());
        i += 1;
    }
    out
}
