//! Writes N realistic, varied case files into a folder, reproducibly from a seed:
//!
//! ```sh
//! cargo run --release --example gen_cases -- /tmp/suite 10000 [SEED]
//! ```
//!
//! The mix: 1–8 turns (mostly 3–6), 0–4 keywords per turn, a third replayed (with latencies),
//! a fifth with a disfluent caller, some exact steps, forbidden words and latency budgets,
//! a tenth recorded transcripts (some with a greeting), and a tenth negative tests whose
//! replay misses a keyword on purpose. Files go 100 to a folder: `g000/case_00000.json`.
//!
//! With `--long`, calls of realistic length instead (issue #12's benchmark): 10–20 turns,
//! every case replayed with latencies, replies of about 100 characters, two keywords a
//! turn, about 4.3 KB a file (10,000 files: 43 MB).
//!
//! ```sh
//! cargo run --release --example gen_cases -- --long /tmp/long 10000 [SEED]
//! ```

use std::fmt::Write as _;
use std::path::PathBuf;

/// A small fixed generator (xorshift64*), so the suite is the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const PERSONAS: &[&str] = &[
    "Calm Customer",
    "Impatient Caller",
    "Busy Parent",
    "Nervous First-Time Caller",
    "Regular Patient",
    "Frustrated Customer",
];
const OPENERS: &[&str] = &[
    "Hi, I noticed my bill jumped this month.",
    "I need to schedule a service visit.",
    "Where is my order?",
    "I want to change my plan.",
    "My internet has been down since this morning.",
    "Can I move my appointment to Thursday?",
    "I was charged twice for the same thing.",
    "What are your opening hours on weekends?",
];
const FOLLOW_UPS: &[&str] = &[
    "Can you explain the extra charges?",
    "Morning slots only, please.",
    "It's order 5512.",
    "Is there anything cheaper?",
    "When will it be fixed?",
    "Thursday morning works best.",
    "The one from March 3rd.",
    "Thanks, that's all for today.",
    "Could you send me a confirmation text?",
    "How long will that take?",
];
const WORDS: &[&str] = &[
    "account",
    "review",
    "details",
    "overage",
    "usage",
    "plan",
    "discount",
    "offer",
    "availability",
    "date",
    "morning",
    "confirm",
    "order",
    "shipped",
    "friday",
    "outage",
    "credit",
    "thursday",
    "booked",
    "charge",
    "duplicate",
    "hours",
    "saturday",
    "text",
    "confirmation",
    "minutes",
    "technician",
];

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn case(rng: &mut Rng, index: usize) -> String {
    let turns = match rng.below(10) {
        0 => 1 + rng.below(2),
        9 => 7 + rng.below(2),
        _ => 3 + rng.below(4),
    };
    let recorded = rng.chance(10);
    let replay = !recorded && rng.chance(35);
    let negative = replay && rng.chance(30);
    let mut steps = Vec::new();
    for step in 0..turns {
        let line = if step == 0 {
            rng.pick(OPENERS)
        } else {
            rng.pick(FOLLOW_UPS)
        };
        let mut keywords: Vec<&str> = Vec::new();
        for _ in 0..rng.below(5) {
            let word = rng.pick(WORDS);
            if !keywords.contains(&word) {
                keywords.push(word);
            }
        }
        let exact = !keywords.is_empty() && rng.chance(8);
        let forbidden = rng
            .chance(15)
            .then(|| rng.pick(&["cancel", "lawsuit", "fee"]));
        let budget = rng.chance(20).then(|| 600 + 100 * rng.below(10));
        steps.push((line, keywords, exact, forbidden, budget));
    }
    let mut replies = Vec::new();
    let mut fail_step = None;
    for (i, (_, keywords, _, _, _)) in steps.iter().enumerate() {
        let mut words: Vec<&str> = keywords.clone();
        if negative && fail_step.is_none() && !keywords.is_empty() && i + 1 == turns.clamp(1, 2) {
            words.pop();
            fail_step = Some(i + 1);
        }
        replies.push((
            format!("Sure. {}.", words.join(" ")),
            100 + 50 * rng.below(9),
        ));
    }

    let mut out = String::new();
    let _ = write!(
        out,
        "{{\n  \"test_id\": \"gen_{index:06}\",\n  \"persona\": {},\n",
        quote(rng.pick(PERSONAS))
    );
    let _ = writeln!(
        out,
        "  \"tags\": [{}],",
        quote(rng.pick(&["billing", "orders", "support", "booking"]))
    );
    if rng.chance(20) {
        let _ = writeln!(
            out,
            "  \"caller\": {{\"disfluency_rate\": 0.{}}},",
            1 + rng.below(9)
        );
    }
    if replay {
        let items: Vec<String> = replies
            .iter()
            .map(|(t, ms)| format!("{{\"text\": {}, \"latency_ms\": {ms}}}", quote(t)))
            .collect();
        let _ = writeln!(out, "  \"agent\": {{\"replay\": [{}]}},", items.join(", "));
    }
    if recorded {
        let mut rows = Vec::new();
        if rng.chance(40) {
            rows.push(
                "{\"speaker\": \"agent\", \"text\": \"Thanks for calling, how can I help?\"}"
                    .to_owned(),
            );
        }
        for ((line, ..), (reply, ms)) in steps.iter().zip(&replies) {
            rows.push(format!(
                "{{\"speaker\": \"user\", \"text\": {}}}",
                quote(line)
            ));
            rows.push(format!(
                "{{\"speaker\": \"agent\", \"text\": {}, \"latency_ms\": {ms}}}",
                quote(reply)
            ));
        }
        let _ = writeln!(
            out,
            "  \"transcript\": [\n    {}\n  ],",
            rows.join(",\n    ")
        );
    }
    if let Some(step) = fail_step {
        let _ = writeln!(
            out,
            "  \"expect\": {{\"status\": \"fail\", \"failure_steps\": [{step}]}},"
        );
    }
    let turn_json: Vec<String> = steps
        .iter()
        .enumerate()
        .map(|(i, (line, keywords, exact, forbidden, budget))| {
            let keywords: Vec<String> = keywords.iter().map(|k| quote(k)).collect();
            let mut t = format!(
                "{{\"step_order\": {}, \"user_input\": {}, \"expected_agent_response_keywords\": [{}]",
                i + 1,
                quote(line),
                keywords.join(", ")
            );
            if *exact {
                // The exact phrase is the intended reply (a negative case's replay drops a word).
                let phrase = format!("Sure. {}.", keywords.iter().map(|k| k.trim_matches('"')).collect::<Vec<_>>().join(" "));
                let _ = write!(t, ", \"exact_match_required\": true, \"expected_agent_response\": {}", quote(&phrase));
            }
            if let Some(word) = forbidden {
                let _ = write!(t, ", \"forbidden_keywords\": [{}]", quote(word));
            }
            if let Some(ms) = budget {
                let _ = write!(t, ", \"max_latency_ms\": {ms}");
            }
            t.push('}');
            t
        })
        .collect();
    let _ = write!(
        out,
        "  \"turns\": [\n    {}\n  ]\n}}\n",
        turn_json.join(",\n    ")
    );
    out
}

