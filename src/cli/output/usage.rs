//! The runner's usage errors (printed after `error:`, exit status 2) and the sentences of
//! its value parsers (clap prints them after the flag): one function per problem, so each
//! is worded once. Most are said before any call, where a problem would fail every case.

use std::fmt::Display;
use std::path::Path;

use crate::cli::Usage;

/// A problem the library already words (a limit in the environment, a case folder, a
/// shard's report): said as it is.
pub(crate) fn said(problem: impl Display) -> Usage {
    Usage(problem.to_string())
}

// The command line's values.

/// `--seeds`.
pub(crate) fn not_seeds(text: &str) -> String {
    format!("expected a whole number of at least 1 (seeds per case), found {text:?}")
}

/// `--repeat` above `max`.
pub(crate) fn too_many_repeats(text: &str, max: u32) -> String {
    format!("expected a whole number from 1 to {max} (runs per seed), found {text:?}")
}

/// `--repeat` that is not a whole number of at least 1.
pub(crate) fn not_repeats(text: &str) -> String {
    format!("expected a whole number of at least 1 (runs per seed), found {text:?}")
}

/// `--min-pass-rate`.
pub(crate) fn not_rate(text: &str) -> String {
    format!("expected a pass rate from 0.0 to 1.0, found {text:?}")
}

/// `--seed`, `--from`.
pub(crate) fn not_seed(text: &str) -> String {
    format!(
        "expected a whole number from 0 to {} (a seed), found {text:?}",
        u64::MAX
    )
}

/// `-j`, `--concurrency`.
pub(crate) fn not_jobs(text: &str) -> String {
    format!("expected a whole number of at least 1 (calls at a time), found {text:?}")
}

/// `--rate`.
pub(crate) fn not_per_second(text: &str) -> String {
    format!("expected calls per second above 0, such as 5 or 0.5, found {text:?}")
}

/// `--turn-timeout`.
pub(crate) fn not_seconds(text: &str) -> String {
    format!("expected a number of seconds above 0 (at most 86400), found {text:?}")
}

// The agent.

/// `--concurrency` or `--rate` with a built-in agent.
pub(crate) fn concurrency_without_agent() -> Usage {
    Usage(
        "--concurrency and --rate apply to an agent in another process (--agent-command, \
         --agent-url); built-in agents run on the cores (-j)"
            .into(),
    )
}

/// `--agent-url https://…`.
pub(crate) fn https_agent_url(url: &str) -> Usage {
    Usage(format!(
        "--agent-url {url}: https is not supported; the runner speaks plain http, \
         which is what an agent on this machine (loopback) needs, and it carries no \
         TLS stack. Use http://127.0.0.1:PORT/, or put a plain-http proxy in front"
    ))
}

/// `--agent-url` without `http://`.
pub(crate) fn not_http_agent_url(url: &str) -> Usage {
    Usage(format!(
        "--agent-url {url:?}: expected a URL starting with http://, e.g. \
         http://127.0.0.1:8080/agent"
    ))
}

/// `--agent-url` that does not parse as a URL with a host.
pub(crate) fn bad_agent_url(url: &str, why: &str) -> Usage {
    Usage(format!(
        "--agent-url {url:?}: not a URL ({why}); expected e.g. \
         http://127.0.0.1:8080/agent or http://[::1]:8080/agent"
    ))
}

/// `--agent-command` that is no program and arguments.
pub(crate) fn unsplittable_command(command: &str) -> Usage {
    Usage(format!(
        "--agent-command: cannot split {command:?} into a program and its arguments"
    ))
}

/// `--agent-command`'s program is nowhere.
pub(crate) fn no_program(program: &str) -> Usage {
    Usage(format!(
        "--agent-command: no program `{program}` (not a file, and not found on PATH)"
    ))
}

/// `--agent-openai` without `http://`.
pub(crate) fn bad_openai_url(url: &str) -> Usage {
    Usage(format!(
        "--agent-openai {url:?}: expected a base URL starting with http:// (no TLS: an \
         agent under test runs on this machine), e.g. http://127.0.0.1:8000/v1"
    ))
}

/// `--agent-retell` without `ws://`.
pub(crate) fn bad_retell_url(url: &str) -> Usage {
    Usage(format!(
        "--agent-retell {url:?}: expected a WebSocket URL starting with ws:// (no TLS: \
         an agent under test runs on this machine), e.g. ws://127.0.0.1:8080/llm-websocket"
    ))
}

