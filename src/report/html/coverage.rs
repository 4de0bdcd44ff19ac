//! The HTML report's coverage section (docs/report.md, "Coverage"): each tool's calls and
//! mocks, the mocks that never matched, the caller rules and how often they fired, the voice
//! events and hearing features, and the cases that check nothing. The numbers are counted
//! in `report::coverage`; this only shows them.

use std::fmt::Write as _;

use super::LINKED;
use super::text::{clean, esc};
use crate::report::coverage::{Coverage, matcher_text};

/// Writes the coverage section of `c` to `h`.
pub(super) fn section(h: &mut String, c: &Coverage) {
    h.push_str("<section id=\"coverage\" aria-labelledby=\"coverage-h\">\n<h2 id=\"coverage-h\">Coverage</h2>\n");
    let _ = writeln!(
        h,
        "<p>What the {} cases that ran exercised (docs/report.md).</p>",
        c.cases
    );
    h.push_str("<h3>Tools and their mocks</h3>\n");
    if c.tools.is_empty() {
        h.push_str("<p>No tool is mocked or called in the suite.</p>\n");
    } else {
        h.push_str("<table class=\"tools\"><thead><tr><th scope=\"col\">tool</th><th scope=\"col\">calls</th><th scope=\"col\">unanswered</th><th scope=\"col\">mocks matched</th></tr></thead><tbody>\n");
        for (name, tool) in &c.tools {
            let _ = writeln!(
                h,
                "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td><td>{} of {}</td></tr>",
                esc(&clean(name, 200)),
                tool.calls,
                tool.unanswered,
                tool.mocks.len() as u64 - tool.never_matched,
                tool.mocks.len()
            );
        }
        h.push_str("</tbody></table>\n");
        let unused: Vec<_> = c.never_matched().collect();
        if unused.is_empty() {
            h.push_str("<p>Every mock answered at least one call.</p>\n");
        } else {
            let _ = writeln!(
                h,
                "<h4 id=\"unused-mocks\">Mocks that never matched ({}): a mock no call reaches tests nothing</h4>\n<ul class=\"unused\">",
                unused.len()
            );
            for (_, m) in unused.iter().take(LINKED) {
                let _ = writeln!(
                    h,
                    "<li class=\"unused-mock\"><code>{}</code> in {} ({}): match <code>{}</code></li>",
                    esc(&clean(&m.path, 300)),
                    esc(&clean(&m.file, 300)),
                    esc(&clean(&m.test_id, 200)),
                    esc(&clean(&matcher_text(m), 300))
                );
            }
            if unused.len() > LINKED {
                let _ = writeln!(h, "<li>(+{} more)</li>", unused.len() - LINKED);
            }
            h.push_str("</ul>\n");
        }
    }
    h.push_str("<h3>Caller rules</h3>\n");
    if c.rules.is_empty() {
        h.push_str("<p>No case has <code>caller.rules</code>.</p>\n");
    } else {
        h.push_str("<table class=\"rules\"><thead><tr><th scope=\"col\">case</th><th scope=\"col\">rule</th><th scope=\"col\">when</th><th scope=\"col\">fired</th></tr></thead><tbody>\n");
        for r in c.rules.iter().take(LINKED * 5) {
            let _ = writeln!(
                h,
                "<tr{}><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                if r.fired == 0 { " class=\"never\"" } else { "" },
                esc(&clean(&r.file, 300)),
                esc(&r.path),
                esc(&clean(&r.when, 300)),
                if r.fired == 0 {
                    "never".to_owned()
                } else {
                    r.fired.to_string()
                }
            );
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("<h3>Voice events and hearing</h3>\n<table class=\"voice\"><thead><tr><th scope=\"col\">feature</th><th scope=\"col\">cases</th><th scope=\"col\">times</th><th scope=\"col\">counting</th></tr></thead><tbody>\n");
    for f in &c.voice {
        let _ = writeln!(
            h,
            "<tr{}><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            if f.cases == 0 { " class=\"never\"" } else { "" },
            f.feature,
            f.cases,
            f.times,
            f.counts
        );
    }
    h.push_str("</tbody></table>\n<h3>Cases that check nothing</h3>\n");
    if c.checks_nothing.is_empty() {
        h.push_str("<p>Every case checks a keyword, a phrase, a tool call, a mention, a latency or an outcome.</p>\n");
    } else {
        let _ = writeln!(
            h,
            "<p>{} cases check no keyword, phrase, tool call, mention, latency or outcome: they pass whatever the agent says.</p>\n<ul class=\"unchecked\">",
            c.checks_nothing.len()
        );
        for case in c.checks_nothing.iter().take(LINKED) {
            let _ = writeln!(
                h,
                "<li>{} ({})</li>",
                esc(&clean(&case.file, 300)),
                esc(&clean(&case.test_id, 200))
            );
        }
        if c.checks_nothing.len() > LINKED {
            let _ = writeln!(h, "<li>(+{} more)</li>", c.checks_nothing.len() - LINKED);
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</section>\n");
}