/// A call of realistic length (see the module docs): every turn answered by the replay,
/// with the turn's two keywords in a longer reply.
fn long_case(rng: &mut Rng, index: usize) -> String {
    let turns = 10 + rng.below(11);
    let mut replay = Vec::new();
    let mut turn_json = Vec::new();
    for step in 1..=turns {
        let asked: Vec<&str> = (0..4).map(|_| rng.pick(WORDS)).collect();
        let user = format!(
            "About my {}, and the {} I asked about?",
            asked[..3].join(" "),
            asked[3]
        );
        let (a, b) = (rng.pick(WORDS), rng.pick(WORDS));
        let filler: Vec<&str> = (0..6).map(|_| rng.pick(WORDS)).collect();
        let reply = format!(
            "I can help with your {a} and {b} and {}; {}.",
            rng.pick(WORDS),
            filler.join(" ")
        );
        replay.push(format!(
            "{{\"text\": {}, \"latency_ms\": {}}}",
            quote(&reply),
            300 + rng.below(600)
        ));
        turn_json.push(format!(
            "{{\"step_order\": {step}, \"user_input\": {}, \"expected_agent_response_keywords\": [{}, {}]}}",
            quote(&user),
            quote(a),
            quote(b)
        ));
    }
    format!(
        "{{\"test_id\": \"long_{index:06}\", \"persona\": {}, \"agent\": {{\"replay\": [{}]}}, \"turns\": [{}]}}\n",
        quote(rng.pick(PERSONAS)),
        replay.join(", "),
        turn_json.join(", ")
    )
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let long = args.next_if_eq("--long").is_some();
    let (Some(dir), Some(count)) = (
        args.next(),
        args.next().and_then(|n| n.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: gen_cases [--long] <FOLDER> <COUNT> [SEED]");
        std::process::exit(2);
    };
    let seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(42u64);
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let dir = PathBuf::from(dir);
    for index in 0..count {
        let folder = dir.join(format!("g{:03}", index / 100));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(
            folder.join(format!("case_{index:06}.json")),
            if long {
                long_case(&mut rng, index)
            } else {
                case(&mut rng, index)
            },
        )
        .unwrap();
    }
    eprintln!("wrote {count} cases to {}", dir.display());
}
