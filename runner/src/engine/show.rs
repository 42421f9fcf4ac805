//! Bytes shown to people: as text where they are text, with hex beside
//! them where they are not.

/// `"HELLO"`, with escapes for control characters and invalid UTF-8.
pub fn quoted(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out.push('"');
    out
}

/// Text from a target made safe for a terminal: control characters other
/// than newline and tab are shown escaped, so a submission cannot move the
/// cursor, rewrite a line of the report or retitle the window.
pub fn terminal_safe(text: &str) -> String {
    crate::text::escape_controls(text, |c| matches!(c, '\n' | '\t'))
}

/// Shortened form for long data: head ... tail.
pub fn quoted_short(bytes: &[u8], limit: usize) -> String {
    if bytes.len() <= limit {
        return quoted(bytes);
    }
    let head = &bytes[..limit / 2];
    let tail = &bytes[bytes.len() - limit / 2..];
    format!(
        "{} ... ({} bytes in all) ... {}",
        quoted(head),
        bytes.len(),
        quoted(tail)
    )
}

/// Bytes for one line of a message or a transcript: quoted where they
/// are text; otherwise their length and their runs, text quoted, a run of
/// one byte counted, other bytes in hex (`1024 bytes: "HELLO" + 1019 NUL
/// bytes`), since hundreds of `\u{0}` escapes hide what is wrong. About
/// `limit` characters at most.
pub fn brief(bytes: &[u8], limit: usize) -> String {
    if is_printable(bytes) {
        return quoted_short(bytes, limit);
    }
    let mut out = format!("{}:", crate::text::count(bytes.len() as u64, "byte"));
    let mut rest = bytes;
    let mut first = true;
    while !rest.is_empty() {
        let (shown, taken) = segment(rest, limit / 2);
        if !first && out.len() + shown.len() > limit {
            out.push_str(" + …");
            break;
        }
        out.push_str(if first { " " } else { " + " });
        out.push_str(&shown);
        rest = &rest[taken..];
        first = false;
    }
    out
}

/// The first run of `bytes` as `brief` shows it, and its length.
fn segment(bytes: &[u8], limit: usize) -> (String, usize) {
    let not_text = |b: u8| (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t')) || b >= 0x7f;
    let run = bytes.iter().take_while(|b| **b == bytes[0]).count();
    if not_text(bytes[0]) && run >= 4 {
        let shown = match bytes[0] {
            0 => format!("{run} NUL bytes"),
            b => format!("{run} × {b:02x}"),
        };
        return (shown, run);
    }
    let text = super::difference::first_not_text(bytes).unwrap_or(bytes.len());
    if text > 0 {
        return (quoted_short(&bytes[..text], limit), text);
    }
    // Bytes that are not text up to the next text or run, in hex.
    let mut end = 1;
    while end < bytes.len()
        && end < 16
        && super::difference::first_not_text(&bytes[end..]) == Some(0)
        && !bytes[end..].starts_with(&[bytes[end]; 4])
    {
        end += 1;
    }
    (hex(&bytes[..end], 16), end)
}

/// True when the bytes are printable UTF-8 text (newlines and tabs allowed).
pub fn is_printable(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|text| {
        text.chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
    })
}

/// `68 65 6c 6c 6f`, cut after `limit` bytes.
pub fn hex(bytes: &[u8], limit: usize) -> String {
    let mut out: Vec<String> = bytes
        .iter()
        .take(limit)
        .map(|b| format!("{b:02x}"))
        .collect();
    if bytes.len() > limit {
        out.push(format!("... ({} bytes in all)", bytes.len()));
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_text_and_escapes_the_rest() {
        assert_eq!(quoted("你好\n".as_bytes()), "\"你好\\n\"");
        assert_eq!(quoted(b"a\xffb"), "\"a\\xffb\"");
        assert!(!is_printable(b"a\xffb"));
        assert!(is_printable("你好\n".as_bytes()));
    }

    #[test]
    fn escapes_terminal_controls_but_keeps_lines() {
        assert_eq!(
            terminal_safe("a\x1b[2Kb\rc\nd\te"),
            "a\\u{1b}[2Kb\\rc\nd\te"
        );
    }

    #[test]
    fn bytes_that_are_not_text_are_shown_by_runs() {
        let mut padded = b"HELLO".to_vec();
        padded.resize(1024, 0);
        assert_eq!(
            brief(&padded, 200),
            "1024 bytes: \"HELLO\" + 1019 NUL bytes"
        );
        assert_eq!(
            brief(b"\xff\xfe\x00HEL\x1b[31mLO\xc3", 200),
            "14 bytes: ff fe 00 + \"HEL\" + 1b + \"[31mLO\" + c3"
        );
        assert_eq!(brief(b"hello", 200), "\"hello\"");
        let noise: Vec<u8> = (0..4096)
            .map(|i| if i % 2 == 0 { 0xff } else { b'a' })
            .collect();
        assert!(brief(&noise, 100).len() < 140, "{}", brief(&noise, 100));
    }

    #[test]
    fn shortens_long_data() {
        let long = vec![b'x'; 1000];
        assert!(quoted_short(&long, 20).contains("1000 bytes in all"));
        assert_eq!(hex(b"hello", 3), "68 65 6c ... (5 bytes in all)");
    }
}
