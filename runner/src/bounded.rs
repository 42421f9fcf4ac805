//! Text from a student kept within a byte cap. Whatever a program prints,
//! sends or makes its compiler say ends up in the runner's memory and in
//! every report format: each such text is kept whole only up to a cap in
//! bytes (never in lines: one line can be 128 MiB), its first part and,
//! where the end tells something, its last part, with a count of what
//! was dropped in between. Cuts fall on UTF-8 character boundaries.

use std::collections::VecDeque;

/// `… 134,217,000 more bytes not kept`: what every cut says.
pub fn not_kept(dropped: u64) -> String {
    format!("… {} more bytes not kept", thousands(dropped))
}

/// `134217000` as `134,217,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The largest index at most `at` that does not split a UTF-8 character
/// of `bytes` (bytes that are not UTF-8 are cut anywhere).
pub fn floor_boundary(bytes: &[u8], at: usize) -> usize {
    let at = at.min(bytes.len());
    let mut index = at;
    // A character is at most 4 bytes: look back over 3 continuation bytes.
    while index > 0 && at - index < 3 && index < bytes.len() && is_continuation(bytes[index]) {
        index -= 1;
    }
    if index < bytes.len() && is_continuation(bytes[index]) {
        at
    } else {
        index
    }
}

/// The smallest index at least `at` that does not split a UTF-8
/// character of `bytes`.
pub fn ceil_boundary(bytes: &[u8], at: usize) -> usize {
    let at = at.min(bytes.len());
    let mut index = at;
    while index < bytes.len() && index - at < 3 && is_continuation(bytes[index]) {
        index += 1;
    }
    if index < bytes.len() && is_continuation(bytes[index]) {
        at
    } else {
        index
    }
}

fn is_continuation(byte: u8) -> bool {
    byte & 0xc0 == 0x80
}

/// `bytes` cut to its first `head` and last `tail` bytes, on character
/// boundaries, with how many bytes between them were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut<'a> {
    pub head: &'a [u8],
    pub dropped: u64,
    pub tail: &'a [u8],
}

pub fn cut(bytes: &[u8], head: usize, tail: usize) -> Cut<'_> {
    if bytes.len() <= head.saturating_add(tail) {
        return Cut {
            head: bytes,
            dropped: 0,
            tail: &[],
        };
    }
    let head_end = floor_boundary(bytes, head);
    let tail_start = ceil_boundary(bytes, bytes.len() - tail).max(head_end);
    Cut {
        head: &bytes[..head_end],
        dropped: (tail_start - head_end) as u64,
        tail: &bytes[tail_start..],
    }
}

/// `text` kept to its first `head` and last `tail` bytes, the cut said in
/// a line of its own: `… N more bytes not kept`.
pub fn cut_text(text: &str, head: usize, tail: usize) -> String {
    let cut = cut(text.as_bytes(), head, tail);
    if cut.dropped == 0 {
        return text.to_string();
    }
    join(cut.head, cut.dropped, cut.tail)
}

/// Head, the note of what was dropped, and tail, as text.
pub fn join(head: &[u8], dropped: u64, tail: &[u8]) -> String {
    let mut out = String::from_utf8_lossy(head).into_owned();
    if dropped > 0 {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&not_kept(dropped));
        if !tail.is_empty() {
            out.push('\n');
        }
    }
    out.push_str(&String::from_utf8_lossy(tail));
    out
}

/// A stream's bytes as they arrive, kept within a cap while they are
/// read: the first `head` bytes, the last `tail` bytes, and a count of
/// the middle. Memory never exceeds the two caps, whatever is pushed.
#[derive(Debug, Clone, Default)]
pub struct Capped {
    head_cap: usize,
    tail_cap: usize,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    /// Bytes pushed past the head and no longer in the tail.
    dropped: u64,
}

impl Capped {
    pub fn new(head: usize, tail: usize) -> Capped {
        Capped {
            head_cap: head,
            tail_cap: tail,
            ..Capped::default()
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        let room = self.head_cap.saturating_sub(self.head.len());
        let (head, rest) = bytes.split_at(room.min(bytes.len()));
        self.head.extend_from_slice(head);
        if rest.is_empty() {
            return;
        }
        // Of a push longer than the tail only its end can stay.
        let keep = rest.len().min(self.tail_cap);
        self.dropped += (rest.len() - keep) as u64;
        let excess = (self.tail.len() + keep).saturating_sub(self.tail_cap);
        self.tail.drain(..excess);
        self.dropped += excess as u64;
        self.tail.extend(&rest[rest.len() - keep..]);
    }

    /// Lowers the head's cap: bytes already held past it count as
    /// dropped (the tail keeps their end).
    pub fn limit_head(&mut self, head: usize) {
        if head >= self.head_cap {
            return;
        }
        self.head_cap = head;
        if self.head.len() > head {
            let rest = self.head.split_off(head);
            let tail: Vec<u8> = self.tail.drain(..).collect();
            self.push(&rest);
            self.push(&tail);
        }
    }

    pub fn head(&self) -> &[u8] {
        &self.head
    }

    pub fn tail(&self) -> Vec<u8> {
        self.tail.iter().copied().collect()
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Bytes pushed in all.
    pub fn total(&self) -> u64 {
        (self.head.len() + self.tail.len()) as u64 + self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_with_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(134_217_000), "134,217,000");
        assert_eq!(not_kept(1234), "… 1,234 more bytes not kept");
    }

    #[test]
    fn cuts_fall_between_characters() {
        // 你 is three bytes: a cut at 1 or 2 moves back to 0 or on to 3.
        let text = "你好你好".as_bytes();
        assert_eq!(floor_boundary(text, 1), 0);
        assert_eq!(floor_boundary(text, 2), 0);
        assert_eq!(floor_boundary(text, 3), 3);
        assert_eq!(ceil_boundary(text, 4), 6);
        assert_eq!(floor_boundary(text, 100), text.len());
        // Bytes that are not UTF-8 are cut where asked.
        let binary = [0x80u8; 10];
        assert_eq!(floor_boundary(&binary, 5), 5);
        assert_eq!(ceil_boundary(&binary, 5), 5);
    }

    #[test]
    fn keeps_head_and_tail_of_one_long_line() {
        let line = "a".repeat(1000) + &"好".repeat(1000) + &"z".repeat(1000);
        let cut = cut(line.as_bytes(), 1001, 1001);
        assert!(std::str::from_utf8(cut.head).is_ok());
        assert!(std::str::from_utf8(cut.tail).is_ok());
        assert_eq!(
            cut.head.len() as u64 + cut.dropped + cut.tail.len() as u64,
            line.len() as u64
        );
        let text = cut_text(&line, 100, 10);
        assert!(text.starts_with(&"a".repeat(100)), "{text}");
        assert!(text.ends_with(&"z".repeat(10)), "{text}");
        assert!(text.contains("… 4,890 more bytes not kept"), "{text}");
        assert_eq!(cut_text("short", 100, 10), "short");
    }

    #[test]
    fn a_capped_buffer_never_holds_more_than_its_caps() {
        let mut capped = Capped::new(10, 5);
        for _ in 0..1000 {
            capped.push(b"0123456789abcdef");
        }
        assert_eq!(capped.head(), b"0123456789");
        assert_eq!(capped.tail(), b"bcdef");
        assert_eq!(capped.total(), 16_000);
        assert_eq!(capped.dropped(), 16_000 - 15);
        capped.limit_head(4);
        assert_eq!(capped.head(), b"0123");
        assert_eq!(capped.tail(), b"bcdef");
        assert_eq!(capped.total(), 16_000);
    }
}
