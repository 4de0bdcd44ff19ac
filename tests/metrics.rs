//! SPEC §6: every metric, status, and `expect`.

mod common;

use rstest::rstest;
use serde_json::json;
use voice_harness::Status;

#[test]
fn counts_cover_every_turn_even_unreached_ones() {
    // The Python project counted only the steps reached; total_steps is the number of turns.
    let outcome = common::run(&common::recorded(
        &[
            ("One", &["a"]),
            ("Two", &["b"]),
            ("Three", &["c"]),
            ("Four", &["d"]),
        ],
        &[
            ("user", "One", None),
            ("agent", "a", None),
            ("user", "Two", None),
            ("agent", "x", None),
        ],
    ));
    let m = &outcome.metrics;
    assert_eq!((m.total_steps, m.steps_passed, m.steps_failed), (4, 1, 3));
    assert_eq!(m.failure_steps, [2, 3, 4]);
    assert_eq!(m.first_failure_step, Some(2));
    assert_eq!(m.coverage, 0.25);
    // 1 of 4 keywords appeared; unreached steps count as not appeared.
    assert_eq!(m.keyword_recall, Some(0.25));
    assert!(!m.user_deviation_detected);
}

#[test]
fn passing_call_metrics() {
    let outcome = common::run(&common::case(common::script(&[
        ("One", &["a", "b"]),
        ("Two", &["c"]),
    ])));
    let m = &outcome.metrics;
    assert_eq!(outcome.status, Status::Pass);
    assert_eq!(
        (m.steps_passed, m.steps_failed, m.first_failure_step),
        (2, 0, None)
    );
    assert!(m.failure_steps.is_empty());
    assert_eq!((m.coverage, m.keyword_recall), (1.0, Some(1.0)));
    // The ideal agent answers instantly on the virtual clock.
    assert_eq!(
        (m.latency_ms_p50, m.latency_ms_p95, m.latency_ms_max),
        (Some(0), Some(0), Some(0))
    );
}

#[test]
fn keyword_recall_skips_exact_steps_and_is_null_without_keywords() {
    let exact_only = common::case(json!({
        "test_id": "t", "persona": "P",
        "turns": [{"step_order": 1, "user_input": "Hi", "exact_match_required": true, "expected_agent_response": "hello"}]
    }));
    assert_eq!(common::run(&exact_only).metrics.keyword_recall, None);
    let none = common::case(common::script(&[("Hi", &[])]));
    assert_eq!(common::run(&none).metrics.keyword_recall, None);

    let mixed = common::case(json!({
        "test_id": "t", "persona": "P",
        "transcript": [{"speaker": "user", "text": "Hi"}, {"speaker": "agent", "text": "nope"},
                       {"speaker": "user", "text": "Bye"}, {"speaker": "agent", "text": "bye now"}],
        "turns": [
            {"step_order": 1, "user_input": "Hi", "exact_match_required": true, "expected_agent_response_keywords": ["x", "y"]},
            {"step_order": 2, "user_input": "Bye", "expected_agent_response_keywords": ["bye", "later", "now"]}
        ]
    }));
    assert_eq!(common::run(&mixed).metrics.keyword_recall, Some(2.0 / 3.0));
}

#[test]
fn user_deviation_is_detected_only_on_steps_with_a_user_run() {
    let deviating = common::recorded(
        &[("Hello", &[])],
        &[("user", "Goodbye", None), ("agent", "ok", None)],
    );
    assert!(common::run(&deviating).metrics.user_deviation_detected);
    let missing = common::recorded(&[("Hello", &[])], &[]);
    assert!(!common::run(&missing).metrics.user_deviation_detected);
}

