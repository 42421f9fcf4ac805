//! Text quoted from elsewhere (a spec, a target's output) shown safely:
//! control characters escaped so they cannot break a message across lines
//! or drive the terminal.

/// `text` with control characters and the Unicode line and paragraph
/// separators escaped (`\n`, `\r`, others as `\u{1b}`), except the
/// characters `keep` lets through.
pub fn escape_controls(text: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if keep(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || is_invisible_format(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Line and paragraph separators and the bidirectional controls: not
/// control characters, but they break a line or reorder what the reader
/// sees, so reports escape them too.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// A text cell of a CSV file made inert for spreadsheets, as OWASP's
/// advice on CSV injection has it: a cell that starts with `=`, `+`, `-`,
/// `@`, a tab or a carriage return is a formula to Excel, LibreOffice and
/// Google Sheets (`=HYPERLINK(...)`, `+cmd|' /C calc'!A0`), so it gets a
/// leading `'`, which they show as text. Only for text: numbers the
/// runner writes (a negative one included) stay numbers.
pub fn spreadsheet_text(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// `n` things in words: `1 case`, `2 cases` (`noun` is the singular;
/// the plural adds an `s`).
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `part` of `whole` in whole percent, rounded to the nearest (half up),
/// not cut: 2 of 3 is 67%, and only all of them is 100%; 0 of nothing
/// is 0%.
pub fn percent(part: usize, whole: usize) -> usize {
    if whole == 0 {
        return 0;
    }
    let rounded = (part * 200 + whole) / (whole * 2);
    // 199 of 200 is 99.5%: rounding must not claim everyone passed.
    if rounded == 100 && part < whole {
        99
    } else {
        rounded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_to_the_nearest() {
        assert_eq!(percent(2, 3), 67);
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(1, 8), 13);
        assert_eq!(percent(199, 200), 99);
        assert_eq!(percent(3, 3), 100);
        assert_eq!(percent(0, 0), 0);
    }

    #[test]
    fn counts_in_words() {
        assert_eq!(count(1u32, "case"), "1 case");
        assert_eq!(count(0u32, "point"), "0 points");
    }

    #[test]
    fn formula_cells_are_made_text() {
        assert_eq!(
            spreadsheet_text("=HYPERLINK(\"http://x\",\"click\")"),
            "'=HYPERLINK(\"http://x\",\"click\")"
        );
        assert_eq!(
            spreadsheet_text("+cmd|' /C calc'!A0"),
            "'+cmd|' /C calc'!A0"
        );
        for cell in ["-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_text(cell), format!("'{cell}"));
        }
        assert_eq!(spreadsheet_text("alice"), "alice");
        assert_eq!(spreadsheet_text(""), "");
    }

    #[test]
    fn escapes_what_is_not_kept() {
        assert_eq!(
            escape_controls("a\nb\r\u{1b}[2K", |_| false),
            "a\\nb\\r\\u{1b}[2K"
        );
        assert_eq!(
            escape_controls("a\nb\tc\u{2028}", |c| c == '\n' || c == '\t'),
            "a\nb\tc\\u{2028}"
        );
        assert_eq!(escape_controls("ab\u{202e}c", |_| false), "ab\\u{202e}c");
    }
}
