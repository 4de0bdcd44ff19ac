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

use std::sync::OnceLock;

use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind};

/// What makes a pattern impossible, for the message.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Never {
    /// A literal character normalized words never hold.
    Char(char),
    /// A character class with no member normalized words hold (as written in the pattern
    /// is not known here, so the message names the class by its first members).
    Class(String),
    /// Two spaces in a row: words are joined by single spaces.
    DoubleSpace,
}

impl Never {
    /// What the pattern needs, in words: `"H"`, `a tab`, `two spaces in a row`.
    pub(super) fn needs(&self) -> String {
        match self {
            Never::Char(c) => describe_char(*c),
            Never::Class(members) => format!("one of {members}"),
            Never::DoubleSpace => "two spaces in a row".to_owned(),
        }
    }

    /// How to write it so that it can match.
    pub(super) fn help(&self) -> &'static str {
        match self {
            Never::Char(c) if c.is_alphanumeric() => {
                "the reply's words are lowercased first: write the letters in lowercase, or start the pattern with (?i)"
            }
            Never::Char(_) | Never::Class(_) => {
                "every character that is not a letter or digit becomes a space: match a space there (` ` or ` ?`), or leave it out"
            }
            Never::DoubleSpace => {
                "the reply's words are joined by single spaces: write one space (or ` +`)"
            }
        }
    }
}

fn describe_char(c: char) -> String {
    match c {
        '\t' => "a tab".to_owned(),
        '\n' | '\r' => "a line break".to_owned(),
        c if c.is_whitespace() => format!("the space character U+{:04X}", u32::from(c)),
        c if c.is_control() => format!("the control character U+{:04X}", u32::from(c)),
        c => format!("{:?}", c.to_string()),
    }
}

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
/// not parse: the regex crate has already said why).
pub(super) fn never_matches(pattern: &str) -> Option<Never> {
    let hir = regex_syntax::parse(pattern).ok()?;
    never(&hir)
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
        assert_eq!(never_matches("Hello"), Some(Never::Char('H')));
        assert_eq!(never_matches("(a|B)c:"), Some(Never::Char(':')));
        assert_eq!(never_matches("a  b"), Some(Never::DoubleSpace));
        assert_eq!(never_matches("x\\ty"), Some(Never::Char('\t')));
        assert_eq!(never_matches("[A-Z]+"), Some(Never::Class("[A-Z]".into())));
        assert_eq!(
            never_matches("[[:punct:]]"),
            never_matches("[!-/:-@\\[-`{-~]")
        );
        assert!(matches!(
            never_matches("Hello|World"),
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
            assert_eq!(never_matches(pattern), None, "{pattern:?}");
        }
    }
}
