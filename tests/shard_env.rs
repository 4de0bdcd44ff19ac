//! `VOICE_HARNESS_SHARD=K/N` under `cargo test`: a test binary of its own, because the
//! variable is read from the process's environment.

mod common;

use voice_harness::__private::check_case_file;
use voice_harness::{BuiltinAgent, RunOptions, Shard};

#[test]
fn only_the_shards_cases_run_and_a_bad_value_fails_every_case() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("cases")).unwrap();
    // Failing cases: a case outside the shard passes only because it does not run.
    let names: Vec<String> = (0..40).map(|i| format!("c{i}.json")).collect();
    for (i, name) in names.iter().enumerate() {
        let case = format!(
            r#"{{"test_id": "c{i}", "persona": "P", "agent": {{"replay": ["no"]}},
                 "turns": [{{"step_order": 1, "user_input": "Hi", "expected_agent_response_keywords": ["yes"]}}]}}"#
        );
        std::fs::write(dir.path().join("cases").join(name), case).unwrap();
    }
    let config = common::harness_config(dir.path());
    fn no_snapshots(_: &str, _: &str) {}
    let check = |name: &str| {
        check_case_file(
            &config,
            &dir.path().join("cases").join(name),
            BuiltinAgent::for_case,
            RunOptions::default,
            no_snapshots,
        )
    };
    // SAFETY of the test: this binary has this one test, so no other thread reads the
    // environment meanwhile.
    unsafe { std::env::set_var("VOICE_HARNESS_SHARD", "2/3") };
    let shard = Shard { k: 2, n: 3 };
    let mut ran = 0;
    for name in &names {
        let result = check(name);
        assert_eq!(result.is_err(), shard.holds(name), "{name}");
        ran += usize::from(result.is_err());
    }
    assert!(ran > 5 && ran < 25, "about a third ran: {ran}");
    unsafe { std::env::set_var("VOICE_HARNESS_SHARD", "4/3") };
    let err = check(&names[0]).unwrap_err().to_string();
    assert!(
        err.starts_with("environment variable VOICE_HARNESS_SHARD: expected K/N with 1 <= K <= N"),
        "{err}"
    );
    unsafe { std::env::remove_var("VOICE_HARNESS_SHARD") };
}
