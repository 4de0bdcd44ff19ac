//! `--html FILE` and `--coverage` (docs/report.md): the page and the coverage, fed each case
//! as it is reported, written when the run is over.

use std::path::PathBuf;
use std::time::Duration;

use crate::report::{CaseReport, Coverage, HtmlReport, PageInfo, ReportMeta, Summary};

use crate::cli::Usage;
use crate::cli::args::RunArgs;
use crate::cli::output::{Output, usage};
use crate::cli::sinks::{Pending, Sink, open_sink, same_file, writer};
use crate::cli::sweep::SweepPlan;

/// The HTML page and the coverage of a run, when asked for.
pub(crate) struct Pages {
    html: Option<(HtmlReport, Sink, Option<Pending>)>,
    coverage: Option<Coverage>,
    /// `--coverage`: the JSON block and the summary lines.
    shown: bool,
}

impl Pages {
    /// Opens `--html`'s file (a usage error, before any call, when it cannot be written).
    pub(crate) fn open(args: &RunArgs) -> Result<Self, Usage> {
        let html = match &args.html {
            Some(path) if path.as_os_str() == "-" => {
                return Err(usage::html_on_stdout());
            }
            // The same file however it is named (`r.json`, `./r.json`).
            Some(path)
                if same_file(&args.html, &args.json) || same_file(&args.html, &args.junit) =>
            {
                return Err(usage::html_same_file(path));
            }
            html => open_sink(html, "HTML")?,
        };
        let html = match html {
            (Some(sink), pending) => Some((
                HtmlReport::new().map_err(|e| Usage(usage::cannot_write_report("HTML", e)))?,
                sink,
                pending,
            )),
            (None, _) => None,
        };
        Ok(Self {
            coverage: (html.is_some() || args.coverage).then(Coverage::new),
            html,
            shown: args.coverage,
        })
    }

    /// Cases need their facts (tags, expectations, what the call used).
    pub(crate) fn wanted(&self) -> bool {
        self.coverage.is_some()
    }

    /// The page is written: cases render their part of it where they run.
    pub(crate) fn html(&self) -> bool {
        self.html.is_some()
    }

    /// Adds a case, in file order.
    pub(crate) fn case(&mut self, case: &CaseReport) -> Result<(), String> {
        if let Some(coverage) = &mut self.coverage {
            coverage.add(case);
        }
        if let Some((html, _, _)) = &mut self.html {
            html.case(case)
                .map_err(|e| usage::cannot_write_report("HTML", e))?;
        }
        Ok(())
    }

    /// The `coverage` block of the JSON report (`--coverage`).
    pub(crate) fn json_block(&self) -> Option<&Coverage> {
        self.coverage.as_ref().filter(|_| self.shown)
    }

    /// Writes the page and prints the coverage summary (`--coverage`); returns the page's
    /// path.
    pub(crate) fn finish(
        self,
        args: &RunArgs,
        sweep: Option<&SweepPlan>,
        summary: &Summary,
        meta: &ReportMeta,
        duration: Duration,
        out: &mut Output,
    ) -> Result<Option<PathBuf>, Usage> {
        let coverage = self.coverage.unwrap_or_default();
        // Asked for by name: printed with -q too.
        if self.shown {
            out.coverage(&coverage.summary());
        }
        let Some((html, sink, pending)) = self.html else {
            return Ok(None);
        };
        let path: Option<PathBuf> = sink.path();
        let agent = match (&args.agent_command, &args.agent_url) {
            (Some(command), _) => format!("program: {command}"),
            (None, Some(url)) => format!("HTTP service: {url}"),
            // An OpenAI-compatible or Retell server was called "built-in" here.
            (None, None) => crate::cli::agents::protocol_agent_meta(args)
                .unwrap_or_else(|| "built-in (replay, or the ideal agent)".to_owned()),
        };
        let swept = sweep.map(|plan| {
            let o = &plan.options;
            format!(
                "{} seeds from {}, {} run(s) each",
                o.seeds
                    .map_or_else(|| "each case's own number of".to_owned(), |n| n.to_string()),
                o.from
                    .map_or_else(|| "each case's own".to_owned(), |s| s.to_string()),
                o.repeat
            )
        });
        let info = PageInfo::new(agent, duration)
            .with_seed(args.seed)
            .with_sweep(swept);
        html.finish(writer(sink), summary, meta, &coverage, &info)
            .and_then(|()| pending.map_or(Ok(()), Pending::commit))
            .map_err(|e| Usage(usage::cannot_write_report("HTML", e)))?;
        Ok(path)
    }
}
