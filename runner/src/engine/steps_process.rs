//! Steps about the target process itself: its stdin, its output streams,
//! its exit, and whether it is alive and idle.

use super::case::{CaseRun, Problem, StepResult};
use super::matching::{render, Expectation, StreamMatch};
use super::transcript::Direction;
use crate::program::{describe_status, Output};
use crate::speclang::{Matcher, Payload, Stream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// While watching both streams, how long to wait on one before looking at
/// the other.
const ALTERNATE: Duration = Duration::from_millis(10);

/// The share of an `idle` window a thread must be runnable (running or
/// waiting for a CPU) to count as spinning whatever its CPU share.
const SPINNING_RUNNABLE: f64 = 0.9;

/// How long `alive` watches the target.
pub const ALIVE_WINDOW: Duration = Duration::from_millis(250);

impl CaseRun<'_> {
    pub(super) fn write_stdin(&mut self, payload: &Payload, deadline: Instant) -> StepResult {
        let bytes = render(payload, &self.captures);
        let noun = self.noun;
        if self.running.process.stdin_is_terminal() {
            if let Some(why) = crate::program::untypable(&bytes) {
                return Err(Problem::new(
                    "to write to standard input",
                    format!("the spec's text cannot be typed at the {noun}'s terminal: {why}"),
                ));
            }
        }
        self.running.process.wait_stdin_taken(deadline);
        self.running
            .process
            .write_stdin(&bytes, deadline)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::TimedOut {
                    return Problem::new(
                        "to write to standard input",
                        format!(
                            "could not type into the {noun}: it is not reading its standard input"
                        ),
                    );
                }
                Problem::new(
                    "to write to standard input",
                    format!(
                    "could not type into the {noun}: it closed its standard input or exited ({e})"
                ),
                )
                .hung_up()
            })?;
        self.transcript.record("stdin", Direction::Sent, &bytes);
        Ok(())
    }

    pub(super) fn expect_output(
        &mut self,
        stream: Stream,
        matcher: &Matcher,
        capture: Option<&str>,
        deadline: Instant,
        timeout: Duration,
    ) -> StepResult {
        // `runner mutate`: a mutant that prints late is seen late.
        if let Some(lag) = self.mutation.as_ref().and_then(|m| m.stdout_lag()) {
            crate::stop::sleep_until((Instant::now() + lag).min(deadline));
        }
        let expectation = Expectation::new(matcher, &self.captures);
        let watched: Vec<(Stream, Arc<Output>, usize)> = [
            (
                Stream::Stdout,
                &self.running.process.stdout,
                self.running.stdout_from,
            ),
            (
                Stream::Stderr,
                &self.running.process.stderr,
                self.running.stderr_from,
            ),
        ]
        .into_iter()
        .filter(|(s, _, _)| stream == Stream::Output || stream == *s)
        .map(|(s, output, from)| (s, Arc::clone(output), from))
        .collect();
        let wait = if watched.len() > 1 {
            ALTERNATE
        } else {
            timeout
        };
        loop {
            let mut all_closed = true;
            let mut seen = Vec::new();
            for (which, output, from) in &watched {
                let until = deadline.min(Instant::now() + wait);
                let (data, closed) = output.wait_for(*from, until, |d| {
                    expectation.on_stream(d) != StreamMatch::NeedMore
                });
                all_closed &= closed;
                match expectation.on_stream(&data) {
                    StreamMatch::Matched(n) => {
                        self.transcript
                            .record(which.name(), Direction::Received, &data[..n]);
                        match which {
                            Stream::Stderr => self.running.stderr_from = from + n,
                            _ => self.running.stdout_from = from + n,
                        }
                        if let Some(capture) = capture {
                            self.captures
                                .insert(capture.to_string(), expectation.captured(&data[..n]));
                        }
                        return Ok(());
                    }
                    StreamMatch::Mismatch => {
                        return Err(self.output_problem(stream, &expectation, &data, None, timeout))
                    }
                    StreamMatch::NeedMore => seen.extend_from_slice(&data),
                }
            }
            if all_closed {
                let status = self.running.process.exit_status();
                let why = match status {
                    Some(status) => format!("the {} {}", self.noun, describe_status(status)),
                    None => format!("the {} closed its {}", self.noun, stream.name()),
                };
                return Err(self.output_problem(stream, &expectation, &seen, Some(why), timeout));
            }
            if Instant::now() >= deadline {
                return Err(self.output_problem(stream, &expectation, &seen, None, timeout));
            }
        }
    }

    fn output_problem(
        &self,
        stream: Stream,
        expectation: &Expectation,
        seen: &[u8],
        ended: Option<String>,
        timeout: Duration,
    ) -> Problem {
        let expected = expectation.describe();
        let printed = if seen.is_empty() {
            String::from("it printed nothing more")
        } else {
            format!("it printed {}", Self::arrived(seen))
        };
        let message = match ended {
            Some(why) => format!(
                "expected the {} to print {expected} on {}, but {why}; {printed}",
                self.noun,
                stream.name()
            ),
            None => format!(
                "expected the {} to print {expected} on {} within {}; {printed}",
                self.noun,
                stream.name(),
                humantime::format_duration(timeout)
            ),
        };
        Problem::new(expected, message)
            .with_actual(seen)
            .against(expectation, "output")
    }

    pub(super) fn exit(
        &mut self,
        code: Option<i32>,
        deadline: Instant,
        timeout: Duration,
    ) -> StepResult {
        let expected = match code {
            Some(code) => format!("exit with code {code}"),
            None => String::from("exit"),
        };
        let Some(status) = self.running.process.wait_exit(deadline) else {
            return Err(Problem::new(
                &expected,
                format!(
                    "expected the {} to {expected} within {}, but it is still running",
                    self.noun,
                    humantime::format_duration(timeout)
                ),
            ));
        };
        self.note_exit_if_ended();
        match code {
            Some(code) if status.code() != Some(code) => Err(Problem::new(
                &expected,
                format!(
                    "expected the {} to {expected}, but it {}",
                    self.noun,
                    describe_status(status)
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The target keeps running for ALIVE_WINDOW: a program that is just
    /// about to exit (the classic one-shot loop) is caught, not missed by a
    /// check that comes a microsecond too early.
    pub(super) fn alive(&mut self) -> StepResult {
        let deadline = crate::stop::deadline_after(ALIVE_WINDOW).min(self.case_deadline);
        match self.running.process.wait_exit(deadline) {
            None => {
                self.transcript.note(
                    "target",
                    format!(
                        "still running after {}",
                        humantime::format_duration(ALIVE_WINDOW)
                    ),
                );
                Ok(())
            }
            Some(status) => Err(Problem::new(
                "still running",
                format!(
                    "expected the {} to keep running, but it {}",
                    self.noun,
                    describe_status(status)
                ),
            )),
        }
    }

    /// Measures the CPU time the target's process tree uses over `window`:
    /// a program spinning on empty reads uses a whole core.
    /// Judges by the busiest thread's runnable share when the kernel keeps
    /// schedstats: a spinning thread is runnable the whole window even on
    /// a loaded machine (grading a class in parallel), where its CPU share
    /// can fall under the limit. The CPU share is the fallback.
    pub(super) fn idle(&mut self, window: Duration, max_cpu: f64) -> StepResult {
        let before = self.running.process.cpu_time();
        let runnable_before = self.running.process.runnable_times();
        let started = Instant::now();
        let full = crate::stop::deadline_after(window);
        let until = full.min(self.case_deadline);
        if !crate::stop::sleep_until(until) {
            return Err(Problem::new(
                "a measurement",
                "interrupted while measuring CPU use",
            ));
        }
        if until < full {
            // A share over a shorter window than the spec asks proves
            // nothing either way: the case is not judged (past the run's
            // --deadline it is reported as an error, not a pass).
            return Err(Problem::new(
                format!(
                    "at most {:.0}% CPU over {}",
                    max_cpu * 100.0,
                    humantime::format_duration(window)
                ),
                format!(
                    "the measurement of CPU use was cut short after {} of its {}",
                    humantime::format_duration(Duration::from_millis(
                        started.elapsed().as_millis() as u64
                    )),
                    humantime::format_duration(window)
                ),
            ));
        }
        let elapsed = started.elapsed().as_secs_f64();
        let used = self.running.process.cpu_time().saturating_sub(before);
        let mut cpu_share = used.as_secs_f64() / elapsed;
        if self.mutation.as_ref().is_some_and(|m| m.spinning()) {
            // `runner mutate`: a mutant that spins uses a whole CPU.
            cpu_share = 1.0;
        }
        let busiest = self
            .running
            .process
            .runnable_times()
            .iter()
            .map(|(tid, now)| {
                let then = runnable_before.get(tid).copied().unwrap_or_default();
                now.saturating_sub(then).as_secs_f64() / elapsed
            })
            .fold(0.0, f64::max);
        // A spinning thread is runnable nearly the whole window, however
        // busy the machine; a waiting one (a JVM thread queued for a CPU)
        // only now and then, so a lower runnable share is no busy loop.
        let busiest = busiest.min(1.0);
        let share = if busiest >= SPINNING_RUNNABLE {
            cpu_share.max(busiest)
        } else {
            cpu_share
        };
        self.transcript.note(
            "target",
            format!(
                "used {:.0}% CPU over {}, its busiest thread runnable {:.0}% of it",
                cpu_share * 100.0,
                humantime::format_duration(window),
                busiest.min(1.0) * 100.0
            ),
        );
        if share > max_cpu {
            return Err(Problem::new(
                format!("at most {:.0}% CPU", max_cpu * 100.0),
                format!(
                    "the {} kept the CPU busy ({:.0}% of {}) while it should have been waiting (at most {:.0}% expected): it is busy-looping",
                    self.noun,
                    share * 100.0,
                    humantime::format_duration(window),
                    max_cpu * 100.0
                ),
            ));
        }
        Ok(())
    }
}
