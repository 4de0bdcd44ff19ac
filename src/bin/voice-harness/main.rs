//! `voice-harness run <PATH>...`: run case files outside `cargo test`, print a summary, and
//! write JSON (docs/runner.md) or JUnit reports. Exit 0 when every case is as expected, 1 when any
//! is not, 2 on a usage error.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use voice_harness::Shard;
use voice_harness::agent::{HttpPool, processes};
use voice_harness::case::{Speaker, ToolCall};
use voice_harness::report::{
    CaseFiles, CaseJson, CaseReport, InFlight, JsonReportWriter, JunitReport, ReportStatus,
    ShrinkTo, SuiteOptions, Summary, run_suite_in_flight, run_suite_with, sweep_suite,
};
use voice_harness::run::{RowEvent, StepResult};
use voice_harness::sweep::{self, SweepOptions};
use voice_harness::{
    Agent, AgentError, BuiltinAgent, CallStart, CallerLine, CommandAgent, HttpAgent, OpenAiAgent,
    Reply, RetellAgent, RunOptions,
};

mod import;
mod pages;

/// The runner's allocator: see `mimalloc` in Cargo.toml for why.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Calls in flight for an agent in another process when `--concurrency` is not given.
const DEFAULT_CONCURRENCY: usize = 32;

#[derive(Parser)]
#[command(
    name = "voice-harness",
    version,
    about = "Run voice-agent test cases (JSON) and report how they went",
    after_help = "Exit status: 0 when every case is as expected, 1 when any is not, 2 on a usage error, 130 when interrupted (Ctrl-C, SIGTERM: the reports hold the cases that finished)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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

#[derive(Args)]
struct MergeArgs {
    /// The shards' JSON reports.
    #[arg(required = true, value_name = "REPORT")]
    reports: Vec<PathBuf>,

    /// Write the merged JSON report to FILE [default: standard output].
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Write the merged JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

fn merge(args: &MergeArgs) -> Result<bool, Usage> {
    let mut reports = Vec::new();
    for path in &args.reports {
        let bytes = std::fs::read(path)
            .map_err(|e| Usage(format!("cannot read {}: {e}", path.display())))?;
        reports.push((path.display().to_string(), bytes));
    }
    let merged = voice_harness::report::merge(&reports).map_err(|e| Usage(e.to_string()))?;
    // Written beside and renamed over, as a run's reports are.
    let open = |path: &PathBuf| {
        open_report(path)
            .map(|(file, pending)| (BufWriter::new(file), pending))
            .map_err(|e| Usage(format!("cannot write {}: {e}", path.display())))
    };
    let commit = |pending: Option<Pending>| pending.map_or(Ok(()), Pending::commit);
    match &args.json {
        Some(path) => {
            let (out, pending) = open(path)?;
            merged.write_json(out).and_then(|()| commit(pending))
        }
        None => merged.write_json(BufWriter::new(io::stdout())),
    }
    .map_err(|e| Usage(format!("cannot write the merged JSON report: {e}")))?;
    if let Some(path) = &args.junit {
        let (out, pending) = open(path)?;
        merged
            .write_junit(out)
            .and_then(|()| commit(pending))
            .map_err(|e| Usage(format!("cannot write the merged JUnit report: {e}")))?;
    }
    let s = &merged.summary;
    eprintln!("merged {} reports: {}", args.reports.len(), s.counts());
    Ok(s.as_expected == s.total)
}

#[derive(Args)]
struct SweepArgs {
    #[command(flatten)]
    run: RunArgs,

    /// Seeds (callers) per case [default: the case's `sweep.seeds`, else 10].
    #[arg(long, value_name = "N", value_parser = parse_seeds)]
    seeds: Option<u64>,

    /// The first seed (--seed S says the same) [default: each case's own seed].
    #[arg(long, value_name = "S", value_parser = parse_seed)]
    from: Option<u64>,

    /// Exit 1 when a case's 95% lower bound of its pass rate is under R [default: the
    /// case's `sweep.min_pass_rate`, else when any run is not as expected].
    #[arg(long, value_name = "R", value_parser = parse_rate)]
    min_pass_rate: Option<f64>,

    /// Run each (case, seed) K times, for agents that are not deterministic: reports
    /// pass^K and marks a case flaky when one seed gives different verdicts.
    #[arg(long, value_name = "K", default_value = "1", value_parser = parse_repeat)]
    repeat: u32,

    /// Write a minimal failing case for each case with a failing seed into DIR.
    #[arg(long, value_name = "DIR")]
    shrink: Option<PathBuf>,
}

fn parse_seeds(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "expected a whole number of at least 1 (seeds per case), found {text:?}"
        )),
    }
}

/// Runs per seed at most: 10,000 runs of one caller is past what a sweep needs (pass^k
/// settles long before), and each run's verdict is kept until its seed is done.
const MAX_REPEAT: u32 = 10_000;

fn parse_repeat(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if (1..=u64::from(MAX_REPEAT)).contains(&n) => Ok(n as u32),
        Ok(n) if n > u64::from(MAX_REPEAT) => Err(format!(
            "expected a whole number from 1 to {MAX_REPEAT} (runs per seed), found {text:?}"
        )),
        _ => Err(format!(
            "expected a whole number of at least 1 (runs per seed), found {text:?}"
        )),
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!(
            "expected a pass rate from 0.0 to 1.0, found {text:?}"
        )),
    }
}

/// What `sweep` adds to a run.
struct SweepPlan {
    options: SweepOptions,
    shrink: Option<ShrinkTo>,
}

impl SweepArgs {
    fn plan(&self) -> Result<SweepPlan, Usage> {
        // `--seed` is the first seed of every case's sweep, as `--from` is (SweepOptions
        // falls back to the run's seed): two different first seeds are a mistake.
        let from = match (self.from, self.run.seed) {
            (Some(from), Some(seed)) if from != seed => {
                return Err(Usage(format!(
                    "--seed {seed} and --from {from} both name the first seed of each sweep; give one"
                )));
            }
            (from, seed) => from.or(seed),
        };
        if let (Some(from), Some(seeds)) = (from, self.seeds) {
            if from.checked_add(seeds - 1).is_none() {
                return Err(Usage(format!(
                    "--from {from} --seeds {seeds}: the seeds would pass {} (the largest seed)",
                    u64::MAX
                )));
            }
        }
        // A bound the flags alone can never meet (issue 23, fault 16); one that only a
        // case's own `sweep.seeds` cannot meet is that case's error.
        if let Some(rate) = self.min_pass_rate {
            let runs = self
                .seeds
                .map(|seeds| seeds.saturating_mul(u64::from(self.repeat)));
            let why = match runs {
                // Without --seeds, only a bound of 1 is beyond every case.
                None if rate >= 1.0 => sweep::why_unreachable(1, rate, self.repeat),
                None => None,
                Some(runs) => sweep::why_unreachable(runs, rate, self.repeat),
            };
            if let Some(why) = why {
                let seeds = self
                    .seeds
                    .map(|n| format!("--seeds {n} "))
                    .unwrap_or_default();
                return Err(Usage(format!("{seeds}--min-pass-rate {rate}: {why}")));
            }
        }
        if let Some(dir) = &self.shrink {
            std::fs::create_dir_all(dir)
                .and_then(|()| {
                    let probe = dir.join(".voice-harness-write-test");
                    std::fs::write(&probe, b"")?;
                    std::fs::remove_file(probe)
                })
                .map_err(|e| {
                    Usage(format!(
                        "--shrink {}: cannot write there: {e}",
                        dir.display()
                    ))
                })?;
        }
        let mut options = SweepOptions::default()
            .with_from(self.from)
            .with_repeat(self.repeat)
            .with_min_pass_rate(self.min_pass_rate);
        options.seeds = self.seeds;
        Ok(SweepPlan {
            options,
            shrink: self.shrink.clone().map(ShrinkTo),
        })
    }
}

