//! A case's line of the JSON report, written directly: the same bytes as serde_json gives
//! for [`CaseReport`] (the tests below hold the two to each other), at a fraction of the
//! cost. A realistic case has some 450 keys and strings; through serde each key is escaped
//! and each value dispatched at run time, which made serializing a fifth of a large run's
//! time. The small, rare parts (metrics, tool calls, a judge's verdict, a sweep) still go
//! through serde_json.

use std::io;

use serde::Serialize;

use super::{CaseReport, ReportStatus};
use crate::call::{Row, RowEvent};
use crate::run::StepResult;

/// Appends `case` as one line of JSON (no newline) to `out`.
pub(super) fn write_case(out: &mut Vec<u8>, case: &CaseReport) -> io::Result<()> {
    out.extend_from_slice(b"{\"test_id\":");
    opt_str(out, case.test_id.as_deref());
    out.extend_from_slice(b",\"file\":");
    string(out, &case.file);
    out.extend_from_slice(match case.status {
        ReportStatus::Pass => b",\"status\":\"pass\"",
        ReportStatus::Fail => b",\"status\":\"fail\"",
        ReportStatus::Error => b",\"status\":\"error\"",
    });
    out.extend_from_slice(b",\"as_expected\":");
    boolean(out, case.as_expected);
    out.extend_from_slice(b",\"error\":");
    opt_str(out, case.error.as_deref());
    out.extend_from_slice(b",\"seed\":");
    match case.seed {
        Some(seed) => number(out, seed),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"transcript\":[");
    for (i, row) in case.transcript.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_row(out, row)?;
    }
    out.extend_from_slice(b"],\"truncated\":");
    boolean(out, case.truncated);
    out.extend_from_slice(b",\"steps\":[");
    for (i, step) in case.steps.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_step(out, step)?;
    }
    out.extend_from_slice(b"],\"failures\":");
    strings(out, &case.failures);
    out.extend_from_slice(b",\"metrics\":");
    serde(out, &case.metrics)?;
    out.extend_from_slice(b",\"tone_passed\":");
    match case.tone_passed {
        Some(passed) => boolean(out, passed),
        None => out.extend_from_slice(b"null"),
    }
    if let Some(sweep) = &case.sweep {
        out.extend_from_slice(b",\"sweep\":");
        serde(out, sweep)?;
    }
    if let Some(shrunk) = &case.shrunk {
        out.extend_from_slice(b",\"shrunk\":");
        string(out, shrunk);
    }
    out.extend_from_slice(b",\"reason\":");
    opt_str(out, case.reason.as_deref());
    out.push(b'}');
    Ok(())
}

/// A transcript row, as `impl Serialize for Row` writes it.
fn write_row(out: &mut Vec<u8>, row: &Row) -> io::Result<()> {
    out.extend_from_slice(b"{\"speaker\":\"");
    out.extend_from_slice(row.speaker.as_str().as_bytes());
    out.push(b'"');
    if let Some(call) = &row.call {
        out.extend_from_slice(b",\"name\":");
        string(out, &call.name);
        out.extend_from_slice(b",\"arguments\":");
        serde(out, &call.arguments)?;
        out.extend_from_slice(b",\"result\":");
        serde(out, &call.result)?;
        out.extend_from_slice(b",\"step_order\":");
        number(out, row.step_order);
        out.push(b'}');
        return Ok(());
    }
    out.extend_from_slice(b",\"text\":");
    string(out, &row.text);
    out.extend_from_slice(b",\"step_order\":");
    number(out, row.step_order);
    if let Some(latency) = row.latency_ms {
        out.extend_from_slice(b",\"latency_ms\":");
        number(out, latency);
    }
    if let Some(heard) = &row.heard {
        out.extend_from_slice(b",\"heard\":");
        string(out, heard);
    }
    if let Some(rule) = &row.rule {
        out.extend_from_slice(b",\"rule\":");
        string(out, rule);
    }
    match row.event {
        Some(RowEvent::Silence(ms)) => {
            out.extend_from_slice(b",\"event\":\"silence\",\"silence_ms\":");
            number(out, ms);
        }
        Some(RowEvent::Dtmf) => out.extend_from_slice(b",\"event\":\"dtmf\""),
        None => {}
    }
    if let Some(cut) = &row.cut {
        out.extend_from_slice(b",\"interrupted\":true,\"heard\":");
        string(out, &cut.heard);
        if let Some(at_ms) = cut.at_ms {
            out.extend_from_slice(b",\"cut_at_ms\":");
            number(out, at_ms);
        }
    }
    out.push(b'}');
    Ok(())
}

