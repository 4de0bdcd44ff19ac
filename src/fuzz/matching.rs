//! The matching rules that read outside text: spoken numbers (SPEC §12) and tool arguments
//! (SPEC §10). Only what must hold whatever the rules decide is checked here (no panic, no
//! hang, reading invents no words, matching is consistent with itself); which texts and
//! values must match is tests/properties.rs's.

use std::borrow::Cow;

use serde_json::Value;

use crate::normalize::{lowercase, split};
use crate::tool_match;

/// Spoken-number target: any text, lowercased and split as a reply is, read with numbers as
/// digits.
pub fn numbers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lower = lowercase(&text);
    let words: Vec<Cow<'_, str>> = split(&lower).into_iter().map(Cow::Borrowed).collect();
    let read = crate::numbers::read(&words);
    assert!(
        read.len() <= words.len(),
        "reading numbers only joins words"
    );
    // Every word that is not read as digits is one of the text's own words, in order.
    let mut rest = words.iter();
    for word in read
        .iter()
        .filter(|w| !w.bytes().all(|b| b.is_ascii_digit()))
    {
        assert!(
            rest.any(|w| w == word),
            "reading invented the word {word:?} in {text:?}"
        );
    }
    assert!(read.iter().all(|w| !w.is_empty()), "no empty word");
    // Matching with numbers on reads both sides the same way: a text contains itself.
    let said = crate::normalize::Words::new(&lower, true);
    assert!(said.contains(&said), "a text contains itself");
}

/// Tool-argument target: two JSON values (the bytes split at the first newline), the
/// expected and the actual arguments, through the argument rule and its explanations.
pub fn tool_arguments(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (left, right) = text.split_once('\n').unwrap_or((&text, ""));
    let (Ok(expected), Ok(actual)) = (
        serde_json::from_str::<Value>(left),
        serde_json::from_str::<Value>(right),
    ) else {
        return;
    };
    for value in [&expected, &actual] {
        assert!(
            tool_match::matches(value, value),
            "a value matches itself: {value}"
        );
        assert_eq!(
            tool_match::differences(Some(value), value),
            0,
            "no difference from itself"
        );
        let _ = tool_match::describe("fuzz", Some(value));
        let _ = tool_match::spoken(value);
    }
    let matched = tool_match::matches(&expected, &actual);
    assert_eq!(
        tool_match::first_difference(&expected, &actual).is_none(),
        matched,
        "first_difference names a difference exactly when the values do not match"
    );
    assert_eq!(
        tool_match::differences(Some(&expected), &actual) == 0,
        matched,
        "differences counts none exactly when the values match"
    );
    if !has_object(&expected) && !has_object(&actual) {
        // Without objects (where extra actual keys are allowed) the rule is symmetric.
        assert_eq!(
            tool_match::matches(&actual, &expected),
            matched,
            "scalars and arrays match both ways or neither"
        );
    }
    // A path into a result, as `expected_mentions` gives one.
    if let Some(path) = actual.as_str() {
        if let Some(found) = tool_match::at_path(&expected, path) {
            let _ = tool_match::spoken(found);
        }
    }
}

fn has_object(value: &Value) -> bool {
    match value {
        Value::Object(_) => true,
        Value::Array(items) => items.iter().any(has_object),
        _ => false,
    }
}
