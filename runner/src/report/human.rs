//! The report for people at a terminal: a line per case, and for each
//! failure the requirement, the step, expected and actual bytes, the
//! transcript and the tail of the target's output.

use super::{duration, tail, transcript_line};
use crate::engine::show::{quoted_short, terminal_safe};
use crate::engine::{CaseOutcome, Event, Summary, Verdict};
use std::io::Write;

pub struct Human<W: Write> {
    out: W,
    color: bool,
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

impl<W: Write> Human<W> {
    pub fn new(out: W, color: bool) -> Human<W> {
        Human { out, color }
    }

    fn paint(&self, style: &str, text: &str) -> String {
        if self.color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    /// Writes what `event` says. A closed output (a pipe to `head`) is not
    /// the run's problem, so write errors are ignored.
    pub fn event(&mut self, event: &Event) {
        let _ = self.write_event(event);
    }

    fn write_event(&mut self, event: &Event) -> std::io::Result<()> {
        match event {
            Event::RunStarted { cases: 0, .. } => {
                writeln!(self.out, "no cases selected: check --case and --tag")?
            }
            Event::RunStarted { .. } => {}
            Event::SpecStarted {
                spec,
                title,
                target,
                cases,
            } => {
                let heading = self.paint(BOLD, spec);
                let plural = if *cases == 1 { "case" } else { "cases" };
                // The target names a student's file, which may hold
                // terminal escapes or bidi controls: shown escaped.
                let title = crate::text::escape_controls(title, |_| false);
                let target = crate::text::escape_controls(target, |_| false);
                writeln!(self.out, "\n{heading}: {title}")?;
                writeln!(self.out, "  target: {target}, {cases} {plural}")?;
            }
            // The line of a case is written when it finishes.
            Event::CaseStarted { .. } => return Ok(()),
            Event::CaseFinished(outcome) => self.case(outcome)?,
            Event::RunFinished(summary) => self.summary(summary)?,
        }
        self.out.flush()
    }

    /// A setback the spec's cases met (the program does not build, or
    /// does not start), told once, above the first case it hit: the
    /// message with the compiler's or interpreter's first lines, and the
    /// program's stdout if it wrote any.
    fn setback(&mut self, outcome: &CaseOutcome) -> std::io::Result<()> {
        let pad = "  ";
        for (index, line) in terminal_safe(&outcome.message).lines().enumerate() {
            if index == 0 {
                writeln!(self.out, "{pad}{}", self.paint(BOLD, line))?;
            } else {
                writeln!(self.out, "{pad}  {line}")?;
            }
        }
        if let Some(text) = tail(&outcome.stdout, 10).map(|t| terminal_safe(&t)) {
            writeln!(self.out, "{pad}stdout (last lines):")?;
            for line in text.lines() {
                writeln!(self.out, "{pad}  | {line}")?;
            }
        }
        if !outcome.stderr_in_message() {
            if let Some(text) = tail(&outcome.stderr, 10).map(|t| terminal_safe(&t)) {
                writeln!(self.out, "{pad}stderr (last lines):")?;
                for line in text.lines() {
                    writeln!(self.out, "{pad}  | {line}")?;
                }
            }
        }
        Ok(())
    }

    fn case(&mut self, outcome: &CaseOutcome) -> std::io::Result<()> {
        if outcome.tells_setback() {
            self.setback(outcome)?;
        }
        let label = match outcome.verdict {
            Verdict::Pass => self.paint(GREEN, "PASS "),
            Verdict::Fail => self.paint(RED, "FAIL "),
            Verdict::Error => self.paint(YELLOW, "ERROR"),
            Verdict::NotRun => self.paint(DIM, "SKIP "),
        };
        let time = self.paint(DIM, &duration(outcome.duration));
        let informational = outcome.level == crate::speclang::Level::Informational;
        let counted = if informational {
            String::from("informational")
        } else {
            format!("{}/{}", outcome.points, outcome.max_points)
        };
        writeln!(self.out, "  {label} {:<32} {counted} {time}", outcome.case)?;
        let pad = "         ";
        // Told once above: the case's line only refers to it.
        if let Some(setback) = outcome.setback {
            return writeln!(self.out, "{pad}{} (see above)", setback.short());
        }
        match outcome.verdict {
            Verdict::Pass => return Ok(()),
            Verdict::NotRun => return writeln!(self.out, "{pad}{}", outcome.message),
            Verdict::Fail | Verdict::Error => {}
        }
        writeln!(
            self.out,
            "{pad}requirement: {}",
            terminal_safe(&outcome.about)
        )?;
        if informational {
            writeln!(
                self.out,
                "{pad}informational: beyond the handout, it counts in neither the verdict nor the points"
            )?;
        }
        if let Some(failure) = &outcome.failure {
            writeln!(
                self.out,
                "{pad}failed at step {} ({}:{}): {}",
                failure.step, outcome.spec_file, failure.line, failure.action
            )?;
        }
        for (index, line) in terminal_safe(&outcome.message).lines().enumerate() {
            let lead = if index == 0 { "" } else { "  " };
            writeln!(self.out, "{pad}{lead}{}", self.paint(BOLD, line))?;
        }
        if let Some(failure) = &outcome.failure {
            writeln!(
                self.out,
                "{pad}expected: {}",
                terminal_safe(&failure.expected)
            )?;
            if let Some((headline, dump)) = super::received_dump(failure, 32) {
                writeln!(self.out, "{pad}received: {headline}")?;
                for line in dump.lines() {
                    writeln!(self.out, "{pad}  {line}")?;
                }
            } else if let Some(actual) = &failure.actual {
                writeln!(self.out, "{pad}received: {}", quoted_short(actual, 300))?;
            }
        }
        if let Some(hint) = &outcome.hint {
            writeln!(self.out, "{pad}hint: {}", terminal_safe(hint))?;
        }
        if !outcome.transcript.is_empty() {
            writeln!(self.out, "{pad}transcript:")?;
            for entry in &outcome.transcript {
                let (time, rest) = transcript_line(entry, 160);
                let rest = terminal_safe(&rest);
                writeln!(self.out, "{pad}  {} {rest}", self.paint(DIM, &time))?;
            }
        }
        let stderr_in_message = outcome.stderr_in_message();
        for (name, snapshot) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
            if name == "stderr" && stderr_in_message {
                continue;
            }
            if let Some(text) = tail(snapshot, 10).map(|t| terminal_safe(&t)) {
                writeln!(self.out, "{pad}{name} (last lines):")?;
                for line in text.lines() {
                    writeln!(self.out, "{pad}  | {line}")?;
                }
            }
        }
        Ok(())
    }

    fn summary(&mut self, summary: &Summary) -> std::io::Result<()> {
        let verdict = if summary.ran() == 0 {
            self.paint(YELLOW, "nothing ran")
        } else if summary.failed + summary.errors + summary.not_run == 0 {
            self.paint(GREEN, "all passed")
        } else if summary.failed + summary.errors == 0 {
            self.paint(YELLOW, "all that ran passed")
        } else {
            self.paint(RED, "some cases did not pass")
        };
        let interrupted = if summary.interrupted {
            " (interrupted)"
        } else {
            ""
        };
        writeln!(
            self.out,
            "\n{verdict}{interrupted}: {}; {}/{} points; {}",
            summary.counts(),
            summary.points,
            summary.max_points,
            duration(summary.duration)
        )
    }
}