#[derive(Args)]
struct RunArgs {
    /// Case files and folders.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Write the JSON report (docs/runner.md) to FILE; `-` for standard output.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Write a JUnit XML report to FILE; `-` for standard output.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,

    /// Write the HTML report to FILE: one self-contained page (docs/report.md).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,

    /// Print what the suite exercised (tools, mocks, caller rules, voice features), and add
    /// it to the JSON report as `coverage`.
    #[arg(long)]
    coverage: bool,

    /// Run only cases whose test_id or file path contains TEXT.
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,

    /// Run only cases tagged TAG (repeat for several: all must match).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,

    /// Use seed N for every case instead of its own (a robustness run).
    #[arg(long, value_name = "N", value_parser = parse_seed)]
    seed: Option<u64>,

    /// Run N cases at a time [default: the number of cores].
    #[arg(long, short = 'j', value_name = "N", value_parser = parse_jobs)]
    jobs: Option<NonZeroUsize>,

    /// Test an agent that runs as a program (one process per call, JSON lines on
    /// stdin/stdout), e.g. "python3 agent.py". It answers every simulated case.
    #[arg(long, value_name = "COMMAND", conflicts_with = "agent_url")]
    agent_command: Option<String>,

    /// Test an agent that runs as an HTTP service (one POST per event), e.g.
    /// http://127.0.0.1:8080/. It answers every simulated case.
    #[arg(long, value_name = "URL")]
    agent_url: Option<String>,

    /// Test an agent behind an OpenAI-compatible chat-completions API at BASE_URL (as the
    /// OpenAI SDKs take it, e.g. http://127.0.0.1:8000/v1; requests go to
    /// BASE_URL/chat/completions). It answers every simulated case.
    #[arg(long, value_name = "BASE_URL", conflicts_with_all = ["agent_command", "agent_url", "agent_retell"])]
    agent_openai: Option<String>,

    /// The model named in --agent-openai requests [default: voice-harness].
    #[arg(long, value_name = "NAME", requires = "agent_openai")]
    agent_model: Option<String>,

    /// The system prompt that starts every --agent-openai conversation.
    #[arg(long, value_name = "TEXT", requires = "agent_openai")]
    agent_system_prompt: Option<String>,

    /// A header for every --agent-openai request, "Name: value" (repeat for several), e.g.
    /// "Authorization: Bearer $KEY". Never printed or written to reports.
    #[arg(
        long = "agent-header",
        value_name = "NAME: VALUE",
        requires = "agent_openai"
    )]
    agent_headers: Vec<String>,

    /// Test an agent that speaks Retell's custom-LLM WebSocket at WS_URL (each call opens
    /// WS_URL/<test_id>), e.g. ws://127.0.0.1:8080/llm-websocket.
    #[arg(long, value_name = "WS_URL", conflicts_with_all = ["agent_command", "agent_url"])]
    agent_retell: Option<String>,

    /// Calls in flight at once for an agent in another process, on one thread [default:
    /// 32]. Built-in agents use -j.
    #[arg(long, value_name = "N", value_parser = parse_jobs)]
    concurrency: Option<NonZeroUsize>,

    /// Start at most N calls a second (an agent behind a paid or rate-limited API).
    #[arg(long, value_name = "N", value_parser = parse_per_second)]
    rate: Option<f64>,

    /// How long an agent may take to answer one caller line, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    turn_timeout: Duration,

    /// Print a line for every case, not only those that are not as expected.
    #[arg(long, short = 'v', conflicts_with = "quiet")]
    verbose: bool,

    /// Print only the summary line.
    #[arg(long, short = 'q')]
    quiet: bool,

    /// Run only shard K of N (a CI matrix): the cases whose path within its folder hashes
    /// to it. Join the shards' JSON reports with `voice-harness merge`.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    shard: Option<Shard>,

    /// The LLM's chat-completions URL, for cases with a `judge` or a rephrasing caller
    /// [default: VOICE_HARNESS_LLM_URL].
    #[cfg(feature = "llm")]
    #[arg(long, value_name = "URL")]
    llm_url: Option<String>,

    /// The LLM's model name [default: VOICE_HARNESS_LLM_MODEL].
    #[cfg(feature = "llm")]
    #[arg(long, value_name = "NAME")]
    llm_model: Option<String>,

    /// Request LLM answers the lock files do not have, and record them (even with CI set).
    #[cfg(feature = "llm")]
    #[arg(long, conflicts_with = "offline")]
    record: bool,

    /// Never request an LLM answer: a missing one is an error (the default with CI set).
    #[cfg(feature = "llm")]
    #[arg(long)]
    offline: bool,
}

fn parse_seed(text: &str) -> Result<u64, String> {
    text.trim().parse::<u64>().map_err(|_| {
        format!(
            "expected a whole number from 0 to {} (a seed), found {text:?}",
            u64::MAX
        )
    })
}

fn parse_jobs(text: &str) -> Result<NonZeroUsize, String> {
    text.trim().parse::<NonZeroUsize>().map_err(|_| {
        format!("expected a whole number of at least 1 (calls at a time), found {text:?}")
    })
}

fn parse_per_second(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if r > 0.0 && r.is_finite() => Ok(r),
        _ => Err(format!(
            "expected calls per second above 0, such as 5 or 0.5, found {text:?}"
        )),
    }
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "expected a number of seconds above 0 (at most 86400), found {text:?}"
        )),
    }
}

/// The agent a run uses: the built-in ones, or one in another process.
enum RunAgent {
    Builtin(BuiltinAgent),
    Command(Box<CommandAgent>),
    Http(HttpAgent),
    Protocol(Box<ProtocolAgent>),
}

