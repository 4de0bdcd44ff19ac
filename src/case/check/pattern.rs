//! Whether a `{"regex": "..."}` keyword can match anything at all. It is matched against a
//! reply's normalized words (docs/case-format.md, "Matching"): lowercase letters and digits
//! joined by single spaces. A pattern that needs an uppercase letter, punctuation, a tab or
//! two spaces in a row can never match, so a keyword with it could only fail (or, forbidden,
//! never fail): issue 23, fault 20 (`{"regex": "Hello"}` loaded).
//!
//! The check is on the pattern's syntax tree (`regex-syntax`, the parser the `regex` crate
//! itself uses), and refuses only what is certain: every way through the pattern needs a
//! character that normalized words never hold. Lookarounds like `^` and `\b` are assumed to
//! be satisfiable.
//!
//! With `"matching": {"numbers": "spoken"}` a reply's number words are digits before any
//! keyword is matched (src/numbers.rs), so a pattern that needs one of them as a word
//! (`twenty`, `\bone hundred\b`) can never match either: review P3. A number word counts
//! as a word when nothing in the pattern glues a letter or digit to it: a space, `\b`, `^`,
//! `$` or the pattern's own edge on each side. `\Bten` (inside a longer word) is allowed.
//!
//! What it finds is a [`Never`]; how that reads is in `message/case_rules.rs`.

use std::sync::OnceLock;

use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Look};

use crate::message::Never;
use crate::numbers::always_digits;

/// The characters normalized words can hold: a space, and letters and digits that
/// lowercasing leaves as they are.
fn possible() -> &'static ClassUnicode {
    static POSSIBLE: OnceLock<ClassUnicode> = OnceLock::new();
    POSSIBLE.get_or_init(|| {
        let hir = regex_syntax::parse(r"[\p{Alphabetic}\p{N}--\p{Changes_When_Lowercased}]")
            .expect("a valid Unicode class");
        let HirKind::Class(Class::Unicode(class)) = hir.into_kind() else {
            unreachable!("a class parses to a class")
        };
        let mut class = class;
        class.union(&ClassUnicode::new([ClassUnicodeRange::new(' ', ' ')]));
        class
    })
}

fn char_possible(c: char) -> bool {
    c == ' ' || (c.is_alphanumeric() && c.to_lowercase().eq([c]))
}

/// Why `pattern` can never match normalized words, or `None` when it can (or when it does
/// not parse: the regex crate has already said why). `spoken`: the case reads numbers as
/// spoken, so number words are digits before the pattern sees them.
pub(super) fn never_matches(pattern: &str, spoken: bool) -> Option<Never> {
    let hir = regex_syntax::parse(pattern).ok()?;
    never(&hir).or_else(|| {
        spoken
            .then(|| number_word(&hir, Edge::Word, Edge::Word))
            .flatten()
            .map(Never::NumberWord)
    })
}

/// What is on one side of a part of the pattern.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Edge {
    /// The edge of a word: the pattern's edge, a space, `\b`, `^` or `$`.
    Word,
    /// Anything else (a letter, `\B`, a class): the part may be inside a longer word.
    Unknown,
}

/// One piece of a flattened concatenation.
enum Atom<'h> {
    /// A character the text must hold there (a literal, or a class that can hold only it).
    Char(char),
    /// A word's edge (`\b`, `^`, `$`, `\<`, `\>`).
    Edge,
    /// Anything else, judged on its own.
    Part(&'h Hir),
}

/// The one character a class can match in normalized words, if only one.
fn only_char(class: &Class) -> Option<char> {
    let Class::Unicode(class) = class else {
        return None;
    };
    let mut members = class.clone();
    members.intersect(possible());
    match members.ranges() {
        [range] if range.start() == range.end() => Some(range.start()),
        _ => None,
    }
}

fn flatten<'h>(hir: &'h Hir, atoms: &mut Vec<Atom<'h>>) {
    match hir.kind() {
        HirKind::Concat(items) => items.iter().for_each(|item| flatten(item, atoms)),
        HirKind::Literal(literal) => {
            atoms.extend(String::from_utf8_lossy(&literal.0).chars().map(Atom::Char));
        }
        HirKind::Class(class) => match only_char(class) {
            Some(c) => atoms.push(Atom::Char(c)),
            None => atoms.push(Atom::Part(hir)),
        },
        HirKind::Look(look) if !matches!(look, Look::WordAsciiNegate | Look::WordUnicodeNegate) => {
            atoms.push(Atom::Edge)
        }
        _ => atoms.push(Atom::Part(hir)),
    }
}

