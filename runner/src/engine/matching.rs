//! Judging received bytes against a matcher, on a stream (bytes keep
//! arriving) or on a datagram (the whole message is there).

use super::show::quoted_short;
use crate::speclang::{Matcher, Part, Payload};
use regex::bytes::Regex;
use std::collections::HashMap;

/// A matcher with its captures filled in.
pub enum Expectation<'a> {
    Exact(Vec<u8>),
    Line(Vec<u8>),
    Prefix(Vec<u8>),
    Contains(Vec<u8>),
    Regex(&'a Regex),
    Any { text_only: bool },
}

#[derive(Debug, PartialEq, Eq)]
pub enum StreamMatch {
    /// Satisfied by the first `n` bytes.
    Matched(usize),
    /// Can no longer be satisfied, whatever arrives next.
    Mismatch,
    /// Not yet: more bytes may satisfy it.
    NeedMore,
}

/// The bytes of `payload`, with captures substituted.
pub fn render(payload: &Payload, captures: &HashMap<String, Vec<u8>>) -> Vec<u8> {
    let mut once = Vec::new();
    for part in &payload.parts {
        match part {
            Part::Literal(bytes) => once.extend_from_slice(bytes),
            Part::Capture { name, transform } => {
                // The loader checked that the capture is defined earlier;
                // a step that failed to capture ends the case first.
                let captured = captures.get(name).map(Vec::as_slice).unwrap_or_default();
                once.extend(transform.apply(captured));
            }
        }
    }
    once.repeat(payload.repeat)
}

/// `want` exactly, at the start of what has arrived on a stream.
fn exact_on_stream(want: &[u8], data: &[u8]) -> StreamMatch {
    let n = want.len().min(data.len());
    if data[..n] != want[..n] {
        StreamMatch::Mismatch
    } else if data.len() < want.len() {
        StreamMatch::NeedMore
    } else {
        StreamMatch::Matched(want.len())
    }
}

