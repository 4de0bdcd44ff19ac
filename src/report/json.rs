//! The JSON report (docs/runner.md): each case's line rendered ahead ([`CaseJson`]) and the
//! writer that streams the report as cases arrive ([`JsonReportWriter`]).

use std::io::{self, Write};

use super::{CaseReport, Coverage, ReportMeta, Summary, line};

/// One case's line of the JSON report, rendered ahead of writing it (on the thread that ran
/// the case, with [`run_suite_with`](super::run_suite_with)): the same bytes [`JsonReportWriter::case`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseJson(Vec<u8>);

impl CaseJson {
    /// Renders `case` as it is now.
    pub fn of(case: &CaseReport) -> io::Result<Self> {
        // A realistic case's line is about 10 KB: start there rather than grow to it.
        let mut line = Vec::with_capacity(16 * 1024);
        line::write_case(&mut line, case)?;
        Ok(Self(line))
    }
}

/// Writes the JSON report of docs/runner.md as cases arrive: `{"cases": [...], "summary": {...}}`,
/// one case per line. The bytes depend only on the cases, never on timing or threads.
#[derive(Debug)]
pub struct JsonReportWriter<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> JsonReportWriter<W> {
    /// Starts the report.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(b"{\"cases\": [")?;
        Ok(Self { out, first: true })
    }

    /// Appends one case.
    pub fn case(&mut self, case: &CaseReport) -> io::Result<()> {
        self.rendered(&CaseJson::of(case)?)
    }

    /// Appends one case rendered ahead with [`CaseJson::of`] (see [`run_suite_with`](super::run_suite_with)).
    pub fn rendered(&mut self, case: &CaseJson) -> io::Result<()> {
        self.raw_case(&case.0)
    }

    /// Appends one case already written as JSON on one line (from another report).
    pub(crate) fn raw_case(&mut self, line: &[u8]) -> io::Result<()> {
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        self.out.write_all(line)
    }

    /// Ends the report with its summary and what run it was, and flushes it; returns the
    /// writer.
    pub fn finish(self, summary: &Summary, meta: &ReportMeta) -> io::Result<W> {
        self.finish_with(summary, meta, None)
    }

    /// Like [`JsonReportWriter::finish`], with the suite's `coverage` block after `run`
    /// when there is one (`--coverage`; docs/report.md).
    pub fn finish_with(
        mut self,
        summary: &Summary,
        meta: &ReportMeta,
        coverage: Option<&Coverage>,
    ) -> io::Result<W> {
        self.out.write_all(b"\n],\n\"summary\": ")?;
        serde_json::to_writer(&mut self.out, summary).map_err(io::Error::other)?;
        self.out.write_all(b",\n\"run\": ")?;
        serde_json::to_writer(&mut self.out, meta).map_err(io::Error::other)?;
        if let Some(coverage) = coverage {
            self.out.write_all(b",\n\"coverage\": ")?;
            serde_json::to_writer(&mut self.out, coverage).map_err(io::Error::other)?;
        }
        self.out.write_all(b"}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}
