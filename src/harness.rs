//! The `cargo test` side: one generated test per case file (see [`crate::harness!`]).
//!
//! Everything here is support for the macro and not part of the public API.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once, OnceLock, PoisonError};

use crate::agent::{Agent, Erased, Make};
use crate::case::Case;
use crate::case::discover::{self, display_path};
use crate::config;
use crate::message;
use crate::pipeline::{self, Calls, CaseVerdict, Judged, Mode, Select, Verdict};
use crate::prepare::{self, CaseFile, Ids, Namer, Shard};
use crate::render;
use crate::run::{self, Drive, RunOptions};
use crate::store::Store;

pub use crate::message::HARNESS_NOT_FALSE;

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
    /// `file!()` of the test target, for its name in the re-run command.
    pub source_file: &'static str,
    /// `CARGO_CRATE_NAME` of the test target (its name with `-` as `_`).
    pub crate_name: &'static str,
    /// The generated test function's name (the prefix of every test name).
    pub test_fn: &'static str,
    /// Cargo's scratch folder for integration tests (`CARGO_TARGET_TMPDIR`), if known.
    pub target_tmpdir: Option<&'static str>,
}

impl HarnessConfig {
    /// The test target's name as `cargo test --test` takes it. `CARGO_CRATE_NAME` has `-`
    /// turned into `_`, which cargo rejects for a target named `voice-cases`: the source
    /// file's name is the target's name unless Cargo.toml names it otherwise, so that is
    /// tried first, then the names in Cargo.toml.
    pub(crate) fn test_target(&self) -> String {
        let crate_form = |name: &str| name.replace('-', "_") == self.crate_name;
        let stem = Path::new(self.source_file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned());
        if let Some(stem) = stem.filter(|s| crate_form(s)) {
            return stem;
        }
        let manifest = std::fs::read_to_string(Path::new(self.manifest_dir).join("Cargo.toml"))
            .unwrap_or_default();
        manifest
            .lines()
            .filter_map(|line| {
                let value = line.trim().strip_prefix("name")?.trim().strip_prefix('=')?;
                Some(value.trim().trim_matches('"').to_owned())
            })
            .find(|name| crate_form(name))
            .unwrap_or_else(|| self.crate_name.to_owned())
    }
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

/// The store the generated tests record their runs in, bounded by the first case's limits
/// (every case of a binary has the same options).
#[doc(hidden)]
pub fn harness_store(options: &RunOptions) -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| Store::new(options.limits))
}

/// Checks the cases folder before any test is listed: a missing, unreadable or empty folder
/// is said plainly, naming the folder and the `root` option.
#[doc(hidden)]
pub fn check_root(config: &HarnessConfig) -> Result<(), String> {
    let root = Path::new(config.manifest_dir).join(config.root);
    let absolute = root.display().to_string();
    match discover::case_files(&root) {
        Ok(files) if files.is_empty() => Err(message::cases_folder_empty(config.root, &absolute)),
        Ok(_) => Ok(()),
        Err(err) => {
            let why = if err.path == root {
                err.error.to_string()
            } else {
                format!("{}: {}", err.path.display(), err.error)
            };
            Err(message::cases_folder_missing(config.root, &absolute, &why))
        }
    }
}

/// Runs one case file through the pipeline (load, checks, call, judge, its sweep), then
/// checks its snapshots and says why it failed.
#[doc(hidden)]
pub fn check_case_file<A: Agent>(
    config: &HarnessConfig,
    path: &Path,
    make_agent: impl Fn(&Case) -> A,
    make_options: impl FnOnce() -> RunOptions,
    assert_snapshot: fn(&str, &str),
) -> Result<(), CaseFailure> {
    // Everything below is compiled once, here, whatever agent the test binary binds.
    let mut make_options = Some(make_options);
    check(
        config,
        path,
        &|case| Erased::new(make_agent(case)),
        &mut || {
            make_options
                .take()
                .map_or_else(RunOptions::default, |make| make())
        },
        assert_snapshot,
    )
}

