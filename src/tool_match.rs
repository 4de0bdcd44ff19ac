//! Tool calls as data (docs/case-format.md, "Tool calls"): how an actual call's arguments
//! match an expected or mocked `arguments` object, how a call is written for people, and
//! how a value is found in a tool's result by path. No I/O and no state: the call loop's
//! side is `agent::Tools`.

use serde_json::Value;

use crate::normalize::{lowercase, split};

/// Whether `actual` matches `expected` by the argument rule: every key of an expected
/// object is present in the actual one with a matching value (extra actual keys are
/// allowed), recursively; arrays element by element with the same length; strings by their
/// words (so `"San Jose"` matches `"san jose"`); numbers numerically, and a string whose text
/// is a number matches that number (`"2"` matches `2`); booleans and `null` exactly.
pub(crate) fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => want
            .iter()
            .all(|(key, value)| got.get(key).is_some_and(|g| matches(value, g))),
        (Value::Array(want), Value::Array(got)) => {
            want.len() == got.len() && want.iter().zip(got).all(|(w, g)| matches(w, g))
        }
        (Value::String(want), Value::String(got)) => {
            same_words(want, got) || both_numbers(want, got)
        }
        (Value::Number(want), Value::Number(got)) => same_number(want, got),
        (Value::Number(want), Value::String(got)) | (Value::String(got), Value::Number(want)) => {
            number_text(got).is_some_and(|g| number_eq(number_f64(want), g))
        }
        (Value::Bool(want), Value::Bool(got)) => want == got,
        (Value::Null, Value::Null) => true,
        _ => false,
    }
}

fn same_words(a: &str, b: &str) -> bool {
    split(&lowercase(a)) == split(&lowercase(b))
}

fn both_numbers(a: &str, b: &str) -> bool {
    matches!((number_text(a), number_text(b)), (Some(x), Some(y)) if number_eq(x, y))
}

/// The number a string spells, when its whole text (trimmed) is a JSON-style number.
fn number_text(text: &str) -> Option<f64> {
    let text = text.trim();
    let looks_numeric = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        && text.chars().any(|c| c.is_ascii_digit());
    looks_numeric
        .then(|| text.parse::<f64>().ok())
        .flatten()
        .filter(|n| n.is_finite())
}

fn same_number(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
        (Some(x), Some(y), _, _) => x == y,
        (_, _, Some(x), Some(y)) => x == y,
        _ => number_eq(number_f64(a), number_f64(b)),
    }
}

fn number_f64(n: &serde_json::Number) -> f64 {
    n.as_f64().unwrap_or(f64::NAN)
}

fn number_eq(a: f64, b: f64) -> bool {
    a == b
}

/// `ReserveRestaurant(party_size=4, time="11:30")`: a call as people read it, arguments in
/// key order, strings quoted, other values as compact JSON.
pub(crate) fn describe(name: &str, arguments: Option<&Value>) -> String {
    let args = match arguments {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", compact(v)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => compact(other),
        None => String::new(),
    };
    format!("{name}({args})")
}

/// A value on one line, as people write JSON (keys sorted: serde_json keeps maps ordered).
pub(crate) fn compact(value: &Value) -> String {
    crate::message::inline_json(value)
}

/// Which argument makes `actual` miss `expected`, for failure messages: `time differs`,
/// `name is missing`.
pub(crate) fn first_difference(expected: &Value, actual: &Value) -> Option<String> {
    if matches(expected, actual) {
        return None;
    }
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => {
            want.iter().find_map(|(key, value)| match got.get(key) {
                None => Some(format!("{key} is missing")),
                Some(g) if !matches(value, g) => Some(format!("{key} differs")),
                Some(_) => None,
            })
        }
        _ => Some("the arguments differ".to_owned()),
    }
}

/// The number of expected arguments an actual call gets wrong (for the closest call).
pub(crate) fn differences(expected: Option<&Value>, actual: &Value) -> usize {
    match (expected, actual) {
        (None, _) => 0,
        (Some(Value::Object(want)), Value::Object(got)) => want
            .iter()
            .filter(|(key, value)| !got.get(*key).is_some_and(|g| matches(value, g)))
            .count(),
        (Some(want), got) => usize::from(!matches(want, got)),
    }
}

/// The value at a dot-separated path of keys and array indexes (`items.0.name`).
pub(crate) fn at_path<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |node, part| match node {
        Value::Object(map) => map.get(part),
        Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// A result value as the words the agent must say: a string as it is, a number or boolean
/// as its JSON text; `None` for objects, arrays and null (they are not one thing to say).
pub(crate) fn spoken(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
