//! The rules of the case format (docs/case-format.md), one function per section, reporting *every*
//! problem with its JSON path. Primitive checks (types, blanks, choices) are here; the
//! sections are in `case.rs` (the top level), `caller.rs`, `sweep.rs`, `recorded.rs`
//! (`agent.replay`, `transcript`), `expect.rs`, `turn.rs` (the script), `rules.rs` (a
//! caller that follows rules), `tools.rs`; `pattern.rs` finds regexes that can never match.
//! The checker decides which rule is broken; how each reads is in `message/case_rules.rs`.

use std::borrow::Cow;

use super::json::{JsonPath, Node};
use super::{Keyword, KeywordRegex};
use crate::message::{self, Problem};
use crate::normalize::has_token;

mod caller;
mod case;
mod expect;
mod pattern;
mod recorded;
mod rules;
mod sweep;
mod tools;
mod turn;

#[derive(Default)]
pub(super) struct Checker {
    pub(super) problems: Vec<Problem>,
    /// The case reads numbers as spoken (`"matching": {"numbers": "spoken"}`): a reply's
    /// number words are digits before any keyword is matched.
    spoken_numbers: bool,
}

/// The fields of a checked object; unknown fields have already been reported.
struct Fields<'a, 'de> {
    path: JsonPath<'a>,
    entries: &'a [(Cow<'de, str>, Node<'de>)],
}

impl<'a, 'de> Fields<'a, 'de> {
    fn get(&self, name: &str) -> Option<&'a Node<'de>> {
        self.entries.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    fn at<'b>(&'b self, name: &'b str) -> JsonPath<'b> {
        self.path.field(name)
    }
}

impl Checker {
    fn push(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    /// A rule of the format broken at `path` (its wording from `message::case_rules`).
    fn rule(&mut self, path: &JsonPath<'_>, broken: message::Broken) {
        self.push(message::rule(&path.to_string(), broken));
    }

    fn wrong_type(&mut self, path: &JsonPath<'_>, expected: &str, found: &Node<'_>) {
        self.push(message::wrong_type(
            &path.to_string(),
            expected,
            &found.describe(),
        ));
    }

    fn object<'a, 'de>(
        &mut self,
        node: &'a Node<'de>,
        path: JsonPath<'a>,
        allowed: &[&str],
    ) -> Option<Fields<'a, 'de>> {
        let Node::Object(entries) = node else {
            self.wrong_type(&path, "an object", node);
            return None;
        };
        for (key, _) in entries {
            if !allowed.contains(&key.as_ref()) {
                // Past the problems a message shows, a suggestion is work nobody reads.
                let suggest = self.problems.len() < message::MAX_SHOWN;
                self.push(message::unknown_field(
                    &path.to_string(),
                    key,
                    allowed,
                    suggest,
                ));
            }
        }
        Some(Fields { path, entries })
    }

    fn required<'a, 'de>(
        &mut self,
        fields: &Fields<'a, 'de>,
        name: &str,
        what: &str,
    ) -> Option<&'a Node<'de>> {
        let node = fields.get(name);
        if node.is_none() {
            self.push(message::missing_field(&fields.path.to_string(), name, what));
        }
        node
    }

    fn string<'a>(&mut self, node: &'a Node<'_>, path: &JsonPath<'_>) -> Option<&'a str> {
        match node {
            Node::String(s) => Some(s),
            other => {
                self.wrong_type(path, "a string", other);
                None
            }
        }
    }

