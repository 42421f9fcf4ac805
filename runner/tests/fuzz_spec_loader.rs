//! Deterministic property ("fuzz") test of the spec loader, without extra
//! dependencies.
//!
//! Inputs come from a seeded PRNG (splitmix64): the bundled specs (`specs/`)
//! and the broken ones (`suite/bad-specs/`) mutated 1 to 8 times, specs
//! built from the format's grammar (mostly valid, some choices made wrong on
//! purpose), YAML-ish token soup and random text. For every input:
//!
//! 1. `parse` returns instead of panicking;
//! 2. an error displays as `<file>:<line>:<col>: <message>`, with line and
//!    column at least 1, on a single line;
//! 3. parsing the same input again gives the same result: every input that
//!    loads, and a sample of those that fail (see `check_case`).
//!
//! The inputs are generated and checked once and shared by the three tests,
//! so that each property fails under its own name. A failure lists the
//! offending inputs, each shrunk to a small reproducer; originals and
//! reproducers are saved under `std::env::temp_dir()`.
//!
//! `SPEC_FUZZ_CASES` sets the number of inputs (default 20 000) and
//! `SPEC_FUZZ_SEED` the seed, for long runs:
//!
//! ```text
//! SPEC_FUZZ_CASES=1000000 cargo test --release -p runner --test fuzz_spec_loader -- --nocapture
//! ```
//!
//! A stack overflow aborts the process rather than unwinding, so it cannot
//! be caught. If this test binary dies with "has overflowed its stack", run
//! it again with `SPEC_FUZZ_TRACE=1`: each worker then writes every input to
//! `<temp dir>/spec-fuzz-worker-<n>.yaml` before parsing it, and the one that
//! crashed is left there.

use runner::speclang::parse;
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Once, OnceLock};
use std::time::Instant;

const DEFAULT_CASES: usize = 20_000;
const DEFAULT_SEED: u64 = 0x5EED_0F5B_EC10_AD00;
/// Failing inputs kept (shrunk, saved, shown) per kind of failure; the rest
/// are only counted.
const KEPT_PER_KIND: usize = 2;
/// Errors outside grammar-built inputs are parsed twice one time in this
/// many (Ok results and grammar-built inputs always are).
const RECHECK_ERRORS_EVERY: usize = 8;
/// Longest string inserted.
const LONG: usize = 4_096;
/// Deepest `[[[...]]]` / `{a: {a: ...}}` / `- - - ...` nesting inserted.
const MAX_NESTING: usize = 200;

// ---------------------------------------------------------------------------
// PRNG: splitmix64.

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`; `n` must be positive.
    fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0)");
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `num / den`.
    fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Mostly small, sometimes large: `1..=max`, log-uniform.
    fn size(&mut self, max: usize) -> usize {
        let bits = usize::BITS - max.leading_zeros();
        let cap = 1usize << self.below(bits as usize + 1);
        self.between(1, cap.min(max).max(1))
    }
}

/// The PRNG seed of one case: every case is reproducible on its own.
fn case_seed(base: u64, case: usize) -> u64 {
    let mut rng = Rng::new(base ^ (case as u64).wrapping_mul(0xD134_2543_DE82_EF95));
    rng.next_u64()
}

// ---------------------------------------------------------------------------
// Vocabulary.

const TOP_KEYS: &[&str] = &["spec", "title", "about", "target", "defaults", "cases"];
#[rustfmt::skip]
const KEYS: &[&str] = &[
    "spec", "title", "about", "target", "role", "transport", "reference", "restart",
    "start-timeout", "defaults", "timeout", "cases", "id", "points", "hint", "tags", "steps", "on",
    "text", "hex", "repeat", "chunks", "pause", "prefix", "contains", "regex", "capture", "for",
    "line", "code", "within", "max-cpu",
];
#[rustfmt::skip]
const STEPS: &[&str] = &[
    "connect", "accept", "send", "recv", "eof", "quiet", "shutdown", "close", "reset", "sendto",
    "recvfrom", "stdin", "close-stdin", "stdout", "stderr", "output", "exit", "alive", "idle",
];
#[rustfmt::skip]
const REFERENCES: &[&str] = &[
    "upper-server", "upper-client", "chat-server", "chat-client", "udp-upper-server",
    "udp-upper-client", "udp-upper-server-loop", "no-such-program", "",
];
/// Few, short, similar names: unknown-connection suggestions get ties.
const CONNECTIONS: &[&str] = &["a", "b", "aa", "ab", "ba", "bb", "c", "conn", "con", "cnon"];
const CAPTURES: &[&str] = &["x", "y", "xy", "yx", "greeting", "name"];
#[rustfmt::skip]
const YAML_TOKENS: &[&str] = &[
    ":", ": ", "-", "- ", "{", "}", "[", "]", ",", "&a ", "*a", "&a", "*b ", "!tag ", "!!str ",
    "!!int ", "!!binary ", "!<tag:yaml.org,2002:str> ", "|", "|-\n", ">", ">+\n", "\"", "'", "#",
    " # comment", "---", "\n---\n", "...", "\n...\n", "? ", "\t", "\u{0}", "\r", "\r\n",
    "\u{feff}", "\u{85}", "\u{2028}", "%YAML 1.2\n", "%TAG ! tag:x,2000:\n", "<<: *a\n", "\\",
    "\"\\x\"", "\"\\u\"", "\"\\U0010FFFF\"", "\"\\", "'''", "@", "`", "%", "\n", "\n  ", "  ",
];
#[rustfmt::skip]
const VALUES: &[&str] = &[
    "0", "1", "-1", "255", "256", "-256", "2147483647", "-2147483649", "4294967296",
    "18446744073709551615", "18446744073709551616", "-9223372036854775809",
    "99999999999999999999999999999", "1e400", "-1e400", "1.5", "0x1F", "0o17", "1_000", ".nan",
    ".inf", "-.inf", "-1s", "0ms", "0s", "0", "1ns", "1.5s", "2 s", "99999999999h",
    "18446744073709551615s", "18446744073709551616ns", "584942417355y", "1e3ms", "s", "10%", "-5%",
    "100%", "100.0000001%", "NaN%", "inf%", "%", "\"\"", "''", "~", "null", "true", "no", "[]",
    "{}", "[0]", "[1, 0]", "[-1]", "[a, [b]]", "{a: 1}", "{on: a}", "\"a\\nb\"", "\"a\\rb\"",
    "\"\\t\"", "\"\\0\"", "\"\\u2028\"", "\"line one\\nline two\"", "|\n  multi\n  line\n", "&a x",
    "*a", "!!str 1", "!tag x", "!!binary aGk=", "? x", "-", "a b", "Server", "TCP", "server",
    "client", "tcp", "udp", "once", "per-case", "per_case", "GG", "0g", "abc", "00ff", "0 0 f f",
];
#[rustfmt::skip]
const TEMPLATES: &[&str] = &[
    "{x|upper}", "{x|lower}", "{ x | trim }", "{x|rot13}", "{x|}", "{|}", "{|upper}", "{", "}",
    "}}", "{{", "{{}}", "{}", "{x", "x}", "{x}}", "{{x}", "{x|upper|lower}", "{greeting}", "{名前}",
    "{\u{0}}", "{x\ny}", "a{b}c{d}e",
];
#[rustfmt::skip]
const REGEXES: &[&str] = &[
    "(", ")", "[z-a]", "\\\\", "\\", "(?<n>", "(?P<n>a)(?P<n>b)", "a{5,2}", "a**", "*", "+", "?",
    "[", "[]", "\\p{Nope}", "(?z)", "a{4294967296}", "(a{1000}){1000}", "\\x{110000}", "\\b\\B",
    "(?-u:\\xFF)", "^$", ".*", "x\ny(",
];
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "banana", "sned", "recieve", "conect", "Send", "SEND", "send_to", "close_stdin", "stdouts",
    "eoff", "", "-", "é", "ёж", "连接", "a b", "on", "text", "steps",
];

