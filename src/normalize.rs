//! Text normalization and phrase matching (docs/case-format.md, "Matching").
//!
//! A text is lowercased (Unicode, [`str::to_lowercase`]), every character that is not
//! alphanumeric ([`char::is_alphanumeric`]) becomes a space, and the result is split on
//! whitespace into tokens. A phrase *appears in* a text when the phrase's tokens occur as a
//! contiguous run of the text's tokens, so `hi` does not appear in `"this"`.

use std::borrow::Cow;
use std::cell::OnceCell;

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

/// Splits `text` into normalized tokens (docs/case-format.md, "Matching").
///
/// ```
/// use voice_harness::tokens;
/// assert_eq!(tokens("Hi, there!"), ["hi", "there"]);
/// assert_eq!(tokens("11:30 AM"), ["11", "30", "am"]);
/// assert_eq!(tokens("don't"), ["don", "t"]);
/// ```
pub fn tokens(text: &str) -> Vec<String> {
    let lower = lowercase(text);
    split(&lower).into_iter().map(str::to_owned).collect()
}

/// The lowercasing of docs/case-format.md, borrowing when there is nothing to change. The hot paths
/// tokenize as `split(&lowercase(text))`: one string and one vector per text, not one
/// allocation per word.
pub(crate) fn lowercase(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(text.to_ascii_lowercase())
        } else {
            Cow::Borrowed(text)
        }
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// The tokens of an already lowercased text: its runs of alphanumeric characters.
pub(crate) fn split(lower: &str) -> Vec<&str> {
    let mut tokens = Vec::with_capacity(lower.len() / 5 + 1);
    for_each_token(lower, |t| tokens.push(t));
    tokens
}

