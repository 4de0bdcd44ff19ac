//! The top level of a case file: its fields, the rules between sections (a script or
//! rules, `agent` or `transcript`, mocks for every expected call, no LLM case swept), and
//! `test_id`, `tags` and `matching`. Each section is checked in its own file: `caller.rs`,
//! `sweep.rs`, `recorded.rs`, `expect.rs`, `turn.rs`, `rules.rs`, `tools.rs`.

use super::caller::CallerSection;
use super::{Checked, Checker, every};
use crate::case::json::{JsonPath, Node};
use crate::case::{Case, DEFAULT_TONE_MARKERS};
use crate::message;

const TEST_ID_MAX: usize = 128;

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
const MATCHING_FIELDS: &[&str] = &["numbers"];

impl Checker {
    pub(in crate::case) fn case(&mut self, node: &Node<'_>) -> Option<Case> {
        let root = self.object(node, JsonPath::Root, CASE_FIELDS)?;

        // Whether numbers are read as spoken decides which keywords can match: known before
        // any keyword is checked (`matching` itself is checked below, in its place).
        self.spoken_numbers = root.get("matching").is_some_and(|m| {
            matches!(m, Node::Object(e) if e.iter().any(|(k, v)| k == "numbers" && matches!(v, Node::String(s) if s == "spoken")))
        });
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
                    self.rule(&at, message::speech_wpm(other));
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
                self.rule(&root.at("turns"), message::rules_with_turns());
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
            self.rule(&root.at("outcome"), message::outcome_without_rules());
        }
        if follows_rules && root.get("outcome").is_none() {
            self.push(
                message::missing_field(
                    "",
                    "outcome",
                    "the checks on the whole call, for a caller that follows rules",
                )
                .help(message::OUTCOME_EXAMPLE),
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
            self.rule(&root.at("agent"), message::agent_and_transcript());
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
            self.rule(&root.at("sweep"), message::llm_case_sweep());
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
            self.rule(&path, message::test_id(TEST_ID_MAX, id, bad, len));
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
}
