//! The HTML report: one self-contained page per run (`--report-html`, and
//! `report.html` per student in `runner grade`) with a sequence diagram of
//! every case, and the class dashboard (`index.html` of `runner grade`).
//!
//! A page carries everything it shows: its CSS inline, its diagrams as
//! inline SVG, no fonts, images or scripts fetched from anywhere, so it
//! reads the same opened from a file, from a zip or from a mail. The run
//! report has no script at all; the dashboard has a few lines that sort
//! its table, which is complete and sorted by name without them.
//!
//! The markup is written with maud. Its templates are Rust code checked
//! by the compiler (a misspelt field or a tag left open does not build),
//! every value spliced in with `(value)` is HTML-escaped unless it is
//! wrapped in `PreEscaped` on purpose (only our own stylesheet and script
//! are), and nothing has to be found or parsed at run time, which suits a
//! single binary copied into Gradescope bundles. askama checks its
//! templates at build time too, but keeps them in separate files with a
//! syntax of their own; minijinja finds template errors and escaping mode
//! only when it runs. maud escapes `&<>"`; what it cannot know is that a
//! program's bytes may not be text: [`shown`] turns them into text first
//! (invalid UTF-8 as `\xff`, control characters as escapes, endless lines
//! shortened), so that what reaches the page is printable and parses.

mod class;
mod diagram;
mod mutants;

pub use class::dashboard;
pub use mutants::mutants;

use super::{duration, Collected};
use crate::engine::show::quoted;
use crate::engine::{CaseOutcome, Failure, Summary, Verdict};
use crate::program::OutputSnapshot;
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// The stylesheet of every page; its colours are checked for contrast by
/// a test below.
const STYLE: &str = include_str!("style.css");

/// Text of a program shown in one piece is cut past this many bytes
/// (head and tail kept, the middle counted).
const MAX_SHOWN: usize = 16 << 10;

/// A line of a program's output is cut past this many bytes.
const MAX_LINE: usize = 2000;

/// Lines of each output stream shown under a case.
const TAIL_LINES: usize = 20;

/// What a page is about besides its results.
#[derive(Debug, Default, Clone)]
pub struct Context {
    /// The student whose report this is (`runner grade`).
    pub student: Option<String>,
    /// What was tested: the `--target` command, or the reference programs.
    pub target: Option<String>,
    /// Link back to the class dashboard, relative to the page.
    pub class_index: Option<String>,
}

/// The run report: a summary, then every case with its evidence and its
/// sequence diagram.
pub fn render(collected: &Collected, context: &Context) -> String {
    let summary = &collected.summary;
    let title = match &context.student {
        Some(student) => format!("{}: conformance report", text(student)),
        None => String::from("Conformance report"),
    };
    let body = html! {
        header.top {
            @if let Some(index) = &context.class_index {
                p.back { a href=(index) { "← the class" } }
            }
            h1 { (title) }
            (run_summary(summary, context))
        }
        @if !collected.outcomes.is_empty() {
            nav.toc aria-label="Cases" {
                h2 { "Cases" }
                ol {
                    @for (index, outcome) in collected.outcomes.iter().enumerate() {
                        li {
                            a href=(format!("#case-{}", index + 1)) {
                                (verdict_badge(outcome.verdict))
                                " " (text(&outcome.spec)) "/" span.case-id { (text(&outcome.case)) }
                            }
                            " " span.points { (outcome.points) "/" (outcome.max_points) }
                        }
                    }
                }
            }
        }
        main {
            @for (index, outcome) in collected.outcomes.iter().enumerate() {
                @if index == 0 || collected.outcomes[index - 1].spec != outcome.spec {
                    h2.spec {
                        (text(&outcome.spec))
                        " " span.spec-file { "(" (text(&outcome.spec_file)) ")" }
                    }
                }
                @if outcome.tells_setback() {
                    (setback_box(index + 1, outcome))
                }
                (case(index + 1, outcome, told_at(&collected.outcomes, outcome)))
            }
            @if collected.outcomes.is_empty() {
                p { "No case ran: check --case, --skip and --tag." }
            }
        }
        footer {
            p { "Written by runner " (env!("CARGO_PKG_VERSION")) "." }
        }
    };
    page(&title, body, None)
}

