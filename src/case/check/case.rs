//! The top-level sections of a case file.

use super::rules::{self, RulesPart};
use super::{Checked, Checker, every};
use crate::case::json::{JsonPath, Node};
use crate::case::{
    Case, CaseSweep, DEFAULT_TONE_MARKERS, Expect, RecordedRow, ReplayReply, Speaker, Status,
};
use crate::message;

const TEST_ID_MAX: usize = 128;

/// The `caller` object, checked.
#[derive(Default)]
struct CallerSection {
    disfluency_rate: Option<f64>,
    asr_wer: Option<f64>,
    rules: Option<RulesPart>,
    rephrase: bool,
}

const CASE_FIELDS: &[&str] = &[
    "test_id",
    "persona",
    "description",
    "tags",
    "seed",
    "caller",
    "agent",
    "transcript",
    "tone_markers",
    "expect",
    "turns",
    "tools",
    "speech_wpm",
    "matching",
    "sweep",
    "outcome",
    "greeting",
];
const SWEEP_FIELDS: &[&str] = &["seeds", "min_pass_rate"];
const CALLER_FIELDS: &[&str] = &[
    "disfluency_rate",
    "asr",
    "opening",
    "rules",
    "otherwise",
    "max_retries",
    "max_turns",
    "rephrase",
];
const ASR_FIELDS: &[&str] = &["wer"];
const MATCHING_FIELDS: &[&str] = &["numbers"];
const AGENT_FIELDS: &[&str] = &["replay"];
const REPLAY_FIELDS: &[&str] = &["text", "latency_ms", "tool_calls"];
// `step_order` is accepted so that a transcript copied from a report loads as it is; it is
// recomputed by the zipper.
const ROW_FIELDS: &[&str] = &[
    "speaker",
    "text",
    "latency_ms",
    "step_order",
    "name",
    "arguments",
    "result",
    "interrupted",
    "heard",
];
const EXPECT_FIELDS: &[&str] = &["status", "failure_steps"];