/// An agent in a protocol of its own (`--agent-openai`, `--agent-retell`).
enum ProtocolAgent {
    OpenAi(OpenAiAgent),
    Retell(RetellAgent),
}

impl Agent for ProtocolAgent {
    async fn start(&mut self, call: &CallStart<'_>) -> Result<(), AgentError> {
        match self {
            Self::OpenAi(a) => a.start(call).await,
            Self::Retell(a) => a.start(call).await,
        }
    }
    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        match self {
            Self::OpenAi(a) => a.reply(line).await,
            Self::Retell(a) => a.reply(line).await,
        }
    }
    async fn end(&mut self) {
        match self {
            Self::OpenAi(a) => a.end().await,
            Self::Retell(a) => a.end().await,
        }
    }
    fn greeting(&mut self) -> Option<String> {
        match self {
            Self::OpenAi(_) => None,
            Self::Retell(a) => a.greeting(),
        }
    }
    fn greeting_hangs_up(&mut self) -> bool {
        match self {
            Self::OpenAi(_) => false,
            Self::Retell(a) => a.greeting_hangs_up(),
        }
    }
    fn wall_clock(&self) -> bool {
        true
    }
}

impl Agent for RunAgent {
    async fn start(&mut self, call: &CallStart<'_>) -> Result<(), AgentError> {
        match self {
            Self::Builtin(a) => a.start(call).await,
            Self::Command(a) => a.start(call).await,
            Self::Http(a) => a.start(call).await,
            Self::Protocol(a) => a.start(call).await,
        }
    }
    async fn reply(&mut self, line: &CallerLine<'_>) -> Result<Reply, AgentError> {
        match self {
            Self::Builtin(a) => a.reply(line).await,
            Self::Command(a) => a.reply(line).await,
            Self::Http(a) => a.reply(line).await,
            Self::Protocol(a) => a.reply(line).await,
        }
    }
    async fn end(&mut self) {
        match self {
            Self::Builtin(a) => a.end().await,
            Self::Command(a) => a.end().await,
            Self::Http(a) => a.end().await,
            Self::Protocol(a) => a.end().await,
        }
    }
    // Forwarded like the rest: without them a run loses the greeting, and a line nobody
    // asked for shifts the replies silently (issue #23, fault 7).
    fn greeting(&mut self) -> Option<String> {
        match self {
            Self::Builtin(a) => a.greeting(),
            Self::Command(a) => a.greeting(),
            Self::Http(a) => a.greeting(),
            Self::Protocol(a) => a.greeting(),
        }
    }
    fn greeting_hangs_up(&mut self) -> bool {
        match self {
            Self::Builtin(a) => a.greeting_hangs_up(),
            Self::Command(a) => a.greeting_hangs_up(),
            Self::Http(a) => a.greeting_hangs_up(),
            Self::Protocol(a) => a.greeting_hangs_up(),
        }
    }
    fn fault_at_end(&mut self) -> Option<AgentError> {
        match self {
            Self::Builtin(a) => a.fault_at_end(),
            Self::Command(a) => a.fault_at_end(),
            Self::Http(a) => a.fault_at_end(),
            Self::Protocol(_) => None,
        }
    }
    fn wall_clock(&self) -> bool {
        !matches!(self, Self::Builtin(_))
    }
}

/// A usage error: printed with `error:` and exit status 2.
struct Usage(String);

/// The exit status of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report
/// an interrupted command).
const INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    // What an agent program leaves behind outside its process group comes back to the
    // runner (Linux), to be ended with the rest when the run is over (#23.12).
    processes::become_subreaper();
    let command = Cli::parse().command;
    catch_interrupts();
    let result = match command {
        Command::Run(args) => run(&args, None),
        Command::Sweep(args) => args.plan().and_then(|plan| run(&args.run, Some(&plan))),
        Command::Merge(args) => merge(&args),
        Command::Import(args) => import::import(&args),
    };
    processes::reap_orphans();
    let code = match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    };
    if processes::stopped() {
        return ExitCode::from(INTERRUPTED);
    }
    code
}

/// On Ctrl-C (SIGINT) or SIGTERM: stop every agent program (and all each started), start
/// no more calls, and let the run write the reports of the cases that finished, marked
/// interrupted; the runner then exits 130. A second signal exits at once (#23.10).
fn catch_interrupts() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        // Registered here, before any call starts, so no signal is missed.
        let signals = runtime.block_on(async {
            Ok::<_, io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            ))
        });
        let Ok((mut int, mut term)) = signals else {
            return;
        };
        /// The next SIGINT or SIGTERM.
        async fn next(int: &mut Signal, term: &mut Signal) {
            std::future::poll_fn(|cx| {
                if int.poll_recv(cx).is_ready() || term.poll_recv(cx).is_ready() {
                    std::task::Poll::Ready(())
                } else {
                    std::task::Poll::Pending
                }
            })
            .await;
        }
        std::thread::spawn(move || {
            runtime.block_on(async {
                next(&mut int, &mut term).await;
                eprintln!(
                    "interrupted: stopping the agents and writing the reports of the cases \
                     that finished (interrupt again to quit at once)"
                );
                processes::stop_all();
                next(&mut int, &mut term).await;
                processes::stop_all();
                std::process::exit(INTERRUPTED.into());
            });
        });
    }
}

/// `1 case`, `2 cases`.
fn message_cases(n: usize) -> String {
    if n == 1 {
        "1 case".to_owned()
    } else {
        format!("{n} cases")
    }
}

/// Where a report goes.
enum Sink {
    Stdout,
    /// The file as named, and the file written (see [`open_report`]).
    File(PathBuf, File),
}

impl Sink {
    /// The file it writes to, if it is one.
    fn path(&self) -> Option<PathBuf> {
        match self {
            Sink::File(path, _) => Some(path.clone()),
            Sink::Stdout => None,
        }
    }
}

/// The sink for `path`, and the report file it replaces once complete.
fn open_sink(path: &Option<PathBuf>, what: &str) -> Result<(Option<Sink>, Option<Pending>), Usage> {
    match path {
        None => Ok((None, None)),
        Some(p) if p.as_os_str() == "-" => Ok((Some(Sink::Stdout), None)),
        Some(p) => open_report(p)
            .map(|(file, pending)| (Some(Sink::File(p.clone(), file)), pending))
            .map_err(|e| {
                Usage(format!(
                    "cannot write the {what} report to {}: {e}",
                    p.display()
                ))
            }),
    }
}

/// A report written to a temporary file beside its path, renamed over it once complete, so
/// that a run that stops part way (Ctrl-C, a crash) never leaves an empty or half-written
/// report in place of the old one. Dropped before [`Pending::commit`], the temporary file
/// is removed.
struct Pending {
    /// The file the report replaces (a link's target: the link stays).
    target: PathBuf,
    temp: PathBuf,
    /// The old report's permissions, which the new one keeps.
    mode: Option<std::fs::Permissions>,
    done: bool,
}