/// A whole page around `body`.
pub(crate) fn page(title: &str, body: Markup, script: Option<&str>) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                (body)
                @if let Some(script) = script {
                    script { (PreEscaped(script)) }
                }
            }
        }
    }
    .into_string()
}

fn run_summary(summary: &Summary, context: &Context) -> Markup {
    let (headline, verdict) = if summary.ran() == 0 {
        ("Nothing ran", Verdict::NotRun)
    } else if summary.failed + summary.errors + summary.not_run == 0 {
        ("All cases passed", Verdict::Pass)
    } else if summary.failed + summary.errors == 0 {
        ("All cases that ran passed", Verdict::Pass)
    } else if summary.failed > 0 {
        ("Some cases did not pass", Verdict::Fail)
    } else {
        ("Some cases could not be run", Verdict::Error)
    };
    let isolation = crate::sandbox::isolation();
    let isolation_text = match isolation {
        crate::sandbox::Isolation::Namespaces { as_root: true } => String::from(
            "namespaces: each target in a sandbox of its own (network, mount, PID and IPC namespaces), with its own uid and cgroup limits",
        ),
        crate::sandbox::Isolation::Namespaces { as_root: false } => String::from(
            "namespaces: each target in a sandbox of its own (network, mount, PID and IPC namespaces) inside an unprivileged user namespace, limits per process",
        ),
        crate::sandbox::Isolation::ProcessGroup { reason } => format!(
            "process-group: no namespaces ({}), so targets ran in process groups with per-process limits",
            text(reason)
        ),
    };
    html! {
        p class=(format!("headline v-{}", verdict.as_str())) {
            (icon(verdict)) " " strong { (headline) }
            @if summary.interrupted { " (the run was cut short)" }
        }
        dl.stats {
            div { dt { "passed" } dd { (summary.passed) } }
            div { dt { "failed" } dd { (summary.failed) } }
            div { dt { "errors" } dd { (summary.errors) } }
            div { dt { "not run" } dd { (summary.not_run) } }
            div { dt { "points" } dd { (summary.points) " / " (summary.max_points) } }
            div { dt { "duration" } dd { (duration(summary.duration)) } }
        }
        dl.facts {
            @if let Some(student) = &context.student {
                dt { "student" } dd { (text(student)) }
            }
            @if let Some(target) = &context.target {
                dt { "target" } dd { code { (text(target)) } }
            }
            dt { "isolation" } dd { (isolation_text) }
        }
    }
}

/// The number of the case whose box tells `outcome`'s setback: itself,
/// or the earlier case of its spec it refers to.
fn told_at(outcomes: &[CaseOutcome], outcome: &CaseOutcome) -> Option<usize> {
    outcome.setback?;
    let teller = outcome.setback_told_by.as_deref().unwrap_or(&outcome.case);
    outcomes
        .iter()
        .position(|o| o.spec == outcome.spec && o.case == teller && o.tells_setback())
        .map(|index| index + 1)
}

