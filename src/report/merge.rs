//! `voice-harness merge`: the JSON reports of a suite's shards joined into the report a
//! single run would have written, byte for byte.

use std::fmt;
use std::io::Write;

use serde::Deserialize;

use super::junit::JunitCase;
use super::{Coverage, JsonReportWriter, JunitReport, ReportMeta, ReportStatus, Summary};
use crate::message;
use crate::prepare::Shard;

/// Why reports cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeError(String);

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MergeError {}

/// Shard reports joined into one.
#[derive(Debug)]
pub struct Merged {
    /// The cases, in file order, as the JSON lines the shards wrote.
    lines: Vec<(String, String)>,
    cases: Vec<JunitCase>,
    /// The totals, added up again.
    pub summary: Summary,
    /// The run: the whole suite, no shard.
    pub meta: ReportMeta,
    /// The shards' coverage added up, when they were written with `--coverage`.
    pub coverage: Option<Coverage>,
}

#[derive(Deserialize)]
struct ReportFile {
    cases: Vec<CaseFields>,
    #[allow(dead_code)]
    summary: serde_json::Value,
    run: ReportMeta,
    #[serde(default)]
    coverage: Option<Coverage>,
}

#[derive(Deserialize)]
struct CaseFields {
    file: String,
    test_id: Option<String>,
    status: ReportStatus,
    as_expected: bool,
    error: Option<String>,
    #[serde(default)]
    failures: Vec<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// Merges `reports` (name, bytes): the shards 1/N … N/N of one run of one suite, by one
/// version of voice-harness. Cases keep the bytes their shard wrote and are put back in
/// file order; the summary is added up again.
pub fn merge(reports: &[(String, Vec<u8>)]) -> Result<Merged, MergeError> {
    let fail = |text: String| Err(MergeError(text));
    if reports.is_empty() {
        return fail(message::MERGE_NOTHING.into());
    }
    let mut lines = Vec::new();
    let mut cases = Vec::new();
    let mut first: Option<(&str, ReportMeta)> = None;
    let mut shards: Vec<(u64, &str)> = Vec::new();
    let mut of: Option<u64> = None;
    // The coverage so far, and the first report with (or without) it.
    let mut coverage: Option<(Option<Coverage>, &str)> = None;
    for (name, bytes) in reports {
        let parsed: ReportFile = serde_json::from_slice(bytes)
            .map_err(|e| MergeError(message::merge_not_a_report(name, &e)))?;
        let text =
            std::str::from_utf8(bytes).map_err(|_| MergeError(message::merge_not_utf8(name)))?;
        let raw: Vec<&str> = case_lines(text);
        // Each line is copied as it is: it must be its case, whole (found by fuzzing: lines
        // that split cases differently from the JSON made a broken merged report).
        let laid_out = raw.len() == parsed.cases.len()
            && raw.iter().zip(&parsed.cases).all(|(line, case)| {
                serde_json::from_str::<CaseFields>(line).is_ok_and(|c| c.file == case.file)
            });
        if !laid_out {
            return fail(message::merge_not_laid_out(name));
        }
        if parsed.run.interrupted {
            return fail(message::merge_interrupted(name));
        }
        match &first {
            None => first = Some((name, parsed.run.clone())),
            Some((first_name, meta)) => {
                if meta.version != parsed.run.version {
                    return fail(message::merge_versions(
                        first_name,
                        &meta.version,
                        name,
                        &parsed.run.version,
                    ));
                }
                if meta.suite != parsed.run.suite || meta.files != parsed.run.files {
                    return fail(message::merge_suites(
                        first_name,
                        name,
                        meta.files,
                        parsed.run.files,
                    ));
                }
                if let Some((field, a, b)) = differing_run(meta, &parsed.run) {
                    return fail(message::merge_runs(first_name, name, field, &a, &b));
                }
            }
        }
        let shard = match parsed.run.shard.as_deref() {
            Some(text) => {
                Shard::parse(text).map_err(|_| MergeError(message::merge_bad_shard(name, text)))?
            }
            None if reports.len() == 1 => Shard { k: 1, n: 1 },
            None => {
                return fail(message::merge_whole_run(name));
            }
        };
        let n = *of.get_or_insert(shard.n);
        if shard.n != n {
            return fail(message::merge_shard_of(name, &shard, n));
        }
        if let Some((_, other)) = shards.iter().find(|(k, _)| *k == shard.k) {
            return fail(message::merge_shard_twice(&shard, other, name));
        }
        shards.push((shard.k, name));
        match (&mut coverage, parsed.coverage) {
            (None, shard) => coverage = Some((shard, name)),
            (Some((Some(sum), _)), Some(shard)) => sum.absorb(shard),
            (Some((None, _)), None) => {}
            (Some((sum, first)), shard) => {
                let (with, without) = if sum.is_some() {
                    (*first, name.as_str())
                } else {
                    (name.as_str(), *first)
                };
                drop(shard);
                return fail(message::merge_coverage(with, without));
            }
        }
        for (case, line) in parsed.cases.into_iter().zip(raw) {
            lines.push((case.file.clone(), line.to_owned()));
            cases.push(JunitCase {
                file: case.file,
                test_id: case.test_id,
                status: case.status,
                as_expected: case.as_expected,
                error: case.error,
                failures: case.failures,
                reason: case.reason,
            });
        }
    }
    let (_, mut meta) = first.expect("at least one report");
    let n = of.unwrap_or(1);
    if let Some(missing) = (1..=n).find(|k| !shards.iter().any(|(have, _)| have == k)) {
        return fail(message::merge_shard_missing(missing, n));
    }
    meta.shard = None;
    // Shards hold disjoint files; the same file twice means reports of different runs.
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by(|&a, &b| lines[a].0.cmp(&lines[b].0));
    if let Some(w) = order.windows(2).find(|w| lines[w[0]].0 == lines[w[1]].0) {
        return fail(message::merge_overlap(&lines[w[0]].0));
    }
    let lines: Vec<(String, String)> = order.iter().map(|&i| lines[i].clone()).collect();
    let mut sorted_cases: Vec<Option<JunitCase>> = cases.into_iter().map(Some).collect();
    let cases: Vec<JunitCase> = order
        .iter()
        .filter_map(|&i| sorted_cases[i].take())
        .collect();
    let mut summary = Summary::default();
    for case in &cases {
        summary.total += 1;
        match case.status {
            ReportStatus::Pass => summary.passed += 1,
            ReportStatus::Fail => summary.failed += 1,
            ReportStatus::Error => summary.errors += 1,
        }
        summary.as_expected += usize::from(case.as_expected);
    }
    Ok(Merged {
        lines,
        cases,
        summary,
        meta,
        coverage: coverage.and_then(|(sum, _)| sum),
    })
}

/// The first field of the `run` blocks by which two shards are not of one command (mode,
/// seed, selection, agent, sweep settings), with both values as JSON.
fn differing_run(a: &ReportMeta, b: &ReportMeta) -> Option<(&'static str, String, String)> {
    fn json<T: serde::Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap_or_default()
    }
    [
        ("mode", json(&a.mode), json(&b.mode)),
        ("seed", json(&a.seed), json(&b.seed)),
        ("filter", json(&a.filter), json(&b.filter)),
        ("tags", json(&a.tags), json(&b.tags)),
        ("agent", json(&a.agent), json(&b.agent)),
        ("sweep", json(&a.sweep), json(&b.sweep)),
    ]
    .into_iter()
    .find(|(_, a, b)| a != b)
}

/// The lines of a report's `cases` array, one case each.
fn case_lines(text: &str) -> Vec<&str> {
    let Some(start) = text.find("{\"cases\": [") else {
        return Vec::new();
    };
    let Some(end) = text.rfind("\n],\n\"summary\": ") else {
        return Vec::new();
    };
    let body = &text[start + "{\"cases\": [".len()..end];
    body.split('\n')
        .filter(|l| !l.is_empty())
        .map(|l| l.strip_suffix(',').unwrap_or(l))
        .collect()
}

impl Merged {
    /// Writes the merged JSON report.
    pub fn write_json(&self, out: impl Write) -> std::io::Result<()> {
        let mut writer = JsonReportWriter::new(out)?;
        for (_, line) in &self.lines {
            writer.raw_case(line.as_bytes())?;
        }
        writer
            .finish_with(&self.summary, &self.meta, self.coverage.as_ref())
            .map(drop)
    }

    /// Writes the merged JUnit report.
    pub fn write_junit(&self, out: impl Write) -> std::io::Result<()> {
        let mut junit = JunitReport::new();
        for case in &self.cases {
            junit.add(case);
        }
        junit.write(out)
    }
}
