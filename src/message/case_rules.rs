//! The wording of every rule of the case format (docs/case-format.md) that a case file can
//! break, one function per rule, section by section: what is wrong and, when there is
//! something useful to say, how to fix it. Read by the case author; the checker
//! (`case/check/`) decides which rule is broken and places the problem at its JSON path.

use super::quote;

/// A rule of the case format that a file breaks: what is wrong and, when there is something
/// useful to say, how to fix it. The checker places it at its JSON path.
pub(crate) struct Broken {
    /// What was expected and what was found.
    pub(crate) what: String,
    /// How to fix it.
    pub(crate) help: Option<String>,
}

fn broken(what: impl Into<String>, help: Option<&str>) -> Broken {
    Broken {
        what: what.into(),
        help: help.map(str::to_owned),
    }
}

// ---- text, phrases and keywords ----------------------------------------------------------

pub(crate) fn blank_text(text: &str) -> Broken {
    broken(
        format!("expected text, found a blank string {}", quote(text)),
        None,
    )
}

pub(crate) fn no_words(text: &str) -> Broken {
    broken(
        format!("expected words, found {} (no letter or digit)", quote(text)),
        Some("lines are matched as words; write what the caller says"),
    )
}

pub(crate) fn no_phrase(text: &str) -> Broken {
    broken(
        format!(
            "expected a phrase with at least one letter or digit, found {}",
            quote(text)
        ),
        Some("phrases are matched as words; punctuation alone never matches"),
    )
}

pub(crate) fn no_alternatives() -> Broken {
    broken(
        "expected at least one alternative phrase, found an empty list",
        Some("a list means \"any of these phrases\"; give one or more"),
    )
}

/// A `{"regex": …}` keyword no reply's words can match, and `why`.
pub(crate) fn regex_never_matches(pattern: &str, why: &Never) -> Broken {
    broken(
        format!(
            "the regular expression {} can never match: it needs {}, and {}",
            quote(pattern),
            why.needs(),
            why.because()
        ),
        Some(why.help()),
    )
}

/// What makes a `{"regex": …}` keyword impossible (`case/check/pattern.rs` finds it).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Never {
    /// A literal character normalized words never hold.
    Char(char),
    /// A character class with no member normalized words hold (as written in the pattern
    /// is not known here, so the message names the class by its first members).
    Class(String),
    /// Two spaces in a row: words are joined by single spaces.
    DoubleSpace,
    /// A number word as a word, with numbers read as spoken (they are digits by then).
    NumberWord(String),
}

impl Never {
    /// What the pattern needs, in words: `"H"`, `a tab`, `two spaces in a row`.
    pub(crate) fn needs(&self) -> String {
        match self {
            Never::Char(c) => describe_char(*c),
            Never::Class(members) => format!("one of {members}"),
            Never::DoubleSpace => "two spaces in a row".to_owned(),
            Never::NumberWord(word) => format!("the number word {word:?}"),
        }
    }

    /// Why no reply's words hold it.
    pub(crate) fn because(&self) -> &'static str {
        match self {
            Never::NumberWord(_) => {
                "with \"matching\": {\"numbers\": \"spoken\"} a reply's numbers are read as digits before keywords are matched"
            }
            _ => "a reply's words are lowercase letters and digits joined by single spaces",
        }
    }

    /// How to write it so that it can match.
    pub(crate) fn help(&self) -> &'static str {
        match self {
            Never::Char(c) if c.is_alphanumeric() => {
                "the reply's words are lowercased first: write the letters in lowercase, or start the pattern with (?i)"
            }
            Never::Char(_) | Never::Class(_) => {
                "every character that is not a letter or digit becomes a space: match a space there (` ` or ` ?`), or leave it out"
            }
            Never::DoubleSpace => {
                "the reply's words are joined by single spaces: write one space (or ` +`)"
            }
            Never::NumberWord(_) => {
                "write the number in digits (`20`, or `\\d+` for any number); to match the letters inside a longer word, say so with `\\B` (`\\Bten`)"
            }
        }
    }
}