// ---------------------------------------------------------------------------
// Text helpers.

/// The char boundary at or before byte `index`.
fn floor_boundary(text: &str, mut index: usize) -> usize {
    index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn random_boundary(rng: &mut Rng, text: &str) -> usize {
    floor_boundary(text, rng.below(text.len() + 1))
}

fn random_char(rng: &mut Rng) -> char {
    match rng.below(10) {
        0..=4 => char::from(rng.between(0x20, 0x7E) as u8),
        5 => *rng.pick(&['\n', '\t', '\r', ' ', ' ', '\u{0}', '\u{7f}', '\u{1b}']),
        6 => *rng.pick(&[
            ':', '-', '{', '}', '[', ']', '&', '*', '!', '|', '>', '"', '\'', '#', '?', '%', '@',
            '`', ',', '\\',
        ]),
        7 => *rng.pick(&[
            '\u{feff}',
            '\u{85}',
            '\u{a0}',
            '\u{2028}',
            '\u{2029}',
            '\u{fffd}',
            'é',
            '你',
            '😀',
            '\u{10ffff}',
            '\u{300}',
        ]),
        _ => loop {
            if let Some(c) = char::from_u32(rng.below(0x11_0000) as u32) {
                break c;
            }
        },
    }
}

fn random_text(rng: &mut Rng, max: usize) -> String {
    let len = rng.below(max + 1);
    (0..len).map(|_| random_char(rng)).collect()
}

fn random_word(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => rng.pick(WORDS).to_string(),
        1 => {
            let word = *rng.pick(STEPS);
            near_miss(rng, word)
        }
        2 => {
            let word = *rng.pick(KEYS);
            near_miss(rng, word)
        }
        _ => {
            let len = rng.between(1, 12);
            (0..len)
                .map(|_| char::from(b'a' + rng.below(26) as u8))
                .collect()
        }
    }
}

/// A plausible misspelling of `word`.
fn near_miss(rng: &mut Rng, word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.is_empty() {
        return String::from("x");
    }
    let i = rng.below(chars.len());
    match rng.below(9) {
        0 if chars.len() > 1 => {
            let j = if i + 1 < chars.len() { i + 1 } else { i - 1 };
            chars.swap(i, j);
        }
        1 => {
            chars.remove(i);
        }
        2 => chars.insert(i, chars[i]),
        3 => chars[i] = chars[i].to_ascii_uppercase(),
        4 => {
            for c in &mut chars {
                *c = match *c {
                    '-' => '_',
                    '_' => '-',
                    other => other,
                }
            }
        }
        5 => chars.push('s'),
        6 => chars.insert(i, char::from(b'a' + rng.below(26) as u8)),
        7 => chars[i] = char::from(b'a' + rng.below(26) as u8),
        _ => chars.insert(0, ' '),
    }
    chars.into_iter().collect()
}

fn random_value(rng: &mut Rng) -> String {
    match rng.below(12) {
        0..=5 => rng.pick(VALUES).to_string(),
        6 => {
            let word = *rng.pick(TEMPLATES);
            quoted(rng, word)
        }
        7 => {
            let word = *rng.pick(REGEXES);
            quoted(rng, word)
        }
        8 => rng.pick(CONNECTIONS).to_string(),
        9 => format!(
            "{}{}",
            rng.below(100_000),
            rng.pick(&["s", "ms", "h", "us", "ns", "m", "d", ""])
        ),
        10 => long_string(rng),
        _ => {
            let text = random_text(rng, 16);
            quoted(rng, &text)
        }
    }
}

/// `text` as a YAML scalar: plain, double-quoted (escaped) or single-quoted.
fn quoted(rng: &mut Rng, text: &str) -> String {
    match rng.below(3) {
        0 => text.to_string(),
        1 => {
            let mut out = String::from("\"");
            for c in text.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\u{0}' => out.push_str("\\0"),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        _ => format!("'{}'", text.replace('\'', "''")),
    }
}

fn long_string(rng: &mut Rng) -> String {
    let len = rng.size(LONG);
    match rng.below(4) {
        0 => "a".repeat(len),
        1 => random_char(rng).to_string().repeat(len),
        2 => "{x}".repeat(len / 3 + 1),
        _ => (0..len.min(2_048)).map(|_| random_char(rng)).collect(),
    }
}

fn nesting(rng: &mut Rng) -> String {
    let depth = if rng.chance(1, 4) {
        MAX_NESTING
    } else {
        rng.between(1, MAX_NESTING)
    };
    match rng.below(7) {
        0 => format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
        1 => format!("{}x{}", "{a: ".repeat(depth), "}".repeat(depth)),
        2 => "[".repeat(depth),
        3 => "{".repeat(depth),
        4 => {
            // Block sequences, one level per line.
            let mut out = String::from("\n");
            for level in 0..depth {
                out.push_str(&" ".repeat(level));
                out.push_str("-\n");
            }
            out
        }
        5 => {
            // Block mappings, one level per line.
            let mut out = String::from("\n");
            for level in 0..depth {
                out.push_str(&" ".repeat(level));
                out.push_str("k:\n");
            }
            out
        }
        _ => format!("{}{}", "- ".repeat(depth), "x"),
    }
}

// ---------------------------------------------------------------------------
// Mutations.

fn split_lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

/// Byte ranges of `key:` keys (a run of key characters followed by `:`).
fn key_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let is_key = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if is_key(bytes[i]) && (i == 0 || !is_key(bytes[i - 1])) {
            let start = i;
            while i < bytes.len() && is_key(bytes[i]) {
                i += 1;
            }
            if i < bytes.len() && bytes[i] == b':' {
                spans.push((start, i));
            }
        } else {
            i += 1;
        }
    }
    spans
}

/// Byte ranges of values: after `: ` up to `,`, `}` or the end of line.
fn value_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b':' && bytes[i + 1] == b' ' {
            let start = i + 2;
            let mut end = start;
            let mut in_quotes = false;
            while end < bytes.len() && bytes[end] != b'\n' {
                match bytes[end] {
                    b'"' => in_quotes = !in_quotes,
                    b',' | b'}' if !in_quotes => break,
                    _ => {}
                }
                end += 1;
            }
            if end > start {
                spans.push((start, end));
            }
            i = end;
        } else {
            i += 1;
        }
    }
    spans
}

/// Byte ranges of step names: the word after `- ` on an indented line.
fn step_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        if indent >= 4 && trimmed.starts_with("- ") && !trimmed.starts_with("- id:") {
            let start = offset + indent + 2;
            let word_len = trimmed[2..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(trimmed.len() - 2);
            if word_len > 0 {
                spans.push((start, start + word_len));
            }
        }
        offset += line.len();
    }
    spans
}

