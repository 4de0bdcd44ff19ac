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
    /// Cargo's scratch folder for integration tests (`CARGO_TARGET_TMPDIR`), if known.
    pub target_tmpdir: Option<&'static str>,
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
        Err(err) => return fail(err.renamed(shown).to_string()),
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
/// built once per process (each generated test needs it), keyed by the root's path; under
/// nextest, where every test is a process of its own, once per nextest run (see
/// [`shared_index`]).
fn others_with_id(config: &HarnessConfig, test_id: &str, this: &str) -> Option<Vec<String>> {
    static INDEXES: Mutex<BTreeMap<PathBuf, Arc<Index>>> = Mutex::new(BTreeMap::new());
    let manifest = Path::new(config.manifest_dir);
    let root = manifest.join(config.root);
    let index = {
        let mut indexes = INDEXES.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(indexes.entry(root.clone()).or_insert_with(|| {
            let run = std::env::var("NEXTEST_RUN_ID").ok();
            let shared = run.and_then(|run| shared_index(config, &root, &run));
            Arc::new(shared.unwrap_or_else(|| build_index(config, &root)))
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

type Index = BTreeMap<String, Vec<String>>;

/// Reads every case file's `test_id` under `root`, files named relative to the crate.
fn build_index(config: &HarnessConfig, root: &Path) -> Index {
    let manifest = Path::new(config.manifest_dir);
    test_id_index(&case_files(root), |file| {
        display_path(file.strip_prefix(manifest).unwrap_or(file))
    })
}

/// Under nextest (`NEXTEST_RUN_ID` set), the index is built by the first test process of the
/// run and read by the others from `target/tmp`, instead of every process reading every case
/// file (10,000 cases: 10⁸ file reads). The file names its run, so a later run rebuilds it.
fn shared_index(config: &HarnessConfig, root: &Path, run: &str) -> Option<Index> {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Cached {
        run: String,
        root: PathBuf,
        index: Index,
    }
    let dir = config
        .target_tmpdir
        .map_or_else(std::env::temp_dir, PathBuf::from);
    let name = format!(
        "voice-harness-ids-{:016x}.json",
        crate::rng::seed_for_test_id(&root.to_string_lossy())
    );
    let path = dir.join(name);
    if let Ok(bytes) = std::fs::read(&path) {
        if let Ok(cached) = serde_json::from_slice::<Cached>(&bytes) {
            if cached.run == run && cached.root == root {
                return Some(cached.index);
            }
        }
    }
    let cached = Cached {
        run: run.to_owned(),
        root: root.to_owned(),
        index: build_index(config, root),
    };
    // Write then rename, so a concurrent reader sees the old file or the whole new one.
    let partial = dir.join(format!("{}.{}", path.display(), std::process::id()));
    if let Ok(bytes) = serde_json::to_vec(&cached) {
        if std::fs::create_dir_all(&dir).is_ok() && std::fs::write(&partial, bytes).is_ok() {
            let _ = std::fs::rename(&partial, &path);
        }
    }
    Some(cached.index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nextest_run_builds_the_index_once_and_the_next_run_rebuilds_it() {
        let dir = tempfile::tempdir().unwrap();
        let manifest: &'static str =
            Box::leak(dir.path().to_string_lossy().into_owned().into_boxed_str());
        let tmp: &'static str = Box::leak(
            dir.path()
                .join("tmp")
                .to_string_lossy()
                .into_owned()
                .into_boxed_str(),
        );
        let config = HarnessConfig {
            manifest_dir: manifest,
            root: "cases",
            snapshots: "snapshots",
            test_target: "cases",
            test_fn: "case",
            target_tmpdir: Some(tmp),
        };
        let root = dir.path().join("cases");
        std::fs::create_dir_all(&root).unwrap();
        let case = |id: &str| format!(r#"{{"test_id": "{id}", "persona": "P", "turns": []}}"#);
        std::fs::write(root.join("a.json"), case("x")).unwrap();
        let first = shared_index(&config, &root, "run-1").unwrap();
        assert_eq!(first["x"], ["cases/a.json"]);

        // Within the run, later processes read the cached index (they do not see the new file).
        std::fs::write(root.join("b.json"), case("x")).unwrap();
        assert_eq!(shared_index(&config, &root, "run-1").unwrap(), first);
        // A new run rebuilds it.
        assert_eq!(
            shared_index(&config, &root, "run-2").unwrap()["x"],
            ["cases/a.json", "cases/b.json"]
        );
    }
}
