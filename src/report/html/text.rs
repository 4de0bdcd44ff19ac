//! Text on the HTML page: text from a case made safe to show (invisible and control
//! characters made visible, long texts cut with a note, HTML-escaped), JSON made safe inside
//! a `<script>` element, short labels, and the page's timestamp format.

use std::fmt::Write as _;
use std::io;
use std::time::SystemTime;

use serde::Serialize;

/// Text from a case, made safe to show: control characters as their visible pictures
/// (`␛`), characters that reorder text (bidirectional overrides) and other invisible
/// format characters as `<U+202E>`, and text past `limit` characters cut with a note that
/// says how much is missing.
pub(super) fn clean(text: &str, limit: usize) -> String {
    let mut out = String::with_capacity(text.len().min(limit.saturating_mul(4).saturating_add(64)));
    for (chars, c) in text.chars().enumerate() {
        if chars == limit {
            let total = text.chars().count();
            let _ = write!(
                out,
                " … [cut: {} more characters of {total}; the JSON report has the whole text]",
                total - chars
            );
            return out;
        }
        match c {
            '\n' | '\t' => out.push(c),
            '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?')),
            '\u{7f}' => out.push('␡'),
            '\u{80}'..='\u{9f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}' => {
                let _ = write!(out, "<U+{:04X}>", c as u32);
            }
            _ => out.push(c),
        }
    }
    out
}

/// [`clean`] text in at most `limit` characters, ending in `…` when cut (a label).
pub(super) fn short(text: &str, limit: usize) -> String {
    let text = clean(text, usize::MAX);
    if text.chars().count() <= limit {
        return text;
    }
    let mut out: String = text.chars().take(limit.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Escapes text for HTML content and attribute values.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// JSON for a `<script type="application/json">`: `<`, `>` and `&` as `\u003c` and so on,
/// so nothing in it can close the element (they only occur inside JSON strings).
pub(super) fn script_json(out: &mut Vec<u8>, value: &impl Serialize) -> io::Result<()> {
    let json = serde_json::to_vec(value).map_err(io::Error::other)?;
    out.reserve(json.len());
    for byte in json {
        match byte {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            _ => out.push(byte),
        }
    }
    Ok(())
}

/// `2026-11-30T09:41:36Z` (UTC, whole seconds).
pub(super) fn timestamp(at: SystemTime) -> String {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-to-civil, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(timestamp(at(0)), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(at(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(timestamp(at(1_796_031_696)), "2026-11-30T09:41:36Z");
    }

    #[test]
    fn hostile_text_is_made_visible_cut_and_escaped() {
        assert_eq!(clean("a\u{1b}[31mb\u{0}", 100), "a␛[31mb␀");
        assert_eq!(clean("x\u{202e}y", 100), "x<U+202E>y");
        let long = "é".repeat(5000);
        let cut = clean(&long, 10);
        assert!(cut.starts_with(&"é".repeat(10)));
        assert!(
            cut.ends_with(
                "[cut: 4990 more characters of 5000; the JSON report has the whole text]"
            )
        );
        assert_eq!(esc("<script>'&\""), "&lt;script&gt;&#39;&amp;&quot;");
        let mut out = Vec::new();
        script_json(&mut out, &"</script><b>&").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""\u003c/script\u003e\u003cb\u003e\u0026""#
        );
    }
}