impl Pending {
    /// Puts the complete report in place of the old one.
    fn commit(mut self) -> io::Result<()> {
        if let Some(mode) = self.mode.take() {
            std::fs::set_permissions(&self.temp, mode)?;
        }
        // Freeing a 100 MB file's pages takes the kernel 9 ms, done by whoever lets go of
        // it last. Held open while it is replaced, the old report is freed by a thread of
        // its own, beside the run instead of in it.
        #[cfg(unix)]
        let old = File::open(&self.target).ok();
        std::fs::rename(&self.temp, &self.target)?;
        self.done = true;
        #[cfg(unix)]
        if let Some(old) = old {
            std::thread::spawn(move || drop(old));
        }
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Opens the file a report is written to: a temporary file beside `path` (see [`Pending`]),
/// or, for a path that is not a regular file (a pipe, /dev/stdout), the path itself. A link
/// is written through (its target is replaced, the link stays). A report that exists but
/// cannot be written (read-only) is refused rather than replaced behind the user's back.
fn open_report(path: &Path) -> io::Result<(File, Option<Pending>)> {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    let target = match is_link {
        true => match std::fs::canonicalize(path) {
            Ok(target) => target,
            // A dangling link: written through in place, as it names no file yet.
            Err(_) => return File::create(path).map(|f| (f, None)),
        },
        false => path.to_owned(),
    };
    let mode = match std::fs::metadata(&target) {
        Ok(m) if !m.is_file() => return File::create(&target).map(|f| (f, None)),
        Ok(m) => {
            // Says why when it may not be written (opened, not truncated).
            std::fs::OpenOptions::new().write(true).open(&target)?;
            Some(m.permissions())
        }
        Err(_) => None,
    };
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::other("not the name of a file"))?;
    let temp = target.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let file = File::create(&temp)?;
    let pending = Pending {
        target,
        temp,
        mode,
        done: false,
    };
    Ok((file, Some(pending)))
}

fn writer(sink: Sink) -> Box<dyn Write + Send> {
    // A realistic case's JSON line is about 10 KB, more than BufWriter's default 8 KiB
    // buffer: it went to the kernel in one or two writes a case. 256 KiB a write instead.
    const BUFFER: usize = 256 * 1024;
    match sink {
        Sink::Stdout => Box::new(BufWriter::with_capacity(BUFFER, io::stdout())),
        Sink::File(_, file) => Box::new(BufWriter::with_capacity(BUFFER, file)),
    }
}

/// Problems that would fail every case are said once, before any call.
fn check_agent(args: &RunArgs) -> Result<Option<Vec<String>>, Usage> {
    if let Some(url) = &args.agent_url {
        if url.starts_with("https://") {
            return Err(Usage(format!(
                "--agent-url {url}: https is not supported; the runner speaks plain http, \
                 which is what an agent on this machine (loopback) needs, and it carries no \
                 TLS stack. Use http://127.0.0.1:PORT/, or put a plain-http proxy in front"
            )));
        }
        if !url.starts_with("http://") {
            return Err(Usage(format!(
                "--agent-url {url:?}: expected a URL starting with http://, e.g. \
                 http://127.0.0.1:8080/agent"
            )));
        }
        // Parsed as each request will parse it: a URL that cannot be is one usage error,
        // not the same failure in every case (#23.20).
        let why = match url.parse::<hyper::Uri>() {
            Ok(uri) if uri.host().is_some_and(|h| !h.is_empty()) => None,
            Ok(_) => Some("no host".to_owned()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(why) = why {
            return Err(Usage(format!(
                "--agent-url {url:?}: not a URL ({why}); expected e.g. \
                 http://127.0.0.1:8080/agent or http://[::1]:8080/agent"
            )));
        }
    }
    check_protocol_agent(args)?;
    let Some(command) = &args.agent_command else {
        return Ok(None);
    };
    let argv = match shlex::split(command) {
        Some(argv) if !argv.is_empty() => argv,
        _ => {
            return Err(Usage(format!(
                "--agent-command: cannot split {command:?} into a program and its arguments"
            )));
        }
    };
    if !program_exists(&argv[0]) {
        return Err(Usage(format!(
            "--agent-command: no program `{}` (not a file, and not found on PATH)",
            argv[0]
        )));
    }
    Ok(Some(argv))
}

/// `--agent-openai`, `--agent-retell` and `--agent-header`: said once, before any call. A
/// header's value is never repeated back (it is usually a key).
fn check_protocol_agent(args: &RunArgs) -> Result<(), Usage> {
    if let Some(url) = &args.agent_openai {
        if !url.starts_with("http://") {
            return Err(Usage(format!(
                "--agent-openai {url:?}: expected a base URL starting with http:// (no TLS: an \
                 agent under test runs on this machine), e.g. http://127.0.0.1:8000/v1"
            )));
        }
    }
    if let Some(url) = &args.agent_retell {
        if !url.starts_with("ws://") {
            return Err(Usage(format!(
                "--agent-retell {url:?}: expected a WebSocket URL starting with ws:// (no TLS: \
                 an agent under test runs on this machine), e.g. ws://127.0.0.1:8080/llm-websocket"
            )));
        }
    }
    for (i, header) in args.agent_headers.iter().enumerate() {
        let valid = header.split_once(':').is_some_and(|(name, value)| {
            hyper::header::HeaderName::from_bytes(name.trim().as_bytes()).is_ok()
                && hyper::header::HeaderValue::from_str(value.trim()).is_ok()
        });
        if !valid {
            return Err(Usage(format!(
                "--agent-header number {}: expected \"Name: value\" with a valid HTTP header \
                 name and value (the value is not shown here)",
                i + 1
            )));
        }
    }
    Ok(())
}

/// One TCP connect to each agent URL's host and port, before any call (#25): an agent
/// that is not running is one usage error, not `connection refused` in every case. Only a
/// refused connection is said; a name that does not resolve, or a slow or filtered port,
/// is left to the calls, which say it with their own bounds.
fn probe_agents(args: &RunArgs) -> Result<(), Usage> {
    let urls = [
        ("--agent-url", &args.agent_url),
        ("--agent-openai", &args.agent_openai),
        ("--agent-retell", &args.agent_retell),
    ];
    for (flag, url) in urls {
        let Some(url) = url else { continue };
        let Some(target) = url
            .parse::<hyper::Uri>()
            .ok()
            .and_then(|uri| Some(format!("{}:{}", uri.host()?, uri.port_u16().unwrap_or(80))))
        else {
            continue;
        };
        if nobody_listens(&target) {
            return Err(Usage(format!(
                "{flag} {url}: nothing listens on {target}: start the agent first, or check \
                 the port"
            )));
        }
    }
    Ok(())
}

/// Every address `target` resolves to refuses a connection (each try bounded by 2 s).
fn nobody_listens(target: &str) -> bool {
    use std::net::{TcpStream, ToSocketAddrs};
    let Ok(addrs) = target.to_socket_addrs() else {
        return false;
    };
    let mut refused = false;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(_) => return false,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => refused = true,
            Err(_) => return false,
        }
    }
    refused
}

/// The `run.agent` of the report for a protocol agent: its kind and URL (and model), never
/// its headers.
fn protocol_agent_meta(args: &RunArgs) -> Option<String> {
    if let Some(url) = &args.agent_openai {
        let model = args.agent_model.as_deref().unwrap_or("voice-harness");
        return Some(format!("openai: {url} (model {model})"));
    }
    args.agent_retell
        .as_ref()
        .map(|url| format!("retell: {url}"))
}

/// Whether `program` names a file, or a file on `PATH` when it has no `/`.
fn program_exists(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// `--json F --junit F` would write both reports into one file: refuse it.
fn same_file(a: &Option<PathBuf>, b: &Option<PathBuf>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return false;
    };
    if a.as_os_str() == "-" || b.as_os_str() == "-" {
        return false;
    }
    let full = |p: &Path| {
        let parent = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::canonicalize(parent)
            .map(|d| d.join(p.file_name().unwrap_or_default()))
            .unwrap_or_else(|_| p.to_owned())
    };
    full(a) == full(b)
}

fn run(args: &RunArgs, sweep: Option<&SweepPlan>) -> Result<bool, Usage> {
    let started = Instant::now();
    // The environment's limits, read the same way as under `cargo test`; a bad value is a
    // usage error, before any case runs.
    let run_options = RunOptions::from_env()
        .map_err(|e| Usage(e.to_string()))?
        .with_turn_timeout(args.turn_timeout)
        .with_seed(args.seed);
    let argv = check_agent(args)?;
    let external = argv.is_some()
        || args.agent_url.is_some()
        || args.agent_openai.is_some()
        || args.agent_retell.is_some();
    if !external && (args.concurrency.is_some() || args.rate.is_some()) {
        return Err(Usage(
            "--concurrency and --rate apply to an agent in another process (--agent-command, \
             --agent-url); built-in agents run on the cores (-j)"
                .into(),
        ));
    }
    if same_file(&args.json, &args.junit) {
        return Err(Usage(
            "--json and --junit name the same file; give each report its own".into(),
        ));
    }
    let files = CaseFiles::find(&args.paths).map_err(|e| Usage(e.to_string()))?;
    let mut meta = run_meta(files.meta(args.shard), args, sweep);
    if files.is_empty() {
        let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Usage(format!(
            "no case files (*.json) found in {}",
            paths.join(", ")
        )));
    }
    // A report written over one of the run's case files would replace that case.
    for (flag, path) in [("--json", &args.json), ("--junit", &args.junit)] {
        let Some(path) = path.as_ref().filter(|p| p.as_os_str() != "-") else {
            continue;
        };
        if let Some(case) = files.named(path) {
            return Err(Usage(format!(
                "{flag} {} is the case file {case} of this run; writing the report there \
                 would replace the case: give the report another path",
                path.display()
            )));
        }
    }
    probe_agents(args)?;
    let all = files.len();
    // The whole suite, for a shard whose part of the selection turns out empty.
    let suite = args.shard.map(|_| files.clone());
    let files = match args.shard {
        Some(shard) => files.shard(shard),
        None => files,
    };
    let (json_sink, json_pending) = open_sink(&args.json, "JSON")?;
    let (junit_sink, junit_pending) = open_sink(&args.junit, "JUnit")?;
    let mut pages = pages::Pages::open(args)?;
    if matches!(
        (&json_sink, &junit_sink),
        (Some(Sink::Stdout), Some(Sink::Stdout))
    ) {
        return Err(Usage(
            "--json and --junit cannot both write to standard output".into(),
        ));
    }
    let report_on_stdout =
        matches!(json_sink, Some(Sink::Stdout)) || matches!(junit_sink, Some(Sink::Stdout));
    let json_path = json_sink.as_ref().and_then(Sink::path);
    let junit_path = junit_sink.as_ref().and_then(Sink::path);