/// Nearest rank: the ⌈p·n/100⌉-th smallest.
#[rstest]
#[case::one(&[70], (70, 70, 70))]
#[case::two(&[10, 20], (10, 20, 20))]
#[case::unsorted(&[300, 100, 200], (200, 300, 300))]
#[case::ten(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], (5, 10, 10))]
#[case::twenty(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], (10, 19, 20))]
fn latency_percentiles(#[case] latencies: &[u64], #[case] expected: (u64, u64, u64)) {
    let mut rows = vec![json!({"speaker": "user", "text": "Hi"})];
    rows.extend(
        latencies
            .iter()
            .map(|ms| json!({"speaker": "agent", "text": "ok", "latency_ms": ms})),
    );
    // A row without latency does not count.
    rows.push(json!({"speaker": "agent", "text": "ok"}));
    let mut value = common::script(&[("Hi", &[])]);
    value["transcript"] = json!(rows);
    let m = common::run(&common::case(value)).metrics;
    assert_eq!(
        (m.latency_ms_p50, m.latency_ms_p95, m.latency_ms_max),
        (Some(expected.0), Some(expected.1), Some(expected.2))
    );
}

#[test]
fn latency_is_null_without_known_latencies() {
    let m = common::run(&common::recorded(
        &[("Hi", &[])],
        &[("user", "Hi", None), ("agent", "ok", None)],
    ))
    .metrics;
    assert_eq!(
        (m.latency_ms_p50, m.latency_ms_p95, m.latency_ms_max),
        (None, None, None)
    );
}

#[test]
fn replay_latency_is_virtual_and_exact() {
    let case = common::case(json!({
        "test_id": "t", "persona": "P",
        "agent": {"replay": [{"text": "a", "latency_ms": 350}, "b", {"text": "c", "latency_ms": 10000}]},
        "turns": [
            {"step_order": 1, "user_input": "1", "expected_agent_response_keywords": ["a"], "max_latency_ms": 350},
            {"step_order": 2, "user_input": "2", "expected_agent_response_keywords": ["b"]},
            {"step_order": 3, "user_input": "3", "expected_agent_response_keywords": ["c"], "max_latency_ms": 9999}
        ]
    }));
    let started = std::time::Instant::now();
    let outcome = voice_harness::run_case(
        &case,
        &mut voice_harness::BuiltinAgent::for_case(&case),
        &Default::default(),
    );
    // Not a timing assertion: 10 s of simulated latency must not be spent for real.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let latencies: Vec<_> = outcome.steps.iter().map(|s| s.latency_ms).collect();
    assert_eq!(latencies, [Some(350), Some(0), Some(10000)]);
    assert_eq!(outcome.metrics.failure_steps, [3]);
    assert_eq!(
        outcome.steps[2].details.as_deref(),
        Some("latency 10000 ms over budget 9999 ms")
    );
}

#[test]
fn disfluencies_are_counted() {
    let mut value = common::script(&[("One two", &[]), ("Three four", &[]), ("Five", &[])]);
    value["caller"] = json!({"disfluency_rate": 1.0});
    let outcome = common::run(&common::case(value));
    assert_eq!(outcome.metrics.disfluencies_injected, 3);
    assert!(outcome.steps.iter().all(|s| s.user_match == Some(true)));
}

#[rstest]
#[case::no_expect_pass(json!(null), true, true)]
#[case::no_expect_fail(json!(null), false, false)]
#[case::expect_fail_and_fails(json!({"status": "fail"}), false, true)]
#[case::expect_fail_but_passes(json!({"status": "fail"}), true, false)]
#[case::expect_steps_match(json!({"status": "fail", "failure_steps": [1]}), false, true)]
#[case::expect_steps_differ(json!({"status": "fail", "failure_steps": [2]}), false, false)]
#[case::expect_pass(json!({"status": "pass", "failure_steps": []}), true, true)]
fn expect_decides_the_test(
    #[case] expect: serde_json::Value,
    #[case] agent_ok: bool,
    #[case] as_expected: bool,
) {
    let mut value = common::script(&[("Hi", &["hello"]), ("Bye", &["bye"])]);
    value["agent"] = json!({"replay": [if agent_ok { "hello" } else { "what" }, "bye"]});
    if !expect.is_null() {
        value["expect"] = expect;
    }
    let case = common::case(value);
    let outcome = voice_harness::run_case(
        &case,
        &mut voice_harness::BuiltinAgent::for_case(&case),
        &Default::default(),
    );
    assert_eq!(outcome.status == Status::Pass, agent_ok);
    assert_eq!(outcome.as_expected, as_expected);
}
