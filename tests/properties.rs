//! Properties that must hold for every input, not just the examples (proptest). Inputs that
//! once broke a property are replayed first from `tests/proptest-regressions/properties.txt`
//! (the first entry: a filler inserted inside "i mean", which the old greedy filler strip got
//! wrong).

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Value, json};
use voice_harness::{
    IdealAgent, RunOptions, Status, appears_in, case::Speaker, parse_case, run::FILLERS, run_case,
    tokens,
};

/// Words as people say them, including the pieces fillers are made of, so insertions can
/// land next to, or inside, a filler already in the line.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9]{1,8}",
        1 => "[a-zäöüßéñ][a-zäöüßéñ'-]{0,5}",
        2 => prop::sample::select(vec!["you", "know", "I", "mean", "um", "uh", "like", "i"]).prop_map(String::from),
    ]
}

fn line() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 1..10).prop_map(|w| w.join(" "))
}

/// `user_match` of one step through the public pipeline: a recorded call.
fn user_match(script: &str, said: &str) -> Option<bool> {
    let case = json!({
        "test_id": "p", "persona": "P",
        "turns": [{"step_order": 1, "user_input": script}],
        "transcript": [{"speaker": "user", "text": said}, {"speaker": "agent", "text": "ok"}]
    });
    let case = parse_case("p.json", &serde_json::to_vec(&case).unwrap()).unwrap();
    run_case(&case, &mut IdealAgent::new(&case), &RunOptions::default()).steps[0].user_match
}

fn insert_fillers(line: &str, insertions: &[(usize, usize)]) -> String {
    let mut words: Vec<&str> = line.split_whitespace().collect();
    for &(position, filler) in insertions {
        let at = position % (words.len() + 1);
        words.insert(at, FILLERS[filler % FILLERS.len()]);
    }
    words.join(" ")
}

/// A valid case as JSON: `turns` turns whose forbidden words never appear in their keywords.
fn valid_case() -> impl Strategy<Value = Value> {
    let turn = (
        line(),
        prop::collection::vec(line(), 0..4),
        any::<bool>(),
        prop::option::of(line()),
        prop::collection::vec("zz[0-9]{1,3}", 0..2),
        prop::option::of(0u64..5000),
    );
    (prop::collection::vec(turn, 1..6), 0.0f64..=1.0, any::<u64>(), "[a-z0-9_]{1,20}").prop_map(|(turns, rate, seed, id)| {
        let turns: Vec<Value> = turns
            .into_iter()
            .enumerate()
            .map(|(i, (input, keywords, exact, expected, forbidden, budget))| {
                let mut t = json!({"step_order": i + 1, "user_input": input, "expected_agent_response_keywords": keywords});
                // An exact step needs a phrase: the keywords or an explicit one.
                if exact && (expected.is_some() || !keywords.is_empty()) {
                    t["exact_match_required"] = json!(true);
                    if let Some(e) = expected {
                        t["expected_agent_response"] = json!(e);
                    }
                }
                if !forbidden.is_empty() {
                    t["forbidden_keywords"] = json!(forbidden);
                }
                if let Some(ms) = budget {
                    t["max_latency_ms"] = json!(ms);
                }
                t
            })
            .collect();
        json!({"test_id": id, "persona": "Prop", "seed": seed, "caller": {"disfluency_rate": rate}, "tone_markers": [], "turns": turns})
    })
}

fn parse(value: &Value) -> voice_harness::Case {
    parse_case("p.json", &serde_json::to_vec(value).unwrap()).unwrap_or_else(|e| panic!("{e}"))
}

/// Arbitrary transcripts: random speakers, empty and Unicode texts, some latencies.
fn transcript() -> impl Strategy<Value = Vec<Value>> {
    let text = prop_oneof![Just(String::new()), any::<String>(), line()];
    let row =
        (any::<bool>(), text, prop::option::of(0u64..100_000)).prop_map(|(user, text, latency)| {
            let mut row = json!({"speaker": if user { "user" } else { "agent" }, "text": text});
            if let Some(ms) = latency {
                row["latency_ms"] = json!(ms);
            }
            row
        });
    prop::collection::vec(row, 0..14)
}

