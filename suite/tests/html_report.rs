//! The HTML reports in a real browser: headless Chromium (Debian package
//! `chromium`, installed by scripts/test) loads a run report and a class
//! dashboard from files, and the DOM it builds shows the cases, verdicts
//! and arrows of the run; its screenshots are not blank and it prints.
//! Hostile bytes from a program (markup, control characters, invalid
//! UTF-8, a 1 MiB line), on the wire and in its output, come out as text
//! and never as elements. Every page written parses as HTML5 without a
//! single parse error (html5ever, through scraper).

mod common;

use common::{fixture_target, runner, spec, world_readable_tempdir, write_program};
use scraper::{ElementRef, Html, Selector};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn select(selector: &str) -> Selector {
    Selector::parse(selector).unwrap_or_else(|e| panic!("selector {selector}: {e:?}"))
}

fn text_of(element: ElementRef) -> String {
    element.text().collect()
}

/// The page at `path`, which must parse as HTML5 without an error and
/// carry everything it shows: nothing fetched, no link out of the folder.
fn valid_page(path: &Path) -> String {
    let page = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: not UTF-8 text: {e}", path.display()));
    let document = Html::parse_document(&page);
    assert!(
        document.errors.is_empty(),
        "{}: HTML parse errors: {:?}",
        path.display(),
        document.errors
    );
    assert!(page.starts_with("<!DOCTYPE html>"), "{}", path.display());
    let fetching: Vec<String> = document
        .select(&select("[src], link, iframe, object, embed, img"))
        .map(|element| format!("{:?}", element.value()))
        .collect();
    assert!(
        fetching.is_empty(),
        "{}: fetches something: {fetching:?}",
        path.display()
    );
    for element in document.select(&select("[href]")) {
        let href = element.value().attr("href").unwrap_or_default();
        assert!(
            !href.contains(':') && !href.starts_with("//"),
            "{}: links out: {href}",
            path.display()
        );
    }
    assert!(!page.contains("@import") && !page.contains("url("));
    let controls: Vec<char> = page
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\t'))
        .collect();
    assert!(
        controls.is_empty(),
        "{}: control characters {controls:?}",
        path.display()
    );
    page
}

/// Headless Chromium on `url` with `args`; its output.
fn chromium(args: &[String], url: &str) -> std::process::Output {
    let profile = tempfile::tempdir().expect("profile dir");
    let output = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("chromium could not run ({e}): install the Debian package `chromium` (scripts/test does)")
        });
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The DOM Chromium builds from the page at `path`, scripts run.
fn browser_dom(path: &Path) -> Html {
    let output = chromium(&[String::from("--dump-dom")], &url(path));
    let dom = String::from_utf8(output.stdout).expect("the DOM is UTF-8");
    assert!(dom.contains("</html>"), "no DOM: {dom}");
    Html::parse_document(&dom)
}

/// Chromium's screenshot of the page at `path` in a window of `width` x
/// `height`: the number of colours in it and the share of pixels that
/// are not the background's.
fn screenshot(path: &Path, width: u32, height: u32) -> (usize, f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let png_path = dir.path().join("shot.png");
    chromium(
        &[
            format!("--screenshot={}", png_path.display()),
            format!("--window-size={width},{height}"),
        ],
        &url(path),
    );
    let file = std::fs::File::open(&png_path).expect("a screenshot");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut buffer).expect("a frame");
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let channels = info.color_type.samples();
    let pixels: Vec<&[u8]> = buffer[..info.buffer_size()]
        .chunks(channels)
        .map(|p| &p[..3.min(channels)])
        .collect();
    let background = pixels[0];
    let other = pixels.iter().filter(|p| **p != background).count();
    let colours: std::collections::HashSet<&[u8]> = pixels.iter().copied().collect();
    (colours.len(), other as f64 / pixels.len() as f64)
}

/// The page shows something at a desktop's and at a phone's width.
fn not_blank(path: &Path) {
    for (width, height) in [(1280, 1600), (390, 844)] {
        let (colours, drawn) = screenshot(path, width, height);
        assert!(
            colours > 1 && drawn > 0.01,
            "{}: a blank screenshot at {width}px ({colours} colours, {:.2}% drawn)",
            path.display(),
            drawn * 100.0
        );
    }
}

