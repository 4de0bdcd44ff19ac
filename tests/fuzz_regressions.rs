//! Replays inputs through the bodies of the fuzz targets (`src/fuzz/`), so CI checks them
//! without running the fuzzer (see fuzz/README.md): every saved fuzz input
//! (`fuzz/regressions/<target>/`) through its own target, and every case file of the repo
//! (`cases/`, `tests/hostile/`) through the loader's. A stale invariant or a new crash then
//! fails `cargo test` the day it appears, not when someone next fuzzes.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use voice_harness::__private::fuzz;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir`, in sorted order (subfolders included).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Runs `body` on each file under `dir`; panics naming every file that failed (all of them,
/// not only the first), with the body's own message. Returns how many files ran.
fn replay(dir: &str, body: impl Fn(&[u8])) -> usize {
    let files = files_under(&root().join(dir));
    let mut failed = Vec::new();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| body(&data))) {
            let why = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            let shown = file.strip_prefix(root()).unwrap_or(file);
            failed.push(format!("{}: {why}", shown.display()));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} inputs under {dir}/ fail the fuzz body:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
    files.len()
}

/// Replays `fuzz/regressions/<target>/` through `body`, which must hold at least one input.
fn saved(target: &str, body: impl Fn(&[u8])) {
    let dir = format!("fuzz/regressions/{target}");
    assert!(replay(&dir, body) > 0, "{dir}/ is empty");
}

#[test]
fn saved_loader_inputs() {
    saved("load", fuzz::load);
}

#[test]
fn saved_validator_inputs() {
    saved("validate", fuzz::validate);
}

#[test]
fn saved_protocol_inputs() {
    saved("protocol", fuzz::protocol);
}

#[test]
fn saved_merge_inputs() {
    saved("merge", fuzz::merge);
}

#[test]
fn saved_spoken_number_inputs() {
    saved("numbers", fuzz::numbers);
}

#[test]
fn saved_tool_argument_inputs() {
    saved("tool_arguments", fuzz::tool_arguments);
}

#[test]
fn saved_sse_inputs() {
    saved("sse", fuzz::sse);
}

#[test]
fn saved_retell_inputs() {
    saved("retell", fuzz::retell);
}

#[test]
fn saved_import_inputs() {
    saved("import", fuzz::import);
}

/// Every export under `tests/import/` through the importer's body, as each platform's
/// export (its own and the others: the error then names the platform it looks like), into
/// recorded and scripted cases.
#[test]
fn every_export_through_the_importer() {
    for mode in 0..8u8 {
        let body = |data: &[u8]| {
            let mut input = vec![mode];
            input.extend_from_slice(data);
            fuzz::import(&input);
        };
        assert!(replay("tests/import", body) > 0, "tests/import/ is empty");
    }
}

#[test]
fn every_case_file_through_the_loader() {
    assert!(replay("cases", fuzz::load) > 0, "cases/ is empty");
}

#[test]
fn every_hostile_file_through_the_loader() {
    assert!(
        replay("tests/hostile", fuzz::load) > 0,
        "tests/hostile/ is empty"
    );
}
