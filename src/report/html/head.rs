//! The top of the HTML page, written when the run is over: the document head (policy,
//! style), the header with the verdict, the summary section (counts, the run, links to the
//! cases not as expected), the charts' section, the coverage section, and the cases'
//! heading with its filters. The cases follow from the spools.

use std::fmt::Write as _;

use super::charts::{latency_chart, sweep_chart};
use super::text::{clean, esc, timestamp};
use super::{HtmlReport, PageInfo, STYLE};
use crate::report::coverage::Coverage;
use crate::report::{ReportMeta, Summary};

impl HtmlReport {
    /// Writes the page up to the first case to `h`.
    pub(super) fn head(
        &self,
        h: &mut String,
        summary: &Summary,
        meta: &ReportMeta,
        coverage: &Coverage,
        info: &PageInfo,
    ) {
        let not_expected = summary.total - summary.as_expected;
        let verdict = if not_expected == 0 {
            "all as expected".to_owned()
        } else {
            format!("{not_expected} not as expected")
        };
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        // No fetch of any kind: the page must work from a CI artifact with no network.
        h.push_str(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; \
             form-action 'none'; base-uri 'none'\">\n",
        );
        h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        h.push_str("<meta name=\"color-scheme\" content=\"light dark\">\n");
        let _ = writeln!(
            h,
            "<title>voice-harness: {} cases, {}</title>",
            summary.total, verdict
        );
        // First of all, so it sees every fetch: one the policy blocks is a bug, said where a
        // test (or a person with the inspector) can see it.
        h.push_str(
            "<script>document.addEventListener('securitypolicyviolation', function (e) {\n  \
             var r = document.documentElement;\n  \
             r.setAttribute('data-blocked', (r.getAttribute('data-blocked') || '') + ' ' + e.blockedURI);\n\
             });</script>\n",
        );
        h.push_str("<style>\n");
        h.push_str(STYLE);
        h.push_str("</style>\n</head>\n<body>\n");
        h.push_str("<a class=\"skip\" href=\"#cases\">Skip to the cases</a>\n");
        h.push_str("<header>\n<h1>voice-harness report</h1>\n");
        let _ = writeln!(
            h,
            "<p class=\"verdict-line {}\"><strong>{}</strong>: {}</p>",
            if not_expected == 0 { "ok" } else { "bad" },
            if not_expected == 0 { "OK" } else { "NOT OK" },
            esc(&format!("{}; {verdict}", summary.counts()))
        );
        h.push_str(
            "<nav aria-label=\"Sections\"><ul><li><a href=\"#summary\">Summary</a></li>\
             <li><a href=\"#charts\">Charts</a></li><li><a href=\"#coverage\">Coverage</a></li>\
             <li><a href=\"#cases\">Cases</a></li></ul></nav>\n</header>\n<main>\n",
        );
        self.summary(h, summary, meta, info);
        self.charts(h);
        super::coverage::section(h, coverage);
        self.cases_head(h);
    }

    fn summary(&self, h: &mut String, s: &Summary, meta: &ReportMeta, info: &PageInfo) {
        h.push_str("<section id=\"summary\" aria-labelledby=\"summary-h\">\n<h2 id=\"summary-h\">Summary</h2>\n");
        h.push_str("<dl class=\"counts\">\n");
        let count = |h: &mut String, class: &str, what: &str, n: usize| {
            let _ = writeln!(
                h,
                "<div class=\"count {class}\"><dt>{what}</dt><dd>{n}</dd></div>"
            );
        };
        count(h, "total", "cases", s.total);
        count(h, "s-pass", "passed", s.passed);
        count(h, "s-fail", "failed", s.failed);
        count(h, "s-error", "errors", s.errors);
        count(h, "expected", "as expected", s.as_expected);
        count(h, "flagged", "not as expected", s.total - s.as_expected);
        h.push_str("</dl>\n<dl class=\"run\">\n");
        let item = |h: &mut String, what: &str, value: &str| {
            let _ = writeln!(h, "<div><dt>{what}</dt><dd>{value}</dd></div>");
        };
        item(h, "agent", &esc(&info.agent));
        item(
            h,
            "seed",
            &info
                .seed
                .map_or_else(|| "each case's own".to_owned(), |s| s.to_string()),
        );
        item(
            h,
            "shard",
            &esc(meta.shard.as_deref().unwrap_or("whole suite")),
        );
        if let Some(sweep) = &info.sweep {
            item(h, "sweep", &esc(sweep));
        }
        item(
            h,
            "files",
            &format!("{} in the suite ({})", meta.files, esc(&meta.suite)),
        );
        item(h, "voice-harness", &esc(&meta.version));
        item(
            h,
            "duration",
            &format!(
                "<span class=\"duration\">{:.2} s</span>",
                info.duration.as_secs_f64()
            ),
        );
        let stamp = timestamp(info.generated);
        item(
            h,
            "generated",
            &format!("<time class=\"generated\" datetime=\"{stamp}\">{stamp}</time>"),
        );
        h.push_str("</dl>\n");
        if self.linked.is_empty() {
            h.push_str("<p>Every case is as expected.</p>\n");
        } else {
            h.push_str("<h3>Not as expected</h3>\n<ul class=\"links\">\n");
            for (id, label) in &self.linked {
                let _ = writeln!(h, "<li><a href=\"#c{id}\">{}</a></li>", esc(label));
            }
            let more = (s.total - s.as_expected).saturating_sub(self.linked.len());
            if more > 0 {
                let _ = writeln!(h, "<li>(+{more} more below)</li>");
            }
            h.push_str("</ul>\n");
        }
        h.push_str("</section>\n");
    }

    fn charts(&self, h: &mut String) {
        h.push_str("<section id=\"charts\" aria-labelledby=\"charts-h\">\n<h2 id=\"charts-h\">Charts</h2>\n");
        latency_chart(h, &self.steps);
        if !self.sweeps.is_empty() {
            sweep_chart(h, &self.sweeps);
        }
        h.push_str("</section>\n");
    }

    fn cases_head(&self, h: &mut String) {
        h.push_str(
            "<section id=\"cases\" aria-labelledby=\"cases-h\">\n<h2 id=\"cases-h\">Cases</h2>\n",
        );
        let _ = writeln!(
            h,
            "<p>{} not as expected first, then {} failing as expected (negative tests), then {} passing, each in file order. Open a case to read its call. <span class=\"nojs\">Without JavaScript only the first cases not as expected show their call; the JSON report (<code>--json</code>) has every call.</span></p>",
            self.flagged.cases, self.failing.cases, self.rest.cases
        );
        h.push_str(
            "<form id=\"filters\" role=\"search\" aria-label=\"Filter the cases\" hidden>\n",
        );
        h.push_str(
            "<label>Status <select id=\"f-status\"><option value=\"\">all</option>\
             <option value=\"flagged\">not as expected</option><option value=\"fail\">fail</option>\
             <option value=\"error\">error</option><option value=\"pass\">pass</option></select></label>\n",
        );
        h.push_str("<label>Tag <select id=\"f-tag\"><option value=\"\">any</option>");
        for tag in &self.tags {
            let tag = esc(&clean(tag, 100));
            let _ = write!(h, "<option value=\"{tag}\">{tag}</option>");
        }
        h.push_str("</select></label>\n");
        h.push_str(
            "<label>Text <input type=\"search\" id=\"f-text\" placeholder=\"test id, file, reason\"></label>\n\
             <output id=\"f-count\" aria-live=\"polite\"></output>\n</form>\n",
        );
        h.push_str("<div id=\"list\">\n");
    }
}
