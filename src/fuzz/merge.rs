//! The report merger (`voice-harness merge`, SPEC §14): hostile JSON reports give a merged
//! report or an error that names the file, never a panic or a broken report.

use crate::report::merge as merge_reports;

/// Merge target: the bytes split at NUL bytes are the reports (`shard-1.json`, …, at most
/// 8). A merge that succeeds writes a JUnit report and a JSON report; when every report
/// merged is readable JSON, so is the merged one, with the cases and totals it merged, and
/// it merges alone into itself, byte for byte (a whole run merged is that run).
pub fn merge(data: &[u8]) {
    let reports: Vec<(String, Vec<u8>)> = data
        .split(|b| *b == 0)
        .take(8)
        .enumerate()
        .map(|(i, bytes)| (format!("shard-{}.json", i + 1), bytes.to_vec()))
        .collect();
    let merged = match merge_reports(&reports) {
        Ok(merged) => merged,
        Err(err) => {
            let message = err.to_string();
            assert!(
                reports
                    .iter()
                    .any(|(name, _)| message.contains(name.as_str()))
                    || message.starts_with("shard ")
                    || message.contains(" is in two of the reports"),
                "a merge error names the report (or shard) at fault: {message}"
            );
            return;
        }
    };
    let mut json = Vec::new();
    merged.write_json(&mut json).expect("writing to memory");
    // Cases keep the bytes their shard wrote: a report JSON accepts but serde_json cannot
    // read (a number like 1e999 in a field merge does not read) is merged as it is.
    let readable = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes).is_ok();
    if !reports.iter().all(|(_, bytes)| readable(bytes)) {
        return;
    }
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap_or_else(|e| {
        panic!(
            "the merged report is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&json)
        )
    });
    let cases = value["cases"]
        .as_array()
        .expect("the merged report lists cases");
    assert_eq!(
        value["summary"]["total"].as_u64(),
        Some(cases.len() as u64),
        "the total counts the merged cases"
    );
    assert_eq!(
        merged.summary.total,
        cases.len(),
        "the summary counts the merged cases"
    );
    let files: Vec<&str> = cases.iter().filter_map(|c| c["file"].as_str()).collect();
    assert!(
        files.windows(2).all(|w| w[0] < w[1]),
        "cases in file order, each once"
    );
    let again = merge_reports(&[("merged.json".to_owned(), json.clone())])
        .unwrap_or_else(|e| panic!("the merged report does not merge alone: {e}"));
    let mut json_again = Vec::new();
    again
        .write_json(&mut json_again)
        .expect("writing to memory");
    assert!(json == json_again, "a whole run merged alone is itself");
    let mut junit = Vec::new();
    merged.write_junit(&mut junit).expect("writing to memory");
}
