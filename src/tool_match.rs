//! Tool calls as data (docs/case-format.md, "Tool calls"): how an actual call's arguments
//! match an expected or mocked `arguments` object, how a call is written for people, and
//! how a value is found in a tool's result by path. No I/O and no state: the call loop's
//! side is `agent::Tools`.

use serde_json::Value;

use crate::normalize::{lowercase, split};

/// Whether `actual` matches `expected` by the argument rule: every key of an expected
/// object is present in the actual one with a matching value (extra actual keys are
/// allowed), recursively; arrays element by element with the same length; strings by their
/// words (so `"San Jose"` matches `"san jose"`, and `"02134"` never matches `"2134"`);
/// numbers by their exact decimal value, and a string matches a number only when its whole
/// text is that number in plain decimal notation (`"2"` matches `2`, `"12.50"` matches
/// `12.5`; `"02134"`, `"1e3"`, `" 5"` match no number); booleans and `null` exactly.
///
/// Numbers are compared as decimal text, never as `f64`: `9007199254740993` (2⁵³ + 1) does
/// not match `9007199254740992`, which an `f64` cannot tell apart (issue 23, fault 5).
pub(crate) fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => want
            .iter()
            .all(|(key, value)| got.get(key).is_some_and(|g| matches(value, g))),
        (Value::Array(want), Value::Array(got)) => {
            want.len() == got.len() && want.iter().zip(got).all(|(w, g)| matches(w, g))
        }
        (Value::String(want), Value::String(got)) => same_words(want, got),
        (Value::Number(want), Value::Number(got)) => same_number(want, got),
        (Value::Number(number), Value::String(text))
        | (Value::String(text), Value::Number(number)) => {
            Decimal::plain(text).is_some_and(|d| Some(d) == Decimal::of(number))
        }
        (Value::Bool(want), Value::Bool(got)) => want == got,
        (Value::Null, Value::Null) => true,
        _ => false,
    }
}

fn same_words(a: &str, b: &str) -> bool {
    split(&lowercase(a)) == split(&lowercase(b))
}

fn same_number(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
        (Some(x), Some(y), _, _) => x == y,
        (_, _, Some(x), Some(y)) => x == y,
        _ => Decimal::of(a).is_some_and(|x| Some(x) == Decimal::of(b)),
    }
}

/// The exact value of a decimal numeral: `digits` × 10^`exponent`, with no leading or
/// trailing zeros in `digits` (so each value has one form; zero is no digits, not negative).
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: String,
    exponent: i64,
}

impl Decimal {
    /// A number's value, from the shortest text that reads back as it (serde_json writes
    /// integers exactly and floats by the shortest round trip: `0.1`, `1e300`).
    fn of(number: &serde_json::Number) -> Option<Self> {
        Self::parse(&number.to_string(), true)
    }

    /// A string's value when its whole text is a number in plain decimal notation, as
    /// JSON writes one without an exponent: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`.
    fn plain(text: &str) -> Option<Self> {
        Self::parse(text, false)
    }

    /// JSON's number grammar; the exponent part only when `exponent` is allowed.
    fn parse(text: &str, exponent: bool) -> Option<Self> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, power) = match rest.find(['e', 'E']) {
            Some(at) if exponent => {
                let power = &rest[at + 1..];
                let digits = power.strip_prefix(['+', '-']).unwrap_or(power);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (&rest[..at], power.parse::<i32>().ok()?)
            }
            Some(_) => return None,
            None => (rest, 0),
        };
        let (whole, fraction) = match mantissa.split_once('.') {
            Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
            Some(_) => return None,
            None => (mantissa, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || (whole.len() > 1 && whole.starts_with('0'))
            || !all_digits(whole)
            || !all_digits(fraction)
        {
            return None;
        }
        let digits = format!("{whole}{fraction}");
        let significant = digits.trim_start_matches('0');
        let trimmed = significant.trim_end_matches('0');
        let exponent =
            i64::from(power) - fraction.len() as i64 + (significant.len() - trimmed.len()) as i64;
        Some(if trimmed.is_empty() {
            Self {
                negative: false,
                digits: String::new(),
                exponent: 0,
            }
        } else {
            Self {
                negative,
                digits: trimmed.to_owned(),
                exponent,
            }
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(text: &str, exponent: bool) -> Option<(bool, String, i64)> {
        Decimal::parse(text, exponent).map(|d| (d.negative, d.digits, d.exponent))
    }

    #[test]
    fn decimals_have_one_form_per_value() {
        assert_eq!(value("12.50", false), Some((false, "125".into(), -1)));
        assert_eq!(value("12.5", false), value("12.50", false));
        assert_eq!(value("1200", false), Some((false, "12".into(), 2)));
        assert_eq!(value("1.2e3", true), value("1200", false));
        assert_eq!(value("-0.0", true), value("0", false));
        assert_eq!(value("0.001", false), Some((false, "1".into(), -3)));
        assert_eq!(value("-7", false), Some((true, "7".into(), 0)));
    }

    #[test]
    fn only_json_numerals_are_numbers() {
        for text in [
            "", "-", "02134", "00", "+5", " 5", "5 ", "1.", ".5", "1e3", "0x10", "1_000", "١٢",
            "NaN", "inf", "1.2.3", "--1",
        ] {
            assert_eq!(value(text, false), None, "{text:?}");
        }
        for text in ["1e", "1e+", "1ee3", "1e3.5", "1e99999999999"] {
            assert_eq!(value(text, true), None, "{text:?}");
        }
    }

    #[test]
    fn numbers_compare_exactly() {
        assert!(matches(&json!(0.1), &json!("0.1")));
        assert!(matches(&json!(1e300), &json!(1e300)));
        assert!(matches(&json!(-0.0), &json!(0)));
        assert!(matches(&json!(3), &json!(3.0)));
        assert!(matches(&json!(u64::MAX), &json!(u64::MAX.to_string())));
        assert!(matches(&json!(i64::MIN), &json!(i64::MIN.to_string())));
        assert!(!matches(
            &json!(9_007_199_254_740_993_u64),
            &json!(9_007_199_254_740_992.0)
        ));
        assert!(!matches(&json!(u64::MAX), &json!(1.8446744073709552e19)));
        assert!(!matches(&json!("02134"), &json!("2134")));
    }
}
