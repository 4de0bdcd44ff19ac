//! The runner, `voice-harness`: `run <PATH>...` runs case files outside `cargo test`, prints
//! a summary, and writes JSON (docs/runner.md), JUnit or HTML reports; `sweep`, `merge` and
//! `import` are its other commands. Exit 0 when every case is as expected, 1 when any is
//! not, 2 on a usage error, 130 when interrupted.
//!
//! It lives in the library (feature `cli`) and `src/bin/voice-harness/main.rs` only calls
//! [`main`]: so the agents' call code and the schedules are compiled once, in this crate,
//! not a second time for the binary (issue #25). Not part of the public API.
//!
//! This file is the dispatch to each command; each other file has one job: `args` (the
//! command line), `run` (a run's steps), `agents` (the agent a run calls), `sweep` (what
//! `sweep` adds), `reports`, `pages` and `sinks` (the reports and where they go), `output`
//! and `progress` (every line printed to a person, and the bar), `merge`, `import`,
//! `signals` (Ctrl-C and SIGTERM).

use std::process::ExitCode;

use crate::agent::processes;
use clap::Parser;

use crate::cli::args::{Cli, Command};
use crate::cli::signals::{INTERRUPTED, catch_interrupts};

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

/// A usage error: printed with `error:` and exit status 2.
struct Usage(String);

/// The runner's `main`: parses the command line, runs the command, says how it went.
pub fn main() -> ExitCode {
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