/// The proptest settings of this file: `cases` runs, failures kept where proptest finds
/// them again (integration tests have no lib.rs for its default location: name the file).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Fillers inserted anywhere, any number of them, never change `user_match`.
    #[test]
    fn fillers_never_change_user_match(
        script in line(),
        said in prop_oneof![line(), Just(String::new())],
        same in any::<bool>(),
        insertions in prop::collection::vec((0usize..20, 0usize..5), 0..6),
    ) {
        let said = if same || said.is_empty() { script.clone() } else { said };
        let with_fillers = insert_fillers(&said, &insertions);
        prop_assert_eq!(user_match(&script, &said), user_match(&script, &with_fillers), "{:?} vs {:?}", said, with_fillers);
    }

    /// A caller who says the script, stammering or not, always matches it.
    #[test]
    fn the_script_with_fillers_matches(script in line(), insertions in prop::collection::vec((0usize..20, 0usize..5), 0..6)) {
        prop_assert_eq!(user_match(&script, &insert_fillers(&script, &insertions)), Some(true));
    }

    /// Normalizing normalized text changes nothing.
    #[test]
    fn normalization_is_idempotent(text in any::<String>()) {
        let once = tokens(&text);
        prop_assert_eq!(tokens(&once.join(" ")), once);
    }

    /// A keyword appears in any text made by joining it with other words.
    #[test]
    fn a_keyword_appears_among_other_words(
        keyword in line(),
        before in prop::collection::vec(any::<String>(), 0..4),
        after in prop::collection::vec(any::<String>(), 0..4),
    ) {
        let text = format!("{} {keyword} {}", before.join(" "), after.join(" "));
        prop_assert!(appears_in(&keyword, &text), "{:?} in {:?}", keyword, text);
    }

    /// The ideal agent passes every step of every valid case, with any disfluency and seed.
    #[test]
    fn the_ideal_agent_passes_every_valid_case(case in valid_case()) {
        let case = parse(&case);
        let outcome = run_case(&case, &mut IdealAgent::new(&case), &RunOptions::default());
        prop_assert!(outcome.steps.iter().all(|s| s.passed), "{:#?}", outcome.steps);
        prop_assert_eq!(outcome.status, Status::Pass);
    }

    /// The same case and seed give the same transcript and metrics, run after run.
    #[test]
    fn the_same_case_and_seed_give_the_same_call(case in valid_case()) {
        let case = parse(&case);
        let run = || run_case(&case, &mut IdealAgent::new(&case), &RunOptions::default());
        let (a, b) = (run(), run());
        prop_assert_eq!(serde_json::to_string(&a.transcript).unwrap(), serde_json::to_string(&b.transcript).unwrap());
        prop_assert_eq!(serde_json::to_string(&a.metrics).unwrap(), serde_json::to_string(&b.metrics).unwrap());
    }

    /// SPEC §6's invariants hold for any transcript against any script.
    #[test]
    fn metric_invariants_hold_for_any_transcript(mut case in valid_case(), rows in transcript(), markers in prop::collection::vec(line(), 0..2)) {
        case["transcript"] = json!(rows);
        case["tone_markers"] = json!(markers);
        case.as_object_mut().unwrap().remove("caller");
        let case = parse(&case);
        let outcome = run_case(&case, &mut IdealAgent::new(&case), &RunOptions::default());
        let m = &outcome.metrics;
        prop_assert_eq!(m.total_steps as usize, case.turns().len());
        prop_assert_eq!(m.steps_passed + m.steps_failed, m.total_steps);
        prop_assert_eq!(m.failure_steps.len() as u32, m.steps_failed);
        prop_assert!(m.failure_steps.windows(2).all(|w| w[0] < w[1]));
        prop_assert_eq!(m.first_failure_step, m.failure_steps.first().copied());
        prop_assert_eq!(m.coverage, f64::from(m.steps_passed) / f64::from(m.total_steps));
        if let Some(recall) = m.keyword_recall {
            prop_assert!((0.0..=1.0).contains(&recall));
        }
        prop_assert_eq!(m.user_deviation_detected, outcome.steps.iter().any(|s| s.user_match == Some(false)));
        let latencies: Vec<u64> = outcome.transcript.iter().filter(|r| r.speaker == Speaker::Agent).filter_map(|r| r.latency_ms).collect();
        prop_assert_eq!(m.latency_ms_max, latencies.iter().max().copied());
        if let (Some(p50), Some(p95), Some(max)) = (m.latency_ms_p50, m.latency_ms_p95, m.latency_ms_max) {
            prop_assert!(p50 <= p95 && p95 <= max);
            prop_assert!(latencies.contains(&p50) && latencies.contains(&p95));
        }
        prop_assert_eq!(m.disfluencies_injected, 0);
        let all_passed = outcome.steps.iter().all(|s| s.passed);
        prop_assert_eq!(outcome.status == Status::Pass, all_passed && outcome.tone.passed);
        for step in &outcome.steps {
            prop_assert_eq!(step.passed, step.details.is_none());
        }
    }

    /// Arbitrary bytes and arbitrary JSON values give a case or an error, never a panic.
    #[test]
    fn the_loader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512), value in arbitrary_json()) {
        let _ = parse_case("x.json", &bytes);
        let _ = parse_case("x.json", &serde_json::to_vec(&value).unwrap());
    }
}

