//! One case file's job in the runner's `run` and `sweep`: the pipeline's result for it
//! (`pipeline.rs`), translated into its [`CaseReport`], with its part of the HTML page
//! rendered ahead when asked ([`SuiteOptions::page`]).

use std::panic::AssertUnwindSafe;
use std::path::Path;

use super::{CaseReport, ShrinkTo, SuiteOptions, html};
use crate::agent::{Make, MakeSync};
use crate::case::{Case, LoadError};
use crate::pipeline::{self, Calls, CaseVerdict, Judged, Mode, Select, SweepRun, Verdict};
use crate::prepare::{CaseFile, Ids};
use crate::run::{self, Drive};
use crate::sweep::{self, SweepOptions, Swept};

/// LLM lock files go under the current folder: `llm/<file as shown>`.
const HERE: &str = "";

/// The selection of a run.
fn select(options: &SuiteOptions) -> Select<'_> {
    Select {
        filter: options.filter.as_deref(),
        tags: &options.tags,
    }
}

/// The calls of a run, driven as `drive` says.
fn calls<'a, 'm>(
    options: &'a SuiteOptions,
    make_agent: &'a Make<'m>,
    drive: Drive,
) -> Calls<'a, 'm> {
    Calls {
        make_agent,
        options: &options.run,
        lock_root: Path::new(HERE),
        drive,
    }
}

/// `run`'s job for one file on the cores: its report, `None` when it is not selected.
pub(super) fn run_file(
    file: &CaseFile,
    options: &SuiteOptions,
    ids: &Ids,
    make_agent: &Make<'_>,
) -> Option<CaseReport> {
    let calls = calls(options, make_agent, Drive::Block);
    let judged = run::block(pipeline::case_file(
        file,
        select(options),
        ids,
        &calls,
        Mode::Call,
    ));
    report(file, judged, options)
}

/// [`run_file`] among the calls in flight: on the current runtime, or for a case that
/// needs an LLM, on a thread of `scope` (whose requests block it), awaited here.
pub(super) async fn run_file_in_flight<'scope, 'env, 'm>(
    file: &'env CaseFile,
    options: &'env SuiteOptions,
    ids: &'env Ids,
    make_agent: &'env MakeSync<'m>,
    scope: &'scope std::thread::Scope<'scope, 'env>,
) -> Option<CaseReport> {
    let case = match pipeline::ready(file, select(options), ids) {
        Ok(case) => case,
        Err(judged) => return report(file, judged, options),
    };
    if case.uses_llm() {
        let (done, report_back) = tokio::sync::oneshot::channel();
        scope.spawn(move || {
            let report = std::panic::catch_unwind(AssertUnwindSafe(|| {
                let calls = calls(options, make_agent, Drive::Block);
                let judged = run::block(pipeline::judge(file, case, &calls, Mode::Call));
                report(file, judged, options)
            }));
            let _ = done.send(report);
        });
        // A panic is a bug, not a case's error: it ends the run, as on the cores.
        return match report_back.await {
            Ok(Ok(report)) => report,
            Ok(Err(payload)) => std::panic::resume_unwind(payload),
            Err(_) => unreachable!("the thread sends its report or its panic"),
        };
    }
    let calls = calls(options, make_agent, Drive::Here);
    let judged = pipeline::judge(file, case, &calls, Mode::Call).await;
    report(file, judged, options)
}

/// `sweep`'s job for one file: its seeds in parallel on the current rayon pool. `on_call`
/// is called after every call (once for a file that makes none, unless it is not selected).
pub(super) fn sweep_file(
    file: &CaseFile,
    options: &SuiteOptions,
    asked: &SweepOptions,
    shrink: Option<&ShrinkTo>,
    ids: &Ids,
    make_agent: &MakeSync<'_>,
    on_call: &(dyn Fn() + Sync),
) -> Option<CaseReport> {
    let spread = sweep::in_parallel(make_agent, on_call);
    let mode = Mode::Sweep {
        asked,
        spread: Some(&spread),
        shrink: shrink.map(|ShrinkTo(dir)| dir.as_path()),
        on_call,
    };
    let calls = calls(options, make_agent, Drive::Block);
    let judged = run::block(pipeline::case_file(
        file,
        select(options),
        ids,
        &calls,
        mode,
    ));
    if let Judged::NotLoaded { .. } = judged {
        on_call();
    }
    report(file, judged, options)
}

