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

/// The numbers of a JSON text that a 64-bit float cannot tell from another number, with
/// their byte offsets: past the 64-bit integers serde_json reads numbers as floats, so
/// `18446744073709551617` and `18446744073709551616` would be one number (review P8). A
/// number is kept when its value is the float's own shortest text's (`0.1`, `12.50`,
/// `1e3`, `1.8446744073709552e19`), or an integer that fits 64 bits.
pub(crate) fn inexact_numbers(json: &str) -> Vec<(usize, &str)> {
    let bytes = json.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // Past the string: its escapes may hide a quote.
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                let text = &json[start..i];
                if !exact_in_float(text) {
                    found.push((start, text));
                }
            }
            _ => i += 1,
        }
    }
    found
}

/// Whether the number `text` (JSON's grammar) reads as itself (see [`inexact_numbers`]).
fn exact_in_float(text: &str) -> bool {
    if text.parse::<u64>().is_ok() || text.parse::<i64>().is_ok() {
        return true;
    }
    let Some(want) = Decimal::parse(text, true) else {
        // Not a JSON number: the JSON parser has already said so.
        return true;
    };
    let read = text
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64);
    read.and_then(|n| Decimal::of(&n)) == Some(want)
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

    /// The value in plain decimal notation, no exponent: `1000`, `12.5`, `-0.001`.
    fn plain_text(&self) -> String {
        if self.digits.is_empty() {
            return "0".to_owned();
        }
        let sign = if self.negative { "-" } else { "" };
        let digits = &self.digits;
        match usize::try_from(-self.exponent) {
            Err(_) => format!("{sign}{digits}{}", "0".repeat(self.exponent as usize)),
            Ok(0) => format!("{sign}{digits}"),
            Ok(after) if after < digits.len() => {
                let (whole, fraction) = digits.split_at(digits.len() - after);
                format!("{sign}{whole}.{fraction}")
            }
            Ok(after) => format!("{sign}0.{}{digits}", "0".repeat(after - digits.len())),
        }
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

/// A result value as the words the agent must say: a string as it is, a number in plain
/// decimal notation (`10.0` is `10`, `1e3` is `1000`, `12.50` is `12.5`), a boolean as its
/// JSON text; `None` for objects, arrays and null (they are not one thing to say).
pub(crate) fn spoken(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(Decimal::of(n).map_or_else(|| n.to_string(), |d| d.plain_text())),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether `reply` says `number`: one of its numerals has the same exact decimal value
/// (`$10`, `$10.00` and `10` all say `10.0`; `1,200` says `1200`; `$10.50` does not say
/// `10`). A numeral is ASCII digits with optional `,` thousands groups and a `.` fraction,
/// a `-` right before it when nothing else is; a letter or digit joined to it makes it part
/// of a word (`a10`), not a number. With `spoken` numbers, also when the reply's words
/// read as digits hold the number's digits as a word (`ten`, `five five one two`).
pub(crate) fn says_number(
    reply: &str,
    number: &serde_json::Number,
    words: &crate::normalize::Words<'_>,
    spoken: bool,
) -> bool {
    let Some(want) = Decimal::of(number) else {
        return false;
    };
    if numerals(reply).any(|numeral| Decimal::plain(&numeral).as_ref() == Some(&want)) {
        return true;
    }
    let text = want.plain_text();
    spoken && text.bytes().all(|b| b.is_ascii_digit()) && words.has(&text)
}

/// The numerals of a text (see [`says_number`]), commas removed.
fn numerals(text: &str) -> impl Iterator<Item = String> + '_ {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let digit = |i: usize| chars.get(i).is_some_and(|(_, c)| c.is_ascii_digit());
    let glued = |i: Option<usize>| {
        i.and_then(|i| chars.get(i))
            .is_some_and(|(_, c)| c.is_alphanumeric())
    };
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !digit(i) || glued(i.checked_sub(1)) {
            // Skip the rest of a word a numeral cannot start in.
            while i < chars.len() && chars[i].1.is_alphanumeric() {
                i += 1;
            }
            i += usize::from(i < chars.len() && !chars[i].1.is_alphanumeric());
            continue;
        }
        let start = i;
        let mut numeral = String::new();
        let negative = i >= 1
            && chars[i - 1].1 == '-'
            && (i == 1 || !chars[i - 2].1.is_alphanumeric() && chars[i - 2].1 != '-');
        if negative {
            numeral.push('-');
        }
        while digit(i) {
            numeral.push(chars[i].1);
            i += 1;
        }
        // Thousands groups (`,` and exactly three digits) after one to three digits.
        let mut groups = 0;
        while chars.get(i).is_some_and(|(_, c)| *c == ',')
            && (1..=3).all(|k| digit(i + k))
            && !digit(i + 4)
            && i - start - 4 * groups <= 3
        {
            numeral.push_str(&text[chars[i + 1].0..chars[i + 3].0 + 1]);
            i += 4;
            groups += 1;
        }
        if chars.get(i).is_some_and(|(_, c)| *c == '.') && digit(i + 1) {
            numeral.push('.');
            i += 1;
            while digit(i) {
                numeral.push(chars[i].1);
                i += 1;
            }
        }
        if !glued(Some(i)) {
            found.push(numeral);
        }
    }
    found.into_iter()
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
    fn numerals_of_a_reply() {
        let all = |text: &str| numerals(text).collect::<Vec<_>>();
        assert_eq!(
            all("$10.00, then 1,200,000 or 5"),
            ["10.00", "1200000", "5"]
        );
        assert_eq!(all("-3 and 4-5 and a10 and 10am"), ["-3", "4", "5"]);
        assert_eq!(
            all("12,50 and 1234,567 and 1,2345"),
            ["12", "50", "1234", "567", "1", "2345"]
        );
        assert_eq!(all("at 11:30. Done."), ["11", "30"]);
        assert_eq!(all("é5 ٣ 7"), ["7"]);
    }

    #[test]
    fn plain_text_of_numbers() {
        for (number, text) in [
            (json!(10.0), "10"),
            (json!(12.50), "12.5"),
            (json!(1e3), "1000"),
            (json!(-0.001), "-0.001"),
            (json!(0.0), "0"),
            (json!(u64::MAX), "18446744073709551615"),
            (json!(-12.25), "-12.25"),
        ] {
            let Value::Number(n) = number else {
                unreachable!()
            };
            assert_eq!(Decimal::of(&n).unwrap().plain_text(), text);
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
