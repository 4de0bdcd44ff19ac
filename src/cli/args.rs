//! The command line: clap's structs for each command (`run`, `sweep`, `merge`, `import`'s
//! are in `import.rs`), the parsers of their values, and the defaults and bounds they name.
//! Their `///` comments are the `--help` text (docs/configuration.md lists every flag).

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use crate::Shard;
use clap::{Args, Parser, Subcommand};

use crate::cli::import;
use crate::cli::output::usage;

/// Calls in flight for an agent in another process when `--concurrency` is not given.
pub(crate) const DEFAULT_CONCURRENCY: usize = 32;

// The whole command line. (Plain comments on these structs: a doc comment would become
// help text.)
#[derive(Parser)]
#[command(
    name = "voice-harness",
    version,
    about = "Run voice-agent test cases (JSON) and report how they went",
    after_help = "Exit status: 0 when every case is as expected, 1 when any is not, 2 on a usage error, 130 when interrupted (Ctrl-C, SIGTERM: the reports hold the cases that finished)."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

// The commands.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run case files, and every .json file under folders, in sorted order.
    Run(RunArgs),
    /// Run each case under many callers (seeds): pass rates, their 95% lower bounds, and
    /// minimal failing cases (see docs/sweeps.md).
    Sweep(SweepArgs),
    /// Join the JSON reports of a suite's shards (`--shard K/N`) into the report of the whole
    /// run, byte for byte; write JUnit too with --junit.
    Merge(MergeArgs),
    /// Turn calls exported from Vapi, Retell, LiveKit or ElevenLabs into case files (see
    /// docs/import.md).
    Import(import::ImportArgs),
}

// `voice-harness merge`.
#[derive(Args)]
pub(crate) struct MergeArgs {
    /// The shards' JSON reports.
    #[arg(required = true, value_name = "REPORT")]
    pub(crate) reports: Vec<PathBuf>,

    /// Write the merged JSON report to FILE [default: standard output].
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,

    /// Write the merged JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
}

// `voice-harness sweep`: a run's flags and the sweep's own (planned in `sweep.rs`).
#[derive(Args)]
pub(crate) struct SweepArgs {
    #[command(flatten)]
    pub(crate) run: RunArgs,

    /// Seeds (callers) per case [default: the case's `sweep.seeds`, else 10].
    #[arg(long, value_name = "N", value_parser = parse_seeds)]
    pub(crate) seeds: Option<u64>,

    /// The first seed (--seed S says the same) [default: each case's own seed].
    #[arg(long, value_name = "S", value_parser = parse_seed)]
    pub(crate) from: Option<u64>,

    /// Exit 1 when a case's 95% lower bound of its pass rate is under R [default: the
    /// case's `sweep.min_pass_rate`, else when any run is not as expected].
    #[arg(long, value_name = "R", value_parser = parse_rate)]
    pub(crate) min_pass_rate: Option<f64>,

    /// Run each (case, seed) K times, for agents that are not deterministic: reports
    /// pass^K and marks a case flaky when one seed gives different verdicts.
    #[arg(long, value_name = "K", default_value = "1", value_parser = parse_repeat)]
    pub(crate) repeat: u32,

    /// Write a minimal failing case for each case with a failing seed into DIR.
    #[arg(long, value_name = "DIR")]
    pub(crate) shrink: Option<PathBuf>,
}

fn parse_seeds(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(usage::not_seeds(text)),
    }
}

/// Runs per seed at most: 10,000 runs of one caller is past what a sweep needs (pass^k
/// settles long before), and each run's verdict is kept until its seed is done.
const MAX_REPEAT: u32 = 10_000;

fn parse_repeat(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if (1..=u64::from(MAX_REPEAT)).contains(&n) => Ok(n as u32),
        Ok(n) if n > u64::from(MAX_REPEAT) => Err(usage::too_many_repeats(text, MAX_REPEAT)),
        _ => Err(usage::not_repeats(text)),
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(usage::not_rate(text)),
    }
}

// `voice-harness run`, and the run part of `sweep`.
#[derive(Args)]
pub(crate) struct RunArgs {
    /// Case files and folders.
    #[arg(required = true, value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,

    /// Write the JSON report (docs/runner.md) to FILE; `-` for standard output.
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,

    /// Write a JUnit XML report to FILE; `-` for standard output.
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,

    /// Write the HTML report to FILE: one self-contained page (docs/report.md).
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,

    /// Print what the suite exercised (tools, mocks, caller rules, voice features), and add
    /// it to the JSON report as `coverage`.
    #[arg(long)]
    pub(crate) coverage: bool,

    /// Run only cases whose test_id or file path contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub(crate) filter: Option<String>,

    /// Run only cases tagged TAG (repeat for several: all must match).
    #[arg(long = "tag", value_name = "TAG")]
    pub(crate) tags: Vec<String>,

