//! Every line the runner prints for a person to read, built here: which lines a run prints
//! and where (this file: a case's line, the sweep table, the summary, what was written, and
//! the notes of `merge`, `import`, an interrupt and a usage error), how a case's line and
//! the exchange under it look (`style.rs`), and the usage errors (`usage.rs`). Reports are
//! not printed lines (`reports.rs`); the progress bar is `progress.rs`.

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use crate::Shard;
use crate::report::{CaseReport, ReportStatus, Summary};

use crate::cli::progress::Progress;

use self::style::{Style, sweep_header};

mod style;
pub(crate) mod usage;

/// Where a run's lines go, and how they look.
pub(crate) struct Output {
    out: Box<dyn Write + Send>,
    style: Style,
    /// `NO_COLOR`: no colour, and no progress bar.
    plain: bool,
    /// `-q`: only the summary line (and what was asked for by name).
    quiet: bool,
    /// `-v`: a line for every case, and every failed step under a failing one.
    verbose: bool,
    /// A sweep's cases, for its table (none with `-q`).
    swept: Vec<CaseReport>,
}

impl Output {
    /// People read stdout, unless a report is written there (then stderr).
    pub(crate) fn new(report_on_stdout: bool, quiet: bool, verbose: bool) -> Self {
        let out: Box<dyn Write + Send> = if report_on_stdout {
            Box::new(io::stderr())
        } else {
            Box::new(io::stdout())
        };
        let to_terminal = if report_on_stdout {
            io::stderr().is_terminal()
        } else {
            io::stdout().is_terminal()
        };
        let plain = crate::config::no_color();
        Self {
            out,
            style: Style {
                colour: to_terminal && !plain,
            },
            plain,
            quiet,
            verbose,
            swept: Vec::new(),
        }
    }

    /// The progress bar of `len` steps: cases, or a sweep's calls.
    pub(crate) fn progress(&self, len: u64, sweep: bool) -> Progress {
        Progress::new(
            len,
            io::stderr().is_terminal() && !self.plain && !self.quiet,
            if sweep { "calls" } else { "cases" },
        )
    }

    /// A case of a run as it is reported, in file order: a line when it is not as expected
    /// (every case with `-v`), and the exchange under one that fails.
    pub(crate) fn case(&mut self, progress: &Progress, case: &CaseReport) {
        if !self.quiet && (self.verbose || !case.as_expected) {
            let mut text = self.style.line(case, self.verbose);
            if fails_unexpectedly(case) {
                text.push_str(&self.style.exchange(case, self.verbose));
            }
            progress.println(&mut self.out, &text);
        }
    }

    /// A case of a sweep, kept for the table printed at the end.
    pub(crate) fn swept(&mut self, case: &CaseReport) {
        if !self.quiet {
            self.swept.push(case.clone());
        }
    }

    /// The sweep table, worst first (nothing with `-q`).
    pub(crate) fn sweep_table(&mut self) {
        if self.quiet {
            return;
        }
        // Worst first: the lowest bound, then by file.
        self.swept.sort_by(|a, b| {
            let bound = |r: &CaseReport| r.sweep.as_ref().map_or(-1.0, |s| s.wilson_lower);
            (a.as_expected, bound(a))
                .partial_cmp(&(b.as_expected, bound(b)))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.file.cmp(&b.file))
        });
        let _ = writeln!(self.out, "{}", sweep_header());
        for case in &self.swept {
            let _ = writeln!(self.out, "{}", self.style.sweep_line(case));
        }
    }

    /// `--coverage`'s summary (printed with `-q` too: asked for by name).
    pub(crate) fn coverage(&mut self, summary: &str) {
        let _ = writeln!(self.out, "{summary}");
    }

    /// A shard of a suite that holds none of its case files.
    pub(crate) fn empty_shard(&mut self, shard: Shard, all: usize) {
        let _ = writeln!(
            self.out,
            "shard {shard} holds none of the {all} case files: nothing to run here"
        );
    }

    /// A shard that holds none of the cases the selection runs (other shards do).
    pub(crate) fn unselected_shard(&mut self, shard: Shard) {
        let _ = writeln!(
            self.out,
            "shard {shard} holds none of the cases the selection (--filter / --tag) runs: nothing to run here"
        );
    }

    /// The summary of a run Ctrl-C or SIGTERM stopped.
    pub(crate) fn interrupted(&mut self, summary: &Summary, elapsed: Duration) {
        // Not "all as expected": the cases that did not finish are not known to be.
        let _ = writeln!(
            self.out,
            "{}; {} ({:.2} s)",
            summary.counts(),
            self.style.paint("interrupted", "31"),
            elapsed.as_secs_f64()
        );
        let _ = writeln!(
            self.out,
            "interrupted: the reports hold only the {} that finished",
            count(summary.total, "case")
        );
    }

    /// The summary line.
    pub(crate) fn summary(&mut self, summary: &Summary, elapsed: Duration) {
        let _ = writeln!(self.out, "{}", self.style.summary(summary, elapsed));
    }

    /// Where the reports were written (files only; nothing with `-q`).
    pub(crate) fn written(
        &mut self,
        json: Option<&Path>,
        junit: Option<&Path>,
        html: Option<&Path>,
    ) {
        for (what, path) in [
            ("JSON report", json),
            ("JUnit report", junit),
            ("HTML report", html),
        ] {
            if let (Some(path), false) = (path, self.quiet) {
                let _ = writeln!(self.out, "{what}: {}", path.display());
            }
        }
    }
}

/// The case fails where it should pass: its line shows the exchange.
fn fails_unexpectedly(case: &CaseReport) -> bool {
    !case.as_expected && case.status == ReportStatus::Fail
}

/// A run's case whose line shows its exchange, which needs its steps and transcript.
pub(crate) fn shows_exchange(quiet: bool, case: &CaseReport) -> bool {
    !quiet && fails_unexpectedly(case)
}

/// A usage error, on stderr.
pub(crate) fn usage_error(message: &str) {
    eprintln!("error: {message}");
}

/// The first Ctrl-C or SIGTERM, on stderr.
pub(crate) fn interrupting() {
    eprintln!(
        "interrupted: stopping the agents and writing the reports of the cases \
         that finished (interrupt again to quit at once)"
    );
}

/// `merge`'s note of what it joined, on stderr.
pub(crate) fn merged(reports: usize, summary: &Summary) {
    eprintln!("merged {reports} reports: {}", summary.counts());
}

/// An `import` warning (a row skipped), on stderr.
pub(crate) fn import_warning(warning: &dyn std::fmt::Display) {
    eprintln!("{warning}");
}

/// A case file `import` wrote, on stdout.
pub(crate) fn imported_case(path: &Path, turns: usize, tool_calls: usize, source: &str) {
    println!(
        "wrote {} ({}, {}) from {source}",
        path.display(),
        count(turns, "turn"),
        count(tool_calls, "tool call"),
    );
}

/// `import`'s last line, on stderr.
pub(crate) fn imported(calls: usize, out: &Path) {
    eprintln!("imported {} into {}", count(calls, "call"), out.display());
}

/// `1 case`, `3 turns`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