    // People read stdout, unless a report is written there.
    let mut out: Box<dyn Write + Send> = if report_on_stdout {
        Box::new(io::stderr())
    } else {
        Box::new(io::stdout())
    };
    let to_terminal = if report_on_stdout {
        io::stderr().is_terminal()
    } else {
        io::stdout().is_terminal()
    };
    let plain = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let style = Style {
        colour: to_terminal && !plain,
    };
    // An estimate when cases sweep their own number of seeds; saturating: `--seeds` may
    // be as large as a u64 (the bar then never fills).
    let calls_per_case = sweep.map_or(1, |s| {
        s.options
            .seeds
            .unwrap_or(sweep::DEFAULT_SEEDS)
            .saturating_mul(u64::from(s.options.repeat))
    });
    let progress = Progress::new(
        (files.len() as u64).saturating_mul(calls_per_case),
        io::stderr().is_terminal() && !plain && !args.quiet,
        if sweep.is_some() { "calls" } else { "cases" },
    );

    #[cfg(feature = "llm")]
    let run_options = {
        let mut run_options = run_options;
        let mut llm = voice_harness::llm::LlmConfig::from_env(Path::new("")).map_err(Usage)?;
        if let Some(url) = &args.llm_url {
            llm.url = Some(url.clone());
        }
        if let Some(model) = &args.llm_model {
            llm.model = model.clone();
        }
        if args.record {
            llm.mode = voice_harness::llm::LockMode::Record;
        }
        if args.offline {
            llm.mode = voice_harness::llm::LockMode::Offline;
        }
        run_options.llm = Some(llm);
        run_options
    };
    let mut options = SuiteOptions::default();
    options.filter = args.filter.clone();
    options.tags = args.tags.clone();
    options.run = run_options;
    options.jobs = args.jobs;
    options.facts = pages.wanted();
    options.page = pages.html();
    if sweep.is_some() {
        // A sweep runs its calls on threads, one call each: --concurrency calls in flight
        // are that many threads (issue 23, fault 17: it was silently ignored).
        if let Some(concurrency) = args.concurrency {
            options.jobs = Some(concurrency);
        }
    }
    // A sweep's calls start at most --rate a second, spaced evenly across its threads.
    let pacer = sweep.and(args.rate).map(Pacer::new);
    // Calls in flight share one pool of keep-alive connections (`run` only: a sweep runs
    // its calls on -j threads, each with its own). 32 by default for programs and HTTP
    // services alike (SPEC §14): an agent in another process mostly waits (on a model, a
    // network), and a program that is CPU-bound is told so with --concurrency.
    let in_flight = (external && sweep.is_none()).then(|| {
        InFlight::new(
            args.concurrency
                .map_or(DEFAULT_CONCURRENCY, NonZeroUsize::get),
        )
        .with_rate(args.rate)
    });
    let pool = in_flight.map(|_| HttpPool::new());
    let make_agent = |case: &voice_harness::Case| {
        // An agent is made for each call just before the call starts.
        if let Some(pacer) = &pacer {
            pacer.wait();
        }
        match (&argv, &args.agent_url) {
            (Some(argv), _) => RunAgent::Command(Box::new(CommandAgent::new(argv.clone()))),
            (None, Some(url)) => {
                let agent = HttpAgent::new(url.clone()).with_timeout(args.turn_timeout);
                RunAgent::Http(match &pool {
                    // A case that needs an LLM runs on a runtime of its own (see
                    // run_suite_in_flight): not with connections of the calls in flight.
                    Some(pool) if !case.uses_llm() => agent.with_pool(pool.clone()),
                    _ => agent,
                })
            }
            (None, None) => match (&args.agent_openai, &args.agent_retell) {
                (Some(url), _) => {
                    let mut agent = OpenAiAgent::new(url.clone()).with_timeout(args.turn_timeout);
                    if let Some(model) = &args.agent_model {
                        agent = agent.with_model(model.clone());
                    }
                    if let Some(prompt) = &args.agent_system_prompt {
                        agent = agent.with_system_prompt(prompt.clone());
                    }
                    for (name, value) in args.agent_headers.iter().filter_map(|h| h.split_once(':'))
                    {
                        agent = agent.with_header(name.trim(), value.trim());
                    }
                    match &pool {
                        // As for HTTP agents: a case that needs an LLM runs on a runtime of
                        // its own, not with connections of the calls in flight.
                        Some(pool) if !case.uses_llm() => agent = agent.with_pool(pool.clone()),
                        _ => {}
                    }
                    RunAgent::Protocol(Box::new(ProtocolAgent::OpenAi(agent)))
                }
                (None, Some(url)) => RunAgent::Protocol(Box::new(ProtocolAgent::Retell(
                    RetellAgent::new(url.clone()).with_timeout(args.turn_timeout),
                ))),
                (None, None) => RunAgent::Builtin(BuiltinAgent::for_case(case)),
            },
        }
    };