fn replace_span(text: &mut String, span: (usize, usize), with: &str) {
    text.replace_range(span.0..span.1, with);
}

fn random_step_line(rng: &mut Rng) -> String {
    let indent = " ".repeat(*rng.pick(&[0, 2, 4, 6, 6, 6, 8]));
    format!("{indent}- {}\n", random_step(rng))
}

/// Applies one random mutation to `text`.
fn mutate(rng: &mut Rng, text: &mut String, corpus: &[Seed]) {
    match rng.below(26) {
        // Characters.
        0 => {
            let at = random_boundary(rng, text);
            if let Some(c) = text[at..].chars().next() {
                let replacement = random_char(rng).to_string();
                text.replace_range(at..at + c.len_utf8(), &replacement);
            }
        }
        1 => {
            let at = random_boundary(rng, text);
            let inserted: String = (0..rng.between(1, 4)).map(|_| random_char(rng)).collect();
            text.insert_str(at, &inserted);
        }
        2 => {
            let start = random_boundary(rng, text);
            let end = floor_boundary(text, start + rng.size(32));
            text.replace_range(start..end, "");
        }
        // Bytes, made valid UTF-8 again.
        3 => {
            let mut bytes = std::mem::take(text).into_bytes();
            for _ in 0..rng.between(1, 4) {
                if bytes.is_empty() {
                    break;
                }
                let i = rng.below(bytes.len());
                match rng.below(3) {
                    0 => bytes[i] ^= 1 << rng.below(8),
                    1 => bytes[i] = rng.below(256) as u8,
                    _ => {
                        bytes.remove(i);
                    }
                }
            }
            *text = String::from_utf8_lossy(&bytes).into_owned();
        }
        // Whole lines.
        4..=7 => {
            let mut lines = split_lines(text);
            if lines.is_empty() {
                return;
            }
            let i = rng.below(lines.len());
            let j = rng.below(lines.len());
            match rng.below(4) {
                0 => {
                    lines.remove(i);
                }
                1 => {
                    let line = lines[i].clone();
                    lines.insert(j, line);
                }
                2 => lines.swap(i, j),
                _ => {
                    let line = lines.remove(i);
                    lines.insert(j.min(lines.len()), line);
                }
            }
            for line in &mut lines {
                if !line.ends_with('\n') {
                    line.push('\n');
                }
            }
            *text = lines.concat();
        }
        8 => {
            // Re-indent a line.
            let mut lines = split_lines(text);
            if lines.is_empty() {
                return;
            }
            let i = rng.below(lines.len());
            let body = lines[i].trim_start_matches([' ', '\t']).to_string();
            let indent = match rng.below(4) {
                0 => String::from("\t"),
                1 => format!("{}\t", " ".repeat(rng.below(8))),
                _ => " ".repeat(rng.below(13)),
            };
            lines[i] = indent + &body;
            *text = lines.concat();
        }
        9 => {
            // Convert line endings.
            *text = match rng.below(3) {
                0 => text.replace('\n', "\r\n"),
                1 => text.replace('\n', "\r"),
                _ => text.trim_end_matches('\n').to_string(),
            };
        }
        // YAML-significant tokens.
        10..=12 => {
            let token = rng.pick(YAML_TOKENS);
            let at = random_boundary(rng, text);
            text.insert_str(at, token);
        }
        13 => {
            let inserted = long_string(rng);
            let at = random_boundary(rng, text);
            text.insert_str(at, &inserted);
        }
        14 => {
            let inserted = nesting(rng);
            match value_spans(text) {
                spans if !spans.is_empty() && rng.chance(1, 2) => {
                    let span = *rng.pick(&spans);
                    replace_span(text, span, &inserted);
                }
                _ => {
                    let at = random_boundary(rng, text);
                    text.insert_str(at, &inserted);
                }
            }
        }
        // Values, keys, step names.
        15..=17 => {
            let spans = value_spans(text);
            if !spans.is_empty() {
                let span = *rng.pick(&spans);
                let value = random_value(rng);
                replace_span(text, span, &value);
            }
        }
        18 | 19 => {
            let spans = key_spans(text);
            if !spans.is_empty() {
                let span = *rng.pick(&spans);
                let key = &text[span.0..span.1];
                let replacement = match rng.below(3) {
                    0 => rng.pick(KEYS).to_string(),
                    _ => near_miss(rng, key),
                };
                replace_span(text, span, &replacement);
            }
        }
        20 => {
            let spans = step_spans(text);
            if !spans.is_empty() {
                let span = *rng.pick(&spans);
                let word = if rng.chance(1, 2) {
                    rng.pick(STEPS).to_string()
                } else {
                    random_word(rng)
                };
                replace_span(text, span, &word);
            }
        }
        21 => {
            // Duplicate a key: in a flow mapping, or a block `key: value` line.
            let spans = key_spans(text);
            if spans.is_empty() {
                return;
            }
            let (start, end) = *rng.pick(&spans);
            let key = text[start..end].to_string();
            let value = random_value(rng);
            match text[end..].find(['}', '\n']) {
                Some(offset) if text.as_bytes()[end + offset] == b'}' => {
                    text.insert_str(end + offset, &format!(", {key}: {value} "));
                }
                _ => {
                    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
                    let indent = " ".repeat(start - line_start);
                    let at = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
                    let line = format!("{indent}{key}: {value}\n");
                    if at == text.len() && !text.ends_with('\n') {
                        text.push('\n');
                    }
                    let at = at.min(text.len());
                    text.insert_str(at, &line);
                }
            }
        }
        22 => {
            // Templates into a value, or into the middle of a value.
            let spans = value_spans(text);
            if !spans.is_empty() {
                let (start, end) = *rng.pick(&spans);
                let template = rng.pick(TEMPLATES);
                if rng.chance(1, 2) {
                    let at = floor_boundary(text, rng.between(start, end));
                    text.insert_str(at, template);
                } else {
                    let value = quoted(rng, template);
                    replace_span(text, (start, end), &value);
                }
            }
        }
        23 => {
            // Regexes: a matcher key becomes `regex`, or a value a pattern.
            let pattern = {
                let word = *rng.pick(REGEXES);
                quoted(rng, word)
            };
            let spans = key_spans(text);
            let matcher = spans.iter().copied().find(|&(s, e)| {
                matches!(&text[s..e], "text" | "prefix" | "contains" | "hex") && rng.chance(1, 2)
            });
            if let Some((start, end)) = matcher {
                replace_span(text, (start, end), "regex");
                let shift = start + "regex".len();
                if let Some(&(vs, ve)) = value_spans(text).iter().find(|(vs, _)| *vs > shift) {
                    replace_span(text, (vs, ve), &pattern);
                }
            } else {
                let spans = value_spans(text);
                if !spans.is_empty() {
                    let span = *rng.pick(&spans);
                    replace_span(text, span, &pattern);
                }
            }
        }
        24 => {
            // Splice lines from another corpus file.
            let other = split_lines(&rng.pick(corpus).text);
            if other.is_empty() {
                return;
            }
            let from = rng.below(other.len());
            let to = (from + rng.size(8)).min(other.len());
            let lines = split_lines(text);
            let at = rng.below(lines.len() + 1);
            let mut out: Vec<String> = lines[..at].to_vec();
            out.extend_from_slice(&other[from..to]);
            out.extend_from_slice(&lines[at..]);
            *text = out.concat();
        }
        _ => {
            // A whole new step line.
            let line = random_step_line(rng);
            let lines = split_lines(text);
            let at = rng.below(lines.len() + 1);
            let mut out: Vec<String> = lines[..at].to_vec();
            if at > 0 && !out[at - 1].ends_with('\n') {
                out[at - 1].push('\n');
            }
            out.push(line);
            out.extend_from_slice(&lines[at..]);
            *text = out.concat();
        }
    }
}

