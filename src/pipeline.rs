//! The one path from a case file to a judged result, for `cargo test` (`harness.rs`) and the
//! runner's `run` and `sweep` (`report/`): load, the suite-wide checks (the selection, a
//! `test_id` no other file declares), the case's LLM session when it uses one (its caller
//! rephrased, its steps judged), the call (agent, limits, validation: `run::call`), and the
//! sweep when asked (the case's `sweep` block, or `sweep`'s options; with its shrink).
//!
//! One async body: the sync callers drive it with `run::block` (each call then blocks inside
//! it, see [`Drive`]), the in-flight scheduler awaits it. The callers only choose the inputs
//! and translate the [`Judged`] result: snapshots and failure text, or a report entry.

use std::path::Path;

use crate::agent::Make;
use crate::case::Case;
use crate::case::discover::peek_test_id;
use crate::message::LoadError;
use crate::prepare::{self, CaseFile, Ids};
use crate::run::{self, Drive, Outcome, Ran, RunOptions};
use crate::sweep::{self, Spread, SweepOptions, SweepResult, Swept};

/// Which cases a run takes: the runner's `--filter` and `--tag`s; everything for
/// `cargo test` ([`Select::default`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Select<'a> {
    /// Only cases whose `test_id` or file name contains this text.
    pub(crate) filter: Option<&'a str>,
    /// Only cases that carry every one of these tags.
    pub(crate) tags: &'a [String],
}

impl Select<'_> {
    /// Whether the loaded `case`, in the file shown as `shown`, is taken.
    pub(crate) fn takes(&self, case: &Case, shown: &str) -> bool {
        let filter_ok = self
            .filter
            .is_none_or(|f| case.test_id.contains(f) || shown.contains(f));
        filter_ok && self.tags.iter().all(|tag| case.tags.contains(tag))
    }

    /// Whether a file that does not load is taken (as its error): its tags are unknown, so
    /// unless the filter rules it out by name.
    pub(crate) fn takes_unloaded(&self, shown: &str) -> bool {
        self.filter.is_none_or(|f| shown.contains(f))
    }
}

/// How a case's calls are made.
pub(crate) struct Calls<'a, 'm> {
    /// Builds the agent, once per call.
    pub(crate) make_agent: &'a Make<'m>,
    /// The seed override, the timeout, the limits, the LLM.
    pub(crate) options: &'a RunOptions,
    /// LLM lock files go under `llm/` here: the crate root (`cargo test`) or the current
    /// folder (the runner).
    #[cfg_attr(not(feature = "llm"), allow(dead_code))]
    pub(crate) lock_root: &'a Path,
    /// How each call is driven.
    pub(crate) drive: Drive,
}

/// What is asked of a case beyond loading it.
#[derive(Clone, Copy)]
pub(crate) enum Mode<'a> {
    /// Its call, then its sweep when its `sweep` block asks for one (`cargo test`, `run`).
    Call,
    /// The runner's `sweep`: the case under many seeds instead of its one call.
    #[cfg_attr(not(feature = "cli"), allow(dead_code))]
    Sweep {
        /// `sweep`'s options (each field not given: the case's `sweep` block's).
        asked: &'a SweepOptions,
        /// Runs the seeds in parallel (see [`Spread`]); `None`: one after another.
        spread: Option<Spread<'a>>,
        /// Where a minimal failing case is written (`--shrink DIR`).
        shrink: Option<&'a Path>,
        /// Called after every call (and once for a case with an error that made none but
        /// settings that can never pass, or a recorded transcript's one call).
        on_call: &'a (dyn Fn() + Sync),
    },
}

/// What the pipeline made of a case file.
pub(crate) enum Judged {
    /// Left out by the selection.
    Skipped,
    /// The file could not be loaded, or its `test_id` is another file's too: its `test_id`
    /// when it could be read that far.
    NotLoaded {
        #[cfg_attr(not(feature = "cli"), allow(dead_code))]
        test_id: Option<String>,
        error: LoadError,
    },
    /// The case, as loaded, and what its calls gave.
    Case(Box<CaseVerdict>),
}

/// A loaded case and what its calls gave.
pub(crate) struct CaseVerdict {
    pub(crate) case: Case,
    pub(crate) verdict: Verdict,
}