    fn not_blank(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<String> {
        let text = self.string(node, path)?;
        if text.trim().is_empty() {
            self.rule(path, message::blank_text(text));
            return None;
        }
        Some(text.to_owned())
    }

    /// One of a fixed set of strings, such as `"user"` or `"agent"`.
    fn choice<T: Copy>(
        &mut self,
        node: &Node<'_>,
        path: &JsonPath<'_>,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let text = self.string(node, path)?;
        if let Some((_, value)) = choices.iter().find(|(name, _)| *name == text) {
            return Some(*value);
        }
        let expected: Vec<String> = choices
            .iter()
            .map(|(name, _)| format!("{name:?}"))
            .collect();
        self.wrong_type(path, &expected.join(" or "), node);
        None
    }

    /// Text with at least one token: a line that could be matched at all (a line of only
    /// punctuation or invisible characters would match any caller line).
    fn words(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<String> {
        let text = self.not_blank(node, path)?;
        if !has_token(&text) {
            self.rule(path, message::no_words(&text));
            return None;
        }
        Some(text)
    }

    fn bool(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<bool> {
        match node {
            Node::Bool(b) => Some(*b),
            other => {
                self.wrong_type(path, "`true` or `false`", other);
                None
            }
        }
    }

    fn u64(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<u64> {
        match node {
            Node::Number(n) if n.as_u64().is_some() => n.as_u64(),
            other => {
                self.wrong_type(path, "a whole number (0 or more)", other);
                None
            }
        }
    }

    fn f64(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<f64> {
        match node {
            Node::Number(n) => n.as_f64(),
            other => {
                self.wrong_type(path, "a number", other);
                None
            }
        }
    }

    fn array<'a, 'de>(
        &mut self,
        node: &'a Node<'de>,
        path: &JsonPath<'_>,
        what: &str,
    ) -> Option<&'a [Node<'de>]> {
        match node {
            Node::Array(items) => Some(items),
            other => {
                self.wrong_type(path, what, other);
                None
            }
        }
    }

    /// Whether this build can run what needs an LLM; a problem at `at` when it cannot.
    fn needs_llm(&mut self, at: &JsonPath<'_>, what: &str) -> Option<()> {
        if cfg!(feature = "llm") {
            return Some(());
        }
        self.rule(at, message::needs_llm(what));
        None
    }

    /// A list of keywords: phrases, lists of alternative phrases, or `{"regex": "..."}`.
    fn keywords(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<Vec<Keyword>> {
        let items = self.array(node, path, "a list of keywords")?;
        every(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| self.keyword(item, &path.index(i))),
        )
    }

    fn keyword(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<Keyword> {
        match node {
            Node::String(_) => self.phrase(node, path).map(Keyword::Phrase),
            Node::Array(items) => {
                if items.is_empty() {
                    self.rule(path, message::no_alternatives());
                    return None;
                }
                every(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| self.phrase(item, &path.index(i))),
                )
                .map(Keyword::AnyOf)
            }
            Node::Object(entries) if entries.len() == 1 && entries[0].0 == "regex" => {
                let at = path.field("regex");
                let pattern = self.string(&entries[0].1, &at)?;
                // Linear-time matching (the `regex` crate) with a bound on the compiled
                // size: no pattern can hang or bloat a run.
                match regex::RegexBuilder::new(pattern)
                    .size_limit(1 << 20)
                    .build()
                {
                    Ok(regex) => {
                        // A pattern no reply's words can match could only fail (or, forbidden,
                        // never fail): refused, as a misspelt field is.
                        if let Some(why) = pattern::never_matches(pattern, self.spoken_numbers) {
                            self.rule(&at, message::regex_never_matches(pattern, &why));
                            return None;
                        }
                        Some(Keyword::Regex(KeywordRegex {
                            pattern: pattern.to_owned(),
                            regex,
                        }))
                    }
                    Err(err) => {
                        let why = err.to_string();
                        let why = why.lines().last().unwrap_or_default().trim();
                        self.rule(&at, message::regex_does_not_compile(pattern, why));
                        None
                    }
                }
            }
            other => {
                self.wrong_type(
                    path,
                    "a phrase, a list of alternative phrases, or {\"regex\": \"...\"}",
                    other,
                );
                None
            }
        }
    }

    /// A phrase: a string with at least one letter or digit.
    fn phrase(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<String> {
        let text = self.string(node, path)?;
        if !has_token(text) {
            self.rule(path, message::no_phrase(text));
            return None;
        }
        Some(text.to_owned())
    }

    /// A list of phrases, each of which must contain at least one token.
    fn phrases(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<Vec<String>> {
        let items = self.array(node, path, "a list of phrases")?;
        let mut ok = true;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = path.index(i);
            match self.string(item, &item_path) {
                Some(text) if !has_token(text) => {
                    ok = false;
                    self.rule(&item_path, message::no_phrase(text));
                }
                Some(text) => out.push(text.to_owned()),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}

/// An optional field after checking: absent is `Some(None)`; present but invalid is `None`
/// (its problem is already recorded), so `?` stops building the case.
trait Checked<T> {
    fn checked(self) -> Option<Option<T>>;
}

impl<T> Checked<T> for Option<Option<T>> {
    fn checked(self) -> Option<Option<T>> {
        match self {
            None => Some(None),
            Some(None) => None,
            Some(Some(value)) => Some(Some(value)),
        }
    }
}

/// Every item checked, so that each reports its own problems; then all of them, or `None`
/// when any failed. (Collecting into `Option<Vec<_>>` would stop at the first failure, and
/// collecting `Vec<Option<_>>` first moves each item twice.)
fn every<T>(items: impl Iterator<Item = Option<T>>) -> Option<Vec<T>> {
    let mut all = Vec::with_capacity(items.size_hint().0);
    let mut ok = true;
    for item in items {
        match item {
            Some(item) if ok => all.push(item),
            Some(_) => {}
            None => ok = false,
        }
    }
    ok.then_some(all)
}
