//! SPEC §4 normalization and phrase matching, SPEC §5 `user_match`, and SPEC §10 tool-argument
//! matching, one row per rule.

mod common;

use rstest::rstest;
use serde_json::{Value, json};
use voice_harness::{Status, appears_in, tokens};

#[rstest]
#[case::punctuation("Hi, there!", &["hi", "there"])]
#[case::time("11:30 AM", &["11", "30", "am"])]
#[case::apostrophe("don't", &["don", "t"])]
#[case::unicode_lowercase("ÜBER Straße", &["über", "straße"])]
#[case::non_latin("Привет, МИР", &["привет", "мир"])]
#[case::digits_and_letters("Order #A5512-b", &["order", "a5512", "b"])]
#[case::only_punctuation("?!… — ", &[])]
#[case::empty("", &[])]
#[case::emoji_is_a_separator("great👍thanks", &["great", "thanks"])]
#[case::whitespace_runs("  a \t\n b  ", &["a", "b"])]
fn normalizes(#[case] text: &str, #[case] expected: &[&str]) {
    assert_eq!(tokens(text), expected);
}

#[rstest]
#[case::hi_not_in_this("hi", "this", false)]
#[case::hi_not_in_which("hi", "which", false)]
#[case::hi_not_in_high("hi", "high", false)]
#[case::hi_as_word("hi", "Oh, hi!", true)]
#[case::time_phrase("11:30", "at 11:30 am", true)]
#[case::phrase_contiguous("next bill", "on your next bill", true)]
#[case::phrase_not_contiguous("next bill", "next month's bill", false)]
#[case::phrase_wrong_order("bill next", "next bill", false)]
#[case::case_insensitive("REFUND", "a refund", true)]
#[case::punctuation_in_phrase("9:30 AM", "booked at 9.30 am", true)]
#[case::apostrophe_phrase("don't", "I don t know", true)]
#[case::longer_than_text("a b c", "a b", false)]
fn phrase_appears(#[case] phrase: &str, #[case] text: &str, #[case] expected: bool) {
    assert_eq!(appears_in(phrase, text), expected);
}

/// `user_match` through the public pipeline: a one-step recorded call.
fn user_match(script: &str, said: &str) -> Option<bool> {
    let case = common::recorded(
        &[(script, &["ok"])],
        &[("user", said, None), ("agent", "ok", None)],
    );
    common::run(&case).steps[0].user_match
}

#[rstest]
#[case::identical("I need help", "I need help", true)]
#[case::punctuation_and_case("I need help.", "i NEED help", true)]
#[case::filler_um("I need help", "um I need help", true)]
#[case::filler_inside("I need help", "I need uh help", true)]
#[case::two_word_filler("I need help", "I you know need help", true)]
#[case::i_mean_filler("I need help", "I need I mean help", true)]
#[case::filler_at_end("I need help", "I need help like", true)]
#[case::every_filler("I need help", "um I uh need you know help I mean like", true)]
#[case::extra_words_around("I need help", "Hello, I need help please", true)]
#[case::filler_in_script_too("I would like a table", "I would like a table", true)]
#[case::different_word("I need help", "I want help", false)]
#[case::missing_word("I need help", "I help", false)]
#[case::reordered("I need help", "help I need", false)]
fn user_matches(#[case] script: &str, #[case] said: &str, #[case] expected: bool) {
    assert_eq!(user_match(script, said), Some(expected));
}

/// Whether a call with `actual` arguments meets an expected call with `expected` ones
/// (SPEC §10), through a case whose replayed agent makes exactly that call.
fn arguments_match(expected: Value, actual: Value) -> bool {
    common::run_builtin(json!({
        "test_id": "t", "persona": "P",
        "agent": {"replay": [{"text": "done", "tool_calls": [{"name": "Book", "arguments": {"v": actual}}]}]},
        "turns": [{"step_order": 1, "user_input": "Book it",
                   "expected_tool_calls": [{"name": "Book", "arguments": {"v": expected}}]}]
    }))
    .status
        == Status::Pass
}

/// Strings match strings by their words, never as numbers; a string matches a number only
/// when its text is that number's decimal value exactly (issue 23, fault 5).
#[rstest]
#[case::leading_zero(json!("02134"), json!("2134"), false)]
#[case::leading_zero_reversed(json!("2134"), json!("02134"), false)]
#[case::exponent_string(json!("1e3"), json!("1000"), false)]
#[case::decimal_strings_by_words(json!("12.50"), json!("12.5"), false)]
#[case::same_digit_string(json!("02134"), json!("02134"), true)]
#[case::beyond_f64_string_number(json!("9007199254740993"), json!(9_007_199_254_740_992_u64), false)]
#[case::beyond_f64_number_string(json!(9_007_199_254_740_992_u64), json!("9007199254740993"), false)]
#[case::beyond_f64_numbers(json!(9_007_199_254_740_993_u64), json!(9_007_199_254_740_992.0), false)]
#[case::beyond_f64_exact(json!(9_007_199_254_740_993_u64), json!("9007199254740993"), true)]
#[case::zip_code_is_not_a_number(json!(2134), json!("02134"), false)]
#[case::exponent_is_not_plain_text(json!(1000), json!("1e3"), false)]
#[case::plus_sign_is_not_plain_text(json!(5), json!("+5"), false)]
#[case::spaces_are_not_the_number(json!(5), json!(" 5 "), false)]
#[case::number_as_string(json!(2), json!("2"), true)]
#[case::decimal_value(json!(12.5), json!("12.50"), true)]
#[case::negative(json!(-3), json!("-3"), true)]
#[case::integer_and_float(json!(3), json!(3.0), true)]
#[case::float_text(json!(0.1), json!("0.1"), true)]
#[case::float_text_beyond_precision(json!(0.1), json!("0.10000000000000001"), false)]
#[case::big_floats(json!(1e300), json!(1e300), true)]
#[case::words_still_match(json!("San Jose"), json!("san  jose!"), true)]
fn tool_arguments(#[case] expected: Value, #[case] actual: Value, #[case] matches: bool) {
    assert_eq!(arguments_match(expected, actual), matches);
}