// ---------------------------------------------------------------------------
// Generators.

/// `text` as a YAML scalar that stays `text`: plain when that is safe,
/// otherwise double- or single-quoted.
fn scalar(rng: &mut Rng, text: &str) -> String {
    let plain = !text.is_empty() && text.chars().all(|c| c.is_alphanumeric() || c == '-');
    if plain && rng.chance(1, 2) {
        return text.to_string();
    }
    loop {
        let quoted = quoted(rng, text);
        if quoted.starts_with(['"', '\'']) {
            return quoted;
        }
    }
}

/// Builds specs from the format's grammar, tracking what a valid spec needs
/// (open connections, captures, the role and transport), and gets each
/// choice wrong with probability `fault` per mille.
struct Grammar<'r> {
    rng: &'r mut Rng,
    fault: usize,
    server: bool,
    udp: bool,
    open: Vec<&'static str>,
    captures: Vec<&'static str>,
    heard: bool,
}

impl Grammar<'_> {
    fn new(rng: &mut Rng, fault: usize) -> Grammar<'_> {
        let server = rng.chance(1, 2);
        let udp = rng.chance(1, 2);
        Grammar {
            rng,
            fault,
            server,
            udp,
            open: Vec::new(),
            captures: Vec::new(),
            heard: false,
        }
    }

    fn wrong(&mut self) -> bool {
        self.rng.below(1000) < self.fault
    }

    fn one(&mut self, items: &[&str]) -> String {
        self.rng.pick(items).to_string()
    }

    /// One of `good`, or, when this choice is to be wrong, of `bad` or any
    /// value at all.
    fn choose(&mut self, good: &[&str], bad: &[&str]) -> String {
        match self.wrong() {
            false => self.one(good),
            true if self.rng.chance(2, 3) => self.one(bad),
            true => random_value(self.rng),
        }
    }

    fn duration(&mut self) -> String {
        let good = ["1s", "500ms", "2s", "10ms", "1m", "3s 200ms", "1h"];
        self.choose(&good, &["0s", "-1s", "3x", "1.5s", "0", "''", "[]"])
    }

    fn text(&mut self) -> String {
        if self.wrong() {
            let template = *self.rng.pick(TEMPLATES);
            return quoted(self.rng, template);
        }
        let literals = [
            "hello", "HELLO", "", " ", "你好", "a: b", "- x", "{{x}}", "#1", "line\n",
        ];
        let mut text = self.one(&literals);
        if !self.captures.is_empty() && self.rng.chance(1, 3) {
            let name = *self.rng.pick(&self.captures);
            let transform = self.one(&["", "|upper", "|lower", " | trim "]);
            let _ = write!(text, "{{{name}{transform}}}");
        }
        scalar(self.rng, &text)
    }

    fn regex(&mut self) -> String {
        if self.wrong() {
            let pattern = *self.rng.pick(REGEXES);
            return quoted(self.rng, pattern);
        }
        let pattern = self.one(&["^HE(L+)O$", "[a-z]+", "\\d+", "(?i)hello", "(?s).*"]);
        scalar(self.rng, &pattern)
    }

    /// A connection that is open, or, if to be wrong, a typo of one or
    /// another name: the names are so alike that the loader's "did you
    /// mean" often has several to choose from.
    fn open_connection(&mut self) -> String {
        if self.open.is_empty() {
            return self.one(CONNECTIONS);
        }
        let open = self.one(&self.open.clone());
        let typo = self.fault > 0 && self.open.len() > 1 && self.rng.chance(1, 4);
        if !typo && !self.wrong() {
            return open;
        }
        let others: Vec<&str> = CONNECTIONS
            .iter()
            .copied()
            .filter(|c| !self.open.contains(c))
            .collect();
        match self.rng.chance(1, 3) || others.is_empty() {
            true => near_miss(self.rng, &open),
            false => self.one(&others),
        }
    }

    fn opens(&mut self) -> String {
        let name = *self.rng.pick(CONNECTIONS);
        let name = match self.open.contains(&name) && !self.wrong() {
            true => CONNECTIONS
                .iter()
                .copied()
                .find(|c| !self.open.contains(c))
                .unwrap_or(name),
            false => name,
        };
        self.open.push(name);
        name.to_string()
    }

    fn ends(&mut self, name: &str) {
        self.open.retain(|c| *c != name);
    }

    /// `{ k: v, ... }` or an indented block mapping.
    fn mapping(&mut self, entries: Vec<(&str, String)>) -> String {
        let mut entries: Vec<String> = entries
            .into_iter()
            .map(|(key, value)| format!("{key}: {value}"))
            .collect();
        if self.wrong() {
            let key = self.one(KEYS);
            let key = near_miss(self.rng, &key);
            let value = random_value(self.rng);
            entries.push(format!("{key}: {value}"));
        }
        if self.rng.chance(2, 3) {
            format!("{{ {} }}", entries.join(", "))
        } else {
            entries.iter().map(|e| format!("\n          {e}")).collect()
        }
    }

    /// The keys of a matcher: one of text, hex, prefix, contains, regex.
    fn matcher(&mut self, on: Option<String>) -> String {
        let mut entries = Vec::new();
        if let Some(on) = on {
            entries.push(("on", on));
        }
        let kinds = ["text", "hex", "prefix", "contains", "regex"];
        let mut kind = self.one(&kinds);
        for _ in 0..1 + usize::from(self.wrong()) {
            let value = match kind.as_str() {
                "hex" => self.choose(&["00ff", "'DE AD be ef'", "0a0d"], &["abc", "zz", "é0"]),
                "regex" => self.regex(),
                _ => self.text(),
            };
            let key = kinds.iter().copied().find(|k| *k == kind).unwrap_or("text");
            entries.push((key, value));
            kind = self.one(&kinds);
        }
        let exact = entries.iter().any(|(k, _)| *k == "text" || *k == "hex");
        if (exact || self.wrong()) && self.rng.chance(1, 5) {
            let repeat = self.choose(&["1", "2", "3"], &["0", "-1", "18446744073709551616"]);
            entries.push(("repeat", repeat));
        }
        if self.rng.chance(1, 3) {
            entries.push(("timeout", self.duration()));
        }
        let mut capture = None;
        if self.rng.chance(1, 3) {
            let name = *self.rng.pick(CAPTURES);
            entries.push(("capture", name.to_string()));
            capture = Some(name);
        }
        let body = self.mapping(entries);
        self.captures.extend(capture);
        body
    }

    fn payload(&mut self, on: Option<String>, stream: bool) -> String {
        let mut entries = Vec::new();
        if let Some(on) = on {
            entries.push(("on", on));
        }
        if self.rng.chance(3, 4) {
            entries.push(("text", self.text()));
        } else {
            let hex = self.choose(&["00ff", "'DE AD be ef'", "0a0d"], &["abc", "zz", "é0"]);
            entries.push(("hex", hex));
        }
        if self.wrong() {
            entries.push(("hex", self.one(&["00", "abc"])));
        }
        if self.rng.chance(1, 5) {
            let repeat = self.choose(&["1", "2", "1000"], &["0", "-1", "x"]);
            entries.push(("repeat", repeat));
        }
        if (stream || self.wrong()) && self.rng.chance(1, 4) {
            let chunks = self.choose(&["[1]", "[1, 2]", "[3, 1, 4]"], &["[0]", "[-1]", "1"]);
            entries.push(("chunks", chunks));
            if self.rng.chance(1, 2) {
                entries.push(("pause", self.duration()));
            }
        }
        self.mapping(entries)
    }

    fn step(&mut self) -> String {
        if self.wrong() && self.rng.chance(1, 3) {
            let name = match self.rng.chance(1, 2) {
                true => self.one(STEPS),
                false => random_word(self.rng),
            };
            return format!("{name}: {}", random_value(self.rng));
        }
        let opener = if self.server { "connect" } else { "accept" };
        let stdio = [
            "stdin",
            "close-stdin",
            "stdout",
            "stderr",
            "output",
            "exit",
            "alive",
            "idle",
        ];
        let name = if self.wrong() {
            self.one(STEPS)
        } else if self.rng.chance(1, 4) {
            self.one(&stdio)
        } else if self.udp {
            match self.server || self.heard {
                true => self.one(&["sendto", "recvfrom"]),
                false => String::from("recvfrom"),
            }
        } else if self.open.is_empty() || self.rng.chance(1, 6) {
            opener.to_string()
        } else {
            let tcp = [
                "send", "recv", "recv", "eof", "quiet", "shutdown", "close", "reset",
            ];
            self.one(&tcp)
        };
        let body = match name.as_str() {
            "connect" | "accept" => {
                let name = self.opens();
                match self.rng.chance(3, 4) {
                    true => name,
                    false => {
                        let timeout = self.duration();
                        self.mapping(vec![("on", name), ("timeout", timeout)])
                    }
                }
            }
            "eof" | "shutdown" | "close" | "reset" => {
                let conn = self.open_connection();
                if name == "close" || name == "reset" {
                    self.ends(&conn);
                }
                match self.rng.chance(3, 4) {
                    true => conn,
                    false => {
                        let mut entries = vec![("on", conn)];
                        if name == "eof" || self.wrong() {
                            entries.push(("timeout", self.duration()));
                        }
                        self.mapping(entries)
                    }
                }
            }
            "send" => {
                let conn = self.open_connection();
                self.payload(Some(conn), true)
            }
            "recv" => {
                let conn = self.open_connection();
                self.matcher(Some(conn))
            }
            "quiet" => {
                let conn = self.open_connection();
                let window = self.duration();
                self.mapping(vec![("on", conn), ("for", window)])
            }
            "sendto" | "recvfrom" => {
                let on = match self.server == self.wrong() {
                    true => None,
                    false => Some(self.one(CONNECTIONS)),
                };
                if name == "sendto" {
                    self.payload(on, false)
                } else {
                    let body = self.matcher(on);
                    self.heard = true;
                    body
                }
            }
            "stdin" => match self.rng.chance(1, 2) {
                true => self.text(),
                false => {
                    let key = *self.rng.pick(&["line", "text"]);
                    let text = self.text();
                    self.mapping(vec![(key, text)])
                }
            },
            "stdout" | "stderr" | "output" => self.matcher(None),
            "exit" => {
                let mut entries = Vec::new();
                if self.rng.chance(3, 4) {
                    let code = self.choose(&["0", "1", "255"], &["256", "-1", "2147483648"]);
                    entries.push(("code", code));
                }
                if self.rng.chance(1, 2) {
                    entries.push(("within", self.duration()));
                }
                self.mapping(entries)
            }
            "idle" => {
                let mut entries = vec![("for", self.duration())];
                if self.rng.chance(1, 2) {
                    let cpu = self.choose(&["10%", "20", "0.5%", "100"], &["101%", "-1%", "x"]);
                    entries.push(("max-cpu", cpu));
                }
                self.mapping(entries)
            }
            // close-stdin, alive: no body.
            _ => return name,
        };
        format!("{name}: {body}")
    }

    fn spec(&mut self) -> String {
        let mut out = String::new();
        let name = self.choose(&["upper", "chat-server", "x"], &["''", "' '", "[]", "1"]);
        let _ = writeln!(out, "spec: {name}");
        let title = self.text();
        let _ = writeln!(out, "title: {title}");
        if self.rng.chance(1, 3) {
            let _ = writeln!(out, "about: >\n  {}", self.one(&["a b c", "x: y", "- z"]));
        }
        let role = if self.server { "server" } else { "client" };
        let transport = if self.udp { "udp" } else { "tcp" };
        let mut target = vec![
            ("role", self.choose(&[role], &["Server", "both", ""])),
            ("transport", self.choose(&[transport], &["TCP", "sctp"])),
        ];
        if self.rng.chance(2, 3) {
            let reference = self.choose(&REFERENCES[..7], &REFERENCES[7..]);
            target.push(("reference", reference));
        }
        if self.rng.chance(1, 3) {
            let restart = self.choose(&["once", "per-case"], &["never", "per_case"]);
            target.push(("restart", restart));
        }
        if self.rng.chance(1, 4) {
            target.push(("start-timeout", self.duration()));
        }
        let target: Vec<String> = target.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        if self.rng.chance(1, 2) {
            let _ = writeln!(out, "target: {{ {} }}", target.join(", "));
        } else {
            let _ = writeln!(out, "target:\n  {}", target.join("\n  "));
        }
        if self.rng.chance(1, 2) {
            let _ = writeln!(out, "defaults:\n  timeout: {}", self.duration());
        }
        let _ = writeln!(out, "cases:");
        for case in 0..self.rng.between(1, 3) {
            self.open.clear();
            self.captures.clear();
            self.heard = false;
            let id = match self.wrong() {
                true => self.one(&["case-0", "a b", "''", "é", "x.y"]),
                false => format!("case-{case}"),
            };
            let _ = writeln!(out, "  - id: {id}");
            let _ = writeln!(out, "    about: {}", self.text());
            if self.rng.chance(1, 3) {
                let points = self.choose(&["1", "2", "10"], &["-1", "4294967296", "x"]);
                let _ = writeln!(out, "    points: {points}");
            }
            if self.rng.chance(1, 4) {
                let _ = writeln!(out, "    hint: {}", self.text());
            }
            if self.rng.chance(1, 4) {
                let _ = writeln!(out, "    tags: [{}, t]", random_word(self.rng));
            }
            let _ = writeln!(out, "    steps:");
            for _ in 0..self.rng.between(1, 6) {
                let _ = writeln!(out, "      - {}", self.step());
            }
        }
        out
    }
}