/// The report of what the pipeline made of `file` (`None`: not selected), with its part of
/// the HTML page when [`SuiteOptions::page`] asks, rendered once the report is whole (its
/// sweep included), whichever schedule ran it.
fn report(file: &CaseFile, judged: Judged, options: &SuiteOptions) -> Option<CaseReport> {
    let shown = file.shown.clone();
    let page = |report| rendered(report, options);
    let report = match judged {
        Judged::Skipped => return None,
        // Rendered when it is added to the page, to the same bytes.
        Judged::NotLoaded { test_id, error } => return Some(load_error(shown, test_id, &error)),
        Judged::Case(judged) => {
            let CaseVerdict { case, verdict } = *judged;
            let test_id = Some(case.test_id.clone());
            match verdict {
                Verdict::Called { call, sweep } => {
                    let mut report = match call {
                        Ok(ran) => {
                            CaseReport::from_outcome(shown, &case, ran.outcome, options.facts)
                        }
                        Err(err) => CaseReport::error(shown, test_id, err.clone(), err),
                    };
                    if let Some(swept) = sweep {
                        with_sweep(&mut report, swept);
                    }
                    report
                }
                Verdict::Swept(Ok(run)) => swept(shown, &case, run, options.facts),
                Verdict::Swept(Err(err)) => CaseReport::error(shown, test_id, err.clone(), err),
            }
        }
    };
    Some(page(report))
}

/// A case's own call, and its sweep when its `sweep` block asks for one (`run`, as
/// `cargo test` does): the report gains the `sweep` object, and a sweep that fails makes
/// the case not as expected, its reason saying so after the call's own.
fn with_sweep(report: &mut CaseReport, swept: Result<Swept, String>) {
    let file = std::mem::take(&mut report.file);
    match swept {
        // A call of the sweep never started: the case is an error, whatever its own call did.
        Ok((result, ..)) if result.errored => {
            let why = result.first_failure.as_ref().map(|f| f.reason.clone());
            *report = CaseReport::error(
                file,
                report.test_id.clone(),
                why.unwrap_or_default(),
                result.to_string(),
            );
            report.sweep = Some(result);
        }
        Ok((result, ..)) => {
            report.file = file;
            if !result.ok {
                report.as_expected = false;
                let sweep = format!("sweep: {result}");
                report.reason = Some(match report.reason.take() {
                    Some(own) => format!("{own}; {sweep}"),
                    None => sweep,
                });
            }
            report.sweep = Some(result);
        }
        Err(err) => {
            *report = CaseReport::error(file, report.test_id.clone(), err.clone(), err);
        }
    }
}

/// The report of `sweep`'s sweep of a case: the run that stands for it, as expected when
/// the sweep is ok (a recorded transcript's one call: as it went), with the `sweep` object.
fn swept(shown: String, case: &Case, run: SweepRun, facts: bool) -> CaseReport {
    let SweepRun {
        result,
        standing,
        shrunk,
    } = run;
    let mut report = match standing {
        Some(outcome) => CaseReport::from_outcome(shown, case, outcome, facts),
        // Some call never started (see `SweepResult::errored`): an error, not a lost case.
        None => {
            let why = result.first_failure.as_ref().map(|f| f.reason.clone());
            let mut report = CaseReport::error(
                shown,
                Some(case.test_id.clone()),
                why.unwrap_or_default(),
                result.to_string(),
            );
            report.sweep = Some(result);
            return report;
        }
    };
    if !result.recorded {
        report.as_expected = result.ok;
        if !result.ok {
            report.reason = Some(result.to_string());
        }
    }
    report.shrunk = shrunk;
    report.sweep = Some(result);
    report
}

/// `report` with its part of the HTML page rendered, when [`SuiteOptions::page`] asks.
fn rendered(mut report: CaseReport, options: &SuiteOptions) -> CaseReport {
    if options.page {
        // Serializing strings and numbers does not fail; if it did, the case would be
        // rendered again when it is added to the page.
        report.page = html::CasePage::of(&report).ok().map(Box::new);
    }
    report
}

fn load_error(file: String, test_id: Option<String>, err: &LoadError) -> CaseReport {
    CaseReport::error(file, test_id, err.to_string(), err.summary())
}