/// [`check_case_file`], for any agent.
fn check(
    config: &HarnessConfig,
    path: &Path,
    make_agent: &Make<'_>,
    make_options: &mut dyn FnMut() -> RunOptions,
    assert_snapshot: fn(&str, &str),
) -> Result<(), CaseFailure> {
    let manifest = Path::new(config.manifest_dir);
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        manifest.join(path)
    };
    let file = CaseFile {
        shown: Namer::relative_to(manifest).name(&absolute),
        path: absolute.clone(),
        within: display_path(
            absolute
                .strip_prefix(manifest.join(config.root))
                .unwrap_or(path),
        ),
    };
    let within_root = absolute
        .strip_prefix(manifest.join(config.root))
        .unwrap_or(path)
        .to_owned();
    let rerun = message::rerun_hint(
        &config.test_target(),
        &format!("{}::{}", config.test_fn, display_path(&within_root)),
    );
    let fail = |text: String| Err(CaseFailure(format!("{text}\n\n{rerun}")));

    // A CI matrix: only this machine's shard runs; the other cases pass here untouched.
    // The `test_id` index below is the whole folder's (see `prepare::Suite`).
    match Shard::from_env() {
        Ok(shard) if !prepare::in_shard(&file, shard) => return Ok(()),
        Ok(_) => {}
        Err(err) => return fail(err),
    }
    let options = match make_options().with_env() {
        Ok(options) => options,
        Err(err) => return fail(err.to_string()),
    };
    let calls = Calls {
        make_agent,
        options: &options,
        lock_root: manifest,
        drive: Drive::Block,
    };
    let ids = ids_of(config);
    let judged = run::block(pipeline::case_file(
        &file,
        Select::default(),
        &ids,
        &calls,
        Mode::Call,
    ));
    let (case, call, sweep) = match judged {
        Judged::Case(judged) => match *judged {
            CaseVerdict {
                case,
                verdict: Verdict::Called { call, sweep },
            } => (case, call, sweep),
            // A case is only swept by its own block here.
            CaseVerdict { .. } => return Ok(()),
        },
        Judged::NotLoaded { error, .. } => return fail(error.to_string()),
        // Everything is selected.
        Judged::Skipped => return Ok(()),
    };
    let ran = match call {
        Ok(ran) => ran,
        Err(err) => return fail(err),
    };
    let outcome = ran.outcome;
    // A case with `sweep` ran its seeds too, by the step `run` and `sweep` take; its
    // metrics snapshot records the pass count.
    let swept = match sweep.transpose() {
        Ok(swept) => swept.map(|(result, ..)| result),
        Err(err) => return fail(err),
    };

    // Check both snapshots before failing, so one run leaves every `.snap.new` to review.
    let snapshot_dir = manifest
        .join(config.snapshots)
        .join(within_root.with_extension(""));
    let transcript = render::transcript_text(&case, &outcome, ran.redact);
    let metrics = render::metrics_json(&outcome, ran.redact, swept.as_ref());
    let changed: Vec<String> = [("transcript", &transcript), ("metrics", &metrics)]
        .into_iter()
        .filter_map(|(name, contents)| {
            check_snapshot(&snapshot_dir, &absolute, name, contents, assert_snapshot)
        })
        .collect();

    let mut text = Vec::new();
    if let Some(swept) = swept.as_ref().filter(|s| !s.ok) {
        // The shrink command must call the same agent (#25): ask one how the runner would.
        let flags = make_agent(&case).__runner_flags();
        text.push(message::sweep_failed(
            &file.shown,
            (swept.passes, swept.runs),
            swept.min_pass_rate.map(|rate| (swept.wilson_lower, rate)),
            &swept.failing_seeds,
            swept
                .first_failure
                .as_ref()
                .map(|f| (f.seed, f.reason.as_str())),
            (swept.from, swept.seeds),
            flags.as_deref(),
        ));
    }
    if !outcome.as_expected {
        text.push(
            render::failure_text(&case, &outcome, &file.shown)
                .trim_end()
                .to_owned(),
        );
    }
    harness_store(&options)
        .runs
        .create(file.shown.clone(), outcome);
    if !changed.is_empty() {
        let folder = display_path(snapshot_dir.strip_prefix(manifest).unwrap_or(&snapshot_dir));
        let ci = config::ci();
        text.push(message::snapshot_mismatch(&folder, &changed, ci));
    }
    if text.is_empty() {
        Ok(())
    } else {
        fail(text.join("\n"))
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

/// The `test_id` index of the cases folder. It is built once per process (each generated
/// test needs it), keyed by the root's path; under nextest, where every test is a process of
/// its own, once per nextest run (see [`shared_index`]).
fn ids_of(config: &HarnessConfig) -> Arc<Ids> {
    static INDEXES: Mutex<BTreeMap<PathBuf, Arc<Ids>>> = Mutex::new(BTreeMap::new());
    let root = Path::new(config.manifest_dir).join(config.root);
    let mut indexes = INDEXES.lock().unwrap_or_else(PoisonError::into_inner);
    Arc::clone(indexes.entry(root.clone()).or_insert_with(|| {
        let run = config::nextest_run_id();
        let shared = run.and_then(|run| shared_index(config, &root, &run));
        Arc::new(shared.unwrap_or_else(|| build_index(config, &root)))
    }))
}

/// Reads every case file's `test_id` under `root`, files named relative to the crate, by
/// the same discovery and index as the runner. An unreadable folder gives no index here:
/// `check_root` has already failed the binary for it.
fn build_index(config: &HarnessConfig, root: &Path) -> Ids {
    let namer = Namer::relative_to(Path::new(config.manifest_dir));
    let files = prepare::find(&[root.to_owned()], &namer).unwrap_or_default();
    let suite = prepare::Suite::new(files, None);
    std::sync::Arc::unwrap_or_clone(suite.ids)
}

/// Under nextest (`NEXTEST_RUN_ID` set), the index is built by the first test process of the
/// run and read by the others from `target/tmp`, instead of every process reading every case
/// file (10,000 cases: 10⁸ file reads). The file names its run, so a later run rebuilds it.
fn shared_index(config: &HarnessConfig, root: &Path, run: &str) -> Option<Ids> {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Cached {
        run: String,
        root: PathBuf,
        index: Ids,
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

    fn config_for(source_file: &'static str, crate_name: &'static str) -> HarnessConfig {
        HarnessConfig {
            manifest_dir: env!("CARGO_MANIFEST_DIR"),
            root: "cases",
            snapshots: "snapshots",
            source_file,
            crate_name,
            test_fn: "case",
            target_tmpdir: None,
        }
    }

    #[test]
    fn the_rerun_hint_names_the_target_as_cargo_takes_it() {
        // Before: `--test voice_cases` for a target named `voice-cases`, which cargo rejects.
        let config = config_for("tests/voice-cases.rs", "voice_cases");
        assert_eq!(config.test_target(), "voice-cases");
        assert_eq!(config_for("tests/cases.rs", "cases").test_target(), "cases");
        // A target whose file has another name: its name in Cargo.toml.
        assert_eq!(
            config_for("tests/other_file.rs", "fuzz_regressions").test_target(),
            "fuzz_regressions"
        );
    }

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
            source_file: "tests/cases.rs",
            crate_name: "cases",
            test_fn: "case",
            target_tmpdir: Some(tmp),
        };
        let root = dir.path().join("cases");
        std::fs::create_dir_all(&root).unwrap();
        let case = |id: &str| format!(r#"{{"test_id": "{id}", "persona": "P", "turns": []}}"#);
        std::fs::write(root.join("a.json"), case("x")).unwrap();
        std::fs::write(root.join("c.json"), case("x")).unwrap();
        let first = shared_index(&config, &root, "run-1").unwrap();
        assert_eq!(
            first.others("x", "cases/c.json"),
            Some(vec!["cases/a.json".to_owned()])
        );

        // Within the run, later processes read the cached index (they do not see the new file).
        std::fs::write(root.join("b.json"), case("x")).unwrap();
        assert_eq!(shared_index(&config, &root, "run-1").unwrap(), first);
        // A new run rebuilds it.
        assert_eq!(
            shared_index(&config, &root, "run-2")
                .unwrap()
                .others("x", "cases/c.json"),
            Some(vec!["cases/a.json".to_owned(), "cases/b.json".to_owned()])
        );
    }
}