fn random_step(rng: &mut Rng) -> String {
    Grammar::new(rng, 300).step()
}

fn grammar_spec(rng: &mut Rng) -> String {
    let fault = *rng.pick(&[0, 0, 0, 5, 20, 50, 200]);
    Grammar::new(rng, fault).spec()
}

/// Tokens of the format and of YAML, run together.
fn token_soup(rng: &mut Rng) -> String {
    let mut out = String::new();
    for _ in 0..rng.size(300) {
        match rng.below(8) {
            0 | 1 => out.push_str(rng.pick::<&str>(YAML_TOKENS)),
            2 => {
                out.push_str(rng.pick::<&str>(KEYS));
                out.push_str(": ");
            }
            3 => out.push_str(rng.pick::<&str>(TOP_KEYS)),
            4 => out.push_str(rng.pick::<&str>(STEPS)),
            5 => out.push_str(&random_value(rng)),
            6 => {
                out.push('\n');
                out.push_str(&" ".repeat(rng.below(9)));
            }
            _ => out.push(' '),
        }
    }
    out
}

struct Seed {
    /// Path relative to the workspace, e.g. `specs/tcp-upper-server.yaml`.
    name: String,
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Mutated,
    Grammar,
    TokenSoup,
    RandomText,
}

struct Input {
    origin: Origin,
    /// The file name given to `parse`, echoed at the start of every error.
    file: String,
    text: String,
}