fn describe_char(c: char) -> String {
    match c {
        '\t' => "a tab".to_owned(),
        '\n' | '\r' => "a line break".to_owned(),
        c if c.is_whitespace() => format!("the space character U+{:04X}", u32::from(c)),
        c if c.is_control() => format!("the control character U+{:04X}", u32::from(c)),
        c => format!("{:?}", c.to_string()),
    }
}

pub(crate) fn regex_does_not_compile(pattern: &str, why: &str) -> Broken {
    broken(
        format!(
            "the regular expression {} does not compile: {why}",
            quote(pattern)
        ),
        Some("it is matched against the reply's words, lowercased and joined by single spaces"),
    )
}

/// `what` (a field, in backquotes) needs the `llm` feature, which this build lacks.
pub(crate) fn needs_llm(what: &str) -> Broken {
    broken(
        format!("{what} needs an LLM, and this build of voice-harness has no `llm` feature"),
        Some(super::NEEDS_LLM_HELP),
    )
}

// ---- the top level -----------------------------------------------------------------------

/// A `test_id` that is empty, longer than `max` characters (`len`), or has a character
/// outside `A-Z a-z 0-9 _ . -` (`bad`).
pub(crate) fn test_id(max: usize, id: &str, bad: Option<char>, len: usize) -> Broken {
    let why = match bad {
        Some(c) => format!("it contains {c:?}"),
        None if len == 0 => "it is empty".to_owned(),
        None => format!("it is {len} characters long"),
    };
    broken(
        format!(
            "expected 1–{max} characters of A-Z a-z 0-9 _ . -, found {} ({why})",
            quote(id)
        ),
        Some("use letters, digits, `_`, `.` and `-`, e.g. \"billing_inquiry_v1\""),
    )
}

pub(crate) fn speech_wpm(found: u64) -> Broken {
    broken(
        format!("expected words per minute from 1 to 1000, found {found}"),
        Some("conversational speech is about 150"),
    )
}

pub(crate) fn agent_and_transcript() -> Broken {
    broken(
        "`agent` and `transcript` cannot both be given: a case with a recorded \
         transcript is validated as it is, so no agent is run",
        Some("remove `agent` to validate the recording, or `transcript` to simulate the call"),
    )
}

/// How to fill in `outcome`, missing from a caller that follows rules.
pub(crate) const OUTCOME_EXAMPLE: &str = "e.g. \"outcome\": {\"tool_calls\": [{\"name\": \"ReserveRestaurant\"}], \"ended_by\": \"caller\"}";

/// A case that needs an LLM and has a `sweep` block.
pub(crate) fn llm_case_sweep() -> Broken {
    broken(
        "a case that needs an LLM (a judge, a rephrasing caller) cannot be swept: every seed would need new LLM answers",
        Some("remove `sweep` (or the `judge` and `caller.rephrase`)"),
    )
}

// ---- caller and sweep --------------------------------------------------------------------

/// A fraction out of 0.0–1.0; `help` says what the field means (the `*_HELP` below).
pub(crate) fn not_a_fraction(value: f64, help: &str) -> Broken {
    broken(
        format!("expected a number from 0.0 to 1.0, found {value}"),
        Some(help),
    )
}

pub(crate) const DISFLUENCY_RATE_HELP: &str =
    "it is the chance per caller line of inserting a filler: 0.15 means 15%";
pub(crate) const WER_HELP: &str =
    "it is the expected share of words misheard: 0.1 means one word in ten";
pub(crate) const MIN_PASS_RATE_HELP: &str =
    "the lowest acceptable pass rate: the test fails when the 95% lower bound is under it";

pub(crate) fn no_seeds() -> Broken {
    broken("expected at least 1 seed, found 0", None)
}

pub(crate) fn too_many_seeds(seeds: u64) -> Broken {
    broken(
        format!("expected at most 100000 seeds for one test, found {seeds}"),
        Some("run a larger sweep with `voice-harness sweep --seeds N`"),
    )
}