/// A step's verdict, as `#[derive(Serialize)]` on [`StepResult`] writes it.
fn write_step(out: &mut Vec<u8>, step: &StepResult) -> io::Result<()> {
    out.extend_from_slice(b"{\"step_order\":");
    number(out, step.step_order);
    out.extend_from_slice(b",\"passed\":");
    boolean(out, step.passed);
    out.extend_from_slice(b",\"user_match\":");
    match step.user_match {
        Some(matched) => boolean(out, matched),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"expected_user_input\":");
    string(out, &step.expected_user_input);
    out.extend_from_slice(b",\"actual_user_input\":");
    opt_str(out, step.actual_user_input.as_deref());
    out.extend_from_slice(b",\"agent_response\":");
    opt_str(out, step.agent_response.as_deref());
    out.extend_from_slice(b",\"missing_keywords\":");
    strings(out, &step.missing_keywords);
    out.extend_from_slice(b",\"forbidden_found\":");
    strings(out, &step.forbidden_found);
    out.extend_from_slice(b",\"latency_ms\":");
    match step.latency_ms {
        Some(latency) => number(out, latency),
        None => out.extend_from_slice(b"null"),
    }
    if let Some(heard) = &step.agent_heard {
        out.extend_from_slice(b",\"agent_heard\":");
        string(out, heard);
    }
    if let Some(heard) = &step.heard {
        out.extend_from_slice(b",\"heard\":");
        string(out, heard);
    }
    out.extend_from_slice(b",\"details\":");
    opt_str(out, step.details.as_deref());
    if let Some(calls) = &step.tool_calls {
        out.extend_from_slice(b",\"tool_calls\":");
        serde(out, calls)?;
    }
    if let Some(missing) = &step.missing_tool_calls {
        out.extend_from_slice(b",\"missing_tool_calls\":");
        strings(out, missing);
    }
    if let Some(found) = &step.forbidden_tool_calls_found {
        out.extend_from_slice(b",\"forbidden_tool_calls_found\":");
        strings(out, found);
    }
    if let Some(judge) = &step.judge {
        out.extend_from_slice(b",\"judge\":");
        serde(out, judge)?;
    }
    out.push(b'}');
    Ok(())
}

fn serde(out: &mut Vec<u8>, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(out, value).map_err(io::Error::other)
}

fn boolean(out: &mut Vec<u8>, value: bool) {
    out.extend_from_slice(if value { b"true" } else { b"false" });
}

fn number(out: &mut Vec<u8>, value: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

fn opt_str(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(text) => string(out, text),
        None => out.extend_from_slice(b"null"),
    }
}

fn strings(out: &mut Vec<u8>, values: &[String]) {
    out.push(b'[');
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, value);
    }
    out.push(b']');
}

/// A JSON string, escaped as serde_json escapes: `"` and `\`, the short forms `\b \f \n
/// \r \t`, other control characters as `\u00XX` (lowercase hex); nothing else.
fn string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Past text that needs no escape (nearly all of it) 16 bytes at a time, then eight;
        // a byte at a time only where one might need it.
        if let Some(block) = bytes.get(i..i + BLOCK)
            && !block_needs_escape(block.try_into().expect("a block"))
        {
            i += BLOCK;
            continue;
        }
        if let Some(word) = bytes.get(i..i + 8)
            && !needs_escape(u64::from_le_bytes(word.try_into().expect("eight bytes")))
        {
            i += 8;
            continue;
        }
        let byte = bytes[i];
        i += 1;
        if byte >= 0x20 && byte != b'"' && byte != b'\\' {
            continue;
        }
        let i = i - 1;
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0C => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0xF)]);
            }
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

const BLOCK: usize = 16;