/// A setback told once for the cases of a spec: the program does not
/// build or does not start. Its message with the compiler's or the
/// interpreter's lines, and what the program wrote.
fn setback_box(number: usize, outcome: &CaseOutcome) -> Markup {
    let setback = outcome.setback.map_or("", |s| s.short());
    html! {
        section.setback id=(format!("setback-{number}")) aria-label=(setback) {
            h3 { (icon(outcome.verdict)) " " (capitalized(setback)) }
            (message(&outcome.message))
            (output_tail("stdout", &outcome.stdout))
            @if !outcome.stderr_in_message() {
                (output_tail("stderr", &outcome.stderr))
            }
        }
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn case(number: usize, outcome: &CaseOutcome, setback_at: Option<usize>) -> Markup {
    let id = format!("case-{number}");
    let verdict = outcome.verdict;
    html! {
        section class=(format!("case v-{}", verdict.as_str())) id=(id) aria-labelledby=(format!("{id}-title")) {
            h3 id=(format!("{id}-title")) {
                (verdict_badge(verdict)) " "
                span.case-id { (text(&outcome.case)) }
                " " span.points { (outcome.points) "/" (outcome.max_points) " points" }
                " " span.time { (duration(outcome.duration)) }
            }
            p.about { span.label { "Requirement: " } (text(&outcome.about)) }
            @if !outcome.tags.is_empty() {
                p.tags {
                    span.label { "Tags: " }
                    @for tag in &outcome.tags { span.tag { (text(tag)) } " " }
                }
            }
            @if let Some(setback) = outcome.setback {
                // Told once, in the box above the first case it hit.
                p.setback-ref {
                    (setback.short()) " ("
                    @if let Some(at) = setback_at {
                        a href=(format!("#setback-{at}")) { "see above" }
                    } @else {
                        "see above"
                    }
                    ")"
                }
            } @else if !outcome.message.is_empty() {
                (message(&outcome.message))
            }
            @if let Some(failure) = &outcome.failure {
                (failure_block(outcome, failure))
            }
            @if let Some(hint) = &outcome.hint {
                @if verdict != Verdict::Pass {
                    p.hint { span.label { "Hint: " } (text(hint)) }
                }
            }
            @if verdict != Verdict::NotRun && outcome.setback.is_none() {
                (diagram::figure(number, outcome))
            }
            @if outcome.setback.is_none() {
                (output_tail("stdout", &outcome.stdout))
                (output_tail("stderr", &outcome.stderr))
            }
        }
    }
}

fn failure_block(outcome: &CaseOutcome, failure: &Failure) -> Markup {
    // Bytes that are not text are compared by length and offset in a hex
    // dump: a highlight over their escapes marks the wrong place.
    let dumped = super::received_dump(failure, 64);
    let compared = if dumped.is_some() {
        compare(&failure.expected, None)
    } else {
        compare(&failure.expected, failure.actual.as_deref())
    };
    html! {
        div.failure {
            p {
                @if failure.step == 0 {
                    "Failed before its first step (the program did not start)."
                } @else {
                    "Failed at step " (failure.step) " (" code { (text(&outcome.spec_file)) ":" (failure.line) } "): "
                    code { (text(&failure.action)) }
                }
            }
            dl.compare {
                dt { "expected" }
                dd { code { (pieces(&compared.expected)) } }
                @if let Some(received) = &compared.received {
                    dt { "received" }
                    dd { code { (pieces(received)) } }
                }
                @if let Some((headline, dump)) = &dumped {
                    dt { "received" }
                    dd {
                        p.difference { (text(headline)) }
                        pre.hexdump { (dump) }
                    }
                }
            }
        }
    }
}

fn output_tail(name: &str, snapshot: &OutputSnapshot) -> Markup {
    let Some((lines, dropped)) = tail_lines(snapshot, TAIL_LINES) else {
        return html! {};
    };
    html! {
        div.output {
            h4 { "The program's " (name) " (last lines)" }
            @if dropped > 0 {
                p.note { (dropped) " bytes in the middle were not kept." }
            }
            pre { @for line in lines { (line) "\n" } }
        }
    }
}

/// The last `count` lines of a stream, each shown safely and shortened,
/// and how many bytes the capture did not keep; None when empty.
pub(crate) fn tail_lines(snapshot: &OutputSnapshot, count: usize) -> Option<(Vec<String>, u64)> {
    let bytes = if snapshot.tail.is_empty() {
        &snapshot.head
    } else {
        &snapshot.tail
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let all: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
    let lines = all[all.len().saturating_sub(count)..]
        .iter()
        .map(|line| shown(line, MAX_LINE, false))
        .collect();
    Some((lines, snapshot.dropped))
}

/// A verdict as a word and a shape.
fn verdict_badge(verdict: Verdict) -> Markup {
    let word = match verdict {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Error => "ERROR",
        Verdict::NotRun => "NOT RUN",
    };
    html! {
        span class=(format!("badge v-{}", verdict.as_str())) { (icon(verdict)) " " (word) }
    }
}

/// A small shape per verdict (a tick, a cross, a warning sign, a dash),
/// beside its word: never colour alone.
fn icon(verdict: Verdict) -> Markup {
    html! {
        svg.icon viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false" {
            @match verdict {
                Verdict::Pass => {
                    circle cx="8" cy="8" r="7" {}
                    path d="M4.5 8.5l2.3 2.3 4.7-5" {}
                }
                Verdict::Fail => {
                    circle cx="8" cy="8" r="7" {}
                    path d="M5.2 5.2l5.6 5.6M10.8 5.2l-5.6 5.6" {}
                }
                Verdict::Error => {
                    path d="M8 1.5l7 13H1z" {}
                    path d="M8 6v4M8 11.5v1" {}
                }
                Verdict::NotRun => {
                    circle cx="8" cy="8" r="7" stroke-dasharray="2.5 2" {}
                    path d="M5 8h6" {}
                }
            }
        }
    }
}

/// The mark of a verdict in the dashboard's table: a symbol and its word
/// for screen readers.
fn verdict_mark(verdict: Option<&str>) -> (&'static str, &'static str) {
    match verdict {
        Some("pass") => ("✓", "pass"),
        Some("fail") => ("✗", "fail"),
        Some("error") => ("!", "error"),
        _ => ("–", "not run"),
    }
}

/// A case's message: its sentence, then what it quotes from the program
/// (a compiler's messages, a traceback: the lines after the first)
/// preformatted, so a `^` stays under the column it points at.
fn message(value: &str) -> Markup {
    let (sentence, quoted) = value.split_once('\n').unwrap_or((value, ""));
    html! {
        div.message {
            (multiline(sentence))
            @if !quoted.trim().is_empty() {
                pre.quoted { (shown(quoted.as_bytes(), MAX_SHOWN, true)) }
            }
        }
    }
}

/// Text with line breaks kept as `<br>`.
fn multiline(value: &str) -> Markup {
    let cleaned = text(value);
    html! {
        @for (index, line) in cleaned.split('\n').enumerate() {
            @if index > 0 { br; }
            (line)
        }
    }
}

/// Text from the runner, a spec or a folder name, made printable: control
/// characters other than newline and tab escaped, and cut past
/// `MAX_SHOWN` bytes.
pub(crate) fn text(value: &str) -> String {
    shown(value.as_bytes(), MAX_SHOWN, true)
}

/// Bytes from anywhere as printable text: invalid UTF-8 as `\xNN`,
/// control characters as `\r`, `\u{1b}` (newline and tab kept when
/// `lines`), noncharacters and bidirectional overrides as `\u{..}`, and
/// the middle of anything longer than `limit` bytes left out and counted.
pub(crate) fn shown(bytes: &[u8], limit: usize, lines: bool) -> String {
    if bytes.len() <= limit {
        return escape(bytes, lines);
    }
    let head = char_boundary(bytes, limit / 2);
    let tail = char_boundary(bytes, bytes.len() - limit / 2);
    format!(
        "{} … ({} bytes in all, {} not shown) … {}",
        escape(&bytes[..head], lines),
        bytes.len(),
        tail - head,
        escape(&bytes[tail..], lines)
    )
}

/// `at`, moved back to the start of the UTF-8 sequence it falls in.
fn char_boundary(bytes: &[u8], mut at: usize) -> usize {
    let floor = at.saturating_sub(3);
    while at > floor && at < bytes.len() && (bytes[at] & 0xc0) == 0x80 {
        at -= 1;
    }
    at
}

fn escape(bytes: &[u8], lines: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' | '\t' if lines => out.push(c),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// Characters a page must not carry as they are: controls (HTML parse
/// errors, invisible), noncharacters, and the bidirectional controls
/// that make text read differently from what it is.
fn needs_escape(c: char) -> bool {
    let code = c as u32;
    c.is_control()
        || (0xfdd0..=0xfdef).contains(&code)
        || (code & 0xfffe) == 0xfffe
        || crate::text::is_invisible_format(c)
}

/// Bytes from the wire in quotes, as the other reports show them, cut to
/// `limit` bytes.
pub(crate) fn quoted_shown(bytes: &[u8], limit: usize) -> String {
    if bytes.len() <= limit {
        return quoted(bytes);
    }
    let head = char_boundary(bytes, limit / 2);
    let tail = char_boundary(bytes, bytes.len() - limit / 2);
    format!(
        "{} … ({} bytes in all, {} not shown) … {}",
        quoted(&bytes[..head]),
        bytes.len(),
        tail - head,
        quoted(&bytes[tail..])
    )
}

/// A run of text, highlighted where it differs from the other side.
struct Piece {
    text: String,
    differs: bool,
}

struct Compared {
    expected: Vec<Piece>,
    received: Option<Vec<Piece>>,
}

fn pieces(pieces: &[Piece]) -> Markup {
    html! {
        @for piece in pieces {
            @if piece.differs { mark { (piece.text) } } @else { (piece.text) }
        }
    }
}

/// Expected against received, the part after their common beginning
/// highlighted, where the expectation is a text that must come first
/// (`"HELLO"`, a line, a prefix); otherwise side by side as they are.
fn compare(expected: &str, actual: Option<&[u8]>) -> Compared {
    let expected = text(expected);
    let Some(actual) = actual else {
        return Compared {
            expected: vec![plain(expected)],
            received: None,
        };
    };
    if actual.is_empty() {
        return Compared {
            expected: vec![plain(expected)],
            received: Some(vec![plain(String::from("nothing"))]),
        };
    }
    let received = quoted_shown(actual, 600);
    let literal = ["", "a datagram "]
        .iter()
        .flat_map(|datagram| {
            ["", "the line ", "text starting with "].map(|lead| format!("{datagram}{lead}"))
        })
        .find_map(|lead| literal_after(&expected, &lead));
    let Some((start, end)) = literal else {
        return Compared {
            expected: vec![plain(expected)],
            received: Some(vec![plain(received)]),
        };
    };
    let want = &expected[start..end];
    let got = &received[1..received.len().saturating_sub(1).max(1)];
    let common: usize = want
        .chars()
        .zip(got.chars())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum();
    let split = |whole: &str, from: usize, to: usize, common: usize| {
        let mut out = vec![plain(whole[..from + common].to_string())];
        if from + common < to {
            out.push(Piece {
                text: whole[from + common..to].to_string(),
                differs: true,
            });
        }
        out.push(plain(whole[to..].to_string()));
        out
    };
    Compared {
        expected: split(&expected, start, end, common),
        received: Some(split(&received, 1, 1 + got.len(), common)),
    }
}

/// Where the quoted text that `expected` starts with after `lead` lies
/// (inside the quotes).
fn literal_after(expected: &str, lead: &str) -> Option<(usize, usize)> {
    let rest = expected.strip_prefix(lead)?.strip_prefix('"')?;
    let start = lead.len() + 1;
    let mut escaped = false;
    for (offset, c) in rest.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some((start, start + offset)),
            _ => {}
        }
    }
    None
}

fn plain(text: String) -> Piece {
    Piece {
        text,
        differs: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The relative luminance of `#rrggbb` (WCAG 2).
    fn luminance(colour: &str) -> f64 {
        let value = u32::from_str_radix(colour.trim_start_matches('#'), 16).expect("hex colour");
        let channel = |shift: u32| {
            let c = f64::from((value >> shift) & 0xff) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(16) + 0.7152 * channel(8) + 0.0722 * channel(0)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (a, b) = (luminance(a), luminance(b));
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    /// The custom properties of the stylesheet's `:root`.
    fn palette() -> std::collections::HashMap<String, String> {
        let root = STYLE
            .split(":root")
            .nth(1)
            .and_then(|rest| rest.split('}').next())
            .expect("a :root block");
        root.split(';')
            .filter_map(|declaration| {
                let (name, value) = declaration.split_once(':')?;
                let value = value.trim();
                value.starts_with('#').then(|| {
                    (
                        name.trim_start_matches(['{', ' ', '\n']).trim().to_string(),
                        value.to_string(),
                    )
                })
            })
            .collect()
    }

    #[test]
    fn every_text_colour_passes_wcag_aa_on_every_background() {
        let palette = palette();
        let backgrounds: Vec<&String> = palette
            .iter()
            .filter(|(name, _)| name.starts_with("--bg"))
            .map(|(_, value)| value)
            .collect();
        assert!(backgrounds.len() >= 3, "{palette:?}");
        let texts: Vec<(&String, &String)> = palette
            .iter()
            .filter(|(name, _)| !name.starts_with("--bg") && !name.starts_with("--line"))
            .collect();
        assert!(texts.len() >= 8, "{palette:?}");
        for (name, colour) in texts {
            for background in &backgrounds {
                let ratio = contrast(colour, background);
                assert!(
                    ratio >= 4.5,
                    "{name} {colour} on {background}: {ratio:.2} < 4.5"
                );
            }
        }
        // Lines and shapes that carry meaning need 3:1 (non-text contrast).
        for (name, colour) in palette.iter().filter(|(n, _)| n.starts_with("--line")) {
            for background in &backgrounds {
                let ratio = contrast(colour, background);
                assert!(ratio >= 3.0, "{name} {colour} on {background}: {ratio:.2}");
            }
        }
    }

    #[test]
    fn bytes_are_shown_as_printable_text() {
        assert_eq!(
            shown(b"a\xffb\x00\x1b[2J", 100, false),
            "a\\xffb\\u{0}\\u{1b}[2J"
        );
        assert_eq!(shown(b"l1\nl2\r", 100, true), "l1\nl2\\r");
        assert_eq!(
            shown("x\u{202e}y\u{fffe}".as_bytes(), 100, true),
            "x\\u{202e}y\\u{fffe}"
        );
        let long = "é".repeat(1 << 19);
        let cut = shown(long.as_bytes(), 1000, false);
        assert!(cut.len() < 1200, "{}", cut.len());
        assert!(cut.contains("1048576 bytes in all"), "{cut}");
        assert!(!cut.contains("\\x"), "cut inside a character: {cut}");
    }

    #[test]
    fn the_difference_starts_where_the_texts_part() {
        let compared = compare("\"HELLO\"", Some(b"HELP!"));
        let expected: Vec<(&str, bool)> = compared
            .expected
            .iter()
            .map(|p| (p.text.as_str(), p.differs))
            .collect();
        assert_eq!(expected, [("\"HEL", false), ("LO", true), ("\"", false)]);
        let received = compared.received.expect("received");
        let received: Vec<(&str, bool)> = received
            .iter()
            .map(|p| (p.text.as_str(), p.differs))
            .collect();
        assert_eq!(received, [("\"HEL", false), ("P!", true), ("\"", false)]);
        let line = compare(
            "the line \"hello second\" (a line end after it allowed)",
            Some(b"hello first\n"),
        );
        assert!(line
            .expected
            .iter()
            .any(|p| p.differs && p.text == "second"));
        let regex = compare("text matching /a+/", Some(b"b"));
        assert!(regex.expected.iter().all(|p| !p.differs));
    }

    #[test]
    fn the_sample_run_renders_escaped() {
        let page = render(&crate::report::sample::collected(), &Context::default());
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("\\xff"), "invalid UTF-8 escaped");
        assert!(page.contains("&lt;&amp;&gt;\\u{1b}"), "markup escaped");
        assert!(!page.contains('\u{1b}'));
        assert!(!page.contains("<script"));
        assert!(page.contains("decode as UTF-8"));
    }
}