/// What a loaded case's calls gave, by [`Mode`]. (One a case, boxed in [`Judged`]: the
/// sizes of its variants do not matter.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum Verdict {
    /// [`Mode::Call`]: the call (`Err`: the case's error: the agent was not built, the call
    /// never started, the LLM failed), and, when the call ran, the sweep its `sweep` block
    /// asks for (`Err`: settings that can never pass, said before any call).
    Called {
        call: Result<Ran, String>,
        sweep: Option<Result<Swept, String>>,
    },
    /// [`Mode::Sweep`]: the sweep (`Err`: the case's error).
    #[cfg_attr(not(feature = "cli"), allow(dead_code))]
    Swept(Result<SweepRun, String>),
}

/// A sweep of the runner's `sweep`.
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
pub(crate) struct SweepRun {
    /// Its findings (for a recorded transcript: its one call, [`SweepResult::recorded`]).
    pub(crate) result: SweepResult,
    /// The run that stands for the case: the first failing one, else the first; `None`
    /// when some call never started ([`SweepResult::errored`]).
    pub(crate) standing: Option<Outcome>,
    /// Where the minimal failing case was written, or why it was not.
    pub(crate) shrunk: Option<String>,
}

/// A case file through the whole pipeline: [`ready`], then [`judge`].
pub(crate) async fn case_file(
    file: &CaseFile,
    select: Select<'_>,
    ids: &Ids,
    calls: &Calls<'_, '_>,
    mode: Mode<'_>,
) -> Judged {
    match ready(file, select, ids) {
        Ok(case) => judge(file, case, calls, mode).await,
        Err(judged) => judged,
    }
}

/// The first stages, which make no call: load the file, select it, and check that its
/// `test_id` is its own (after selection: a case left out of a run is not one of its
/// duplicates). `Err`: what the pipeline made of it, when it stops here.
pub(crate) fn ready(file: &CaseFile, select: Select<'_>, ids: &Ids) -> Result<Case, Judged> {
    let case = match prepare::load(file) {
        Ok(case) => case,
        Err(error) if select.takes_unloaded(&file.shown) => {
            let test_id = peek_test_id(&file.path);
            return Err(Judged::NotLoaded { test_id, error });
        }
        Err(_) => return Err(Judged::Skipped),
    };
    if !select.takes(&case, &file.shown) {
        return Err(Judged::Skipped);
    }
    match prepare::unique(&case, file, ids) {
        Ok(()) => Ok(case),
        Err(error) => Err(Judged::NotLoaded {
            test_id: Some(case.test_id.clone()),
            error,
        }),
    }
}

/// The stages that make calls, for a [`ready`] case.
pub(crate) async fn judge(
    file: &CaseFile,
    case: Case,
    calls: &Calls<'_, '_>,
    mode: Mode<'_>,
) -> Judged {
    let verdict = match mode {
        Mode::Call => {
            let call = call(file, &case, calls).await;
            let sweep = match &call {
                Ok(_) => sweep_block(&case, calls).await,
                Err(_) => None,
            };
            Verdict::Called { call, sweep }
        }
        Mode::Sweep {
            asked,
            spread,
            shrink,
            on_call,
        } => Verdict::Swept(swept(file, &case, calls, asked, spread, shrink, on_call).await),
    };
    Judged::Case(Box::new(CaseVerdict { case, verdict }))
}

/// The case's call; a case that needs an LLM gets it here.
async fn call(file: &CaseFile, case: &Case, calls: &Calls<'_, '_>) -> Result<Ran, String> {
    // Without the feature the loader refuses a case that needs an LLM.
    #[cfg(feature = "llm")]
    if case.uses_llm() {
        return with_llm(file, case, calls).await;
    }
    let _ = file;
    run::call(case, calls.make_agent, calls.options, calls.drive, None).await
}