/// A case's `sweep.min_pass_rate` of 1.
pub(crate) fn case_sweep_never(rate: f64) -> Broken {
    broken(
        format!(
            "a 95% lower bound is under 1 for any number of seeds, so min_pass_rate {rate} can never be met"
        ),
        Some("leave min_pass_rate out to require every seed to pass"),
    )
}

/// A case's `sweep.seeds` too few for its `min_pass_rate`.
pub(crate) fn case_sweep_too_few(seeds: u64, best: f64, rate: f64, needed: u64) -> Broken {
    broken(
        format!(
            "with {seeds} seeds the 95% lower bound is at most {best:.2} (every seed passing), under min_pass_rate {rate}: the test could never pass"
        ),
        Some(&format!(
            "use at least {needed} seeds, or a lower min_pass_rate"
        )),
    )
}

// ---- a caller that follows rules ---------------------------------------------------------

pub(crate) fn rules_fields_without_rules() -> Broken {
    broken(
        "`opening`, `otherwise`, `max_retries` and `max_turns` belong to a caller that follows `rules`, and there are none",
        Some("add `rules`, or remove these fields"),
    )
}

pub(crate) fn no_rules() -> Broken {
    broken("expected at least one rule, found an empty list", None)
}

pub(crate) fn no_when() -> Broken {
    broken("expected at least one phrase, found an empty list", None)
}

pub(crate) fn no_caller_lines() -> Broken {
    broken("expected at least 1 caller line, found 0", None)
}

pub(crate) fn rules_with_turns() -> Broken {
    broken(
        "a caller follows `rules` or a script of `turns`, not both",
        Some(
            "remove `turns` to let the caller answer what the agent asks, or remove `caller.rules`",
        ),
    )
}

pub(crate) fn outcome_without_rules() -> Broken {
    broken(
        "`outcome` judges a call whose caller follows `caller.rules`; this caller has none",
        Some("add `caller.opening` and `caller.rules`, or check each step with `turns`"),
    )
}

// ---- recordings and expect ---------------------------------------------------------------

/// `interrupted` or `heard` on a row it does not describe; `meaning` says which rows it
/// belongs to.
pub(crate) fn misplaced_row_field(field: &str, meaning: &str) -> Broken {
    broken(
        format!("`{field}` belongs to {meaning}"),
        Some("remove it, or move it to the row it describes"),
    )
}

pub(crate) fn tool_field_off_tool_row(field: &str) -> Broken {
    broken(
        format!("`{field}` belongs to tool rows (\"speaker\": \"tool\")"),
        None,
    )
}

pub(crate) fn tool_row_with_text() -> Broken {
    broken(
        "a tool row has no `text`: it is a call, with `name`, `arguments` and `result`",
        None,
    )
}

pub(crate) fn failing_steps_for_pass(steps: &[u32]) -> Broken {
    broken(
        format!("expected no failing steps for status \"pass\", found {steps:?}"),
        Some("use \"status\": \"fail\", or remove `failure_steps`"),
    )
}

/// A failing step out of range: `max` is the number of turns, when they are valid.
pub(crate) fn failing_step_out_of_range(max: Option<usize>, step: u64) -> Broken {
    let expected = match max {
        Some(max) => format!("a step from 1 to {max}"),
        None => "a step number of at least 1".to_owned(),
    };
    broken(format!("expected {expected}, found {step}"), None)
}

pub(crate) fn failing_steps_out_of_order(step: u64, last: u32) -> Broken {
    broken(
        format!("expected steps in ascending order without repeats, found {step} after {last}"),
        None,
    )
}

// ---- the script --------------------------------------------------------------------------

pub(crate) fn no_turns() -> Broken {
    broken("expected at least one turn, found an empty list", None)
}

pub(crate) fn step_order(expected: u64, found: &str) -> Broken {
    broken(
        format!("expected {expected}, found {found}"),
        Some("number the turns 1, 2, 3, … in the order they appear in the file"),
    )
}

/// A `barge_in_after_ms` on the first turn (`first`) or on a turn where the caller does not
/// speak.
pub(crate) fn barge_in_misplaced(first: bool) -> Broken {
    let what = if first {
        "the first turn has no agent reply before it to cut off"
    } else {
        "only a turn where the caller speaks (`user_input`) can cut the agent off"
    };
    broken(
        what,
        Some("remove `barge_in_after_ms`, or move it to a later spoken turn"),
    )
}

