//! The tone check (docs/case-format.md, "Validation"): no tone marker in any agent line.

use super::ToneCheck;
use crate::call::conversation::Row;
use crate::case::Speaker;
use crate::normalize::{Words, lowercase, split};

/// The tone check (docs/case-format.md, "Validation"): fails when any tone marker appears in any agent line.
pub(crate) fn tone_check(markers: &[String], transcript: &[Row], numbers: bool) -> ToneCheck {
    let mut found = Vec::new();
    if !markers.is_empty() {
        // A marker's words can only be in a line that holds each of them as text (numbers
        // aside: "one" is heard as "1"), so most lines need no words at all.
        let marker_words: Vec<Vec<String>> = markers
            .iter()
            .map(|m| {
                split(&lowercase(m))
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            })
            .collect();
        for row in transcript.iter().filter(|r| r.speaker == Speaker::Agent) {
            let lower = lowercase(&row.text);
            let may_have = |words: &Vec<String>| words.iter().all(|w| lower.contains(w.as_str()));
            if !numbers && !marker_words.iter().any(may_have) {
                continue;
            }
            let said = Words::new(&lower, numbers);
            for marker in markers {
                if said.has(marker) {
                    found.push((row.step_order, marker.clone()));
                }
            }
        }
    }
    ToneCheck {
        passed: found.is_empty(),
        found,
    }
}
