//! `voice-harness merge`: the JSON reports of a suite's shards joined into the report of the
//! whole run (the work is the library's, `crate::report::merge`), written as a run's
//! reports are.

use std::io::{self, BufWriter};
use std::path::PathBuf;

use crate::cli::Usage;
use crate::cli::args::MergeArgs;
use crate::cli::output::{self, usage};
use crate::cli::sinks::{Pending, open_report};

/// Merges; `Ok(false)` when a case in the merged report is not as expected.
pub(crate) fn merge(args: &MergeArgs) -> Result<bool, Usage> {
    let mut reports = Vec::new();
    for path in &args.reports {
        let bytes = std::fs::read(path).map_err(|e| usage::cannot_read(path, e))?;
        reports.push((path.display().to_string(), bytes));
    }
    let merged = crate::report::merge(&reports).map_err(usage::said)?;
    // Written beside and renamed over, as a run's reports are.
    let open = |path: &PathBuf| {
        open_report(path)
            .map(|(file, pending)| (BufWriter::new(file), pending))
            .map_err(|e| usage::cannot_write(path, e))
    };
    let commit = |pending: Option<Pending>| pending.map_or(Ok(()), Pending::commit);
    match &args.json {
        Some(path) => {
            let (out, pending) = open(path)?;
            merged.write_json(out).and_then(|()| commit(pending))
        }
        None => merged.write_json(BufWriter::new(io::stdout())),
    }
    .map_err(|e| Usage(usage::cannot_write_report("merged JSON", e)))?;
    if let Some(path) = &args.junit {
        let (out, pending) = open(path)?;
        merged
            .write_junit(out)
            .and_then(|()| commit(pending))
            .map_err(|e| Usage(usage::cannot_write_report("merged JUnit", e)))?;
    }
    let s = &merged.summary;
    output::merged(args.reports.len(), s);
    Ok(s.as_expected == s.total)
}
