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

#[test]
fn saved_loader_inputs() {
    assert!(
        replay("fuzz/regressions/load", fuzz::load) > 0,
        "fuzz/regressions/load/ is empty"
    );
}

#[test]
fn saved_validator_inputs() {
    assert!(
        replay("fuzz/regressions/validate", fuzz::validate) > 0,
        "fuzz/regressions/validate/ is empty"
    );
}

#[test]
fn saved_protocol_inputs() {
    assert!(
        replay("fuzz/regressions/protocol", fuzz::protocol) > 0,
        "fuzz/regressions/protocol/ is empty"
    );
}

#[test]
fn saved_merge_inputs() {
    assert!(
        replay("fuzz/regressions/merge", fuzz::merge) > 0,
        "fuzz/regressions/merge/ is empty"
    );
}

#[test]
fn saved_spoken_number_inputs() {
    assert!(
        replay("fuzz/regressions/numbers", fuzz::numbers) > 0,
        "fuzz/regressions/numbers/ is empty"
    );
}

#[test]
fn saved_tool_argument_inputs() {
    assert!(
        replay("fuzz/regressions/tool_arguments", fuzz::tool_arguments) > 0,
        "fuzz/regressions/tool_arguments/ is empty"
    );
}

#[test]
fn saved_sse_inputs() {
    assert!(
        replay("fuzz/regressions/sse", fuzz::sse) > 0,
        "fuzz/regressions/sse/ is empty"
    );
}

#[test]
fn saved_retell_inputs() {
    assert!(
        replay("fuzz/regressions/retell", fuzz::retell) > 0,
        "fuzz/regressions/retell/ is empty"
    );
}

#[test]
fn saved_import_inputs() {
    assert!(
        replay("fuzz/regressions/import", fuzz::import) > 0,
        "fuzz/regressions/import/ is empty"
    );
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
