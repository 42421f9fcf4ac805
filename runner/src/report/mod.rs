//! Reporters: each turns the engine's events into one output format.

pub mod classroom;
pub mod gradescope;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod prairielearn;
#[cfg(test)]
mod snapshots;
pub mod tap;

use crate::engine::{CaseOutcome, Event, Summary};

/// Creates (or truncates) a report file, never through a symbolic link: a
/// submission folder may carry one pointing anywhere, and the runner is
/// often root. A link fails with ELOOP.
pub fn create_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
}

/// Collects the outcomes of a run, for formats written at the end.
#[derive(Default)]
pub struct Collected {
    pub outcomes: Vec<CaseOutcome>,
    pub summary: Summary,
}

impl Collected {
    pub fn event(&mut self, event: &Event) {
        match event {
            Event::CaseFinished(outcome) => self.outcomes.push((*outcome).clone()),
            Event::RunFinished(summary) => self.summary = (*summary).clone(),
            _ => {}
        }
    }
}

/// A run's or a case's time as the reports show it: `850 ms`, `2.31 s`.
pub fn duration(duration: std::time::Duration) -> String {
    if duration < std::time::Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{:.2} s", duration.as_secs_f64())
    }
}

/// A transcript entry as the text reports show it: its time (`   0.012s`)
/// and the rest of the line, channel, arrow and data (a note as text, as
/// it is: each format escapes for its medium; data quoted and cut to
/// `limit` bytes).
pub fn transcript_line(entry: &crate::engine::Entry, limit: usize) -> (String, String) {
    use crate::engine::show::brief;
    use crate::engine::Direction;
    let (arrow, body) = match entry.direction {
        Direction::Sent => ("->", brief(&entry.bytes, limit)),
        Direction::Received => ("<-", brief(&entry.bytes, limit)),
        Direction::Note => ("--", String::from_utf8_lossy(&entry.bytes).into_owned()),
    };
    (
        format!("{:>8.3}s", entry.at.as_secs_f64()),
        format!("{:<8} {arrow} {body}", entry.channel),
    )
}

/// Received bytes that are not text, as every format shows them: both
/// lengths and what is wrong, then a hex dump with the first difference
/// marked (at most `max_lines` lines of bytes). None for text, which
/// formats quote as it is.
pub fn received_dump(
    failure: &crate::engine::Failure,
    max_lines: usize,
) -> Option<(String, String)> {
    let difference = failure.difference.as_ref()?;
    let actual = failure.actual.as_deref()?;
    let dump =
        crate::engine::hexdump::dump(actual, difference.mark, &difference.mark_label, max_lines);
    Some((difference.headline.clone(), dump))
}

/// Lines of a target's output stream worth showing, or None if empty.
pub fn tail(snapshot: &crate::program::OutputSnapshot, lines: usize) -> Option<String> {
    let text = snapshot.last_lines(lines);
    (!text.trim().is_empty()).then_some(text)
}

#[cfg(test)]
pub(crate) mod sample {
    //! A small run with one pass and one failure, for the format tests.
    use super::Collected;
    use crate::engine::{CaseOutcome, Failure, Summary, Verdict};
    use std::time::Duration;

    pub fn collected() -> Collected {
        let passed = CaseOutcome {
            spec: "tcp-upper-server".into(),
            spec_file: "bundled:tcp-upper-server.yaml".into(),
            case: "greeting".into(),
            about: "replies to \"hello\" with \"HELLO\"".into(),
            hint: None,
            tags: Vec::new(),
            visibility: Default::default(),
            level: Default::default(),
            verdict: Verdict::Pass,
            points: 2,
            max_points: 2,
            duration: Duration::from_millis(3),
            message: String::new(),
            failure: None,
            setback: None,
            setback_told_by: None,
            transcript: Vec::new(),
            stdout: Default::default(),
            stderr: Default::default(),
        };
        let failed = CaseOutcome {
            case: "utf8-text".into(),
            verdict: Verdict::Fail,
            points: 0,
            max_points: 1,
            message: "expected \"你好\", but the server sent \"\\xff\" <&>\u{1b}".into(),
            hint: Some("decode as UTF-8".into()),
            failure: Some(Failure {
                step: 3,
                line: 35,
                action: "recv on a (text)".into(),
                expected: "\"你好\"".into(),
                actual: Some(vec![0xff, 0x00]),
                difference: Some(crate::engine::difference::compare(
                    Some("你好".as_bytes()),
                    &[0xff, 0x00],
                    "reply",
                )),
            }),
            ..passed.clone()
        };
        let mut summary = Summary::default();
        summary.add(&passed);
        summary.add(&failed);
        Collected {
            outcomes: vec![passed, failed],
            summary,
        }
    }
}
