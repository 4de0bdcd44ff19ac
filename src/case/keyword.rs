//! A keyword a reply must meet or must not meet ([`Keyword`]): a phrase, alternative
//! phrases or a compiled regular expression ([`KeywordRegex`]), and how words meet it.

/// A keyword of `expected_agent_response_keywords` or `forbidden_keywords`.
#[derive(Debug, Clone)]
pub enum Keyword {
    /// A phrase that must appear (docs/case-format.md, "Matching").
    Phrase(String),
    /// Any of these phrases (a list in the file).
    AnyOf(Vec<String>),
    /// A regular expression that must match the reply's normalized text (its words joined
    /// by single spaces): `{"regex": "..."}`.
    Regex(KeywordRegex),
}

/// A compiled `{"regex": "..."}` keyword (linear-time matching).
#[derive(Debug, Clone)]
pub struct KeywordRegex {
    pub(crate) pattern: String,
    pub(crate) regex: regex::Regex,
}

impl KeywordRegex {
    /// The pattern as written in the case.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

impl PartialEq for Keyword {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Keyword::Phrase(a), Keyword::Phrase(b)) => a == b,
            (Keyword::AnyOf(a), Keyword::AnyOf(b)) => a == b,
            (Keyword::Regex(a), Keyword::Regex(b)) => a.pattern == b.pattern,
            _ => false,
        }
    }
}

impl Eq for Keyword {}

impl Keyword {
    /// The phrase a reply that meets it could say: the phrase, or the first alternative;
    /// `None` for a regular expression.
    pub fn first_phrase(&self) -> Option<&str> {
        match self {
            Keyword::Phrase(p) => Some(p),
            Keyword::AnyOf(alternatives) => alternatives.first().map(String::as_str),
            Keyword::Regex(_) => None,
        }
    }
}

impl Keyword {
    /// Whether the words meet the keyword: a phrase appears, one of the alternatives
    /// appears, or the regular expression matches the words joined by single spaces.
    pub(crate) fn met_by(&self, words: &crate::normalize::Words<'_>) -> bool {
        match self {
            Keyword::Phrase(phrase) => words.has(phrase),
            Keyword::AnyOf(phrases) => phrases.iter().any(|p| words.has(p)),
            Keyword::Regex(r) => r.regex.is_match(words.joined()),
        }
    }
}

impl std::fmt::Display for Keyword {
    /// `overage`; `9 am | 9:00 am | nine in the morning`; `/\d+ am/`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Keyword::Phrase(p) => f.write_str(p),
            Keyword::AnyOf(alternatives) => f.write_str(&alternatives.join(" | ")),
            Keyword::Regex(r) => write!(f, "/{}/", r.pattern),
        }
    }
}