fn generate(rng: &mut Rng, corpus: &[Seed]) -> Input {
    let roll = rng.below(100);
    let (origin, file, mut text) = match roll {
        0..=59 => {
            let seed = rng.pick(corpus);
            (Origin::Mutated, seed.name.clone(), seed.text.clone())
        }
        60..=84 => (
            Origin::Grammar,
            String::from("grammar.yaml"),
            grammar_spec(rng),
        ),
        85..=92 => (
            Origin::TokenSoup,
            String::from("soup.yaml"),
            token_soup(rng),
        ),
        _ => (
            Origin::RandomText,
            String::from("random.yaml"),
            random_text(rng, 512),
        ),
    };
    let mutations = match origin {
        Origin::Mutated => rng.between(1, 8),
        Origin::Grammar if rng.chance(1, 3) => rng.between(1, 3),
        _ => 0,
    };
    for _ in 0..mutations {
        mutate(rng, &mut text, corpus);
    }
    Input { origin, file, text }
}

fn load_corpus() -> Vec<Seed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut corpus = Vec::new();
    for dir in ["specs", "suite/bad-specs"] {
        let path = root.join(dir);
        let entries = std::fs::read_dir(&path)
            .unwrap_or_else(|error| panic!("cannot list {}: {error}", path.display()));
        let mut files: Vec<PathBuf> = entries
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        for file in files {
            let bytes = std::fs::read(&file)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", file.display()));
            let name = format!(
                "{dir}/{}",
                file.file_name().expect("a file name").to_string_lossy()
            );
            corpus.push(Seed {
                name,
                text: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
    }
    assert!(
        corpus
            .iter()
            .filter(|seed| seed.name.ends_with(".yaml"))
            .count()
            >= 2,
        "the corpus (specs/, suite/bad-specs/) has hardly any specs"
    );
    corpus
}

// ---------------------------------------------------------------------------
// Running the loader.

thread_local! {
    /// Set while this thread runs the loader: panics are recorded, not printed.
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CAPTURING.with(Cell::get) {
                return previous(info);
            }
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| String::from("(a non-string panic payload)"));
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            LAST_PANIC.with(|last| *last.borrow_mut() = Some(format!("{message} [at {location}]")));
        }));
    });
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// The `Debug` form of the loaded spec.
    Ok(String),
    /// The `Display` form of the error.
    Err(String),
    /// The panic message and where it was raised.
    Panic(String),
}

/// Runs `f`, turning a panic into its message and place.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_panic_hook();
    CAPTURING.with(|c| c.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CAPTURING.with(|c| c.set(false));
    result.map_err(|_| {
        LAST_PANIC
            .with(|last| last.borrow_mut().take())
            .unwrap_or_else(|| String::from("(no message)"))
    })
}

fn run_parse(file: &str, text: &str) -> Outcome {
    match guarded(|| parse(file, text)) {
        Ok(Ok(spec)) => Outcome::Ok(format!("{spec:?}")),
        // Every error of a file, one line each: each is held to the format.
        Ok(Err(runner::speclang::SpecError::Several(errors))) => Outcome::Err(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        Ok(Err(error)) => Outcome::Err(error.to_string()),
        Err(panic) => Outcome::Panic(panic),
    }
}

/// The line of an error displayed as `<file>:<line>:<col>: ...`.
fn error_line(file: &str, message: &str) -> Option<usize> {
    let rest = message.strip_prefix(file)?.strip_prefix(':')?;
    rest.split(':').next()?.parse().ok()
}

/// Lines in `text`, counting every line break libyaml knows (also NEL, LS
/// and PS), so as never to undercount.
fn line_count(text: &str) -> usize {
    let breaks = text
        .replace("\r\n", "\n")
        .matches(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
        .count();
    breaks + 1
}

/// What is wrong with the display of an error, if anything. Expected:
/// `<file>:<line>:<col>: <message>` on one line, line and column >= 1.
fn format_problem(file: &str, message: &str) -> Option<&'static str> {
    if message.contains('\n') {
        return Some("contains a newline");
    }
    if message.contains('\r') {
        return Some("contains a carriage return");
    }
    let Some(rest) = message
        .strip_prefix(file)
        .and_then(|rest| rest.strip_prefix(':'))
    else {
        return Some("does not start with `<file>:`");
    };
    let mut fields = rest.splitn(3, ':');
    let line = fields.next().unwrap_or_default();
    let column = fields.next().unwrap_or_default();
    let text = fields.next().unwrap_or_default();
    let number = |s: &str| {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse::<u128>().ok()
        } else {
            None
        }
    };
    match (number(line), number(column)) {
        (None, _) | (_, None) => return Some("has no `<line>:<col>:` after the file"),
        (Some(0), _) => return Some("has line 0"),
        (_, Some(0)) => return Some("has column 0"),
        _ => {}
    }
    match text.strip_prefix(' ') {
        Some(text) if !text.trim().is_empty() => None,
        _ => Some("has no message after `<file>:<line>:<col>: `"),
    }
}

// ---------------------------------------------------------------------------
// The run.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Property {
    NoPanic,
    ErrorFormat,
    Deterministic,
}

impl Property {
    fn slug(self) -> &'static str {
        match self {
            Property::NoPanic => "panic",
            Property::ErrorFormat => "format",
            Property::Deterministic => "nondeterminism",
        }
    }
}

struct Finding {
    case: usize,
    origin: Origin,
    file: String,
    text: String,
    /// What went wrong, coarsely: findings are grouped by it, and a shrunk
    /// input must keep it.
    kind: String,
}

#[derive(Default)]
struct Tally {
    cases: usize,
    ok: usize,
    err: usize,
    panics: usize,
    format_problems: usize,
    nondeterministic: usize,
    /// Inputs parsed a second time.
    rechecked: usize,
    /// Errors placed on a line after the last one (reported, not asserted).
    past_end: usize,
    past_end_example: Option<(String, String)>,
    /// Per origin: inputs, and how many of them parsed.
    by_origin: [(usize, usize); 4],
    findings: Vec<(Property, Finding)>,
}