/// Calls `f` with each token of `lower`, in order (see [`split`]).
fn for_each_token<'a>(lower: &'a str, mut f: impl FnMut(&'a str)) {
    if !lower.is_ascii() {
        lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .for_each(f);
        return;
    }
    // Most lines are ASCII, where a byte is a character: the same tokens, without
    // decoding UTF-8 (tokenizing was a tenth of a large suite's time).
    let bytes = lower.as_bytes();
    let mut start = None;
    for (i, b) in bytes.iter().enumerate() {
        match (b.is_ascii_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                f(&lower[s..i]);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        f(&lower[s..]);
    }
}

/// Whether `text` has at least one token (without building them).
pub(crate) fn has_token(text: &str) -> bool {
    if text.is_ascii() {
        return text.bytes().any(|b| b.is_ascii_alphanumeric());
    }
    text.chars()
        .any(|c| c.is_alphanumeric() && c.to_lowercase().any(char::is_alphanumeric))
}

/// Whether `needle` occurs as a contiguous run in `haystack`. An empty needle always does.
pub(crate) fn contains_run<T: PartialEq>(haystack: &[T], needle: &[T]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether the tokens of `phrase` occur as a contiguous run in `haystack`.
pub(crate) fn phrase_in(haystack: &[&str], phrase: &str) -> bool {
    let lower = lowercase(phrase);
    contains_run(haystack, &split(&lower))
}

/// Whether `phrase` appears in `text` (docs/case-format.md, "Matching").
///
/// ```
/// use voice_harness::appears_in;
/// assert!(appears_in("11:30", "See you at 11:30 am."));
/// assert!(!appears_in("hi", "this is high"));
/// ```
pub fn appears_in(phrase: &str, text: &str) -> bool {
    let lower = lowercase(text);
    phrase_in(&split(&lower), phrase)
}

/// The words of a text as matching sees them: lowercased and split (see the module docs),
/// and with `numbers` ("spoken" matching), numbers in words and digits read as digits.
pub(crate) struct Words<'a> {
    words: Vec<Cow<'a, str>>,
    /// The words joined by single spaces, for regular expressions; built when needed.
    joined: OnceCell<String>,
    numbers: bool,
}

impl<'a> Words<'a> {
    /// The words of an already lowercased text.
    pub(crate) fn new(lower: &'a str, numbers: bool) -> Self {
        // Straight into the words' own list: no list of tokens to convert first.
        let mut words = Vec::with_capacity(lower.len() / 5 + 1);
        for_each_token(lower, |t| words.push(Cow::Borrowed(t)));
        Self::from_words(words, numbers)
    }

    /// Words from tokens (e.g. with fillers already removed).
    pub(crate) fn from_tokens(tokens: Vec<&'a str>, numbers: bool) -> Self {
        Self::from_words(tokens.into_iter().map(Cow::Borrowed).collect(), numbers)
    }

    fn from_words(words: Vec<Cow<'a, str>>, numbers: bool) -> Self {
        Self {
            words: if numbers {
                crate::numbers::read(&words)
            } else {
                words
            },
            joined: OnceCell::new(),
            numbers,
        }
    }

    /// Whether `phrase`'s words occur as a contiguous run of these words.
    pub(crate) fn has(&self, phrase: &str) -> bool {
        // The usual keyword is one plain lowercase word: compare it as it is.
        if !self.numbers && is_plain_word(phrase) {
            return self.words.iter().any(|w| w == phrase);
        }
        let lower = lowercase(phrase);
        let phrase = Words::new(&lower, self.numbers);
        contains_run(&self.words, &phrase.words)
    }

    /// Whether these words contain `other`'s as a contiguous run.
    pub(crate) fn contains(&self, other: &Words<'_>) -> bool {
        contains_run(&self.words, &other.words)
    }

    /// Whether the words are the same as `other`'s.
    pub(crate) fn same(&self, other: &Words<'_>) -> bool {
        self.words == other.words
    }

    /// The words joined by single spaces (what a regular expression is matched against).
    pub(crate) fn joined(&self) -> &str {
        self.joined.get_or_init(|| self.words.join(" "))
    }
}

/// One token that lowercasing leaves as it is: ASCII lowercase letters and digits.
fn is_plain_word(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Removes filler phrases from a token list, down to a normal form: tokens are pushed on a
/// stack, and whenever the top of the stack spells a filler it is dropped. No filler's tail
/// starts another filler, so the result does not depend on the order of removal, and a
/// filler inserted anywhere, even inside another one ("you um know"), leaves the result as
/// it was. A greedy left-to-right scan got that case wrong.
pub(crate) fn strip_fillers(tokens: Vec<&str>) -> Vec<&str> {
    // Most lines have no filler at all: keep them as they are.
    if !tokens
        .iter()
        .any(|t| FILLER_TOKENS.iter().any(|f| f.contains(t)))
    {
        return tokens;
    }
    let mut out: Vec<&str> = Vec::with_capacity(tokens.len());
    for token in tokens {
        out.push(token);
        for filler in FILLER_TOKENS {
            if out.ends_with(filler) {
                out.truncate(out.len() - filler.len());
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_token_agrees_with_tokens() {
        for text in [
            "", "?!", " - ", "a", "Ü", "İ", "…9", "👍", "\u{0307}", "ǅ", "Ⅻ", "_", "~9", "  Z ",
        ] {
            assert_eq!(has_token(text), !tokens(text).is_empty(), "{text:?}");
        }
    }

    #[test]
    fn the_ascii_split_agrees_with_the_unicode_rule() {
        let unicode = |text: &str| -> Vec<String> {
            text.split(|c: char| !c.is_alphanumeric())
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        };
        for text in [
            "",
            " ",
            "a",
            "  a  b ",
            "it's 11:30, ok?",
            "x1y2-z3",
            "end.",
            "tab\tnew\nline",
            "~!@#$%^&*()_+",
            "über café",
            "a_b",
        ] {
            assert_eq!(split(text), unicode(text), "{text:?}");
        }
    }

    #[test]
    fn a_plain_keyword_matches_as_the_general_rule_does() {
        let reply = lowercase("Your ORDER 12 ships, orders too.").into_owned();
        let words = Words::new(&reply, false);
        for (keyword, expected) in [
            ("order", true),
            ("orders", true),
            ("12", true),
            ("ship", false),
            ("Order", true),
            ("order 12", true),
        ] {
            assert_eq!(words.has(keyword), expected, "{keyword:?}");
            let lower = lowercase(keyword);
            let general = Words::new(&lower, false);
            assert_eq!(words.contains(&general), expected, "{keyword:?}");
        }
    }

    #[test]
    fn a_filler_inside_another_filler_is_removed_too() {
        let strip = |text: &str| strip_fillers(split(&lowercase(text))).join(" ");
        assert_eq!(strip("I said you know what"), "i said what");
        assert_eq!(strip("I said you um know what"), "i said what");
        assert_eq!(strip("I you know mean it"), "it");
        assert_eq!(strip("you you know know"), "");
        assert_eq!(strip("nothing to strip here"), "nothing to strip here");
    }

    #[test]
    fn lowercase_borrows_when_it_can() {
        assert!(matches!(lowercase("already lower 123"), Cow::Borrowed(_)));
        assert_eq!(lowercase("MiXeD"), "mixed");
        assert_eq!(lowercase("ÜBER"), "über");
    }
}
