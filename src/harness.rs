//! The `cargo test` side: one generated test per case file (see [`crate::harness!`]).
//!
//! Everything here is support for the macro and not part of the public API.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use std::sync::{Arc, Mutex, Once, OnceLock, PoisonError};

use crate::agent::Agent;
use crate::case::Case;
use crate::error::{self, LoadError};
use crate::load::{case_files, display_path, load_case, test_id_index};
use crate::render;
use crate::run::{RunOptions, run_case};
use crate::store::{EnvError, Limits, Store};

/// Where the generated harness lives; filled in by [`crate::harness!`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct HarnessConfig {
    /// `CARGO_MANIFEST_DIR` of the crate that holds the test.
    pub manifest_dir: &'static str,
    /// The cases folder, relative to `manifest_dir`.
    pub root: &'static str,
    /// The snapshot folder, relative to `manifest_dir`.
    pub snapshots: &'static str,
    /// The test target's name, for the re-run command.
    pub test_target: &'static str,
    /// The generated test function's name (the prefix of every test name).
    pub test_fn: &'static str,
}

/// Why a case's test failed: already rendered for people (`Debug` prints it too, because
/// test harnesses print errors with `{:?}`).
#[doc(hidden)]
#[derive(Clone, PartialEq, Eq)]
pub struct CaseFailure(pub String);

impl fmt::Display for CaseFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CaseFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CaseFailure {}

/// The store the generated tests record their runs in. Its limits come from the
/// environment; a bad value fails every case with the reason.
#[doc(hidden)]
pub fn harness_store() -> Result<&'static Store, EnvError> {
    static STORE: OnceLock<Result<Store, EnvError>> = OnceLock::new();
    STORE
        .get_or_init(|| Limits::from_env().map(Store::new))
        .as_ref()
        .map_err(Clone::clone)
}

/// Runs one case file: load, simulate, validate, snapshot, judge.
#[doc(hidden)]
pub fn check_case_file<A: Agent>(
    config: &HarnessConfig,
    path: &Path,
    make_agent: impl FnOnce(&Case) -> A,
    assert_snapshot: fn(&str, &str),
) -> Result<(), CaseFailure> {
    let manifest = Path::new(config.manifest_dir);
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        manifest.join(path)
    };
    let shown = display_path(absolute.strip_prefix(manifest).unwrap_or(path));
    let within_root = absolute
        .strip_prefix(manifest.join(config.root))
        .unwrap_or(path)
        .to_owned();
    let rerun = format!(
        "re-run just this case:\n  cargo test --test {} -- --exact {}::{}",
        config.test_target,
        config.test_fn,
        display_path(&within_root)
    );
    let fail = |text: String| Err(CaseFailure(format!("{text}\n\n{rerun}")));

    let store = match harness_store() {
        Ok(store) => store,
        Err(err) => return fail(err.to_string()),
    };
    let case = match load_case(&absolute) {
        Ok(case) => case,
        Err(err) => return fail(LoadError::new(shown, err.problems().to_vec()).to_string()),
    };
    if let Some(others) = others_with_id(config, &case.test_id, &shown) {
        let problem = error::duplicate_test_id(&case.test_id, &others);
        return fail(LoadError::new(shown, vec![problem]).to_string());
    }

    let options = RunOptions {
        max_transcript_rows: store.runs.limits().max_transcript_rows,
        ..RunOptions::default()
    };
    let mut agent = make_agent(&case);
    // Wall-clock latencies differ on every run: snapshots show `[ms]` for them. A recorded
    // transcript's latencies are part of the case, so they stay.
    let redact = agent.wall_clock() && case.transcript.is_none();
    let outcome = run_case(&case, &mut agent, &options);

    // Check both snapshots before failing, so one run leaves every `.snap.new` to review.
    let snapshot_dir = manifest
        .join(config.snapshots)
        .join(within_root.with_extension(""));
    let transcript = render::transcript_text(&case, &outcome, redact);
    let metrics = render::metrics_json(&outcome, redact);
    let changed: Vec<String> = [("transcript", &transcript), ("metrics", &metrics)]
        .into_iter()
        .filter_map(|(name, contents)| {
            check_snapshot(&snapshot_dir, &absolute, name, contents, assert_snapshot)
        })
        .collect();

    let mut message = Vec::new();
    if !outcome.as_expected {
        message.push(
            render::failure_text(&case, &outcome, &shown)
                .trim_end()
                .to_owned(),
        );
    }
    store.runs.create(shown.clone(), outcome);
    if !changed.is_empty() {
        let folder = display_path(snapshot_dir.strip_prefix(manifest).unwrap_or(&snapshot_dir));
        let how = if std::env::var_os("CI").is_some() {
            "CI is set, so nothing was written: run `cargo test` locally, review with \
             `cargo insta review`, and commit the snapshots"
        } else {
            "review with `cargo insta review` (or `cargo insta accept`), then re-run"
        };
        message.push(format!(
            "snapshot mismatch in {folder}/: {}\n  {how}",
            changed.join(", ")
        ));
    }
    if message.is_empty() {
        Ok(())
    } else {
        fail(message.join("\n"))
    }
}

/// Asserts one snapshot with insta; `Some(reason)` when it does not match.
fn check_snapshot(
    dir: &Path,
    input: &Path,
    name: &str,
    contents: &str,
    assert_snapshot: fn(&str, &str),
) -> Option<String> {
    let existed = dir.join(format!("{name}.snap")).exists();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_input_file(input);
    settings.set_omit_expression(true);
    let result = settings.bind(|| quietly(|| assert_snapshot(name, contents)));
    match (result, existed) {
        (Ok(()), _) => None,
        (Err(_), true) => Some(format!("{name}.snap changed")),
        (Err(_), false) => Some(format!("{name}.snap is missing")),
    }
}

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, catching its panic without the panic hook printing it: insta fails an
/// assertion by panicking after printing its own diff, and the panic line adds only noise.
fn quietly(f: impl FnOnce()) -> std::thread::Result<()> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result
}

/// The other case files under the root that use `test_id`, if any. The index of a root is
/// built once per process (each generated test needs it), keyed by the root's path.
fn others_with_id(config: &HarnessConfig, test_id: &str, this: &str) -> Option<Vec<String>> {
    type Index = BTreeMap<String, Vec<String>>;
    static INDEXES: Mutex<BTreeMap<PathBuf, Arc<Index>>> = Mutex::new(BTreeMap::new());
    let manifest = Path::new(config.manifest_dir);
    let root = manifest.join(config.root);
    let index = {
        let mut indexes = INDEXES.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(indexes.entry(root.clone()).or_insert_with(|| {
            let files = case_files(&root);
            Arc::new(test_id_index(&files, |file| {
                display_path(file.strip_prefix(manifest).unwrap_or(file))
            }))
        }))
    };
    let others: Vec<String> = index
        .get(test_id)?
        .iter()
        .filter(|f| f.as_str() != this)
        .cloned()
        .collect();
    (!others.is_empty()).then_some(others)
}