impl Tally {
    fn keep(&mut self, property: Property, finding: Finding) {
        // A few of each kind, so that one frequent problem hides no other.
        let same = |(p, f): &&(Property, Finding)| *p == property && f.kind == finding.kind;
        if self.findings.iter().filter(same).count() < KEPT_PER_KIND {
            self.findings.push((property, finding));
        }
    }

    fn merge(&mut self, other: Tally) {
        self.cases += other.cases;
        self.ok += other.ok;
        self.err += other.err;
        self.panics += other.panics;
        self.format_problems += other.format_problems;
        self.nondeterministic += other.nondeterministic;
        self.rechecked += other.rechecked;
        self.past_end += other.past_end;
        if self.past_end_example.is_none() {
            self.past_end_example = other.past_end_example;
        }
        for (mine, theirs) in self.by_origin.iter_mut().zip(other.by_origin) {
            mine.0 += theirs.0;
            mine.1 += theirs.1;
        }
        // Each worker kept the first few of each kind among its cases; the
        // first few overall are among those, whatever the number of workers.
        let mut findings = std::mem::take(&mut self.findings);
        findings.extend(other.findings);
        findings.sort_by_key(|(_, finding)| finding.case);
        for (property, finding) in findings {
            self.keep(property, finding);
        }
    }
}

/// The first plain words of an error message after `<file>:<line>:<col>: `,
/// leaving out what is quoted from the input: `unknown field expected`,
/// `is not a` (duration).
fn gist(file: &str, message: &str) -> String {
    let rest = message.strip_prefix(file).unwrap_or(message);
    let unquoted: Vec<&str> = rest.split('`').step_by(2).collect();
    let words: Vec<&str> = unquoted
        .iter()
        .flat_map(|part| part.split_whitespace())
        .filter(|word| word.bytes().all(|b| b.is_ascii_lowercase()))
        .take(3)
        .collect();
    words.join(" ")
}

/// The kind of failure `property` sees in `text`, if any (for shrinking).
fn failure(property: Property, file: &str, text: &str) -> Option<String> {
    let first = run_parse(file, text);
    match (property, &first) {
        (Property::NoPanic, Outcome::Panic(message)) => {
            // Where it panicked: the message may quote the input.
            let site = message.rfind(" [at ").map_or("", |i| &message[i + 1..]);
            Some(format!("panic {site}"))
        }
        (Property::ErrorFormat, Outcome::Err(message)) => message
            .split('\n')
            .find_map(|one| format_problem(file, one))
            .map(|problem| format!("{problem} ({})", gist(file, message))),
        (Property::Deterministic, Outcome::Ok(_) | Outcome::Err(_)) => {
            // Up to 8 more parses: a difference may not show every time.
            (0..8).find_map(|_| {
                let again = run_parse(file, text);
                (again != first).then(|| match &first {
                    Outcome::Err(message) => format!("differs ({})", gist(file, message)),
                    _ => String::from("differs (Ok)"),
                })
            })
        }
        _ => None,
    }
}

fn check_case(corpus: &[Seed], seed: u64, case: usize, worker: usize, tally: &mut Tally) {
    let mut rng = Rng::new(case_seed(seed, case));
    let input = generate(&mut rng, corpus);
    if let Some(Some(dir)) = TRACE.get() {
        // Left behind if the process dies (a stack overflow cannot be caught).
        let path = dir.join(format!("spec-fuzz-worker-{worker}.yaml"));
        let _ = std::fs::write(path, format!("# case {case}\n{}", input.text));
    }
    let first = run_parse(&input.file, &input.text);
    tally.cases += 1;
    tally.by_origin[input.origin as usize].0 += 1;
    let finding = |kind: String| Finding {
        case,
        origin: input.origin,
        file: input.file.clone(),
        text: input.text.clone(),
        kind,
    };
    match &first {
        Outcome::Ok(_) => {
            tally.ok += 1;
            tally.by_origin[input.origin as usize].1 += 1;
        }
        Outcome::Err(message) => {
            tally.err += 1;
            let newlines = input.text.bytes().filter(|b| *b == b'\n').count();
            let line = error_line(&input.file, message).unwrap_or(1);
            if line > newlines + 1 && line > line_count(&input.text) {
                tally.past_end += 1;
                tally
                    .past_end_example
                    .get_or_insert_with(|| (input.text.clone(), message.clone()));
            }
            if let Some(problem) = message
                .split('\n')
                .find_map(|one| format_problem(&input.file, one))
            {
                tally.format_problems += 1;
                let kind = format!("{problem} ({})", gist(&input.file, message));
                tally.keep(Property::ErrorFormat, finding(kind));
            }
        }
        Outcome::Panic(_) => {
            tally.panics += 1;
            let kind = failure(Property::NoPanic, &input.file, &input.text)
                .unwrap_or_else(|| String::from("panic (not reproduced)"));
            tally.keep(Property::NoPanic, finding(kind));
            return;
        }
    }
    // Parsing costs most of the run. Every spec that loads is parsed
    // again; errors are sampled, grammar-built ones (which mostly come from
    // the checks after deserialisation) more often. An error that suggests
    // a name is parsed again several times: choosing among candidates is
    // where an iteration order could leak into the message.
    let grammar = input.origin == Origin::Grammar;
    let repeats = match &first {
        Outcome::Ok(_) => 1,
        Outcome::Err(message) => {
            let sampled = case.is_multiple_of(if grammar { 2 } else { RECHECK_ERRORS_EVERY });
            match message.contains("did you mean") {
                true if grammar || sampled => 4,
                _ => usize::from(sampled),
            }
        }
        Outcome::Panic(_) => 0,
    };
    if repeats == 0 {
        return;
    }
    tally.rechecked += 1;
    let second = (0..repeats)
        .map(|_| run_parse(&input.file, &input.text))
        .find(|again| *again != first)
        .unwrap_or_else(|| first.clone());
    if second != first {
        tally.nondeterministic += 1;
        let kind = match &first {
            Outcome::Err(message) => format!("differs ({})", gist(&input.file, message)),
            _ => String::from("differs (Ok)"),
        };
        tally.keep(Property::Deterministic, finding(kind));
    }
}

/// `SPEC_FUZZ_TRACE`: where to save each input before parsing it.
static TRACE: OnceLock<Option<PathBuf>> = OnceLock::new();

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let value = value.trim().replace('_', "");
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={value} is not a number")))
}

struct Run {
    /// Per property, the report to fail with (empty when it holds).
    reports: Vec<(Property, String)>,
}