/// The call of a case that needs an LLM: its session (the lock file `llm/<file>` under
/// the lock root), its caller's lines rephrased when it asks for that, its steps judged;
/// the lock file keeps what was recorded even when the call or its judge fails.
#[cfg(feature = "llm")]
async fn with_llm(file: &CaseFile, case: &Case, calls: &Calls<'_, '_>) -> Result<Ran, String> {
    use crate::llm;
    use std::borrow::Cow;
    let config = match &calls.options.llm {
        Some(config) => Cow::Borrowed(config),
        None => Cow::Owned(llm::LlmConfig::from_env(calls.lock_root)?),
    };
    let mut session = llm::Session::open(config, &file.shown)?;
    let rephrased;
    let case = if case.rephrase {
        rephrased = llm::rephrase(case, &mut session)?;
        &rephrased
    } else {
        case
    };
    let mut judge = |transcript: &[run::Row], steps: &[run::StepResult]| {
        llm::judge(case, transcript, steps, &mut session)
    };
    let ran = run::call(
        case,
        calls.make_agent,
        calls.options,
        calls.drive,
        Some(&mut judge),
    )
    .await;
    if let Some(note) = session.close()? {
        eprintln!("{note}");
    }
    ran
}

/// The sweep a case's own `sweep` block asks for (`cargo test`, `run`), its seeds one
/// after another; `None` without one.
async fn sweep_block(case: &Case, calls: &Calls<'_, '_>) -> Option<Result<Swept, String>> {
    let plan = match sweep::plan(case, None, calls.options) {
        Ok(None) => return None,
        Ok(Some(plan)) => plan,
        Err(err) => return Some(Err(err)),
    };
    let (make_agent, options, drive) = (calls.make_agent, calls.options, calls.drive);
    Some(Ok(sweep::sweep(
        case,
        make_agent,
        options,
        &plan,
        drive,
        None,
        &|| {},
    )
    .await))
}

/// The runner's `sweep` of one case. A recorded transcript has no caller to vary: it runs
/// once. A case that needs an LLM is not swept (every seed would need new LLM answers): the
/// one place that says so, as the case's error (the loader refuses a `sweep` block on such a
/// case).
async fn swept(
    file: &CaseFile,
    case: &Case,
    calls: &Calls<'_, '_>,
    asked: &SweepOptions,
    spread: Option<Spread<'_>>,
    shrink: Option<&Path>,
    on_call: &(dyn Fn() + Sync),
) -> Result<SweepRun, String> {
    if case.transcript.is_some() {
        let ran = call(file, case, calls).await;
        on_call();
        let outcome = ran?.outcome;
        let once = SweepOptions::new(1).with_from(Some(outcome.seed));
        let reason = run::reason(case, &outcome);
        let result = SweepResult::once(&once, u64::from(outcome.as_expected), reason);
        return Ok(SweepRun {
            result,
            standing: Some(outcome),
            shrunk: None,
        });
    }
    if case.uses_llm() {
        return Err(crate::message::LLM_NOT_SWEPT.to_owned());
    }
    // Settings that can never pass: said before any call.
    let plan = sweep::plan(case, Some(asked), calls.options).inspect_err(|_| on_call())?;
    // `plan` always plans a sweep that is asked for.
    let plan = plan.unwrap_or_else(|| asked.clone());
    let (make_agent, options) = (calls.make_agent, calls.options);
    let (result, failing, first) = sweep::sweep(
        case,
        make_agent,
        options,
        &plan,
        calls.drive,
        spread,
        on_call,
    )
    .await;
    let shrunk = match (shrink, &failing) {
        #[cfg(feature = "cli")]
        (Some(dir), Some(failing)) => shrink_one(dir, file, case, failing, make_agent, options),
        _ => None,
    };
    Ok(SweepRun {
        result,
        standing: failing.or(first),
        shrunk,
    })
}

/// Writes the minimal failing case of `failing` into `dir`; its path, or why not.
#[cfg(feature = "cli")]
fn shrink_one(
    dir: &Path,
    file: &CaseFile,
    case: &Case,
    failing: &Outcome,
    make_agent: &Make<'_>,
    run: &RunOptions,
) -> Option<String> {
    let raw: serde_json::Value = serde_json::from_slice(&std::fs::read(&file.path).ok()?).ok()?;
    let Some(shrunk) = sweep::shrink(&raw, case, failing, make_agent, run, &file.shown) else {
        return Some(crate::message::NOT_SHRUNK.to_owned());
    };
    let name = format!("{}.json", sweep::shrunk_id(&case.test_id, failing.seed));
    let path = dir.join(name);
    let mut text = serde_json::to_string_pretty(&shrunk).ok()?;
    text.push('\n');
    match std::fs::write(&path, text) {
        Ok(()) => Some(crate::case::discover::display_path(&path)),
        Err(e) => Some(format!("could not write {}: {e}", path.display())),
    }
}
