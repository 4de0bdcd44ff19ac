//! Replays every saved fuzz input (`fuzz/regressions/<target>/`) through the same code the
//! fuzz targets run, so CI checks them without running the fuzzer (see fuzz/README.md).

use std::path::Path;

use voice_harness::__private::fuzz;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let result = std::panic::catch_unwind(|| run(&data));
        assert!(result.is_ok(), "fuzz input {} fails again", file.display());
    }
    files.len()
}

#[test]
fn saved_loader_inputs() {
    assert!(
        replay("load", fuzz::load) > 0,
        "fuzz/regressions/load/ is empty"
    );
}

#[test]
fn saved_validator_inputs() {
    assert!(
        replay("validate", fuzz::validate) > 0,
        "fuzz/regressions/validate/ is empty"
    );
}