    let mut json = json_sink
        .map(|s| JsonReportWriter::new(writer(s)))
        .transpose()
        .map_err(|e| Usage(format!("cannot write the JSON report: {e}")))?;
    let mut junit = junit_sink.as_ref().map(|_| JunitReport::new());
    let mut write_error: Option<String> = None;

    let mut swept: Vec<CaseReport> = Vec::new();
    let wants_json = json.is_some();
    // `line`: the case's JSON line, rendered on the thread that ran it (`run` on the cores).
    let mut report = |case: CaseReport, line: Option<std::io::Result<CaseJson>>| {
        if let Some(json) = &mut json {
            let written = match line {
                Some(line) => line.and_then(|line| json.rendered(&line)),
                None => json.case(&case),
            };
            if let Err(e) = written {
                write_error.get_or_insert(format!("cannot write the JSON report: {e}"));
            }
        }
        if let Some(junit) = &mut junit {
            junit.case(&case);
        }
        if let Err(e) = pages.case(&case) {
            write_error.get_or_insert(e);
        }
    };
    // In file order, as soon as the files before are done: a line for each case that is
    // not as expected, and the reports.
    let mut print_and_report = |case: CaseReport, line| {
        if !args.quiet && (args.verbose || !case.as_expected) {
            let mut text = style.line(&case, args.verbose);
            if !case.as_expected && case.status == ReportStatus::Fail {
                text.push_str(&style.exchange(&case, args.verbose));
            }
            progress.println(&mut out, &text);
        }
        report(case, line);
    };
    let summary = match (sweep, in_flight) {
        (None, Some(in_flight)) => run_suite_in_flight(
            &files,
            &options,
            in_flight,
            make_agent,
            || progress.tick(),
            |case| print_and_report(case, None),
        ),
        (None, None) => run_suite_with(
            &files,
            &options,
            make_agent,
            |case| {
                let line = wants_json.then(|| CaseJson::of(case));
                // The lines and JUnit need none of this: freed here, on the worker; but the
                // exchange under a failing case's line needs its steps and transcript.
                let shown = !args.quiet && !case.as_expected && case.status == ReportStatus::Fail;
                if !shown {
                    drop((
                        std::mem::take(&mut case.transcript),
                        std::mem::take(&mut case.steps),
                    ));
                }
                drop(case.metrics.take());
                line
            },
            || progress.tick(),
            print_and_report,
        ),
        (Some(plan), _) => sweep_suite(
            &files,
            &options,
            &plan.options,
            plan.shrink.as_ref(),
            make_agent,
            &|| progress.tick(),
            |case| {
                if !args.quiet {
                    swept.push(case.clone());
                }
                report(case, None);
            },
        ),
    };
    progress.finish();
    // Ctrl-C or SIGTERM stopped the run: the reports hold the cases that finished, and
    // say so.
    let interrupted = processes::stopped();
    meta.interrupted = interrupted;

