//! Bytes as a hex dump with offsets, the layout of `hexdump -C`: sixteen
//! bytes a line, their text beside them, and a run of identical lines
//! folded into one `*` line, so 1019 NUL bytes of padding take two lines
//! instead of sixty-four. One byte can be marked (the first difference)
//! by a line of carets under it.

/// Bytes a line.
const WIDTH: usize = 16;

/// Where the hex of byte `column` of a line starts: after the 8-digit
/// offset and two spaces, three characters a byte, one more space in the
/// middle.
fn hex_column(column: usize) -> usize {
    10 + column * 3 + usize::from(column >= WIDTH / 2)
}

/// The dump of `bytes`, at most `max_lines` lines of bytes, with `mark`
/// (an offset, possibly just past the end: something is missing there)
/// pointed at and named by `label`.
pub fn dump(bytes: &[u8], mark: Option<usize>, label: &str, max_lines: usize) -> String {
    let mut out = Vec::new();
    let mut shown = 0;
    let mut folded = 0;
    let mut previous: Option<&[u8]> = None;
    let marker = |offset: usize| {
        let column = offset % WIDTH;
        format!(
            "{}^^ {label} (offset {offset})",
            " ".repeat(hex_column(column))
        )
    };
    for (index, line) in bytes.chunks(WIDTH).enumerate() {
        let start = index * WIDTH;
        let marked = mark.filter(|m| (start..start + WIDTH).contains(m));
        if marked.is_none() && previous == Some(line) {
            folded += 1;
            continue;
        }
        if folded > 0 {
            out.push(fold(folded));
            folded = 0;
        }
        if shown == max_lines {
            out.push(format!(
                "… {} more not shown",
                crate::text::count((bytes.len() - start) as u64, "byte")
            ));
            return out.join("\n");
        }
        out.push(row(start, line));
        if let Some(offset) = marked {
            out.push(marker(offset));
        }
        shown += 1;
        previous = Some(line);
    }
    if folded > 0 {
        out.push(fold(folded));
    }
    if let Some(offset) = mark.filter(|m| *m >= bytes.len().next_multiple_of(WIDTH)) {
        // Past the last full line (a caret would point at its first
        // byte): said in words.
        out.push(format!(
            "          the data ends here: {label} (offset {offset})"
        ));
    }
    out.push(format!("{:08x}", bytes.len()));
    out.join("\n")
}

/// One line: offset, hex in two groups of eight, text between bars.
fn row(start: usize, line: &[u8]) -> String {
    let mut text = format!("{start:08x}  ");
    for (column, byte) in line.iter().enumerate() {
        if column == WIDTH / 2 {
            text.push(' ');
        }
        text.push_str(&format!("{byte:02x} "));
    }
    let width = hex_column(WIDTH) + 1;
    while text.len() < width {
        text.push(' ');
    }
    text.push('|');
    text.extend(line.iter().map(|b| {
        if b.is_ascii_graphic() || *b == b' ' {
            *b as char
        } else {
            '.'
        }
    }));
    text.push('|');
    text
}

fn fold(lines: usize) -> String {
    let word = if lines == 1 { "line" } else { "lines" };
    format!("*         ({lines} more {word} the same as the one above)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_folds_and_the_first_difference_is_marked() {
        let mut padded = b"HELLO".to_vec();
        padded.resize(1024, 0);
        let text = dump(&padded, Some(5), "first difference", 64);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "00000000  48 45 4c 4c 4f 00 00 00  00 00 00 00 00 00 00 00  |HELLO...........|"
        );
        // The carets stand under the byte at offset 5.
        assert_eq!(lines[1].find("^^"), lines[0].find("00 00 00  00"));
        assert!(lines[1].ends_with("first difference (offset 5)"));
        assert!(lines[2].starts_with("00000010  00 00"));
        assert!(lines[3].starts_with("*") && lines[3].contains("62 more lines"));
        assert_eq!(lines[4], "00000400");
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn a_short_last_line_keeps_its_text_column_and_a_cut_says_so() {
        let text = dump(b"ab\xff", Some(2), "first byte that is not text", 64);
        let first = text.lines().next().unwrap_or_default();
        assert!(first.starts_with("00000000  61 62 ff   "), "{first}");
        assert_eq!(first.find("|ab.|"), Some(hex_column(WIDTH) + 1));
        let many: Vec<u8> = (0..=255).collect();
        let cut = dump(&many, None, "", 2);
        assert!(cut.ends_with("… 224 bytes more not shown"), "{cut}");
    }

    #[test]
    fn a_mark_past_the_end_points_after_the_last_byte() {
        let text = dump(b"HEL", Some(3), "first difference", 64);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].find("^^"), Some(hex_column(3)));
        assert_eq!(lines[2], "00000003");
    }
}