    /// Use seed N for every case instead of its own (a robustness run).
    #[arg(long, value_name = "N", value_parser = parse_seed)]
    pub(crate) seed: Option<u64>,

    /// Run N cases at a time [default: the number of cores].
    #[arg(long, short = 'j', value_name = "N", value_parser = parse_jobs)]
    pub(crate) jobs: Option<NonZeroUsize>,

    /// Test an agent that runs as a program (one process per call, JSON lines on
    /// stdin/stdout), e.g. "python3 agent.py". It answers every simulated case.
    #[arg(long, value_name = "COMMAND", conflicts_with = "agent_url")]
    pub(crate) agent_command: Option<String>,

    /// Test an agent that runs as an HTTP service (one POST per event), e.g.
    /// http://127.0.0.1:8080/. It answers every simulated case.
    #[arg(long, value_name = "URL")]
    pub(crate) agent_url: Option<String>,

    /// Test an agent behind an OpenAI-compatible chat-completions API at BASE_URL (as the
    /// OpenAI SDKs take it, e.g. http://127.0.0.1:8000/v1; requests go to
    /// BASE_URL/chat/completions). It answers every simulated case.
    #[arg(long, value_name = "BASE_URL", conflicts_with_all = ["agent_command", "agent_url", "agent_retell"])]
    pub(crate) agent_openai: Option<String>,

    /// The model named in --agent-openai requests [default: voice-harness].
    #[arg(long, value_name = "NAME", requires = "agent_openai")]
    pub(crate) agent_model: Option<String>,

    /// The system prompt that starts every --agent-openai conversation.
    #[arg(long, value_name = "TEXT", requires = "agent_openai")]
    pub(crate) agent_system_prompt: Option<String>,

    /// A header for every --agent-openai request, "Name: value" (repeat for several), e.g.
    /// "Authorization: Bearer $KEY". Never printed or written to reports.
    #[arg(
        long = "agent-header",
        value_name = "NAME: VALUE",
        requires = "agent_openai"
    )]
    pub(crate) agent_headers: Vec<String>,

    /// Test an agent that speaks Retell's custom-LLM WebSocket at WS_URL (each call opens
    /// WS_URL/<test_id>), e.g. ws://127.0.0.1:8080/llm-websocket.
    #[arg(long, value_name = "WS_URL", conflicts_with_all = ["agent_command", "agent_url"])]
    pub(crate) agent_retell: Option<String>,

    /// Calls in flight at once for an agent in another process, on one thread [default:
    /// 32]. Built-in agents use -j.
    #[arg(long, value_name = "N", value_parser = parse_jobs)]
    pub(crate) concurrency: Option<NonZeroUsize>,

    /// Start at most N calls a second (an agent behind a paid or rate-limited API).
    #[arg(long, value_name = "N", value_parser = parse_per_second)]
    pub(crate) rate: Option<f64>,

    /// How long an agent may take to answer one caller line, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub(crate) turn_timeout: Duration,

    /// Print a line for every case, not only those that are not as expected.
    #[arg(long, short = 'v', conflicts_with = "quiet")]
    pub(crate) verbose: bool,

    /// Print only the summary line.
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,

    /// Run only shard K of N (a CI matrix): the cases whose path within its folder hashes
    /// to it. Join the shards' JSON reports with `voice-harness merge`.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub(crate) shard: Option<Shard>,

    /// The LLM's chat-completions URL, for cases with a `judge` or a rephrasing caller
    /// [default: VOICE_HARNESS_LLM_URL].
    #[cfg(feature = "llm")]
    #[arg(long, value_name = "URL")]
    pub(crate) llm_url: Option<String>,

    /// The LLM's model name [default: VOICE_HARNESS_LLM_MODEL].
    #[cfg(feature = "llm")]
    #[arg(long, value_name = "NAME")]
    pub(crate) llm_model: Option<String>,

    /// Request LLM answers the lock files do not have, and record them (even with CI set).
    #[cfg(feature = "llm")]
    #[arg(long, conflicts_with = "offline")]
    pub(crate) record: bool,

    /// Never request an LLM answer: a missing one is an error (the default with CI set).
    #[cfg(feature = "llm")]
    #[arg(long)]
    pub(crate) offline: bool,
}

fn parse_seed(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .map_err(|_| usage::not_seed(text))
}

fn parse_jobs(text: &str) -> Result<NonZeroUsize, String> {
    text.trim()
        .parse::<NonZeroUsize>()
        .map_err(|_| usage::not_jobs(text))
}

fn parse_per_second(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if r > 0.0 && r.is_finite() => Ok(r),
        _ => Err(usage::not_per_second(text)),
    }
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(usage::not_seconds(text)),
    }
}