/// Arbitrary JSON, biased towards the case format's field names.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        prop::sample::select(vec![
            "test_id",
            "persona",
            "turns",
            "step_order",
            "user_input",
            "expected_agent_response_keywords",
            "exact_match_required",
            "agent",
            "replay",
            "transcript",
            "speaker",
            "text",
            "expect",
            "status",
            "failure_steps",
            "caller",
            "disfluency_rate",
            "seed",
            "tone_markers"
        ])
        .prop_map(String::from),
        "[a-z_]{1,10}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const TOOLS: [&str; 3] = ["Lookup", "Book", "Cancel"];

/// A valid case with tools: each turn may expect calls (with arguments the mocks answer),
/// forbid a tool it does not call, and ask for values of the results to be said.
fn valid_tool_case() -> impl Strategy<Value = Value> {
    let call = (
        0..TOOLS.len(),
        prop::collection::btree_map(
            "[a-z]{1,6}",
            prop_oneof![
                "[a-z]{1,8}".prop_map(Value::from),
                (0u32..50).prop_map(Value::from)
            ],
            0..3,
        ),
        "[a-z]{3,8}",
        any::<bool>(),
    );
    let turn_tools = prop::collection::vec(call, 0..3);
    (valid_case(), prop::collection::vec(turn_tools, 6)).prop_map(|(mut case, tools)| {
        let mut mocks: std::collections::BTreeMap<&str, Vec<Value>> = std::collections::BTreeMap::new();
        let turns = case["turns"].as_array_mut().unwrap();
        for (turn, calls) in turns.iter_mut().zip(tools) {
            let exact = turn.get("exact_match_required") == Some(&json!(true));
            let mut expected = Vec::new();
            let mut mentions = Vec::new();
            for (tool, arguments, reference, mention) in calls {
                let name = TOOLS[tool];
                let arguments = Value::Object(arguments.into_iter().collect());
                let result = json!({"ref": format!("ref{reference}"), "count": arguments.as_object().unwrap().len()});
                mocks.entry(name).or_default().push(json!({"match": arguments, "result": result}));
                expected.push(json!({"name": name, "arguments": arguments}));
                if mention && !exact {
                    mentions.push(json!({"tool": name, "path": "ref"}));
                }
            }
            let called: Vec<&str> = expected.iter().map(|c| c["name"].as_str().unwrap()).collect();
            if let Some(unused) = TOOLS.iter().find(|t| !called.contains(t)) {
                turn["forbidden_tool_calls"] = json!([unused]);
            }
            if !expected.is_empty() {
                turn["expected_tool_calls"] = Value::Array(expected);
            }
            if !mentions.is_empty() {
                turn["expected_mentions"] = Value::Array(mentions);
            }
        }
        // Every tool has a mock, so no expected call names an unmocked tool.
        let tools: serde_json::Map<String, Value> = TOOLS
            .iter()
            .map(|t| {
                let mut list = mocks.remove(t).unwrap_or_default();
                list.push(json!({"result": {"ref": "fallback"}}));
                ((*t).to_owned(), Value::Array(list))
            })
            .collect();
        case["tools"] = Value::Object(tools);
        case
    })
}