pub(crate) fn pin_on_silent_turn(pin: &str) -> Broken {
    broken(
        format!("`{pin}` pins a spoken line; this turn is silence or keypad tones, not speech"),
        Some("remove it, or make the turn a spoken one with `user_input`"),
    )
}

pub(crate) fn exact_step_without_one_phrase() -> Broken {
    broken(
        "an exact step needs one expected phrase: alternatives and regular expressions cannot be joined into one",
        Some("set `expected_agent_response` to the exact reply"),
    )
}

pub(crate) fn exact_step_without_words() -> Broken {
    broken(
        "an exact step needs an expected phrase with at least one word, found none",
        Some("set `expected_agent_response`, or give `expected_agent_response_keywords`"),
    )
}

/// How else a turn can say what the caller does, when it has no `user_input`.
pub(crate) const NO_ACT_HELP: &str =
    "or `silence_ms` (the caller stays quiet) or `dtmf` (keypad tones)";

pub(crate) fn no_silence() -> Broken {
    broken("expected at least 1 ms of silence, found 0", None)
}

/// Keypad tones with a character that is not one (`bad`), or none at all.
pub(crate) fn bad_dtmf(digits: &str, bad: Option<char>) -> Broken {
    let found = match bad {
        Some(c) => format!("{c:?} in {}", quote(digits)),
        None => "an empty string".to_owned(),
    };
    broken(
        format!("expected keypad tones 0-9 * # A-D, found {found}"),
        Some("e.g. \"4521#\""),
    )
}

/// A turn with more than one of `user_input`, `silence_ms`, `dtmf` (`given`).
pub(crate) fn several_acts(given: &[&str]) -> Broken {
    let list: Vec<String> = given.iter().map(|f| format!("`{f}`")).collect();
    broken(
        format!(
            "a turn is one thing the caller does: expected one of `user_input`, `silence_ms`, `dtmf`, found {}",
            list.join(" and ")
        ),
        Some("split it into one turn per thing the caller does"),
    )
}

// ---- the JSON tree ---------------------------------------------------------------------

/// A key given twice in one object (the JSON tree refuses it, so no field is last-one-wins).
pub(crate) fn duplicate_key(key: &str) -> String {
    format!("duplicate key `{key}` (each field may appear once)")
}

/// A number a 64-bit float cannot hold at all.
pub(crate) const NUMBER_OUT_OF_RANGE: &str = "number out of range";

// ---- tools -------------------------------------------------------------------------------

pub(crate) fn blank_tool_key() -> Broken {
    broken("expected a tool name, found a blank one", None)
}

pub(crate) fn blank_tool_name(name: &str) -> Broken {
    broken(format!("expected a tool name, found {}", quote(name)), None)
}

pub(crate) fn mock_with_result_and_error() -> Broken {
    broken(
        "a mock gives `result` or `error`, found both",
        Some("keep `result` for a tool that works, `error` for one that fails"),
    )
}

pub(crate) fn mock_without_answer() -> Broken {
    broken(
        "a mock needs `result` (what the tool returns) or `error` (why it fails)",
        Some("e.g. {\"match\": {\"order_id\": \"5512\"}, \"result\": {\"status\": \"shipped\"}}"),
    )
}

pub(crate) fn bad_mention_path(path: &str) -> Broken {
    broken(
        format!(
            "expected dot-separated keys or indexes such as \"items.0.name\", found {}",
            quote(path)
        ),
        None,
    )
}

/// A call to `name`, which no mock in `tools` answers (`mocked`: the tools that have one).
pub(crate) fn tool_without_mock(name: &str, mocked: &[&str]) -> Broken {
    broken(
        format!(
            "tool `{name}` has no mock in `tools` (mocked: {}), so a call to it would fail unanswered",
            mocked.join(", ")
        ),
        Some("add a mock for it under `tools`, or fix the name"),
    )
}