    if let Some(json) = json {
        let written = json
            .finish_with(&summary, &meta, pages.json_block())
            .map(drop);
        if let Err(e) = written.and_then(|()| json_pending.map_or(Ok(()), Pending::commit)) {
            write_error.get_or_insert(format!("cannot write the JSON report: {e}"));
        }
    }
    if let (Some(junit), Some(sink)) = (junit, junit_sink) {
        let written = junit.write(writer(sink));
        if let Err(e) = written.and_then(|()| junit_pending.map_or(Ok(()), Pending::commit)) {
            write_error.get_or_insert(format!("cannot write the JUnit report: {e}"));
        }
    }
    if let Some(message) = write_error {
        return Err(Usage(message));
    }
    let html_path = pages.finish(args, sweep, &summary, &meta, started.elapsed(), &mut out)?;
    // A selection that runs no case of the whole suite is an error in every shard, empty
    // ones too: else a CI matrix would pass having run nothing.
    let selecting = args.filter.is_some() || !args.tags.is_empty();
    let none_selected = |suite: &CaseFiles| selecting && !suite.any_selected(&options);
    if let (Some(shard), true) = (args.shard, files.is_empty()) {
        if suite.as_ref().is_some_and(none_selected) {
            return Err(Usage(format!(
                "no case matched the selection (--filter / --tag) among {all} case files"
            )));
        }
        // Not an error: a small suite on a wide matrix leaves some shards empty.
        let _ = writeln!(
            out,
            "shard {shard} holds none of the {all} case files: nothing to run here"
        );
        return Ok(true);
    }
    if interrupted {
        // Not "all as expected": the cases that did not finish are not known to be.
        let _ = writeln!(
            out,
            "{}; {} ({:.2} s)",
            summary.counts(),
            style.paint("interrupted", "31"),
            started.elapsed().as_secs_f64()
        );
        let _ = writeln!(
            out,
            "interrupted: the reports hold only the {} that finished",
            message_cases(summary.total)
        );
        return Ok(false);
    }
    if summary.total == 0 {
        // A shard with none of the selection is an empty shard when another shard has some
        // (review P7): the selection is judged over the whole suite.
        if let (Some(shard), Some(suite)) = (args.shard, &suite) {
            if !none_selected(suite) {
                let _ = writeln!(
                    out,
                    "shard {shard} holds none of the cases the selection (--filter / --tag) runs: nothing to run here"
                );
                return Ok(true);
            }
        }
        return Err(Usage(format!(
            "no case matched the selection (--filter / --tag) among {all} case files"
        )));
    }
    if sweep.is_some() && !args.quiet {
        // Worst first: the lowest bound, then by file.
        swept.sort_by(|a, b| {
            let bound = |r: &CaseReport| r.sweep.as_ref().map_or(-1.0, |s| s.wilson_lower);
            (a.as_expected, bound(a))
                .partial_cmp(&(b.as_expected, bound(b)))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.file.cmp(&b.file))
        });
        let _ = writeln!(out, "{}", sweep_header());
        for case in &swept {
            let _ = writeln!(out, "{}", style.sweep_line(case));
        }
    }
    let _ = writeln!(out, "{}", style.summary(&summary, started.elapsed()));
    for (what, path) in [
        ("JSON report", json_path),
        ("JUnit report", junit_path),
        ("HTML report", html_path),
    ] {
        if let (Some(path), false) = (path, args.quiet) {
            let _ = writeln!(out, "{what}: {}", path.display());
        }
    }
    Ok(summary.as_expected == summary.total)
}

/// Spaces the starts of a sweep's calls, from any thread, at least 1/rate seconds apart:
/// a call waits for the slot after the last one given out, never for a slot in the past,
/// so a stall is never followed by a burst.
struct Pacer {
    every: Duration,
    next: std::sync::Mutex<Option<Instant>>,
}

impl Pacer {
    fn new(rate: f64) -> Self {
        Self {
            every: Duration::from_secs_f64(1.0 / rate),
            next: std::sync::Mutex::new(None),
        }
    }

    /// Waits for this call's start.
    fn wait(&self) {
        let start = {
            let mut next = self
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            let start = next.map_or(now, |at| at.max(now));
            *next = Some(start + self.every);
            start
        };
        std::thread::sleep(start.saturating_duration_since(Instant::now()));
    }
}

/// The report's `run` block: what `merge` checks to tell the shards of one command.
fn run_meta(
    mut meta: voice_harness::report::ReportMeta,
    args: &RunArgs,
    sweep: Option<&SweepPlan>,
) -> voice_harness::report::ReportMeta {
    meta.mode = if sweep.is_some() { "sweep" } else { "run" }.to_owned();
    meta.seed = args.seed;
    meta.filter = args.filter.clone();
    meta.tags = args.tags.clone();
    meta.agent = match (&args.agent_command, &args.agent_url) {
        (Some(command), _) => Some(format!("command: {command}")),
        (None, Some(url)) => Some(format!("url: {url}")),
        (None, None) => protocol_agent_meta(args),
    };
    meta.sweep = sweep.map(|plan| {
        let o = &plan.options;
        serde_json::json!({
            "seeds": o.seeds,
            "from": o.from,
            "repeat": o.repeat,
            "min_pass_rate": o.min_pass_rate,
        })
    });
    meta
}

struct Style {
    colour: bool,
}

/// The sweep table's header.
fn sweep_header() -> String {
    format!(
        "{:>11} {:>6} {:>7} {:>6}  case",
        "passes", "lower", "pass^k", "flaky"
    )
}

