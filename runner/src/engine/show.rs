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
    fn shortens_long_data() {
        let long = vec![b'x'; 1000];
        assert!(quoted_short(&long, 20).contains("1000 bytes in all"));
        assert_eq!(hex(b"hello", 3), "68 65 6c ... (5 bytes in all)");
    }
}