impl Checker {
    pub(in crate::case) fn case(&mut self, node: &Node<'_>) -> Option<Case> {
        let root = self.object(node, JsonPath::Root, CASE_FIELDS)?;

        let test_id = self
            .required(
                &root,
                "test_id",
                "a unique name such as \"billing_inquiry_v1\"",
            )
            .and_then(|n| self.test_id(n));
        let persona = self
            .required(
                &root,
                "persona",
                "who the caller is, such as \"Calm Customer\"",
            )
            .and_then(|n| self.not_blank(n, &root.at("persona")));
        let description = root
            .get("description")
            .map(|n| self.string(n, &root.at("description")).map(str::to_owned));
        let tags = root.get("tags").map(|n| self.tags(n, &root.at("tags")));
        let seed = root.get("seed").map(|n| self.u64(n, &root.at("seed")));
        let disfluency_rate = root
            .get("caller")
            .map(|n| self.caller(n, root.at("caller")));
        let replay = root.get("agent").map(|n| self.agent(n, root.at("agent")));
        let transcript = root
            .get("transcript")
            .map(|n| self.transcript(n, &root.at("transcript")));
        let tone_markers = root
            .get("tone_markers")
            .map(|n| self.phrases(n, &root.at("tone_markers")));
        // The agent speaks first: the keywords its greeting must contain (`[]`: any).
        let greeting = root
            .get("greeting")
            .map(|n| self.keywords(n, &root.at("greeting")));
        let tools = root.get("tools").map(|n| self.tools(n, &root.at("tools")));
        let matching = root
            .get("matching")
            .map(|n| self.matching(n, root.at("matching")));
        let sweep = root.get("sweep").map(|n| self.sweep(n, root.at("sweep")));
        let wpm = root.get("speech_wpm").map(|n| {
            let at = root.at("speech_wpm");
            match self.u64(n, &at)? {
                wpm @ 1..=1000 => Some(wpm as u32),
                other => {
                    self.rule(
                        &at,
                        format!("expected words per minute from 1 to 1000, found {other}"),
                        Some("conversational speech is about 150"),
                    );
                    None
                }
            }
        });
        let follows_rules = matches!(
            &disfluency_rate,
            Some(Some(CallerSection { rules: Some(_), .. }))
        ) || root
            .get("caller")
            .is_some_and(|c| matches!(c, Node::Object(e) if e.iter().any(|(k, _)| k == "rules")));
        let outcome = root
            .get("outcome")
            .map(|n| self.outcome(n, root.at("outcome")));
        let turns = match (root.get("turns"), follows_rules) {
            (Some(_), true) => {
                let (message, help) = rules::rules_with_turns();
                self.rule(&root.at("turns"), message, Some(help));
                None
            }
            (None, true) => Some(Vec::new()),
            (None, false) => {
                self.push(message::missing_turns(&root.path.to_string()));
                None
            }
            (Some(node), false) => self.turns(node, &root.at("turns")),
        };
        if root.get("outcome").is_some() && !follows_rules {
            let (message, help) = rules::outcome_without_rules();
            self.rule(&root.at("outcome"), message, Some(help));
        }
        if follows_rules && root.get("outcome").is_none() {
            self.push(
                message::missing_field(
                    "",
                    "outcome",
                    "the checks on the whole call, for a caller that follows rules",
                )
                .help("e.g. \"outcome\": {\"tool_calls\": [{\"name\": \"ReserveRestaurant\"}], \"ended_by\": \"caller\"}"),
            );
        }
        if let (Some(Some(tools)), Some(turns)) = (&tools, &turns) {
            let turns_path = root.at("turns");
            for (i, turn) in turns.iter().enumerate() {
                let turn_path = turns_path.index(i);
                let calls_path = turn_path.field("expected_tool_calls");
                for (j, call) in turn.expected_tool_calls.iter().enumerate() {
                    let call_path = calls_path.index(j);
                    self.mocked(tools, &call.name, &call_path.field("name"));
                }
                let mentions_path = turn_path.field("expected_mentions");
                for (j, mention) in turn.expected_mentions.iter().enumerate() {
                    let mention_path = mentions_path.index(j);
                    self.mocked(tools, &mention.tool, &mention_path.field("tool"));
                }
            }
        }
        // The steps of a rule-following call are its outcome checks: their number is not
        // known here.
        let expect = root.get("expect").map(|n| {
            let steps = turns.as_ref().filter(|_| !follows_rules).map(Vec::len);
            self.expect(n, root.at("expect"), steps)
        });

        if root.get("agent").is_some() && root.get("transcript").is_some() {
            self.rule(
                &root.at("agent"),
                "`agent` and `transcript` cannot both be given: a case with a recorded \
                 transcript is validated as it is, so no agent is run",
                Some("remove `agent` to validate the recording, or `transcript` to simulate the call"),
            );
        }

        let CallerSection {
            disfluency_rate,
            asr_wer,
            rules,
            rephrase,
        } = disfluency_rate.checked()?.unwrap_or_default();
        let outcome = outcome.checked()?;
        if rules.is_some() && outcome.is_none() {
            return None;
        }
        let rules = rules.zip(outcome).map(|(part, outcome)| part.with(outcome));
        let judged = turns
            .as_ref()
            .is_some_and(|turns| turns.iter().any(|t| t.judge.is_some()));
        if (rephrase || judged) && matches!(sweep, Some(Some(_))) {
            self.rule(
                &root.at("sweep"),
                message::LLM_CASE_SWEEP,
                Some("remove `sweep` (or the `judge` and `caller.rephrase`)"),
            );
            return None;
        }
        Some(Case {
            asr_wer,
            spoken_numbers: matching.checked()?.unwrap_or(false),
            sweep: sweep.checked()?,
            rules,
            rephrase,
            test_id: test_id?,
            persona: persona?,
            description: description.checked()?,
            tags: tags.checked()?.unwrap_or_default(),
            seed_override: seed.checked()?,
            disfluency_rate: disfluency_rate.unwrap_or(0.0),
            replay: replay.checked()?.flatten(),
            transcript: transcript.checked()?,
            tone_markers: tone_markers
                .checked()?
                .unwrap_or_else(|| DEFAULT_TONE_MARKERS.map(String::from).to_vec()),
            expect: expect.checked()?,
            turns: turns?,
            tools: tools.checked()?,
            speech_wpm: wpm.checked()?.unwrap_or(150),
            greeting: greeting.checked()?,
        })
    }

