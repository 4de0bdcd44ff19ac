//! The HTML report and the coverage (docs/report.md), through the runner as a real
//! process: the page's bytes and structure, the coverage numbers, hostile text, bad paths,
//! and the page in a real browser (headless Chromium) with no network request.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_voice-harness");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn write(dir: &Path, path: &str, text: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The page with what may differ between runs (the time it was written, the run's
/// duration) replaced.
fn redacted(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    for (open, close, with) in [
        (
            "<span class=\"duration\">",
            "</span>",
            "<span class=\"duration\">[duration]</span>",
        ),
        (
            "<time class=\"generated\"",
            "</time>",
            "<time class=\"generated\">[generated]</time>",
        ),
    ] {
        let start = rest.find(open).expect("the page has the element");
        let end = start + rest[start..].find(close).unwrap() + close.len();
        out.push_str(&rest[..start]);
        out.push_str(with);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The redacted page without its style sheet and script (constants, kept in
/// src/report/html/): what the snapshot holds.
fn structure(html: &str) -> String {
    let page = redacted(html);
    let cut = |page: &str, open: &str, close: &str, with: &str| {
        let start = page.find(open).unwrap() + open.len();
        let end = start + page[start..].find(close).unwrap();
        format!("{}{with}{}", &page[..start], &page[end..])
    };
    let page = cut(&page, "<style>\n", "</style>", "[page.css]\n");
    cut(&page, "<script>\n", "</script>\n</body>", "[page.js]\n")
}

#[test]
fn the_sample_suite_page_is_the_same_bytes_on_every_run_and_thread_count() {
    let out = tempfile::tempdir().unwrap();
    let pages: Vec<String> = ["1", "2"]
        .iter()
        .map(|jobs| {
            let page = out.path().join(format!("j{jobs}.html"));
            let o = run(
                Path::new(ROOT),
                &[
                    "run",
                    "cases",
                    "-q",
                    "-j",
                    jobs,
                    "--html",
                    page.to_str().unwrap(),
                ],
            );
            assert_eq!(
                o.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
            std::fs::read_to_string(page).unwrap()
        })
        .collect();
    assert_ne!(pages[0], "", "the page is written");
    assert_eq!(redacted(&pages[0]), redacted(&pages[1]));
    let page = &pages[0];
    // One file, nothing fetched: no external script, style, image or font.
    assert!(page.contains("default-src 'none'"));
    for attribute in ["src=", "href=\"http", "@import", "url("] {
        assert!(!page.contains(attribute), "{attribute} in the page");
    }
    insta::assert_snapshot!("sample_suite_page", structure(page));
}

#[test]
fn coverage_names_the_mocks_never_matched_and_the_rules_never_fired() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let o = run(
        Path::new(ROOT),
        &[
            "run",
            "cases",
            "--coverage",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8(o.stdout).unwrap();
    let summary: String = stdout
        .lines()
        .filter(|l| !l.starts_with("JSON report") && !l.contains(" s)"))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("coverage_summary", summary);

    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let coverage = &report["coverage"];
    assert_eq!(coverage["cases"], 28);
    let lookup = &coverage["tools"]["lookup_order"];
    assert_eq!(lookup["calls"], 1);
    assert_eq!(lookup["unanswered"], 1, "5513 matches no mock");
    assert_eq!(lookup["never_matched"], 1);
    assert_eq!(lookup["mocks"][0]["path"], "tools.lookup_order[0]");
    assert_eq!(lookup["mocks"][0]["match"]["order_id"], "5512");
    assert_eq!(lookup["mocks"][0]["calls"], 0);
    let check = &coverage["tools"]["CheckAvailability"];
    assert_eq!(check["calls"], 2);
    let calls: Vec<&Value> = check["mocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["calls"])
        .collect();
    assert_eq!(
        calls,
        [1, 1],
        "19:00 by the first mock, 19:30 by the catch-all"
    );
    let fired: Vec<(String, u64)> = coverage["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                format!(
                    "{} {}",
                    r["test_id"].as_str().unwrap(),
                    r["path"].as_str().unwrap()
                ),
                r["fired"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        fired,
        [
            ("rules_booking_in_any_order caller.rules[0]".to_owned(), 1),
            ("rules_booking_in_any_order caller.rules[1]".to_owned(), 1),
            ("rules_booking_in_any_order caller.rules[2]".to_owned(), 1),
            (
                "rules_hangs_up_after_confusion caller.rules[0]".to_owned(),
                0
            ),
            (
                "rules_hangs_up_after_confusion caller.rules[1]".to_owned(),
                0
            ),
        ]
    );

    // Without --coverage the report is as before: no block.
    let o = run(
        Path::new(ROOT),
        &["run", "cases", "-q", "--json", json.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(report.get("coverage").is_none());
}

#[test]
fn a_case_that_checks_nothing_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "s/empty_checks.json",
        r#"{"test_id": "empty_checks", "persona": "P",
            "turns": [{"step_order": 1, "user_input": "Hi"}, {"step_order": 2, "silence_ms": 3000}]}"#,
    );
    write(
        dir.path(),
        "s/checks.json",
        r#"{"test_id": "checks", "persona": "P",
            "turns": [{"step_order": 1, "user_input": "Hi", "expected_agent_response_keywords": ["hello"]}]}"#,
    );
    let o = run(
        dir.path(),
        &["run", "s", "-q", "--coverage", "--json", "r.json"],
    );
    // Asked for by name, the summary is printed with -q too.
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("  cases that check nothing: 1\n  check nothing:\n    s/empty_checks.json (empty_checks)\n"),
        "{stdout}"
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(
        report["coverage"]["checks_nothing"],
        serde_json::json!([{"file": "s/empty_checks.json", "test_id": "empty_checks"}]),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let silence = &report["coverage"]["voice"][0];
    assert_eq!(silence["feature"], "silence");
    assert_eq!(
        (silence["cases"].as_u64(), silence["times"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn an_html_path_that_cannot_be_written_is_a_usage_error_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "s/one.json",
        r#"{"test_id": "one", "persona": "P", "turns": [{"step_order": 1, "user_input": "Hi"}]}"#,
    );
    // The agent program leaves a mark when a call starts it.
    let agent = "touch called";
    let o = run(
        dir.path(),
        &[
            "run",
            "s",
            "--agent-command",
            agent,
            "--html",
            "no/such/dir/r.html",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .starts_with("error: could not write the HTML report to no/such/dir/r.html"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!dir.path().join("called").exists(), "no call was made");
    for (args, message) in [
        (vec!["--html", "-"], "error: --html needs a file"),
        (
            vec!["--html", "r.json", "--json", "./r.json"],
            "error: --html r.json names the file of another report",
        ),
    ] {
        let mut all = vec!["run", "s", "--agent-command", agent];
        all.extend(args);
        let o = run(dir.path(), &all);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&o.stderr).starts_with(message),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!dir.path().join("called").exists(), "no call was made");
    }
    // The mark does show a call.
    let o = run(
        dir.path(),
        &["run", "s", "--agent-command", agent, "--html", "r.html"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(dir.path().join("called").exists());
    assert!(dir.path().join("r.html").exists());
}

/// A 1 MiB case file's worth of text in one line (the loader's limit is 1 MiB a file).
const LONG: usize = 1_000_000;
const HOSTILE: &str = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\"></details></article>\u{1b}[31m\u{0}\u{202e}";

/// A suite with what a page must survive: markup and scripts in every text a case has
/// (persona, tags, lines, tool arguments and results, file name), control and
/// direction-changing characters, and a line of a million characters; one case not as
/// expected (drawn in the page) and one as expected (drawn by the script).
fn hostile_suite(dir: &Path) {
    let case = |id: &str, keywords: &str| {
        serde_json::json!({
            "test_id": id,
            "persona": HOSTILE,
            "tags": [HOSTILE, "hostile"],
            "transcript": [
                {"speaker": "user", "text": format!("Hi {HOSTILE}")},
                {"speaker": "tool", "name": HOSTILE, "arguments": {"q": HOSTILE}, "result": {"r": HOSTILE}},
                {"speaker": "agent", "text": format!("hello {HOSTILE} {}", "x".repeat(LONG)), "latency_ms": 5}
            ],
            "turns": [{"step_order": 1, "user_input": format!("Hi {HOSTILE}"),
                       "expected_agent_response_keywords": [keywords]}]
        })
        .to_string()
    };
    write(
        dir,
        "s/<img src=x onerror=alert(1)>.json",
        &case("hostile_shown", "absent"),
    );
    write(dir, "s/hostile_data.json", &case("hostile_data", "hello"));
}

#[test]
fn hostile_text_is_escaped_and_cut_visibly() {
    let dir = tempfile::tempdir().unwrap();
    hostile_suite(dir.path());
    let o = run(
        dir.path(),
        &["run", "s", "--html", "r.html", "--json", "r.json"],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let page = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    assert!(
        !page.contains("<script>document.title"),
        "a script from a case"
    );
    assert!(!page.contains("<img"), "an element from a case");
    assert!(!page.contains('\u{1b}') && !page.contains('\u{0}') && !page.contains('\u{202e}'));
    assert!(
        page.contains("&lt;script&gt;document.title="),
        "shown as text"
    );
    assert!(
        page.contains("\\u003cscript\\u003edocument"),
        "kept as text in the JSON data"
    );
    assert!(page.contains("␛[31m␀&lt;U+202E&gt;"));
    assert!(
        page.contains("more characters of 1000"),
        "the long line is cut, saying so"
    );
    // Both million-character lines were cut: the page is small.
    assert!(page.len() < 150_000, "{} bytes", page.len());
    // The report's own elements are intact: one data script per case drawn on demand,
    // and the page's two scripts.
    assert_eq!(page.matches("<script").count(), 3);
    assert_eq!(page.matches("</script>").count(), 3);
    assert_eq!(page.matches("<article").count(), 2);
    assert_eq!(page.matches("</article>").count(), 2);
}

/// Headless Chromium, or `None` (with the reason printed) where it is not installed. Under
/// `CI=true` it must be there (CI installs it).
fn chromium() -> Option<PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() {
        let why =
            "headless Chromium is not installed (/usr/bin/chromium; Debian package `chromium`)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{why}: CI must install it (apt-get install -y chromium)");
        }
        eprintln!("skipped: {why}");
    }
    found
}

/// What Chromium made of `url`: the DOM after the page's script ran, and its network log.
fn browse(browser: &Path, work: &Path, url: &str, extra: &[&str]) -> (String, String) {
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile = work.join(format!("profile{n}"));
    let net_log = work.join(format!("net{n}.json"));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", net_log.display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut dom = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut dom).unwrap();
        dom
    });
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("Chromium took more than 90 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dom = reader.join().unwrap();
    let log = std::fs::read_to_string(&net_log).unwrap_or_default();
    (dom, log)
}

/// Requests the page made to the network, from a Chromium net log: the requests with an
/// initiator (a document; the browser's own, such as its update checks, have "not an
/// origin") for an http(s) or ws(s) URL. The log has an event a line.
fn network_requests(net_log: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in net_log.lines() {
        if !line.contains("\"initiator\":") || line.contains("\"initiator\":\"not an origin\"") {
            continue;
        }
        for scheme in ["\"http://", "\"https://", "\"ws://", "\"wss://"] {
            for (i, _) in line.match_indices(scheme) {
                let end = line[i + 1..].find('"').map_or(line.len(), |e| i + 1 + e);
                found.push(line[i + 1..end].to_owned());
            }
        }
    }
    found
}

/// The `<article>` of the case with this test id, as the browser left it.
fn article<'a>(dom: &'a str, test_id: &str) -> &'a str {
    let at = dom
        .find(&format!("data-test-id=\"{test_id}\""))
        .unwrap_or_else(|| panic!("no case {test_id} in the page"));
    let start = dom[..at].rfind("<article").unwrap();
    let end = at + dom[at..].find("</article>").unwrap();
    &dom[start..end]
}

#[test]
fn the_page_in_a_real_browser_shows_the_calls_and_fetches_nothing() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The sample suite, a case that is not as expected (with a tool call), and hostile text.
    let status = Command::new("cp")
        .args([
            "-r",
            &format!("{ROOT}/cases"),
            d.join("s").to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    write(
        d,
        "s/zz_broken_booking.json",
        &std::fs::read_to_string(format!("{ROOT}/cases/tools/restaurant_booking.json"))
            .unwrap()
            .replace("tools_restaurant_booking", "zz_broken_booking")
            .replace("\"seven thirty\"", "\"nine o'clock\""),
    );
    hostile_suite(d);
    let o = run(d, &["run", "s", "-q", "--html", "r.html"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let page = d.join("r.html");
    let url = format!("file://{}", page.display());

    let (dom, net_log) = browse(&browser, d, &url, &["--dump-dom"]);
    assert!(
        dom.contains("<html lang=\"en\" class=\"js\">"),
        "the page's script ran"
    );
    assert!(
        net_log.contains("\"initiator\":"),
        "Chromium wrote its network log"
    );
    assert_eq!(network_requests(&net_log), Vec::<String>::new());
    assert!(
        !dom.contains(" data-blocked=\""),
        "the page tried a fetch its policy blocked"
    );
    // A case's script would have set the title.
    assert!(dom.contains("<title>voice-harness: 31 cases, 2 not as expected</title>"));
    // Every test id is there.
    let mut ids = Vec::new();
    for entry in walk(&d.join("s")) {
        let text = std::fs::read_to_string(&entry).unwrap();
        let case: Value = serde_json::from_str(&text).unwrap();
        ids.push(case["test_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 31);
    for id in &ids {
        article(&dom, id);
    }
    // The failing case is marked, first, drawn without script, with its tool calls and
    // the failing step beside the keyword it missed.
    let broken = article(&dom, "zz_broken_booking");
    assert!(broken.contains("class=\"case s-fail flagged\""));
    assert!(broken.contains("data-ok=\"0\""));
    assert!(broken.contains("<span class=\"badge b-fail\">FAIL</span>"));
    assert!(
        dom.find("zz_broken_booking").unwrap() < dom.find("data-test-id=\"appointment").unwrap()
    );
    assert!(broken.contains("<li class=\"msg m-tool\">"), "a tool row");
    assert!(broken.contains("ReserveRestaurant"));
    assert!(broken.contains("<li class=\"verdict v-fail\">"));
    assert!(broken.contains("<mark class=\"miss\">nine o'clock (missing)</mark>"));
    // A negative test that fails as expected says so.
    assert!(article(&dom, "tools_order_lookup_unmatched").contains("FAIL (as expected)"));
    // The unused mock is listed.
    assert!(dom.contains(
        "<li class=\"unused-mock\"><code>tools.lookup_order[0]</code> in s/tools/order_lookup_unmatched.json"
    ));

    // The filters, set from the address: status, tag, text.
    let shown = |query: &str| {
        let (dom, _) = browse(&browser, d, &format!("{url}?{query}"), &["--dump-dom"]);
        let mut ids: Vec<String> = Vec::new();
        for (i, _) in dom.match_indices("<article ") {
            let tag = &dom[i..i + dom[i..].find('>').unwrap()];
            if !tag.contains(" hidden=") {
                let start = tag.find("data-test-id=\"").unwrap() + 14;
                ids.push(tag[start..start + tag[start..].find('"').unwrap()].to_owned());
            }
        }
        ids
    };
    assert_eq!(
        shown("status=flagged"),
        ["hostile_shown", "zz_broken_booking"]
    );
    assert_eq!(
        shown("tag=voice&status=pass"),
        [
            "voice_interrupts_disclaimer",
            "voice_pin_by_keypad",
            "voice_reprompt_after_silence"
        ]
    );
    assert_eq!(shown("q=RESTAURANT_booking"), ["tools_restaurant_booking"]);
    assert_eq!(shown("q=NINE%20o'clock"), ["zz_broken_booking"], "a reason");

    // A passing case is drawn by the script when opened (here: by its link).
    let id = {
        let a = article(&dom, "tools_restaurant_booking");
        let start = a.find(" id=\"").unwrap() + 5;
        a[start..start + a[start..].find('"').unwrap()].to_owned()
    };
    assert!(
        !article(&dom, "tools_restaurant_booking").contains("m-tool"),
        "drawn on demand"
    );
    let (opened, net_log) = browse(&browser, d, &format!("{url}#{id}"), &["--dump-dom"]);
    assert_eq!(network_requests(&net_log), Vec::<String>::new());
    let booking = article(&opened, "tools_restaurant_booking");
    assert!(booking.contains("data-drawn=\"1\""), "{booking}");
    assert!(booking.contains("<li class=\"msg m-tool\">"));
    assert!(booking.contains("answered by tools.ReserveRestaurant[0]"));
    assert!(
        booking.contains("<p class=\"lat\">480 ms (budget 800 ms)</p>"),
        "{booking}"
    );
    // And hostile data drawn by the script stays text.
    let id = {
        let a = article(&dom, "hostile_data");
        let start = a.find(" id=\"").unwrap() + 5;
        a[start..start + a[start..].find('"').unwrap()].to_owned()
    };
    let (opened, _) = browse(&browser, d, &format!("{url}#{id}"), &["--dump-dom"]);
    let hostile = article(&opened, "hostile_data");
    assert!(hostile.contains("data-drawn=\"1\""));
    assert!(hostile.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"));
    assert!(opened.contains("<title>voice-harness: 31 cases, 2 not as expected</title>"));

    // A screenshot for people (and CI's artifacts): target/report/screenshot.png.
    let shots = Path::new(ROOT).join("target").join("report");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("screenshot.png");
    let _ = std::fs::remove_file(&shot);
    // (Not scrolled to a case: headless Chromium's screenshot of a scrolled page is blank.
    // The first cases not as expected are open anyway.)
    browse(
        &browser,
        d,
        &url,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,4200",
        ],
    );
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000),
        "a screenshot"
    );
    std::fs::copy(&page, shots.join("report.html")).unwrap();

    // The checks above do fail when a page fetches: the same page with an image from the
    // network shows in the log without the page's policy, and is reported blocked with it.
    let html = std::fs::read_to_string(&page).unwrap();
    let fetching = html.replacen(
        "<main>",
        "<main><img alt=\"\" src=\"http://127.0.0.1:9/x.png\">",
        1,
    );
    std::fs::write(d.join("blocked.html"), &fetching).unwrap();
    let (dom, _) = browse(
        &browser,
        d,
        &format!("file://{}/blocked.html", d.display()),
        &["--dump-dom"],
    );
    assert!(
        dom.contains("data-blocked=\" http://127.0.0.1:9/x.png\""),
        "the policy blocks it"
    );
    let open = fetching.replacen(
        "<meta http-equiv=\"Content-Security-Policy\"",
        "<meta name=\"x\"",
        1,
    );
    std::fs::write(d.join("open.html"), open).unwrap();
    let (_, net_log) = browse(
        &browser,
        d,
        &format!("file://{}/open.html", d.display()),
        &["--dump-dom"],
    );
    assert!(
        network_requests(&net_log)
            .iter()
            .any(|u| u.starts_with("http://127.0.0.1:9/")),
        "the network log shows a fetch"
    );
}

/// The `.json` files under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_sweep_page_charts_each_case_pass_rate_with_its_interval() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("sweep.html");
    let o = run(
        Path::new(ROOT),
        &[
            "sweep",
            "cases/sweeps",
            "cases/negative/missing_keyword_fails.json",
            "--seeds",
            "20",
            // The case's own bound (0.9) can never be met by 20 seeds (refused up front).
            "--min-pass-rate",
            "0.8",
            "-q",
            "--html",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let page = std::fs::read_to_string(page).unwrap();
    assert!(
        page.contains("<dt>sweep</dt><dd>20 seeds from each case&#39;s own, 1 run(s) each</dd>")
    );
    assert!(page.contains("Pass rate per case with its Wilson 95% interval"));
    // 20 of 20: the interval is 0.84 to 1; the point and its whisker are drawn.
    assert!(
        page.contains("<td>20/20</td><td>0.84–1.00</td><td>no</td>"),
        "{page}"
    );
    assert_eq!(page.matches("<circle class=\"dot\"").count(), 2);
    assert!(page.contains("<span class=\"rate\">20/20 passed</span>"));
}

#[test]
fn the_hostile_files_make_a_page_of_errors_that_holds_together() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("hostile.html");
    let o = run(
        Path::new(ROOT),
        &[
            "run",
            "tests/hostile",
            "-q",
            "--html",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let page = std::fs::read_to_string(page).unwrap();
    let files = std::fs::read_dir(Path::new(ROOT).join("tests/hostile"))
        .unwrap()
        .count();
    assert_eq!(page.matches("<article").count(), files);
    assert_eq!(page.matches("</article>").count(), files);
    assert_eq!(page.matches("<script").count(), 3, "the page's own three");
    let raw: Vec<char> = page
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t')
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
        .collect();
    assert_eq!(
        raw,
        Vec::<char>::new(),
        "control or direction characters in the page"
    );
}

#[test]
fn merged_shards_add_their_coverage_up_to_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let root = Path::new(ROOT);
    let whole = out("whole.json");
    run(
        root,
        &["run", "cases", "-q", "--coverage", "--json", &whole],
    );
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let json = out(&format!("s{k}.json"));
        let o = run(
            root,
            &[
                "run",
                "cases",
                "-q",
                "--coverage",
                "--shard",
                &shard,
                "--json",
                &json,
            ],
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let merged = out("merged.json");
    let o = run(
        root,
        &[
            "merge",
            &out("s1.json"),
            &out("s2.json"),
            &out("s3.json"),
            "--json",
            &merged,
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (whole, merged) = (
        std::fs::read_to_string(whole).unwrap(),
        std::fs::read_to_string(merged).unwrap(),
    );
    assert!(whole.contains("\n\"coverage\": {\"cases\":28,"));
    assert_eq!(merged, whole);

    // Shards written with and without --coverage are refused.
    let plain = out("s1-plain.json");
    run(
        root,
        &["run", "cases", "-q", "--shard", "1/3", "--json", &plain],
    );
    let o = run(root, &["merge", &plain, &out("s2.json"), &out("s3.json")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("has a coverage block and"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