/// Whether any byte of `block` is a control character, `"` or `\`. Written without early
/// exits (`|` on every byte), so the compiler tests the block with vector instructions.
fn block_needs_escape(block: &[u8; BLOCK]) -> bool {
    block.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// Whether any of the eight bytes of `word` is a control character, `"` or `\`. Exact,
/// not a guess: a byte's flag can only be set by itself or by a borrow from a lower byte
/// that is flagged already (the classic "has zero byte" test of Hacker's Delight 6-1).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let below_space = word.wrapping_sub(ONES * 0x20) & !word;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v;
    let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
    (below_space | quote | backslash) & HIGHS != 0
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::*;
    use crate::call::Cut;
    use crate::case::ToolCall;
    use crate::report::{CaseFiles, SuiteOptions, run_suite};

    /// The reports of the sample suite: every kind of row and step it has (tools, silence,
    /// keypad tones, barge-ins, recognition noise, rules, negative and recorded cases).
    fn samples() -> &'static [CaseReport] {
        static REPORTS: OnceLock<Vec<CaseReport>> = OnceLock::new();
        REPORTS.get_or_init(|| {
            let files = CaseFiles::find(&[std::path::PathBuf::from("cases")]).unwrap();
            let mut reports = Vec::new();
            run_suite(
                &files,
                &SuiteOptions::default(),
                crate::BuiltinAgent::for_case,
                || {},
                |r| reports.push(r),
            );
            reports
        })
    }

    fn assert_same(case: &CaseReport) {
        let mut mine = Vec::new();
        write_case(&mut mine, case).unwrap();
        let serde = serde_json::to_vec(case).unwrap();
        assert_eq!(
            String::from_utf8(mine).unwrap(),
            String::from_utf8(serde).unwrap()
        );
    }

    /// `case` with every optional field set to `text`, and its strings replaced by it.
    fn filled(case: &CaseReport, text: &str) -> CaseReport {
        let mut case = case.clone();
        let t = || text.to_owned();
        case.test_id = Some(t());
        case.file = t();
        case.error = Some(t());
        case.reason = Some(t());
        case.shrunk = Some(t());
        let once = crate::sweep::SweepOptions::new(1).with_from(Some(3));
        case.sweep = Some(crate::sweep::SweepResult::once(&once, 0, Some(t())));
        case.failures = vec![t(), t()];
        for row in &mut case.transcript {
            row.text = t();
            row.heard = Some(t());
            row.rule = Some(t());
            if row.speaker == crate::case::Speaker::Agent {
                row.cut = Some(Cut {
                    heard: t(),
                    at_ms: Some(7),
                });
            }
        }
        for step in &mut case.steps {
            step.expected_user_input = t();
            step.actual_user_input = Some(t());
            step.agent_response = Some(t());
            step.missing_keywords = vec![t()];
            step.forbidden_found = vec![t(), t()];
            step.agent_heard = Some(t());
            step.heard = Some(t());
            step.details = Some(t());
            step.tool_calls = Some(vec![ToolCall {
                name: t(),
                arguments: serde_json::json!({ "q": text }),
                result: serde_json::json!([text, 1.5, null]),
                mock: None,
            }]);
            step.missing_tool_calls = Some(vec![t()]);
            step.forbidden_tool_calls_found = Some(vec![]);
            step.judge = Some(crate::validate::JudgeVerdict {
                verdict: "unsure".to_owned(),
                reason: t(),
            });
        }
        case
    }

    #[test]
    fn every_sample_report_is_written_as_serde_json_writes_it() {
        assert!(samples().len() >= 20);
        for case in samples() {
            assert_same(case);
            assert_same(&filled(
                case,
                "text with \"quotes\", \\ and \n\t\u{1}\u{7f} é ✓",
            ));
        }
        // A recorded cut has no time: both writers leave `cut_at_ms` out.
        let mut untimed = filled(&samples()[0], "x");
        for cut in untimed.transcript.iter_mut().filter_map(|r| r.cut.as_mut()) {
            cut.at_ms = None;
        }
        assert!(untimed.transcript.iter().any(|r| r.cut.is_some()));
        assert_same(&untimed);
        let mut bare = samples()[0].clone();
        (bare.test_id, bare.seed, bare.metrics, bare.tone_passed) = (None, None, None, None);
        assert_same(&bare);
    }

    /// The word test against a byte at a time: every byte value at every position of
    /// words whose other bytes are each of a set of neighbours (including the ones a
    /// borrow could flip: space, `#`, `]`, 0x80, 0xFF).
    #[test]
    fn the_word_test_flags_exactly_the_bytes_that_need_escaping() {
        let special = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
        for filler in [b'a', b' ', b'!', b'#', b'[', b']', 0x7F, 0x80, 0xFF] {
            for position in 0..8 {
                for byte in 0..=255u8 {
                    let mut bytes = [filler; 8];
                    bytes[position] = byte;
                    assert_eq!(
                        needs_escape(u64::from_le_bytes(bytes)),
                        special(byte),
                        "{bytes:?}"
                    );
                }
            }
        }
    }

    /// The block test likewise: every byte value in every position of a plain block.
    #[test]
    fn the_block_test_flags_exactly_the_bytes_that_need_escaping() {
        let special = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
        for position in 0..BLOCK {
            for byte in 0..=255u8 {
                let mut block = [b'a'; BLOCK];
                block[position] = byte;
                assert_eq!(block_needs_escape(&block), special(byte), "{block:?}");
            }
        }
    }

    /// Each escaped character at each offset of longer plain text, so that it falls in
    /// every lane of the blocks and eight-byte words and in the tail after them.
    #[test]
    fn escapes_are_found_at_every_offset() {
        for special in ['"', '\\', '\n', '\u{1}', '\u{1f}'] {
            for at in 0..=26 {
                let mut text: String = "plain text, é and more words".chars().take(26).collect();
                text.insert(
                    text.char_indices().nth(at).map_or(text.len(), |(i, _)| i),
                    special,
                );
                let mut out = Vec::new();
                string(&mut out, &text);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    serde_json::to_string(&text).unwrap()
                );
            }
        }
    }

    proptest! {
        #[test]
        fn any_block_is_flagged_as_a_byte_at_a_time_would(block in any::<[u8; BLOCK]>()) {
            let special = block.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
            prop_assert_eq!(block_needs_escape(&block), special);
        }

        #[test]
        fn any_eight_bytes_are_flagged_as_a_byte_at_a_time_would(bytes in any::<[u8; 8]>()) {
            let special = bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
            prop_assert_eq!(needs_escape(u64::from_le_bytes(bytes)), special);
        }

        #[test]
        fn any_text_is_escaped_as_serde_json_escapes_it(
            text in any::<String>(),
            controls in proptest::collection::vec(0u8..0x20, 0..4),
            pick in 0usize..1000,
        ) {
            let mut text = text;
            text.extend(controls.into_iter().map(char::from));
            let case = &samples()[pick % samples().len()];
            assert_same(&filled(case, &text));
        }
    }
}