/// The page prints: Chromium's PDF of it is a PDF with something in it.
fn prints(path: &Path) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pdf = dir.path().join("page.pdf");
    chromium(
        &[
            format!("--print-to-pdf={}", pdf.display()),
            String::from("--no-pdf-header-footer"),
        ],
        &url(path),
    );
    let bytes = std::fs::read(&pdf).expect("a PDF");
    assert!(bytes.starts_with(b"%PDF"), "{}", path.display());
    assert!(
        bytes.len() > 10_000,
        "{}: {} bytes",
        path.display(),
        bytes.len()
    );
}

/// Runs the runner with `args` and `--format json`, writing the HTML
/// report to each of `html`; the JSON report.
fn run_with_html(args: &[&str], html: &[&Path]) -> Value {
    let mut command = runner();
    command.args(args).args(["--format", "json"]);
    for path in html {
        command.arg("--report-html").arg(path);
    }
    let output = command.output().expect("runner runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn verdict_word(verdict: &str) -> &'static str {
    match verdict {
        "pass" => "PASS",
        "fail" => "FAIL",
        "error" => "ERROR",
        _ => "NOT RUN",
    }
}

/// Transcript entries of a JSON result whose note starts with `lead`.
fn notes(result: &Value, lead: &str) -> usize {
    result["transcript"]
        .as_array()
        .expect("transcript")
        .iter()
        .filter(|e| e["direction"] == "note")
        .filter(|e| e["data"]["text"].as_str().unwrap_or("").starts_with(lead))
        .count()
}

#[test]
fn a_failing_run_renders_in_a_browser_with_its_cases_verdicts_and_arrows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (first, second) = (dir.path().join("a.html"), dir.path().join("b.html"));
    let target = fixture_target("chat-server-no-empty-check");
    let report = run_with_html(
        &[
            &spec("tcp-chat-server"),
            "--target",
            &target,
            "--case",
            "prints-received",
            "--case",
            "closes-on-disconnect",
            "--case",
            "next-client-after-disconnect",
            "--case",
            "no-spin-after-disconnect",
            "--case",
            "survives-reset",
        ],
        &[&first, &second],
    );
    let page = valid_page(&first);
    assert_eq!(
        page,
        std::fs::read_to_string(&second).expect("b.html"),
        "every --report-html file comes from the same run"
    );
    assert!(!page.contains("<script"), "the run report needs no script");

    let dom = browser_dom(&first);
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), 5);
    assert!(
        results.iter().any(|r| r["verdict"] == "pass")
            && results.iter().any(|r| r["verdict"] == "fail"),
        "{report}"
    );
    let summary = text_of(dom.select(&select("header.top")).next().expect("a summary"));
    for (word, key) in [
        ("passed", "passed"),
        ("failed", "failed"),
        ("errors", "errors"),
    ] {
        let count = report["summary"][key].as_u64().expect("a count");
        assert!(
            summary.contains(&format!("{word}{count}")),
            "{word} {count} in {summary}"
        );
    }
    let points = format!(
        "points{} / {}",
        report["summary"]["points"], report["summary"]["max_points"]
    );
    assert!(summary.contains(&points), "{points} in {summary}");
    let isolation = report["isolation"].as_str().expect("isolation");
    assert!(
        summary.contains(&format!("isolation{isolation}:")),
        "{summary}"
    );
    assert_eq!(dom.select(&select("section.case")).count(), results.len());
    assert_eq!(dom.select(&select("svg.seq")).count(), results.len());

    for (index, result) in results.iter().enumerate() {
        let case = result["case"].as_str().expect("case");
        let verdict = result["verdict"].as_str().expect("verdict");
        let section = dom
            .select(&select(&format!("section#case-{}", index + 1)))
            .next()
            .unwrap_or_else(|| panic!("no section for {case}"));
        let heading = text_of(section.select(&select("h3")).next().expect("h3"));
        assert!(
            heading.contains(case) && heading.contains(verdict_word(verdict)),
            "{case} {verdict}: {heading}"
        );
        let about = result["about"].as_str().expect("about");
        assert!(text_of(section).contains(about), "{case}: requirement");
        let transcript = result["transcript"].as_array().expect("transcript");
        let svg = section
            .select(&select("svg.seq"))
            .next()
            .expect("a diagram");
        assert!(
            svg.value().attr("role") == Some("img")
                && svg.select(&select("title")).next().is_some(),
            "{case}: the diagram is an image with a title"
        );
        let events = svg.select(&select("g.ev")).count();
        assert_eq!(
            events,
            transcript.len(),
            "{case}: an arrow or mark per entry"
        );
        let data = transcript
            .iter()
            .filter(|e| e["direction"] != "note")
            .count();
        assert_eq!(
            svg.select(&select("g.ev.data")).count(),
            data,
            "{case}: an arrow per send and receive"
        );
        assert_eq!(
            svg.select(&select("g.ev.connect")).count(),
            notes(result, "connected to ") + notes(result, "accepted a connection"),
            "{case}: connects"
        );
        assert_eq!(
            svg.select(&select("g.ev.fin")).count(),
            notes(result, "closed by the") + notes(result, "runner shut down"),
            "{case}: FINs"
        );
        assert_eq!(
            svg.select(&select("g.ev.exit")).count(),
            notes(result, "exited with code") + notes(result, "was killed by"),
            "{case}: the program's end, and nothing else, drawn as its end"
        );
        assert_eq!(
            svg.select(&select("g.ev.rst")).count(),
            notes(result, "reset by the"),
            "{case}: resets"
        );
        assert_eq!(
            svg.select(&select("g.ev.span")).count(),
            notes(result, "used "),
            "{case}: idle windows"
        );
        // Every arrow says what it carried, in full, in its tooltip.
        for entry in transcript.iter().filter(|e| e["direction"] != "note") {
            let text = entry["data"]["text"].as_str().expect("text");
            let quoted = serde_json::to_string(text).expect("quoted");
            let shown = quoted.trim_matches('"');
            assert!(
                svg.select(&select("g.ev.data > title"))
                    .any(|t| text_of(t).contains(shown)),
                "{case}: no arrow for {quoted}"
            );
        }
        let rows = section.select(&select("table.transcript tbody tr")).count();
        let failed = result["failure"].is_object();
        assert_eq!(
            rows,
            transcript.len().max(1) + usize::from(failed),
            "{case}: the table lists every entry"
        );
        let marks = svg.select(&select("g.failure-mark")).count();
        if failed {
            assert_eq!(marks, 1, "{case}: the failed step is marked");
            let step = result["failure"]["step"].as_u64().expect("step");
            let mark = text_of(svg.select(&select("g.failure-mark")).next().expect("mark"));
            assert!(mark.contains(&format!("step {step} failed")), "{mark}");
            assert!(mark.contains("expected: "), "{mark}");
            let message = result["message"].as_str().expect("message");
            let shown = text_of(section.select(&select(".message")).next().expect("message"));
            assert_eq!(shown.replace('\n', ""), message.replace('\n', ""), "{case}");
        } else {
            assert_eq!(marks, 0, "{case}");
        }
    }
    assert_eq!(dom.select(&select("script")).count(), 0);
    not_blank(&first);
    prints(&first);
}