fn run() -> Run {
    TRACE.get_or_init(|| std::env::var_os("SPEC_FUZZ_TRACE").map(|_| std::env::temp_dir()));
    let cases = env_number("SPEC_FUZZ_CASES").map_or(DEFAULT_CASES, |n| n as usize);
    let seed = env_number("SPEC_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let corpus = load_corpus();
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 16);
    let started = Instant::now();
    let mut tally = Tally::default();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                let corpus = &corpus;
                scope.spawn(move || {
                    let mut tally = Tally::default();
                    for case in (worker..cases).step_by(threads) {
                        check_case(corpus, seed, case, worker, &mut tally);
                    }
                    tally
                })
            })
            .collect();
        for worker in workers {
            tally.merge(worker.join().expect("a fuzz worker"));
        }
    });
    let elapsed = started.elapsed();
    let names = ["mutated seeds", "grammar", "token soup", "random text"];
    let origins: Vec<String> = names
        .iter()
        .zip(tally.by_origin)
        .map(|(name, (count, ok))| format!("{name} {count} ({ok} ok)"))
        .collect();
    eprintln!(
        "spec loader fuzz: {} inputs in {elapsed:.2?} (seed {seed:#x}, {} corpus files, {threads} \
         threads): {} parsed Ok, {} Err\n\
         spec loader fuzz: {} panics, {} badly formatted errors, {} nondeterministic (of {} parsed \
         again)\n\
         spec loader fuzz: by origin: {}",
        tally.cases,
        corpus.len(),
        tally.ok,
        tally.err,
        tally.panics,
        tally.format_problems,
        tally.nondeterministic,
        tally.rechecked,
        origins.join(", "),
    );
    if let Some((text, message)) = &tally.past_end_example {
        eprintln!(
            "spec loader fuzz: note (not asserted): {} errors name a line past the end of their \
             input, e.g. {text:?} gives {message:?}",
            tally.past_end,
        );
    }
    let reports = [
        (Property::NoPanic, tally.panics),
        (Property::ErrorFormat, tally.format_problems),
        (Property::Deterministic, tally.nondeterministic),
    ]
    .into_iter()
    .map(|(property, total)| (property, report(&tally, property, total, seed)))
    .collect();
    if !tally.findings.is_empty() {
        eprintln!(
            "spec loader fuzz: shrank {} failing inputs in {:.2?}",
            tally.findings.len(),
            started.elapsed() - elapsed
        );
    }
    Run { reports }
}

fn fuzz() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(run)
}

// ---------------------------------------------------------------------------
// Shrinking and reporting.

/// Splits `text` for shrinking: lines, then words and punctuation, then
/// characters.
fn units(text: &str, level: usize) -> Vec<String> {
    match level {
        0 => split_lines(text),
        1 => {
            let mut units: Vec<String> = Vec::new();
            let mut word = String::new();
            for c in text.chars() {
                if c.is_alphanumeric() || c == '-' || c == '_' {
                    word.push(c);
                } else {
                    if !word.is_empty() {
                        units.push(std::mem::take(&mut word));
                    }
                    units.push(c.to_string());
                }
            }
            units.extend((!word.is_empty()).then_some(word));
            units
        }
        _ => text.chars().map(String::from).collect(),
    }
}

/// Removes ever smaller pieces of the input while it fails the same way.
fn shrink(property: Property, finding: &Finding) -> String {
    let mut budget: usize = match property {
        Property::Deterministic => 250,
        _ => 4_000,
    };
    let mut text = finding.text.clone();
    for level in 0..3 {
        let mut parts = units(&text, level);
        let mut chunk = parts.len().div_ceil(2).max(1);
        loop {
            let mut start = 0;
            while start < parts.len() && budget > 0 {
                let end = (start + chunk).min(parts.len());
                let candidate = parts[..start].concat() + &parts[end..].concat();
                budget -= 1;
                if failure(property, &finding.file, &candidate).as_ref() == Some(&finding.kind) {
                    parts.drain(start..end);
                } else {
                    start = end;
                }
            }
            if chunk == 1 || budget == 0 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
        text = parts.concat();
    }
    text
}

fn save(name: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(name);
    match std::fs::write(&path, text) {
        Ok(()) => path.display().to_string(),
        Err(error) => format!("(not saved to {}: {error})", path.display()),
    }
}

fn report(tally: &Tally, property: Property, total: usize, seed: u64) -> String {
    if total == 0 {
        return String::new();
    }
    let mut out = format!(
        "{total} of {} inputs fail (seed {seed:#x}); the first {KEPT_PER_KIND} of each kind, shrunk:\n",
        tally.cases
    );
    for (_, finding) in tally.findings.iter().filter(|(p, _)| *p == property) {
        let small = shrink(property, finding);
        let stem = format!("spec-fuzz-{}-{seed:x}-{}", property.slug(), finding.case);
        let original = save(&format!("{stem}.yaml"), &finding.text);
        let reproducer = save(&format!("{stem}-min.yaml"), &small);
        let first = run_parse(&finding.file, &small);
        let mut result = format!("{first:?}");
        if property == Property::Deterministic {
            if let Some(other) = (0..64)
                .map(|_| run_parse(&finding.file, &small))
                .find(|other| *other != first)
            {
                let _ = write!(result, "\n    then:    {other:?}");
            }
        }
        let _ = write!(
            out,
            "\n- {}: case {} ({:?}, file `{}`)\n    input:   {} ({} bytes)\n    shrunk:  {small:?}\n    saved:   {reproducer}\n    result:  {result}\n",
            finding.kind,
            finding.case,
            finding.origin,
            finding.file,
            original,
            finding.text.len(),
        );
    }
    out
}

fn assert_holds(property: Property, what: &str) {
    let run = fuzz();
    let (_, report) = run
        .reports
        .iter()
        .find(|(p, _)| *p == property)
        .expect("every property has a report");
    assert!(report.is_empty(), "{what}:\n{report}");
}

// ---------------------------------------------------------------------------
// The tests.

#[test]
fn parse_never_panics() {
    assert_holds(Property::NoPanic, "the spec loader panicked");
}

/// Every error reads `<file>:<line>:<col>: <message>`, line and column >= 1,
/// all on one line.
#[test]
fn errors_are_one_line_with_file_line_and_column() {
    assert_holds(
        Property::ErrorFormat,
        "ERROR FORMAT: some errors are not one `<file>:<line>:<col>: <message>` line",
    );
}

#[test]
fn parsing_twice_gives_the_same_result() {
    assert_holds(
        Property::Deterministic,
        "NONDETERMINISM: the same input parsed twice gave different results",
    );
}

#[test]
fn a_panic_is_caught_with_its_message_and_place() {
    let caught = guarded(|| -> u8 { panic!("boom {}", 42) });
    let message = caught.expect_err("the panic is caught");
    assert!(message.starts_with("boom 42 [at "), "{message}");
    assert!(message.contains("fuzz_spec_loader.rs:"), "{message}");
    assert_eq!(guarded(|| 7), Ok(7));
}

#[test]
fn inputs_are_reproducible_from_the_seed() {
    let corpus = load_corpus();
    for case in 0..200 {
        let a = generate(&mut Rng::new(case_seed(DEFAULT_SEED, case)), &corpus);
        let b = generate(&mut Rng::new(case_seed(DEFAULT_SEED, case)), &corpus);
        assert_eq!((a.origin, a.file, a.text), (b.origin, b.file, b.text));
    }
}

#[test]
fn the_error_format_check_accepts_good_and_rejects_bad_messages() {
    assert_eq!(format_problem("f.yaml", "f.yaml:1:1: bad"), None);
    assert_eq!(format_problem("f.yaml", "f.yaml:12:30: a `b`: c"), None);
    for bad in [
        "f.yaml:0:1: bad",
        "f.yaml:1:0: bad",
        "f.yaml:1:1:",
        "f.yaml:1:1: ",
        "f.yaml:1: bad",
        "f.yaml:x:1: bad",
        "g.yaml:1:1: bad",
        "f.yaml:1:1: two\nlines",
        "f.yaml:1:1: bad\r",
    ] {
        assert!(format_problem("f.yaml", bad).is_some(), "{bad:?} passes");
    }
}