/// A number word the pattern needs as a word (see the module docs), between `left` and
/// `right`.
fn number_word(hir: &Hir, left: Edge, right: Edge) -> Option<String> {
    match hir.kind() {
        HirKind::Capture(capture) => number_word(&capture.sub, left, right),
        HirKind::Alternation(items) => {
            let mut first = None;
            for item in items {
                let word = number_word(item, left, right)?;
                first.get_or_insert(word);
            }
            first
        }
        HirKind::Repetition(repetition) if repetition.min == 0 => None,
        // Repeated, a part sits next to itself: only its inside is judged.
        HirKind::Repetition(repetition) if repetition.max != Some(1) => {
            number_word(&repetition.sub, Edge::Unknown, Edge::Unknown)
        }
        HirKind::Repetition(repetition) => number_word(&repetition.sub, left, right),
        HirKind::Class(class) if only_char(class).is_none() => None,
        HirKind::Concat(_) | HirKind::Literal(_) | HirKind::Class(_) => {
            let mut atoms = Vec::new();
            flatten(hir, &mut atoms);
            in_atoms(&atoms, left, right)
        }
        HirKind::Empty | HirKind::Look(_) => None,
    }
}

fn in_atoms(atoms: &[Atom<'_>], left: Edge, right: Edge) -> Option<String> {
    let edge_before = |i: usize| match i.checked_sub(1).map(|j| &atoms[j]) {
        None => left,
        Some(Atom::Char(' ') | Atom::Edge) => Edge::Word,
        Some(_) => Edge::Unknown,
    };
    let edge_after = |i: usize| match atoms.get(i) {
        None => right,
        Some(Atom::Char(' ') | Atom::Edge) => Edge::Word,
        Some(_) => Edge::Unknown,
    };
    let mut i = 0;
    while i < atoms.len() {
        match &atoms[i] {
            Atom::Char(c) if *c != ' ' => {
                let start = i;
                let mut word = String::new();
                while let Some(Atom::Char(c)) =
                    atoms.get(i).filter(|a| !matches!(a, Atom::Char(' ')))
                {
                    word.push(*c);
                    i += 1;
                }
                if always_digits(&word)
                    && edge_before(start) == Edge::Word
                    && edge_after(i) == Edge::Word
                {
                    return Some(word);
                }
                continue;
            }
            Atom::Part(part) => {
                if let Some(word) = number_word(part, edge_before(i), edge_after(i + 1)) {
                    return Some(word);
                }
            }
            Atom::Char(_) | Atom::Edge => {}
        }
        i += 1;
    }
    None
}

fn never(hir: &Hir) -> Option<Never> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Literal(literal) => {
            let text = String::from_utf8_lossy(&literal.0);
            if let Some(c) = text.chars().find(|&c| !char_possible(c)) {
                return Some(Never::Char(c));
            }
            text.contains("  ").then_some(Never::DoubleSpace)
        }
        HirKind::Class(Class::Unicode(class)) => {
            let mut members = class.clone();
            members.intersect(possible());
            members
                .ranges()
                .is_empty()
                .then(|| Never::Class(first_members(class)))
        }
        // Bytes outside ASCII may be part of any character: only ASCII is judged.
        HirKind::Class(Class::Bytes(class)) => {
            let possible = class.ranges().iter().any(|r| {
                r.end() >= 0x80 || (r.start()..=r.end()).any(|b| char_possible(char::from(b)))
            });
            (!possible).then(|| Never::Class(format!("{} byte ranges", class.ranges().len())))
        }
        HirKind::Repetition(repetition) if repetition.min == 0 => None,
        HirKind::Repetition(repetition) => never(&repetition.sub),
        HirKind::Capture(capture) => never(&capture.sub),
        HirKind::Concat(items) => items.iter().find_map(never),
        HirKind::Alternation(items) => {
            let mut first = None;
            for item in items {
                let why = never(item)?;
                first.get_or_insert(why);
            }
            first
        }
    }
}