impl Style {
    /// One row of the sweep table.
    fn sweep_line(&self, case: &CaseReport) -> String {
        let id = case
            .test_id
            .as_deref()
            .map(|id| format!(" ({id})"))
            .unwrap_or_default();
        let Some(sweep) = &case.sweep else {
            let reason = case.reason().unwrap_or("error");
            return format!(
                "{:>11} {:>6} {:>7} {:>6}  {}{id}: {}",
                "-",
                "-",
                "-",
                "-",
                case.file,
                self.paint(reason, "31")
            );
        };
        let pass_k = sweep
            .pass_hat_k
            .map_or_else(|| "-".to_owned(), |k| format!("{k:.2}"));
        let mut line = format!(
            "{:>11} {:>6.2} {:>7} {:>6}  {}{id}",
            format!("{}/{}", sweep.passes, sweep.runs),
            sweep.wilson_lower,
            pass_k,
            if sweep.flaky { "yes" } else { "no" },
            case.file
        );
        if sweep.recorded {
            line.push_str(" (recorded: not swept, run once)");
        }
        if let Some(first) = &sweep.first_failure {
            let text = format!(": first failing seed {}: {}", first.seed, first.reason);
            line.push_str(&if case.as_expected {
                text
            } else {
                self.paint(&text, "31")
            });
        }
        if let Some(shrunk) = &case.shrunk {
            line.push_str(&format!("\n{:>33}shrunk: {shrunk}", ""));
        }
        line
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// `FAIL  cases/x.json (test_id): step 2 failed: …`, or `ok    cases/x.json` with -v
    /// (which also shows every problem of a file that cannot be loaded).
    fn line(&self, case: &CaseReport, verbose: bool) -> String {
        let id = case
            .test_id
            .as_deref()
            .map(|id| format!(" ({id})"))
            .unwrap_or_default();
        match (case.as_expected, case.status) {
            (true, ReportStatus::Fail) => {
                format!(
                    "{}    {}{id} (fails, as expected)",
                    self.paint("ok", "32"),
                    case.file
                )
            }
            (true, _) => format!("{}    {}{id}", self.paint("ok", "32"), case.file),
            (false, ReportStatus::Error) => {
                let reason = match (&case.error, verbose) {
                    (Some(full), true) => full.as_str(),
                    _ => case.reason().unwrap_or_default(),
                };
                format!("{} {}{id}: {reason}", self.paint("ERROR", "31"), case.file)
            }
            (false, _) => {
                let reason = case.reason().unwrap_or_default();
                format!("{}  {}{id}: {reason}", self.paint("FAIL", "31"), case.file)
            }
        }
    }

    /// Under a failing case's line (#25): the exchange of its first unexpected failing
    /// step (what the caller said and the agent heard, what the agent said and whether a
    /// barge-in cut it, its tool calls, what was expected); with `verbose` every failed
    /// step or outcome check, each named. Each line starts with a newline.
    fn exchange(&self, case: &CaseReport, verbose: bool) -> String {
        let mut text = String::new();
        let first = case.unexpected_failures().next();
        if let Some(first) = first {
            text.push_str(&self.step_exchange(case, first, 6));
        }
        if verbose {
            let others = case
                .steps
                .iter()
                .filter(|s| !s.passed && first.is_none_or(|f| f.step_order != s.step_order));
            for step in others {
                let details = step.details.as_deref().unwrap_or("failed");
                let name = if case.is_rules() {
                    format!(
                        "outcome check {} failed ({}): {details}",
                        step.step_order, step.expected_user_input
                    )
                } else {
                    format!("step {} failed: {details}", step.step_order)
                };
                text.push_str(&format!("\n{:6}{}", "", shorten(&name, 200)));
                text.push_str(&self.step_exchange(case, step, 8));
            }
            return text;
        }
        let more = case.steps.iter().filter(|s| !s.passed).count() - usize::from(first.is_some());
        if more > 0 {
            let what = match (case.is_rules(), more) {
                (true, 1) => "failed check",
                (true, _) => "failed checks",
                (false, 1) => "failed step",
                (false, _) => "failed steps",
            };
            let them = if more == 1 { "it" } else { "them" };
            text.push_str(&format!(
                "\n{:6}{}",
                "",
                self.paint(&format!("(+{more} more {what}; -v shows {them})"), "2")
            ));
        }
        text
    }

    /// The lines of one step's exchange, indented by `indent`.
    fn step_exchange(&self, case: &CaseReport, step: &StepResult, indent: usize) -> String {
        let mut lines: Vec<(&str, String)> = Vec::new();
        if !case.is_rules() {
            let said = step
                .actual_user_input
                .as_deref()
                .unwrap_or(&step.expected_user_input);
            // Keypad tones and silence are said as such, not as a line of text.
            let event = case
                .transcript
                .iter()
                .find(|row| row.step_order == step.step_order && row.speaker == Speaker::User)
                .and_then(|row| row.event);
            lines.push((
                "caller",
                match event {
                    Some(RowEvent::Silence(ms)) => format!("(silent for {ms} ms)"),
                    Some(RowEvent::Dtmf) => format!("(keypad) {}", quoted(said)),
                    None => quoted(said),
                },
            ));
            if let Some(heard) = &step.agent_heard {
                lines.push(("heard", quoted(heard)));
            }
            let cut = case
                .transcript
                .iter()
                .find(|row| {
                    row.step_order == step.step_order
                        && row.speaker == Speaker::Agent
                        && row.cut.is_some()
                })
                .and_then(|row| row.cut.as_ref());
            // A cut reply: what the caller heard of it, which its keywords were checked
            // against, and `…` for the rest.
            let mut agent = match (cut, &step.heard) {
                (Some(_), Some(heard)) => format!("\"{}…\"", shorten(heard, MAX_SHOWN)),
                _ => step
                    .agent_response
                    .as_deref()
                    .map_or_else(|| "(no reply)".to_owned(), quoted),
            };
            match cut.map(|cut| cut.at_ms) {
                Some(Some(ms)) => {
                    agent.push_str(&format!(" (cut off by the caller after {ms} ms)"))
                }
                Some(None) => agent.push_str(" (cut off)"),
                None => {}
            }
            lines.push(("agent", agent));
        }
        if let Some(calls) = step.tool_calls.as_ref().filter(|c| !c.is_empty()) {
            let calls: Vec<String> = calls.iter().map(call_text).collect();
            lines.push(("tools", shorten(&calls.join(", "), MAX_SHOWN)));
        }
        let mut expected: Vec<String> = Vec::new();
        if case.is_rules() {
            expected.push(step.expected_user_input.clone());
        } else {
            if step.user_match == Some(false) {
                expected.push(format!(
                    "the caller to say {}",
                    quoted(&step.expected_user_input)
                ));
            }
            if !step.missing_keywords.is_empty() {
                expected.push(format!("keywords {}", step.missing_keywords.join(", ")));
            }
            if !step.forbidden_found.is_empty() {
                expected.push(format!("none of {}", step.forbidden_found.join(", ")));
            }
            if let Some(missing) = step.missing_tool_calls.as_ref().filter(|m| !m.is_empty()) {
                expected.push(format!("tool calls {}", missing.join(", ")));
            }
            if let Some(found) = step
                .forbidden_tool_calls_found
                .as_ref()
                .filter(|f| !f.is_empty())
            {
                expected.push(format!("no call to {}", found.join(", ")));
            }
        }
        if !expected.is_empty() {
            lines.push(("expected", shorten(&expected.join("; "), MAX_SHOWN)));
        }
        lines
            .into_iter()
            .map(|(label, value)| {
                let label = format!("{label}:");
                format!(
                    "\n{:indent$}{} {value}",
                    "",
                    self.paint(&format!("{label:9}"), "2")
                )
            })
            .collect()
    }

    fn summary(&self, s: &Summary, elapsed: Duration) -> String {
        let verdict = if s.as_expected == s.total {
            self.paint("all as expected", "32")
        } else {
            self.paint(
                &format!("{} not as expected", s.total - s.as_expected),
                "31",
            )
        };
        format!("{}; {verdict} ({:.2} s)", s.counts(), elapsed.as_secs_f64())
    }
}

/// The longest text shown of a line, a reply or a list under a failing case, in characters.
const MAX_SHOWN: usize = 100;

/// `text`, cut to `max` characters with a visible `…` when longer.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// `text` in quotes, shortened.
fn quoted(text: &str) -> String {
    format!("\"{}\"", shorten(text, MAX_SHOWN))
}

/// A tool call as `name(key=value, ...)`, its values as JSON.
fn call_text(call: &ToolCall) -> String {
    let arguments = match &call.arguments {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    format!("{}({arguments})", call.name)
}

/// A progress bar on a terminal, shown only once a run has taken about a second.
struct Progress {
    bar: ProgressBar,
    started: Instant,
    enabled: bool,
    shown: AtomicBool,
}

impl Progress {
    fn new(len: u64, enabled: bool, unit: &str) -> Self {
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
        let template = format!("{{bar:40}} {{pos}}/{{len}} {unit}  {{elapsed}}  eta {{eta}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        Self {
            bar,
            started: Instant::now(),
            enabled,
            shown: AtomicBool::new(false),
        }
    }

    fn tick(&self) {
        if self.enabled
            && !self.shown.load(Ordering::Relaxed)
            && self.started.elapsed() > Duration::from_secs(1)
        {
            self.shown.store(true, Ordering::Relaxed);
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar.inc(1);
    }

    fn println(&self, out: &mut dyn Write, line: &str) {
        self.bar.suspend(|| {
            let _ = writeln!(out, "{line}");
        });
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