impl<'a> Expectation<'a> {
    pub fn new(matcher: &'a Matcher, captures: &HashMap<String, Vec<u8>>) -> Expectation<'a> {
        match matcher {
            Matcher::Exact(p) => Expectation::Exact(render(p, captures)),
            Matcher::Line(p) => Expectation::Line(render(p, captures)),
            Matcher::Prefix(p) => Expectation::Prefix(render(p, captures)),
            Matcher::Contains(p) => Expectation::Contains(render(p, captures)),
            Matcher::Regex(r) => Expectation::Regex(r),
            Matcher::Any { text_only } => Expectation::Any {
                text_only: *text_only,
            },
        }
    }

    /// On a stream, judged on what has arrived so far.
    pub fn on_stream(&self, data: &[u8]) -> StreamMatch {
        match self {
            Expectation::Exact(want) => exact_on_stream(want, data),
            Expectation::Prefix(want) => match exact_on_stream(want, data) {
                StreamMatch::Matched(_) => StreamMatch::Matched(data.len()),
                other => other,
            },
            Expectation::Line(want) => {
                let skip = line_end(data);
                match exact_on_stream(want, &data[skip..]) {
                    StreamMatch::Matched(n) => {
                        let after = &data[skip + n..];
                        let end = if after == b"\r" { 1 } else { line_end(after) };
                        StreamMatch::Matched(skip + n + end)
                    }
                    // A lone `\r` may be the start of `\r\n`.
                    StreamMatch::NeedMore | StreamMatch::Mismatch if data == b"\r" => {
                        StreamMatch::NeedMore
                    }
                    other => other,
                }
            }
            Expectation::Contains(want) => find(data, want).map_or(StreamMatch::NeedMore, |at| {
                StreamMatch::Matched(at + want.len())
            }),
            Expectation::Regex(regex) => regex
                .find(data)
                .map_or(StreamMatch::NeedMore, |m| StreamMatch::Matched(m.end())),
            // The step waits for the connection to settle before it
            // takes what arrived (see `recv`).
            Expectation::Any { .. } if data.is_empty() => StreamMatch::NeedMore,
            Expectation::Any { text_only: true } if !is_text(data) => StreamMatch::Mismatch,
            Expectation::Any { .. } => StreamMatch::Matched(data.len()),
        }
    }

    /// On a whole datagram.
    pub fn on_datagram(&self, data: &[u8]) -> bool {
        match self {
            Expectation::Exact(want) => data == want.as_slice(),
            Expectation::Line(want) => data
                .strip_prefix(want.as_slice())
                .is_some_and(|rest| rest.is_empty() || line_end(rest) == rest.len()),
            Expectation::Prefix(want) => data.starts_with(want),
            Expectation::Contains(want) => find(data, want).is_some(),
            Expectation::Regex(regex) => regex.is_match(data),
            Expectation::Any { text_only } => !text_only || is_text(data),
        }
    }

    /// What would pass, for the report.
    pub fn describe(&self) -> String {
        match self {
            Expectation::Exact(want) => quoted_short(want, 120),
            Expectation::Line(want) => format!(
                "the line {} (a line end after it allowed)",
                quoted_short(want, 120)
            ),
            Expectation::Prefix(want) => format!("text starting with {}", quoted_short(want, 120)),
            Expectation::Contains(want) => format!("text containing {}", quoted_short(want, 120)),
            Expectation::Regex(regex) => format!("text matching /{}/", regex.as_str()),
            Expectation::Any { text_only: false } => String::from("a reply (any content)"),
            Expectation::Any { text_only: true } => String::from("text (any words)"),
        }
    }

    /// The bytes that must come first, where the expectation has them
    /// (exact, a line, a prefix): what a difference is measured against.
    pub fn literal(&self) -> Option<&[u8]> {
        match self {
            Expectation::Exact(want) | Expectation::Line(want) | Expectation::Prefix(want) => {
                Some(want)
            }
            Expectation::Contains(_) | Expectation::Regex(_) | Expectation::Any { .. } => None,
        }
    }

    /// What a step keeps under its `capture` name, of the bytes it
    /// consumed: a line without its line ends.
    pub fn captured(&self, consumed: &[u8]) -> Vec<u8> {
        match self {
            Expectation::Line(want) => want.clone(),
            _ => consumed.to_vec(),
        }
    }
}

/// Text as a person writes it: UTF-8 with no control byte but tab, line
/// ends and the like (a NUL, a C string's terminator or a buffer's
/// padding, is not text).
fn is_text(data: &[u8]) -> bool {
    std::str::from_utf8(data).is_ok_and(|text| {
        text.chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
    })
}

/// Length of the line end (`\r\n` or `\n`) `data` starts with, or 0.
fn line_end(data: &[u8]) -> usize {
    if data.starts_with(b"\r\n") {
        2
    } else if data.starts_with(b"\n") {
        1
    } else {
        0
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_waits_then_matches_or_mismatches() {
        let want = Expectation::Exact(b"HELLO".to_vec());
        assert_eq!(want.on_stream(b"HEL"), StreamMatch::NeedMore);
        assert_eq!(want.on_stream(b"HELLO world"), StreamMatch::Matched(5));
        assert_eq!(want.on_stream(b"hel"), StreamMatch::Mismatch);
    }

    #[test]
    fn prefix_takes_everything_that_arrived() {
        let want = Expectation::Prefix(b"HE".to_vec());
        assert_eq!(want.on_stream(b"HELLO"), StreamMatch::Matched(5));
    }

    #[test]
    fn contains_and_regex_consume_through_the_match() {
        let contains = Expectation::Contains(b"hi".to_vec());
        assert_eq!(contains.on_stream(b"reply: hi\n"), StreamMatch::Matched(9));
        let regex = Regex::new("rec[a-z]+").expect("valid");
        assert_eq!(
            Expectation::Regex(&regex).on_stream(b"> received"),
            StreamMatch::Matched(10)
        );
        assert_eq!(
            Expectation::Regex(&regex).on_stream(b"> nothing"),
            StreamMatch::NeedMore
        );
    }

    #[test]
    fn a_line_may_end_with_a_line_end_and_follow_one() {
        let want = Expectation::Line(b"hello".to_vec());
        assert_eq!(want.on_stream(b"hel"), StreamMatch::NeedMore);
        assert_eq!(want.on_stream(b"hello"), StreamMatch::Matched(5));
        assert_eq!(want.on_stream(b"hello\n"), StreamMatch::Matched(6));
        assert_eq!(want.on_stream(b"hello\r\nnext"), StreamMatch::Matched(7));
        assert_eq!(want.on_stream(b"\nhello\n"), StreamMatch::Matched(7));
        assert_eq!(want.on_stream(b"\r"), StreamMatch::NeedMore);
        assert_eq!(want.on_stream(b"help"), StreamMatch::Mismatch);
        assert!(want.on_datagram(b"hello"));
        assert!(want.on_datagram(b"hello\n"));
        assert!(want.on_datagram(b"hello\r\n"));
        assert!(!want.on_datagram(b"hello\n\n"));
        assert!(!want.on_datagram(b"hello world"));
        assert_eq!(want.captured(b"hello\r\n"), b"hello");
    }

    #[test]
    fn datagrams_match_whole() {
        let want = Expectation::Exact(b"HELLO".to_vec());
        assert!(want.on_datagram(b"HELLO"));
        assert!(!want.on_datagram(b"HELLOHELLO"));
    }
}
