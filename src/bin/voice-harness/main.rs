//! `voice-harness run <PATH>...`: run case files outside `cargo test`, print a summary, and
//! write JSON (docs/runner.md) or JUnit reports. Exit 0 when every case is as expected, 1 when any
//! is not, 2 on a usage error.
//!
//! This file is `main` and the dispatch to each command; each other file has one job:
//! `args` (the command line), `run` (a run's steps), `agents` (the agent a run calls),
//! `sweep` (what `sweep` adds), `reports`, `pages` and `sinks` (the reports and where they
//! go), `output` and `progress` (every line printed to a person, and the bar), `merge`,
//! `import`, `signals` (Ctrl-C and SIGTERM).

use std::process::ExitCode;

use clap::Parser;
use voice_harness::agent::processes;

use crate::args::{Cli, Command};
use crate::signals::{INTERRUPTED, catch_interrupts};

mod agents;
mod args;
mod import;
mod merge;
mod output;
mod pages;
mod progress;
mod reports;
mod run;
mod signals;
mod sinks;
mod sweep;

/// The runner's allocator: see `mimalloc` in Cargo.toml for why.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A usage error: printed with `error:` and exit status 2.
struct Usage(String);

fn main() -> ExitCode {
    // What an agent program leaves behind outside its process group comes back to the
    // runner (Linux), to be ended with the rest when the run is over (#23.12).
    processes::become_subreaper();
    let command = Cli::parse().command;
    catch_interrupts();
    let result = match command {
        Command::Run(args) => run::run(&args, None),
        Command::Sweep(args) => args
            .plan()
            .and_then(|plan| run::run(&args.run, Some(&plan))),
        Command::Merge(args) => merge::merge(&args),
        Command::Import(args) => import::import(&args),
    };
    processes::reap_orphans();
    let code = match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(Usage(message)) => {
            output::usage_error(&message);
            ExitCode::from(2)
        }
    };
    if processes::stopped() {
        return ExitCode::from(INTERRUPTED);
    }
    code
}
