//! The reports a run writes: JSON and JUnit here, the HTML page and the coverage in
//! `pages.rs`. Opened before any call (a report that cannot be written is a usage error
//! before anything runs), fed each case in file order, finished when the run is over; and
//! the report's `run` block, which says what run it was.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Instant;

use crate::report::{CaseJson, CaseReport, JsonReportWriter, JunitReport, ReportMeta, Summary};

use crate::cli::Usage;
use crate::cli::agents::protocol_agent_meta;
use crate::cli::args::RunArgs;
use crate::cli::output::{Output, usage};
use crate::cli::pages::Pages;
use crate::cli::sinks::{Pending, Sink, open_sink, writer};
use crate::cli::sweep::SweepPlan;

/// The reports of a run, and the first that could not be written.
pub(crate) struct Reports {
    /// `--json`'s destination, until the report starts ([`Reports::start`]).
    json_sink: Option<Sink>,
    json: Option<JsonReportWriter<Box<dyn Write + Send>>>,
    json_pending: Option<Pending>,
    junit_sink: Option<Sink>,
    junit: Option<JunitReport>,
    junit_pending: Option<Pending>,
    pages: Pages,
    /// A report goes to standard output.
    on_stdout: bool,
    written: Written,
    /// The run ends with it as a usage error.
    write_error: Option<String>,
}

/// The report files a run wrote, to be named at its end.
#[derive(Default)]
pub(crate) struct Written {
    /// `--json`'s file (not standard output).
    pub(crate) json: Option<PathBuf>,
    /// `--junit`'s file (not standard output).
    pub(crate) junit: Option<PathBuf>,
    /// `--html`'s file.
    pub(crate) html: Option<PathBuf>,
}

impl Reports {
    /// Opens every report's file, before any call.
    pub(crate) fn open(args: &RunArgs) -> Result<Self, Usage> {
        let (json_sink, json_pending) = open_sink(&args.json, "JSON")?;
        let (junit_sink, junit_pending) = open_sink(&args.junit, "JUnit")?;
        let pages = Pages::open(args)?;
        if matches!(
            (&json_sink, &junit_sink),
            (Some(Sink::Stdout), Some(Sink::Stdout))
        ) {
            return Err(usage::both_on_stdout());
        }
        let on_stdout =
            matches!(json_sink, Some(Sink::Stdout)) || matches!(junit_sink, Some(Sink::Stdout));
        let written = Written {
            json: json_sink.as_ref().and_then(Sink::path),
            junit: junit_sink.as_ref().and_then(Sink::path),
            html: None,
        };
        Ok(Self {
            json_sink,
            json: None,
            json_pending,
            junit: junit_sink.as_ref().map(|_| JunitReport::new()),
            junit_sink,
            junit_pending,
            pages,
            on_stdout,
            written,
            write_error: None,
        })
    }

    /// A report is written to standard output (so people's lines go to stderr).
    pub(crate) fn on_stdout(&self) -> bool {
        self.on_stdout
    }

    /// The HTML page and the coverage.
    pub(crate) fn pages(&self) -> &Pages {
        &self.pages
    }

    /// Starts the JSON report (its first bytes), once nothing but a call can fail.
    pub(crate) fn start(&mut self) -> Result<(), Usage> {
        self.json = self
            .json_sink
            .take()
            .map(|s| JsonReportWriter::new(writer(s)))
            .transpose()
            .map_err(|e| Usage(usage::cannot_write_report("JSON", e)))?;
        Ok(())
    }

    /// The JSON report is written: cases render their line where they run.
    pub(crate) fn wants_json(&self) -> bool {
        self.json.is_some()
    }

    /// Adds a case to every report, in file order. `line`: the case's JSON line, rendered
    /// on the thread that ran it (`run` on the cores).
    pub(crate) fn case(&mut self, case: CaseReport, line: Option<io::Result<CaseJson>>) {
        if let Some(json) = &mut self.json {
            let written = match line {
                Some(line) => line.and_then(|line| json.rendered(&line)),
                None => json.case(&case),
            };
            if let Err(e) = written {
                self.write_error
                    .get_or_insert(usage::cannot_write_report("JSON", e));
            }
        }
        if let Some(junit) = &mut self.junit {
            junit.case(&case);
        }
        if let Err(e) = self.pages.case(&case) {
            self.write_error.get_or_insert(e);
        }
    }

    /// Ends every report and puts each file in place of the old one; the first that could
    /// not be written is a usage error. Returns the files written.
    pub(crate) fn finish(
        mut self,
        args: &RunArgs,
        sweep: Option<&SweepPlan>,
        summary: &Summary,
        meta: &ReportMeta,
        started: Instant,
        out: &mut Output,
    ) -> Result<Written, Usage> {
        if let Some(json) = self.json {
            let written = json
                .finish_with(summary, meta, self.pages.json_block())
                .map(drop);
            if let Err(e) = written.and_then(|()| self.json_pending.map_or(Ok(()), Pending::commit))
            {
                self.write_error
                    .get_or_insert(usage::cannot_write_report("JSON", e));
            }
        }
        if let (Some(junit), Some(sink)) = (self.junit, self.junit_sink) {
            let written = junit.write(writer(sink));
            if let Err(e) =
                written.and_then(|()| self.junit_pending.map_or(Ok(()), Pending::commit))
            {
                self.write_error
                    .get_or_insert(usage::cannot_write_report("JUnit", e));
            }
        }
        if let Some(message) = self.write_error {
            return Err(Usage(message));
        }
        self.written.html =
            self.pages
                .finish(args, sweep, summary, meta, started.elapsed(), out)?;
        Ok(self.written)
    }
}

/// The report's `run` block: what `merge` checks to tell the shards of one command.
pub(crate) fn run_meta(
    mut meta: ReportMeta,
    args: &RunArgs,
    sweep: Option<&SweepPlan>,
) -> ReportMeta {
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
