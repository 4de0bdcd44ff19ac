//! SPEC §4 normalization and phrase matching, and SPEC §5 `user_match`, one row per rule.

mod common;

use rstest::rstest;
use voice_harness::{appears_in, tokens};

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