/// A server that answers with markup, control characters, invalid UTF-8
/// and a 1 MiB line, and prints the same kind of thing.
const HOSTILE_SERVER: &str = r#"
import socket, sys
out = sys.stdout.buffer
out.write(b"A" * (1 << 20) + b"<b>the end of a long line</b>\n")
out.write(b"<script>alert('out')</script>\x1b[2J\x07\xc0\xaf\x00<iframe src=x></iframe>\n")
out.flush()
sys.stderr.buffer.write(b"<style>body{display:none}</style>\r\x1b]0;title\x07\xef\xbf\xbe\xe2\x80\xae\n")
sys.stderr.flush()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(5)
c, _ = s.accept()
c.recv(1024)
try:
    c.sendall(b"<script>alert('wire')</script><img src=x onerror=alert(2)>\xff\xfe\x00\x1b[31m\xc3" + b"B" * (1 << 20) + b"\n")
except OSError:
    pass
c.close()
"#;

#[test]
fn hostile_bytes_on_the_wire_and_in_the_output_are_text_never_markup() {
    let dir = world_readable_tempdir();
    let program = write_program(dir.path(), "hostile.py", HOSTILE_SERVER);
    let page_path = dir.path().join("hostile.html");
    let target = format!("python3 {} {{host}} {{port}}", program.display());
    let report = run_with_html(
        &[
            &spec("tcp-upper-server"),
            "--case",
            "greeting",
            "--target",
            &target,
        ],
        &[&page_path],
    );
    assert_eq!(report["results"][0]["verdict"], "fail", "{report}");
    let page = valid_page(&page_path);
    assert!(
        page.len() < 1 << 20,
        "the 1 MiB lines are shortened: {} bytes",
        page.len()
    );
    for raw in [
        "<script>alert",
        "<img src=x",
        "<iframe",
        "<style>body",
        "<b>the end",
    ] {
        assert!(!page.contains(raw), "{raw} reached the page as markup");
    }

    let dom = browser_dom(&page_path);
    for injected in ["body script", "img", "iframe", "b", "body style"] {
        assert_eq!(
            dom.select(&select(injected)).count(),
            0,
            "a {injected} element was injected"
        );
    }
    let body = text_of(dom.select(&select("body")).next().expect("body"));
    for shown in [
        // On the wire, in the transcript and as what was received: bytes
        // that are not text by their runs, the text between them quoted.
        "\"<script>alert('wire')</script><img src=x onerror=alert(2)>\" + ff fe 00 1b + \"[31m\" + c3 + \"B",
        // In its stdout.
        "<script>alert('out')</script>\\u{1b}[2J\\u{7}\\xc0\\xaf\\u{0}<iframe src=x></iframe>",
        "<b>the end of a long line</b>",
        // In its stderr: a noncharacter and a right-to-left override escaped too.
        "<style>body{display:none}</style>\\r\\u{1b}]0;title\\u{7}\\u{fffe}\\u{202e}",
    ] {
        assert!(body.contains(shown), "{shown} is not shown as text");
    }
    assert!(
        body.contains("bytes in all"),
        "the long lines say how long they were"
    );
    not_blank(&page_path);

    // The fixture that replies with invalid UTF-8 and terminal escapes
    // (what it prints after replying may come after the case is over).
    let fixture_page = dir.path().join("fixture.html");
    let report = run_with_html(
        &[
            &spec("tcp-upper-server"),
            "--case",
            "greeting",
            "--target",
            &fixture_target("hostile-invalid-utf8"),
        ],
        &[&fixture_page],
    );
    assert_eq!(report["results"][0]["verdict"], "fail", "{report}");
    valid_page(&fixture_page);
    let dom = browser_dom(&fixture_page);
    let body = text_of(dom.select(&select("body")).next().expect("body"));
    for shown in [
        "14 bytes: ff fe 00 + \"HEL\" + 1b + \"[31mLO\" + c3",
        "ff fe 00 48 45 4c",
    ] {
        assert!(body.contains(shown), "{shown} is not shown: {body}");
    }
}