proptest! {
    #![proptest_config(config(256))]

    /// The ideal agent makes exactly the expected calls and says what the mentions ask
    /// for, so every valid tool case passes against it; and every expected call matched.
    #[test]
    fn the_ideal_agent_passes_every_valid_tool_case(value in valid_tool_case()) {
        let case = parse(&value);
        let outcome = run_case(&case, &mut IdealAgent::new(&case), &RunOptions::default());
        prop_assert_eq!(outcome.status, Status::Pass, "{:?}", outcome.steps.iter().map(|s| &s.details).collect::<Vec<_>>());
        prop_assert_eq!(outcome.metrics.tool_calls_matched, outcome.metrics.tool_calls_expected);
    }
}

/// A valid case with voice events: some turns become silence or keypad tones, some spoken
/// turns cut the agent's previous reply off.
fn valid_voice_case() -> impl Strategy<Value = Value> {
    let event = prop_oneof![
        Just(None),
        (1u64..20_000).prop_map(|ms| Some(json!({"silence_ms": ms}))),
        "[0-9*#A-D]{1,8}".prop_map(|d| Some(json!({"dtmf": d}))),
        (0u64..10_000).prop_map(|ms| Some(json!({"barge_in_after_ms": ms}))),
    ];
    (valid_case(), prop::collection::vec(event, 6), 1u64..400).prop_map(
        |(mut case, events, wpm)| {
            case["speech_wpm"] = json!(wpm);
            // The replayed agent speaks long replies, so barge-ins cut something.
            let turns = case["turns"].as_array_mut().unwrap();
            for (i, (turn, event)) in turns.iter_mut().zip(events).enumerate() {
                let Some(event) = event else { continue };
                let object = turn.as_object_mut().unwrap();
                if event.get("barge_in_after_ms").is_some() {
                    if i > 0 {
                        object.insert(
                            "barge_in_after_ms".into(),
                            event["barge_in_after_ms"].clone(),
                        );
                    }
                    continue;
                }
                object.remove("user_input");
                for (k, v) in event.as_object().unwrap() {
                    object.insert(k.clone(), v.clone());
                }
            }
            case
        },
    )
}

