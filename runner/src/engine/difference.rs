//! Bytes that are not text, set against what was expected. Shown as
//! escapes, a padded 1024-byte datagram is hundreds of `\u{0}` with the
//! diagnosis buried; a student needs both lengths, what is wrong in words,
//! and where the bytes first part (see `hexdump` for the layout).

/// What a report says about received bytes that are not text, before
/// their hex dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Both lengths, then what is wrong: `expected 5 bytes, received
    /// 1024: the datagram is padded with 1019 NUL bytes`.
    pub headline: String,
    /// The offset the dump marks: the first byte that differs from the
    /// expectation or, with no exact expectation, the first that is not
    /// text.
    pub mark: Option<usize>,
    /// What the mark points at, for the dump's marker line.
    pub mark_label: String,
}

/// Compares `actual` with `expected` (the exact bytes that must come
/// first, when the expectation has them). `noun` names the data in the
/// diagnosis: `datagram`, `reply`, `output`.
pub fn compare(expected: Option<&[u8]>, actual: &[u8], noun: &str) -> Difference {
    let Some(expected) = expected else {
        let mark = first_not_text(actual);
        let headline = match mark {
            Some(at) => format!(
                "received {}: the {noun} is not text from offset {at} ({at:#x}) on",
                bytes(actual.len())
            ),
            None => format!("received {}", bytes(actual.len())),
        };
        return Difference {
            headline,
            mark,
            mark_label: String::from("first byte that is not text"),
        };
    };
    let common = expected
        .iter()
        .zip(actual)
        .take_while(|(a, b)| a == b)
        .count();
    let lengths = format!(
        "expected {}, received {}",
        bytes(expected.len()),
        actual.len()
    );
    let diagnosis = if common == expected.len() && actual.len() > expected.len() {
        extra(&actual[common..], noun)
    } else if common == actual.len() && actual.len() < expected.len() {
        format!(
            "the {noun} stops after {}: the last {} expected are missing",
            bytes(actual.len()),
            bytes(expected.len() - actual.len())
        )
    } else {
        format!(
            "they first differ at offset {common} ({common:#x}): expected {}, received {}",
            byte_name(expected.get(common).copied()),
            byte_name(actual.get(common).copied())
        )
    };
    Difference {
        headline: format!("{lengths}: {diagnosis}"),
        mark: Some(common),
        mark_label: String::from("first difference"),
    }
}

/// What follows the expected bytes, in words: NUL padding (a C buffer
/// sent whole) is the common case, often after the line end of `fgets`.
fn extra(rest: &[u8], noun: &str) -> String {
    let line_end = if rest.starts_with(b"\r\n") {
        2
    } else {
        usize::from(rest.starts_with(b"\n"))
    };
    let padding = &rest[line_end..];
    let after_line_end = if line_end > 0 {
        " after a line end"
    } else {
        ""
    };
    if !padding.is_empty() && padding.iter().all(|b| *b == 0) {
        format!(
            "the {noun} is padded with {} NUL bytes{after_line_end}",
            padding.len()
        )
    } else if let Some(nul) = padding.iter().position(|b| *b == 0) {
        format!(
            "{} more follow the expected ones{after_line_end}, a NUL byte at offset {} of them: the {noun} carries the rest of a buffer",
            bytes(rest.len()),
            line_end + nul
        )
    } else {
        format!("{} more follow the expected ones", bytes(rest.len()))
    }
}

/// Offset of the first byte that makes `data` not printable text: a
/// control character (other than line ends and tabs) or invalid UTF-8.
pub fn first_not_text(data: &[u8]) -> Option<usize> {
    let mut offset = 0;
    for chunk in data.utf8_chunks() {
        for (at, c) in chunk.valid().char_indices() {
            if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
                return Some(offset + at);
            }
        }
        if !chunk.invalid().is_empty() {
            return Some(offset + chunk.valid().len());
        }
        offset += chunk.valid().len();
    }
    None
}

/// `1 byte`, `1024 bytes`.
fn bytes(n: usize) -> String {
    crate::text::count(n as u64, "byte")
}

/// A byte for a sentence: `0x00 (NUL)`, `0x41 ('A')`, `nothing`.
fn byte_name(byte: Option<u8>) -> String {
    match byte {
        None => String::from("nothing"),
        Some(0) => String::from("0x00 (NUL)"),
        Some(b'\n') => String::from("0x0a (line end)"),
        Some(b) if b.is_ascii_graphic() || b == b' ' => format!("{b:#04x} ('{}')", b as char),
        Some(b) => format!("{b:#04x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_with_nul_is_named_with_both_lengths() {
        let mut padded = b"HELLO".to_vec();
        padded.resize(1024, 0);
        let difference = compare(Some(b"HELLO"), &padded, "datagram");
        assert_eq!(
            difference.headline,
            "expected 5 bytes, received 1024: the datagram is padded with 1019 NUL bytes"
        );
        assert_eq!(difference.mark, Some(5));
    }

    #[test]
    fn padding_after_a_line_end_and_a_buffer_tail() {
        let mut line = b"hello\n".to_vec();
        line.resize(12, 0);
        assert!(compare(Some(b"hello"), &line, "datagram")
            .headline
            .ends_with("padded with 6 NUL bytes after a line end"));
        let garbage = b"hello\n\0\x7f\x01";
        assert!(compare(Some(b"hello"), garbage, "datagram")
            .headline
            .contains(
                "4 bytes more follow the expected ones after a line end, a NUL byte at offset 1"
            ));
    }

    #[test]
    fn a_changed_byte_and_a_short_reply() {
        let changed = compare(Some(b"HELLO"), b"HE\xffLO", "reply");
        assert_eq!(
            changed.headline,
            "expected 5 bytes, received 5: they first differ at offset 2 (0x2): expected 0x4c ('L'), received 0xff"
        );
        assert_eq!(changed.mark, Some(2));
        let short = compare(Some(b"HELLO\0"), b"HEL", "reply");
        assert!(short.headline.contains("the reply stops after 3 bytes"));
    }

    #[test]
    fn without_an_exact_expectation_the_first_byte_that_is_not_text_is_marked() {
        let difference = compare(None, "你好\u{0}x".as_bytes(), "output");
        assert_eq!(difference.mark, Some(6));
        assert!(difference.headline.starts_with("received 8 bytes"));
        assert_eq!(first_not_text(b"ab\xffc"), Some(2));
        assert_eq!(first_not_text(b"ab\n"), None);
    }
}