/// `[A-Z]`, `[:;]`: a class by its first few ranges.
fn first_members(class: &ClassUnicode) -> String {
    const SHOWN: usize = 4;
    let ranges = class.ranges();
    let mut out = String::from("[");
    for range in ranges.iter().take(SHOWN) {
        let show = |c: char| c.escape_debug().to_string();
        if range.start() == range.end() {
            out.push_str(&show(range.start()));
        } else {
            out.push_str(&format!("{}-{}", show(range.start()), show(range.end())));
        }
    }
    if ranges.len() > SHOWN {
        out.push('…');
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never_matches_(pattern: &str) -> Option<Never> {
        never_matches(pattern, false)
    }

    fn number_word_in(pattern: &str) -> Option<String> {
        match never_matches(pattern, true) {
            Some(Never::NumberWord(word)) => Some(word),
            _ => None,
        }
    }

    #[test]
    fn number_words_as_words_are_refused_with_spoken_numbers() {
        for (pattern, word) in [
            ("twenty", "twenty"),
            ("you owe twenty dollars", "twenty"),
            ("(?i)Twenty", "twenty"),
            ("\\bone hundred\\b", "one"),
            ("^ten$", "ten"),
            ("(twenty|thirty) dollars", "twenty"),
            ("a (?:five|six)", "five"),
            ("pay ten (now)?", "ten"),
            ("thousand", "thousand"),
        ] {
            assert_eq!(
                number_word_in(pattern),
                Some(word.to_owned()),
                "{pattern:?}"
            );
            assert_eq!(
                never_matches_(pattern),
                None,
                "literal numbers: {pattern:?}"
            );
        }
    }

    #[test]
    fn number_words_that_may_match_pass_with_spoken_numbers() {
        for pattern in [
            "\\Bten",
            "often",
            "someone",
            "x(twenty|thirty)",
            "(twenty|dollars)",
            "twenty\\d",
            "ten?",
            "(?:ten )+",
            "oh no",
            "and",
            "double",
            "\\d+ dollars",
            "20 dollars",
            "[a-z]+ty",
            "tw(?:en)?ty",
        ] {
            assert_eq!(number_word_in(pattern), None, "{pattern:?}");
        }
    }

    #[test]
    fn what_normalized_words_can_hold() {
        for c in ['a', 'z', '0', '9', ' ', 'ß', 'é', 'п', 'ª', '٣'] {
            assert!(char_possible(c), "{c:?}");
            let mut one = ClassUnicode::new([ClassUnicodeRange::new(c, c)]);
            one.intersect(possible());
            assert!(!one.ranges().is_empty(), "{c:?} in the class");
        }
        for c in ['A', 'Z', 'É', 'П', ':', '-', '\t', '\n', '_', '👍'] {
            assert!(!char_possible(c), "{c:?}");
            let mut one = ClassUnicode::new([ClassUnicodeRange::new(c, c)]);
            one.intersect(possible());
            assert!(one.ranges().is_empty(), "{c:?} not in the class");
        }
    }

    #[test]
    fn impossible_patterns_say_why() {
        assert_eq!(never_matches_("Hello"), Some(Never::Char('H')));
        assert_eq!(never_matches_("(a|B)c:"), Some(Never::Char(':')));
        assert_eq!(never_matches_("a  b"), Some(Never::DoubleSpace));
        assert_eq!(never_matches_("x\\ty"), Some(Never::Char('\t')));
        assert_eq!(never_matches_("[A-Z]+"), Some(Never::Class("[A-Z]".into())));
        assert_eq!(
            never_matches_("[[:punct:]]"),
            never_matches_("[!-/:-@\\[-`{-~]")
        );
        assert!(matches!(
            never_matches_("Hello|World"),
            Some(Never::Char('H'))
        ));
    }

    #[test]
    fn possible_patterns_pass() {
        for pattern in [
            "hello",
            "(?i)Hello",
            "[Hh]ello",
            "\\d{4}",
            "\\bsorry\\b",
            "11:?30",
            "Hello|hello",
            "a\\s+b",
            "^yes$",
            "[A-Z]*ok",
            "x(Y{0})z",
            "",
            ".",
            "\\W?",
            "[^a-z]",
            "привет",
            "(",
        ] {
            assert_eq!(never_matches_(pattern), None, "{pattern:?}");
        }
    }
}