    fn test_id(&mut self, node: &Node<'_>) -> Option<String> {
        let path = JsonPath::Root;
        let path = path.field("test_id");
        let id = self.string(node, &path)?;
        let bad = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')));
        let len = id.chars().count();
        if len == 0 || len > TEST_ID_MAX || bad.is_some() {
            let why = match bad {
                Some(c) => format!("it contains {c:?}"),
                None if len == 0 => "it is empty".to_owned(),
                None => format!("it is {len} characters long"),
            };
            self.rule(
                &path,
                format!(
                    "expected 1–{TEST_ID_MAX} characters of A-Z a-z 0-9 _ . -, found {} ({why})",
                    message::quote(id)
                ),
                Some("use letters, digits, `_`, `.` and `-`, e.g. \"billing_inquiry_v1\""),
            );
            return None;
        }
        Some(id.to_owned())
    }

    fn tags(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<Vec<String>> {
        let items = self.array(node, path, "a list of strings")?;
        every(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| self.not_blank(item, &path.index(i))),
        )
    }

    /// `caller`: the filler rate and the recognition noise (each `None` when absent).
    fn caller(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<CallerSection> {
        let fields = self.object(node, path, CALLER_FIELDS)?;
        let rules = self.caller_rules(&fields);
        let rephrase = fields.get("rephrase").map(|n| {
            let at = fields.at("rephrase");
            let llm = self.choice(n, &at, &[("llm", true)])?;
            self.needs_llm(&at, "`caller.rephrase`")?;
            Some(llm)
        });
        let rate = fields.get("disfluency_rate").map(|n| {
            self.fraction(
                n,
                &fields.at("disfluency_rate"),
                "it is the chance per caller line of inserting a filler: 0.15 means 15%",
            )
        });
        let wer = fields.get("asr").map(|n| {
            let asr = self.object(n, fields.at("asr"), ASR_FIELDS)?;
            let Some(wer) = asr.get("wer") else {
                self.push(message::missing_field(
                    &asr.path.to_string(),
                    "wer",
                    "the word error rate of the recognition noise, e.g. 0.1",
                ));
                return None;
            };
            self.fraction(
                wer,
                &asr.at("wer"),
                "it is the expected share of words misheard: 0.1 means one word in ten",
            )
        });
        Some(CallerSection {
            disfluency_rate: rate.checked()?,
            asr_wer: wer.checked()?,
            rules: rules?,
            rephrase: rephrase.checked()?.unwrap_or(false),
        })
    }

    /// A number from 0.0 to 1.0.
    fn fraction(&mut self, node: &Node<'_>, path: &JsonPath<'_>, help: &str) -> Option<f64> {
        let value = self.f64(node, path)?;
        if !(0.0..=1.0).contains(&value) {
            self.rule(
                path,
                format!("expected a number from 0.0 to 1.0, found {value}"),
                Some(help),
            );
            return None;
        }
        Some(value)
    }

    /// `sweep`: `{"seeds": N, "min_pass_rate": R}`.
    fn sweep(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<CaseSweep> {
        let fields = self.object(node, path, SWEEP_FIELDS)?;
        let seeds = self
            .required(
                &fields,
                "seeds",
                "how many seeds (callers) the test runs, e.g. 50",
            )
            .and_then(|n| {
                let at = fields.at("seeds");
                match self.u64(n, &at)? {
                    0 => {
                        self.rule(&at, "expected at least 1 seed, found 0", None);
                        None
                    }
                    n if n > 100_000 => {
                        self.rule(
                            &at,
                            format!("expected at most 100000 seeds for one test, found {n}"),
                            Some("run a larger sweep with `voice-harness sweep --seeds N`"),
                        );
                        None
                    }
                    n => Some(n),
                }
            });
        let rate = fields.get("min_pass_rate").map(|n| {
            self.fraction(
                n,
                &fields.at("min_pass_rate"),
                "the lowest acceptable pass rate: the test fails when the 95% lower bound is under it",
            )
        });
        let (seeds, min_pass_rate) = (seeds?, rate.checked()?);
        // A bound no number of passes can meet is refused here, before any call (issue 23,
        // fault 16).
        if let Some(rate) = min_pass_rate {
            let at = fields.at("min_pass_rate");
            match crate::sweep::seeds_needed(rate, 1) {
                None => {
                    let (problem, help) = message::case_sweep_never(rate);
                    self.rule(&at, problem, Some(help));
                    return None;
                }
                Some(needed) if needed > seeds => {
                    let best = crate::sweep::wilson_lower(seeds, seeds);
                    let (problem, help) = message::case_sweep_too_few(seeds, best, rate, needed);
                    self.rule(&fields.at("seeds"), problem, Some(&help));
                    return None;
                }
                Some(_) => {}
            }
        }
        Some(CaseSweep {
            seeds,
            min_pass_rate,
        })
    }

    /// `matching`: whether numbers are read as spoken.
    fn matching(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<bool> {
        let fields = self.object(node, path, MATCHING_FIELDS)?;
        match fields.get("numbers") {
            None => Some(false),
            Some(n) => self.choice(
                n,
                &fields.at("numbers"),
                &[("literal", false), ("spoken", true)],
            ),
        }
    }

    fn agent(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<Option<Vec<ReplayReply>>> {
        let fields = self.object(node, path, AGENT_FIELDS)?;
        let Some(replay) = fields.get("replay") else {
            return Some(None);
        };
        let path = fields.at("replay");
        let items = self.array(replay, &path, "a list of replies")?;
        let replies = every(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| self.replay_reply(item, path.index(i))),
        );
        Some(Some(replies?))
    }

    fn replay_reply(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<ReplayReply> {
        if let Node::String(text) = node {
            return Some(ReplayReply {
                text: text.to_string(),
                latency_ms: 0,
                tool_calls: Vec::new(),
            });
        }
        if !matches!(node, Node::Object(_)) {
            self.wrong_type(
                &path,
                "a string or an object {\"text\": …, \"latency_ms\": …}",
                node,
            );
            return None;
        }
        let fields = self.object(node, path, REPLAY_FIELDS)?;
        let text = self
            .required(&fields, "text", "what the agent says")
            .and_then(|n| self.string(n, &fields.at("text")));
        let latency = fields
            .get("latency_ms")
            .map(|n| self.u64(n, &fields.at("latency_ms")));
        let calls = fields
            .get("tool_calls")
            .map(|n| self.expected_calls(n, &fields.at("tool_calls")));
        Some(ReplayReply {
            text: text?.to_owned(),
            latency_ms: latency.checked()?.unwrap_or(0),
            tool_calls: calls.checked()?.unwrap_or_default(),
        })
    }

    fn transcript(&mut self, node: &Node<'_>, path: &JsonPath<'_>) -> Option<Vec<RecordedRow>> {
        let items = self.array(node, path, "a list of rows")?;
        every(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| self.row(item, path.index(i))),
        )
    }

    fn row(&mut self, node: &Node<'_>, path: JsonPath<'_>) -> Option<RecordedRow> {
        let fields = self.object(node, path, ROW_FIELDS)?;
        let speaker = self
            .required(&fields, "speaker", "\"user\", \"agent\" or \"tool\"")
            .and_then(|n| {
                let choices = [
                    ("user", Speaker::User),
                    ("agent", Speaker::Agent),
                    ("tool", Speaker::Tool),
                ];
                self.choice(n, &fields.at("speaker"), &choices)
            });
        // `interrupted` is said of a reply, `heard` of a caller line: on any other row they
        // would mean nothing, so they are errors rather than ignored.
        let belongs = [
            (
                "interrupted",
                Speaker::Agent,
                "agent rows: the caller cut this reply off",
            ),
            (
                "heard",
                Speaker::User,
                "caller rows (\"speaker\": \"user\"): what the agent heard of the line",
            ),
        ];
        let mut misplaced = false;
        for (field, owner, meaning) in belongs {
            if fields.get(field).is_some() && speaker.is_some_and(|s| s != owner) {
                misplaced = true;
                self.rule(
                    &fields.at(field),
                    format!("`{field}` belongs to {meaning}"),
                    Some("remove it, or move it to the row it describes"),
                );
            }
        }
        let interrupted = fields
            .get("interrupted")
            .map(|n| self.bool(n, &fields.at("interrupted")));
        let heard = fields
            .get("heard")
            .map(|n| self.not_blank(n, &fields.at("heard")));
        if speaker == Some(Speaker::Tool) {
            let call = self.tool_row(&fields);
            let step = fields
                .get("step_order")
                .map(|n| self.u64(n, &fields.at("step_order")));
            step.checked()?;
            if misplaced {
                return None;
            }
            return Some(RecordedRow {
                speaker: Speaker::Tool,
                text: String::new(),
                latency_ms: None,
                call: Some(call?),
                interrupted: false,
                heard: None,
            });
        }
        for field in ["name", "arguments", "result"] {
            if fields.get(field).is_some() {
                self.rule(
                    &fields.at(field),
                    format!("`{field}` belongs to tool rows (\"speaker\": \"tool\")"),
                    None,
                );
                return None;
            }
        }
        let text = self
            .required(&fields, "text", "what was said")
            .and_then(|n| self.string(n, &fields.at("text")));
        let latency = fields
            .get("latency_ms")
            .map(|n| self.u64(n, &fields.at("latency_ms")));
        let step = fields
            .get("step_order")
            .map(|n| self.u64(n, &fields.at("step_order")));
        step.checked()?;
        let (interrupted, heard) = (interrupted.checked()?, heard.checked()?);
        if misplaced {
            return None;
        }
        Some(RecordedRow {
            speaker: speaker?,
            text: text?.to_owned(),
            latency_ms: latency.checked()?,
            call: None,
            interrupted: interrupted.unwrap_or(false),
            heard,
        })
    }

    fn expect(
        &mut self,
        node: &Node<'_>,
        path: JsonPath<'_>,
        turn_count: Option<usize>,
    ) -> Option<Expect> {
        let fields = self.object(node, path, EXPECT_FIELDS)?;
        let status = self
            .required(&fields, "status", "\"pass\" or \"fail\"")
            .and_then(|n| {
                let choices = [("pass", Status::Pass), ("fail", Status::Fail)];
                self.choice(n, &fields.at("status"), &choices)
            });
        let steps = fields
            .get("failure_steps")
            .map(|n| self.failure_steps(n, &fields.at("failure_steps"), turn_count));
        let steps = steps.checked();
        let (status, steps) = (status?, steps?);
        if let (Status::Pass, Some(list)) = (status, &steps) {
            if !list.is_empty() {
                self.rule(
                    &fields.at("failure_steps"),
                    format!("expected no failing steps for status \"pass\", found {list:?}"),
                    Some("use \"status\": \"fail\", or remove `failure_steps`"),
                );
                return None;
            }
        }
        Some(Expect {
            status,
            failure_steps: steps,
        })
    }

    fn failure_steps(
        &mut self,
        node: &Node<'_>,
        path: &JsonPath<'_>,
        turn_count: Option<usize>,
    ) -> Option<Vec<u32>> {
        let items = self.array(node, path, "a list of step numbers")?;
        let mut steps: Vec<u32> = Vec::with_capacity(items.len());
        let mut ok = true;
        // Every entry is checked, so one look at the message shows every bad step.
        for (i, item) in items.iter().enumerate() {
            let item_path = path.index(i);
            let Some(step) = self.u64(item, &item_path) else {
                ok = false;
                continue;
            };
            let in_range = match turn_count {
                Some(max) => (1..=max as u64).contains(&step),
                // The turns are invalid, so their number is unknown: only 0 is surely wrong.
                None => step >= 1,
            };
            if !in_range {
                ok = false;
                let expected = match turn_count {
                    Some(max) => format!("a step from 1 to {max}"),
                    None => "a step number of at least 1".to_owned(),
                };
                self.rule(
                    &item_path,
                    format!("expected {expected}, found {step}"),
                    None,
                );
                continue;
            }
            if let Some(&last) = steps.last().filter(|&&last| u64::from(last) >= step) {
                ok = false;
                self.rule(
                    &item_path,
                    format!("expected steps in ascending order without repeats, found {step} after {last}"),
                    None,
                );
                continue;
            }
            steps.push(step as u32);
        }
        ok.then_some(steps)
    }
}