proptest! {
    #![proptest_config(config(256))]

    /// Silence, keypad tones and interruptions anywhere: the same case gives the same call,
    /// byte for byte, every time.
    #[test]
    fn voice_events_anywhere_give_the_same_bytes(value in valid_voice_case()) {
        let case = parse(&value);
        let once = run_case(&case, &mut IdealAgent::new(&case), &RunOptions::default());
        let twice = run_case(&case, &mut IdealAgent::new(&case), &RunOptions::default());
        prop_assert_eq!(
            serde_json::to_string(&once.transcript).unwrap(),
            serde_json::to_string(&twice.transcript).unwrap()
        );
        prop_assert_eq!(&once, &twice);
        // Every reply the ideal agent gives (it speaks its keywords) is judged; no
        // interruption can cut more than was said.
        for row in &once.transcript {
            if let Some(cut) = &row.cut {
                prop_assert!(cut.heard.split_whitespace().count() < row.text.split_whitespace().count());
            }
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// With `wer: 0` the call is the same as without `asr`: same transcript, same steps.
    #[test]
    fn no_recognition_noise_at_rate_zero(value in valid_case()) {
        let plain = parse(&value);
        let mut noisy = value.clone();
        noisy["caller"]["asr"] = json!({"wer": 0.0});
        let noisy = parse(&noisy);
        let a = run_case(&plain, &mut IdealAgent::new(&plain), &RunOptions::default());
        let b = run_case(&noisy, &mut IdealAgent::new(&noisy), &RunOptions::default());
        prop_assert_eq!(serde_json::to_string(&a.transcript).unwrap(), serde_json::to_string(&b.transcript).unwrap());
        prop_assert_eq!(&a.steps, &b.steps);
        prop_assert_eq!(b.metrics.asr_wer, Some(0.0));
    }

    /// Fillers and recognition noise, at any rates, never count as a caller deviation: the
    /// script is compared with what was said.
    #[test]
    fn fillers_and_noise_are_never_a_deviation(value in valid_case(), wer in 0.0f64..=1.0) {
        let mut value = value;
        value["caller"]["asr"] = json!({"wer": wer});
        let case = parse(&value);
        let outcome = run_case(&case, &mut IdealAgent::new(&case), &RunOptions::default());
        prop_assert!(outcome.steps.iter().all(|s| s.user_match != Some(false)), "{:?}", outcome.steps);
        prop_assert!(!outcome.metrics.user_deviation_detected);
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// A rule-following caller's call, against any replayed agent, is byte-identical for
    /// the same seed.
    #[test]
    fn a_rule_following_call_is_the_same_for_the_same_seed(
        seed in any::<u64>(),
        rate in 0.0f64..=1.0,
        wer in 0.0f64..=0.5,
        replies in prop::collection::vec(prop::sample::select(vec![
            "How many people?", "What time?", "Anything else?", "Pardon?", "Your name please?", "",
        ]), 1..12),
    ) {
        let value = json!({
            "test_id": "r", "persona": "P", "seed": seed,
            "caller": {"disfluency_rate": rate, "asr": {"wer": wer}, "opening": "A table please",
                       "rules": [{"when": ["how many"], "say": "Four"}, {"when": ["what time"], "say": "Seven", "once": true},
                                 {"when": ["name"], "say": "Dana"}, {"when": ["anything else"], "say": "No", "then": "hang_up"}],
                       "max_turns": 10},
            "agent": {"replay": replies},
            "outcome": {"ended_by": "caller"}
        });
        let case = parse(&value);
        let once = run_case(&case, &mut voice_harness::BuiltinAgent::for_case(&case), &RunOptions::default());
        let twice = run_case(&case, &mut voice_harness::BuiltinAgent::for_case(&case), &RunOptions::default());
        prop_assert_eq!(serde_json::to_string(&once.transcript).unwrap(), serde_json::to_string(&twice.transcript).unwrap());
        prop_assert_eq!(&once, &twice);
        let rules = once.metrics.rules.as_ref().unwrap();
        prop_assert!(rules.caller_turns <= 10);
        prop_assert_eq!(rules.caller_turns, rules.rules_fired + rules.otherwise_lines + 1);
    }
}

// ---- Matching rules: spoken numbers and tool arguments (issue 30; SPEC §10, §12) ----------

const UNITS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
const TEENS: [&str; 10] = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const SCALES: [&str; 4] = ["hundred", "thousand", "million", "billion"];

/// Whether a word is a number word of SPEC §12 (what spoken matching reads as digits).
fn is_number_word(word: &str) -> bool {
    UNITS.contains(&word)
        || TEENS.contains(&word)
        || (TENS.contains(&word) && !word.is_empty())
        || SCALES.contains(&word)
        || word.bytes().all(|b| b.is_ascii_digit())
}

/// 1–99 in words: `seven`, `twelve`, `forty`, `forty two`.
fn below_hundred(n: u64) -> String {
    let n = n as usize;
    match n {
        0..=9 => UNITS[n].to_owned(),
        10..=19 => TEENS[n - 10].to_owned(),
        _ if n % 10 == 0 => TENS[n / 10].to_owned(),
        _ => format!("{} {}", TENS[n / 10], UNITS[n % 10]),
    }
}

/// A number as people write it out: `two thousand and five`, `nine hundred ninety nine
/// million …`, `one billion`; `and` before the last part below a hundred when asked.
fn cardinal(n: u64, and: bool) -> String {
    if n == 0 {
        return "zero".to_owned();
    }
    let mut parts: Vec<String> = Vec::new();
    let mut rest = n;
    for (scale, name) in [
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
        (1_000, "thousand"),
    ] {
        if rest >= scale {
            parts.push(format!("{} {name}", cardinal(rest / scale, false)));
            rest %= scale;
        }
    }
    if rest >= 100 {
        parts.push(format!("{} hundred", below_hundred(rest / 100)));
        rest %= 100;
    }
    if rest > 0 {
        if and && !parts.is_empty() {
            parts.push("and".to_owned());
        }
        parts.push(below_hundred(rest));
    }
    parts.join(" ")
}

/// Digit by digit, zero as `oh` (or `zero`): `one oh oh`, `four oh eight`.
fn digit_by_digit(n: u64, oh: bool) -> String {
    if n == 0 {
        return "zero".to_owned();
    }
    n.to_string()
        .bytes()
        .map(|b| match b - b'0' {
            0 if oh => "oh",
            d => UNITS[usize::from(d)],
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// In pairs of digits, as years and times are said: `twenty twenty four`, `twenty oh
/// five`, `fifty five twelve`, `one oh oh oh` (a leading single digit when the count is odd).
fn pairs(n: u64) -> String {
    let digits = n.to_string();
    if digits.len() == 1 {
        return UNITS[usize::from(digits.as_bytes()[0] - b'0')].to_owned();
    }
    let first = digits.len() % 2;
    let mut words = Vec::new();
    if first == 1 {
        words.push(UNITS[usize::from(digits.as_bytes()[0] - b'0')].to_owned());
    }
    for pair in digits.as_bytes()[first..].chunks(2) {
        let (tens, units) = (pair[0] - b'0', pair[1] - b'0');
        match (tens, units) {
            (0, 0) => words.push("oh oh".to_owned()),
            (0, u) => words.push(format!("oh {}", UNITS[usize::from(u)])),
            _ => words.push(below_hundred(u64::from(tens * 10 + units))),
        }
    }
    words.join(" ")
}

/// Digits and scale words: `5 million 300 thousand 12`, `12 hundred 34`.
fn with_scales(n: u64, hundreds: bool) -> String {
    if hundreds && (100..10_000).contains(&n) {
        return match n % 100 {
            0 => format!("{} hundred", n / 100),
            rest => format!("{} hundred {rest}", n / 100),
        };
    }
    if n == 0 {
        return "0".to_owned();
    }
    let mut parts = Vec::new();
    let mut rest = n;
    for (scale, name) in [
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
        (1_000, "thousand"),
    ] {
        if rest >= scale {
            parts.push(format!("{} {name}", rest / scale));
            rest %= scale;
        }
    }
    if rest > 0 {
        parts.push(rest.to_string());
    }
    parts.join(" ")
}

/// Whether `text`, with spoken numbers, reads as exactly `words`: a regular expression
/// anchored at both ends sees the words every match sees.
fn spoken_reads_as(text: &str, words: &str) -> Result<(), String> {
    spoken_matches(text, &format!("^{}$", regex::escape(words)))
}

/// Whether the reply `text`, with spoken numbers, meets the regular expression `pattern`.
fn spoken_matches(text: &str, pattern: &str) -> Result<(), String> {
    let value = json!({
        "test_id": "n", "persona": "P", "matching": {"numbers": "spoken"},
        "agent": {"replay": [text]},
        "turns": [{"step_order": 1, "user_input": "Hi", "expected_agent_response_keywords": [{"regex": pattern}]}]
    });
    let case = parse(&value);
    let outcome = run_case(
        &case,
        &mut voice_harness::BuiltinAgent::for_case(&case),
        &RunOptions::default(),
    );
    match outcome.status {
        Status::Pass => Ok(()),
        _ => Err(format!(
            "{text:?} does not meet /{pattern}/: {:?}",
            outcome.steps[0].details
        )),
    }
}

/// Integers across 0 … 10⁹, with the small and round ones people say most often.
fn integer() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..100,
        0u64..10_000,
        (1u64..10_000).prop_map(|n| n * 100),
        (1u64..1_000).prop_map(|n| n * 1_000_000),
        0u64..=1_000_000_000,
        Just(1_000_000_000),
    ]
}

/// A word with no number in it (and not `oh`, `o`, `double`, `triple`: words that change
/// meaning next to a number).
fn plain_word() -> impl Strategy<Value = String> {
    "[a-z]{1,8}".prop_filter("not a number word", |w| {
        !is_number_word(w) && !matches!(w.as_str(), "oh" | "o" | "double" | "triple")
    })
}

/// A number said in any of the styles, or written in digits.
fn number_words() -> impl Strategy<Value = String> {
    prop_oneof![
        (0usize..10).prop_map(|u| UNITS[u].to_owned()),
        (10u64..100).prop_map(below_hundred),
        (0u64..10_000).prop_map(|n| n.to_string()),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    /// Every integer from 0 to 10⁹, in words in any style people use, after and before
    /// plain words, reads back as its digits.
    #[test]
    fn spoken_integers_read_back_as_themselves(n in integer(), style in 0usize..6) {
        let said = match style {
            0 => cardinal(n, false),
            1 => cardinal(n, true),
            2 => digit_by_digit(n, true),
            3 => pairs(n),
            4 => with_scales(n, false),
            _ => with_scales(n, true),
        };
        prop_assert_eq!(spoken_reads_as(&format!("it is {said}"), &format!("it is {n}")), Ok(()));
        // A trailing `oh` is zero only at the end of the text (or before another number):
        // before a word it is a word (`seven o'clock`).
        if !said.ends_with("oh") {
            prop_assert_eq!(spoken_reads_as(&format!("{said} now, thanks"), &format!("{n} now thanks")), Ok(()));
        }
    }

    /// Text with no number words reads as its words, unchanged, with spoken numbers on.
    #[test]
    fn text_without_number_words_is_unchanged(
        words in prop::collection::vec(prop_oneof![
            4 => "[a-zA-Z]{1,8}".prop_filter("not a number word", |w| !is_number_word(&w.to_lowercase())),
            1 => prop::sample::select(vec!["oh", "Oh", "o", "and", "double", "triple", "a", "clock"]).prop_map(String::from),
        ], 1..12),
        separators in prop::collection::vec(prop::sample::select(vec![" ", ", ", ". ", "'", "-", "! "]), 12),
    ) {
        let text: String = words.iter().zip(&separators).map(|(w, s)| format!("{w}{s}")).collect();
        let words = tokens(&text);
        // `double oh` and `triple oh` are numbers (00, 000).
        prop_assume!(!words.windows(2).any(|w| matches!(w[0].as_str(), "double" | "triple") && matches!(w[1].as_str(), "oh" | "o")));
        prop_assert_eq!(spoken_reads_as(&text, &words.join(" ")), Ok(()));
    }

    /// `oh` (or `o`) with a word that is not a number on either side stays a word, and
    /// stays next to that word, whatever is on its other side; at the start of a text too.
    #[test]
    fn oh_next_to_a_non_digit_word_stays_a_word(
        oh in prop::sample::select(vec!["oh", "o"]),
        plain in plain_word(),
        other in prop_oneof![plain_word(), number_words()],
        side in 0usize..3,
    ) {
        let (text, pattern) = match side {
            0 => (format!("{other} {oh} {plain}"), format!("(^| ){oh} {plain}( |$)")),
            1 => (format!("{plain} {oh} {other}"), format!("(^| ){plain} {oh}( |$)")),
            _ => (format!("{oh}, {other}"), format!("^{oh}( |$)")),
        };
        prop_assert_eq!(spoken_matches(&text, &pattern), Ok(()));
    }
}

/// Whether a call with `actual` as its argument meets an expected call with `expected`.
fn argument_matches(expected: &Value, actual: &Value) -> bool {
    let value = json!({
        "test_id": "a", "persona": "P",
        "agent": {"replay": [{"text": "done", "tool_calls": [{"name": "Book", "arguments": {"v": actual}}]}]},
        "turns": [{"step_order": 1, "user_input": "Book it",
                   "expected_tool_calls": [{"name": "Book", "arguments": {"v": expected}}]}]
    });
    let case = parse(&value);
    run_case(
        &case,
        &mut voice_harness::BuiltinAgent::for_case(&case),
        &RunOptions::default(),
    )
    .status
        == Status::Pass
}

proptest! {
    #![proptest_config(config(256))]

    /// A digit string matches itself, never a different digit string (leading zeros
    /// included), and a number only when it is that number written exactly.
    #[test]
    fn a_digit_string_matches_itself_and_no_other(
        digits in "[0-9]{1,24}",
        other in "[0-9]{1,24}",
        zeros in 1usize..3,
    ) {
        let padded = format!("{}{digits}", "0".repeat(zeros));
        prop_assert!(argument_matches(&json!(digits), &json!(digits)));
        prop_assert!(!argument_matches(&json!(digits), &json!(padded)));
        prop_assert!(!argument_matches(&json!(padded), &json!(digits)));
        if other != digits {
            prop_assert!(!argument_matches(&json!(digits), &json!(other)));
        }
        if let Ok(n) = digits.parse::<u64>() {
            let exact = n.to_string() == digits;
            prop_assert_eq!(argument_matches(&json!(n), &json!(digits)), exact);
            prop_assert_eq!(argument_matches(&json!(digits), &json!(n)), exact);
            prop_assert!(!argument_matches(&json!(n), &json!(padded)));
            if other.parse::<u64>().is_ok_and(|m| m != n) {
                prop_assert!(!argument_matches(&json!(n), &json!(other)));
            }
        }
    }

    /// Any string argument, Unicode and punctuation included, matches itself.
    #[test]
    fn a_string_argument_matches_itself(text in any::<String>()) {
        prop_assert!(argument_matches(&json!(text), &json!(text)));
    }

    /// Past 2⁵³ an `f64` cannot tell neighbours apart; the matcher always does.
    #[test]
    fn numbers_past_two_to_the_53_are_told_apart(n in (1u64 << 53)..u64::MAX) {
        let next = n + 1;
        prop_assert!(argument_matches(&json!(n), &json!(n.to_string())));
        prop_assert!(!argument_matches(&json!(n), &json!(next)));
        prop_assert!(!argument_matches(&json!(n.to_string()), &json!(next)));
        prop_assert!(!argument_matches(&json!(next.to_string()), &json!(n)));
        // The float nearest to n is the decimal it is written as (the shortest that reads
        // back as it): n only when that decimal is n's.
        #[allow(clippy::cast_precision_loss)]
        let float = n as f64;
        let written = format!("{float}");
        prop_assert_eq!(argument_matches(&json!(n), &json!(float)), written == n.to_string(), "{} as {}", n, written);
        prop_assert!(!argument_matches(&json!(n.to_string()), &json!(float)) || written == n.to_string());
    }
}
