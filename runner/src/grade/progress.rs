//! Progress of a class grading on stderr: a bar with counts and time left
//! on a terminal, one plain line per student otherwise (CI logs).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

pub enum Progress {
    Bar(ProgressBar),
    Lines { total: usize, done: usize },
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress::Lines { total, done: 0 };
        }
        let bar = ProgressBar::new(total as u64);
        let style = ProgressStyle::with_template(
            "{bar:30} {pos}/{len} students, {elapsed} elapsed, ~{eta} left  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Progress::Bar(bar)
    }

    /// One student is done; `line` says how it went. It names the student
    /// by folder name, which may hold anything, terminal escapes included:
    /// they are shown escaped.
    pub fn done(&mut self, line: &str) {
        let line = crate::text::escape_controls(line, |_| false);
        match self {
            Progress::Bar(bar) => {
                bar.set_message(line);
                bar.inc(1);
            }
            Progress::Lines { total, done } => {
                *done += 1;
                eprintln!("[{done}/{total}] {line}");
            }
        }
    }

    pub fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