/// The `number`th `--agent-header` (from 1) is not a header; its value is not repeated
/// (it is usually a key).
pub(crate) fn bad_header(number: usize) -> Usage {
    Usage(format!(
        "--agent-header number {number}: expected \"Name: value\" with a valid HTTP header \
         name and value (the value is not shown here)"
    ))
}

/// The agent at `flag`'s `url` refuses connections on `target`.
pub(crate) fn nobody_listens(flag: &str, url: &str, target: &str) -> Usage {
    Usage(format!(
        "{flag} {url}: nothing listens on {target}: start the agent first, or check \
         the port"
    ))
}

// The case files and the selection.

/// No case file under the paths given.
pub(crate) fn no_case_files(paths: &[String]) -> Usage {
    Usage(format!(
        "no case files (*.json) found in {}",
        paths.join(", ")
    ))
}

/// `--filter` / `--tag` select none of the suite's `all` case files.
pub(crate) fn none_selected(all: usize) -> Usage {
    Usage(format!(
        "no case matched the selection (--filter / --tag) among {all} case files"
    ))
}

// The reports.

/// `--json` and `--junit` name one file.
pub(crate) fn same_report_file() -> Usage {
    Usage("--json and --junit name the same file; give each report its own".into())
}

/// `--json -` and `--junit -`.
pub(crate) fn both_on_stdout() -> Usage {
    Usage("--json and --junit cannot both write to standard output".into())
}

/// A report `flag` would be written over the run's case file `case`.
pub(crate) fn report_over_case(flag: &str, path: &Path, case: &str) -> Usage {
    Usage(format!(
        "{flag} {} is the case file {case} of this run; writing the report there \
         would replace the case: give the report another path",
        path.display()
    ))
}

/// `--html -`.
pub(crate) fn html_on_stdout() -> Usage {
    Usage("--html needs a file: the page is a file to open in a browser".into())
}

/// `--html` names the file of `--json` or `--junit`.
pub(crate) fn html_same_file(path: &Path) -> Usage {
    Usage(format!(
        "--html {} names the file of another report; give each report its own",
        path.display()
    ))
}

/// The `what` report's file cannot be opened, before any call.
pub(crate) fn cannot_open_report(what: &str, path: &Path, e: impl Display) -> Usage {
    Usage(format!(
        "could not write the {what} report to {}: {e}",
        path.display()
    ))
}

/// Writing the `what` report (`JSON`, `JUnit`, `HTML`) failed.
pub(crate) fn cannot_write_report(what: &str, e: impl Display) -> String {
    format!("could not write the {what} report: {e}")
}

// `merge`.

/// A shard's report cannot be read.
pub(crate) fn cannot_read(path: &Path, e: impl Display) -> Usage {
    Usage(format!("could not read {}: {e}", path.display()))
}

/// A merged report's file cannot be opened.
pub(crate) fn cannot_write(path: &Path, e: impl Display) -> Usage {
    Usage(format!("could not write {}: {e}", path.display()))
}

// `sweep`.

/// `--seed` and `--from` name different first seeds.
pub(crate) fn seed_and_from(seed: u64, from: u64) -> Usage {
    Usage(format!(
        "--seed {seed} and --from {from} both name the first seed of each sweep; give one"
    ))
}

/// `--from` + `--seeds` pass the largest seed.
pub(crate) fn seeds_overflow(from: u64, seeds: u64) -> Usage {
    Usage(format!(
        "--from {from} --seeds {seeds}: the seeds would pass {} (the largest seed)",
        u64::MAX
    ))
}

/// `--min-pass-rate` no sweep of `--seeds` (when given) can meet, and `why`.
pub(crate) fn unreachable_rate(seeds: Option<u64>, rate: f64, why: &str) -> Usage {
    let seeds = seeds.map(|n| format!("--seeds {n} ")).unwrap_or_default();
    Usage(format!("{seeds}--min-pass-rate {rate}: {why}"))
}

/// `--shrink DIR` cannot be written.
pub(crate) fn shrink_unwritable(dir: &Path, e: impl Display) -> Usage {
    Usage(format!(
        "--shrink {}: could not write there: {e}",
        dir.display()
    ))
}

// `import`.

/// `--from` names no platform.
pub(crate) fn not_platform(from: &str) -> Usage {
    Usage(format!("--from {from}: not a platform"))
}

/// Every error of an import (each after `error:`), which wrote nothing to `out`.
pub(crate) fn import_failed(errors: &[String], out: &Path) -> Usage {
    Usage(format!(
        "{}\nnothing was written to {}",
        errors.join("\nerror: "),
        out.display()
    ))
}