fn put(dir: &Path, student: &str, file: &str, text: &str) {
    let path = dir.join(student).join(file);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A name in a relative URL, decoded.
fn percent_decoded(href: &str) -> String {
    let bytes = href.as_bytes();
    let mut out = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).expect("hex");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8")
}

/// The students of the class and the points each gets.
fn class(dir: &Path, ip: &str) -> Vec<(&'static str, u32)> {
    let source = |relative: &str| {
        std::fs::read_to_string(common::root().join("fixtures").join(relative))
            .expect("fixture")
            .replace("127.1.1.1", ip)
    };
    let correct = source("python/upper_server.py");
    put(dir, "alice", "server.py", &correct);
    put(
        dir,
        "bob",
        "server.py",
        &source("python/upper_server_wrong.py"),
    );
    put(dir, "carol", "notes.txt", "forgot it");
    put(dir, "<img src=x onerror=alert(1)>", "server.py", &correct);
    put(dir, "zoë & co", "server.py", &correct);
    vec![
        ("<img src=x onerror=alert(1)>", 8),
        ("alice", 8),
        ("bob", 3),
        ("carol", 0),
        ("zoë & co", 8),
    ]
}

fn grade(class: &Path, out: &Path, addr: &str, extra: &[&str]) {
    let output = runner()
        .args([
            "grade",
            "tcp-upper-server",
            "--file",
            "server.py",
            "--addr",
            addr,
        ])
        .arg("--submissions")
        .arg(class)
        .arg("--out")
        .arg(out)
        .args(extra)
        .timeout(Duration::from_secs(300))
        .output()
        .expect("runner grade runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Checks the dashboard of `out` in the browser against the class.
fn check_dashboard(out: &Path, students: &[(&str, u32)]) -> Html {
    let index = out.join("index.html");
    let page = valid_page(&index);
    assert_eq!(
        page.matches("<script>").count(),
        1,
        "one script: the sorting"
    );
    let dom = browser_dom(&index);
    let rows: Vec<ElementRef> = dom.select(&select("table.marks tbody tr")).collect();
    assert_eq!(rows.len(), students.len());
    let columns = csv_columns(out);
    for (row, (student, points)) in rows.iter().zip(students) {
        let name = row.select(&select("th")).next().expect("a name");
        assert_eq!(text_of(name), *student);
        let cells: Vec<ElementRef> = row.select(&select("td")).collect();
        assert_eq!(cells.len(), columns.len() + 3, "{student}");
        assert!(
            text_of(cells[0]).starts_with(&format!("{points} / 8")),
            "{student}"
        );
        assert!(
            [
                "graded",
                "no-program",
                "ambiguous",
                "build-failed",
                "did-not-start"
            ]
            .contains(&text_of(cells[1]).as_str()),
            "{student}: status {}",
            text_of(cells[1])
        );
        let passes = cells.iter().filter(|c| text_of(**c).contains('✓')).count();
        assert_eq!(passes == columns.len(), *points == 8, "{student}");
        let link = name
            .select(&select("a"))
            .next()
            .unwrap_or_else(|| panic!("{student} has no link"));
        let href = link.value().attr("href").expect("href");
        let target = out.join(percent_decoded(href));
        assert!(target.is_file(), "{student}: {href} leads nowhere");
        valid_page(&target);
    }
    assert_eq!(
        dom.select(&select("img")).count(),
        0,
        "a name became markup"
    );
    // The script ran: every heading of both tables is a sort button.
    let headings = dom.select(&select("table.sortable thead th")).count();
    assert_eq!(
        dom.select(&select("table.sortable thead th button"))
            .count(),
        headings
    );
    assert_eq!(headings, 5 + columns.len() + 4);
    let cases: Vec<String> = dom
        .select(&select(
            "table.sortable:not(.marks) tbody tr td:first-child",
        ))
        .map(text_of)
        .collect();
    let mut sorted_cases = cases.clone();
    sorted_cases.sort();
    let mut sorted_columns = columns.clone();
    sorted_columns.sort();
    assert_eq!(sorted_cases, sorted_columns, "a pass rate per case");
    assert!(text_of(dom.root_element()).contains("replies to \"hello\" with \"HELLO\""));
    let mut scores: Vec<u32> = students.iter().map(|(_, p)| *p).collect();
    scores.dedup();
    scores.sort_unstable();
    scores.dedup();
    assert_eq!(
        dom.select(&select("figure.histogram rect.bar")).count(),
        scores.len(),
        "a bar per score reached"
    );
    dom
}

fn csv_columns(out: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(out.join("grades.csv")).expect("grades.csv");
    let header = text.lines().next().expect("a header");
    let names: Vec<&str> = header.split(',').collect();
    // The case columns: after the student's fixed ones, before `note`.
    let first = names
        .iter()
        .position(|n| *n == "status")
        .expect("a status column")
        + 1;
    names[first..names.len() - 1]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn a_class_dashboard_renders_in_a_browser_and_links_every_report() {
    let dir = world_readable_tempdir();
    let class_dir = dir.path().join("class");
    let ip = common::private_loopback_ip();
    let addr = format!("{ip}:8900");
    let students = class(&class_dir, &ip);
    let out = dir.path().join("out");
    grade(&class_dir, &out, &addr, &[]);
    check_dashboard(&out, &students);
    not_blank(&out.join("index.html"));
    prints(&out.join("index.html"));

    // A student's report links back to the class, and shows every case.
    let alice = out.join("alice").join("report.html");
    let dom = browser_dom(&alice);
    let back = dom.select(&select(".back a")).next().expect("a link back");
    assert_eq!(back.value().attr("href"), Some("../index.html"));
    let cases = csv_columns(&out);
    assert_eq!(dom.select(&select("section.case")).count(), cases.len());
    assert_eq!(
        dom.select(&select("section.case .badge"))
            .filter(|b| text_of(*b).contains("PASS"))
            .count(),
        cases.len()
    );
    let carol = browser_dom(&out.join("carol").join("report.html"));
    assert!(text_of(carol.root_element()).contains("no file matches `server.py`"));
    not_blank(&alice);

    // Partitions and their merge each get a dashboard.
    let parts: Vec<PathBuf> = (1..=2)
        .map(|k| dir.path().join(format!("part-{k}")))
        .collect();
    for (k, part) in parts.iter().enumerate() {
        grade(
            &class_dir,
            part,
            &addr,
            &["--partition", &format!("{}/2", k + 1)],
        );
        valid_page(&part.join("index.html"));
    }
    let merged = dir.path().join("merged");
    let output = runner()
        .arg("merge")
        .args(&parts)
        .arg("--out")
        .arg(&merged)
        .output()
        .expect("runner merge runs");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    check_dashboard(&merged, &students);
}

#[test]
fn a_student_folder_may_not_take_the_dashboards_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let class_dir = dir.path().join("class");
    put(&class_dir, "index.html", "server.py", "print('hi')\n");
    let output = runner()
        .args(["grade", "tcp-upper-server", "--file", "server.py"])
        .arg("--submissions")
        .arg(&class_dir)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .expect("runner grade runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("index.html"));
}

#[test]
fn the_validity_check_sees_parse_errors() {
    for broken in [
        "<!DOCTYPE html><p class=\"a\" class=\"b\">duplicate attribute</p>",
        "<!DOCTYPE html><p>a stray end tag</div>",
        "<!DOCTYPE html><p>a NUL \u{0} in the text</p>",
        "<p>no doctype</p>",
    ] {
        assert!(
            !Html::parse_document(broken).errors.is_empty(),
            "no error for {broken:?}"
        );
    }
}

/// The diagram's lane headings and time labels are shown whole: a lane
/// is as wide as its longest heading needs (a long connection name, the
/// subtitle of a UDP socket's lane), and the time column as wide as its
/// longest label.
#[test]
fn lane_and_row_labels_are_shown_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec_file = write_program(
        dir.path(),
        "long-names.yaml",
        "spec: long-names\n\
         title: a connection with a long name\n\
         target: { role: server, transport: tcp }\n\
         cases:\n  \
           - id: greeting\n    \
             about: replies to hello\n    \
             steps:\n      \
               - connect: the-first-client-of-two\n      \
               - send: { on: the-first-client-of-two, text: hello }\n      \
               - recv: { on: the-first-client-of-two, text: HELLO }\n",
    );
    let (tcp, udp) = (dir.path().join("tcp.html"), dir.path().join("udp.html"));
    run_with_html(
        &[
            &spec_file.display().to_string(),
            "--target",
            &fixture_target("upper-server"),
        ],
        &[&tcp],
    );
    run_with_html(
        &[
            &spec("udp-upper-server"),
            "--case",
            "greeting",
            "--target",
            &fixture_target("udp-server-no-upper"),
        ],
        &[&udp],
    );
    for (page, long) in [
        (&tcp, "the-first-client-of-two"),
        (&udp, "runner's UDP socket"),
    ] {
        let html = Html::parse_document(&valid_page(page));
        let svg = html.select(&select("svg.seq")).next().expect("a diagram");
        let headings: Vec<String> = svg
            .select(&select("text.lane-title, text.lane-sub"))
            .map(|t| text_of(t).replace("&#39;", "'"))
            .collect();
        assert!(
            headings.iter().any(|t| t == long),
            "{long} whole in {headings:?}"
        );
        assert!(headings.iter().all(|t| !t.contains('…')), "{headings:?}");
        // Each lane's box holds its heading: 7.3 px a character of the
        // 12px monospace text, and a margin.
        let needed = |heading: &str| heading.chars().count() as f64 * 7.3 + 8.0;
        let boxes: Vec<(f64, f64)> = svg
            .select(&select("g.lane > rect"))
            .filter_map(|rect| {
                let attr = |name| rect.value().attr(name)?.parse::<f64>().ok();
                Some((attr("x")?, attr("width")?))
            })
            .collect();
        let widest = headings.iter().map(|t| needed(t)).fold(0.0, f64::max);
        assert!(
            boxes.iter().all(|(_, width)| *width >= widest),
            "{page:?}: lane boxes {boxes:?} narrower than {widest}"
        );
        // The time labels end before the first lane's box starts.
        let first_box = boxes.iter().map(|(x, _)| *x).fold(f64::MAX, f64::min);
        for label in svg.select(&select("text.time")).map(text_of) {
            let end = 8.0 + label.chars().count() as f64 * 7.3;
            assert!(
                end <= first_box,
                "{label:?} ends at {end}, the lanes start at {first_box}"
            );
        }
    }
}
