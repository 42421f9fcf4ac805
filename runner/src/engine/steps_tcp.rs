//! TCP steps: connect, accept, send, recv, eof, quiet, shutdown, close, reset.

use super::case::{CaseRun, Problem, StepResult};
use super::matching::{render, Expectation, StreamMatch};
use super::show::quoted;
use super::transcript::Direction;
use crate::net::{Connection, ReadEvent};
use crate::program::{describe_status, POLL};
use crate::speclang::{Matcher, Payload};
use std::io::ErrorKind;
use std::time::{Duration, Instant};

/// How long a connection must stay quiet for a reply of any content to
/// be taken as whole: pieces of one reply written back to back arrive
/// well within it on loopback.
const SETTLE: Duration = Duration::from_millis(50);

/// Unmatched bytes the runner holds per connection: a target flooding the
/// socket fails the step here instead of filling the runner's memory.
const MAX_PENDING: usize = 1 << 20;

fn took(timeout: Duration) -> String {
    humantime::format_duration(timeout).to_string()
}

impl CaseRun<'_> {
    /// What the runner has sent on connection `name` in this case, from
    /// the transcript.
    fn sent_on(&self, name: &str) -> super::silence::Sent {
        let sent: Vec<&[u8]> = self
            .transcript
            .entries
            .iter()
            .filter(|e| e.channel == name && e.direction == Direction::Sent)
            .map(|e| e.bytes.as_slice())
            .collect();
        super::silence::Sent {
            bytes: sent.iter().map(|b| b.len()).sum(),
            ends_with_newline: sent
                .iter()
                .rev()
                .find(|b| !b.is_empty())
                .is_some_and(|b| b.ends_with(b"\n")),
        }
    }

    /// `runner mutate`: the mutant's relay for a new connection.
    fn relay(&self) -> Option<crate::mutate::StreamRelay> {
        self.mutation.as_ref().map(|m| m.stream())
    }

    fn connection(&mut self, name: &str) -> Result<&mut Connection, Problem> {
        // The loader checked that every name is opened before use; a
        // connection is missing only if its opening step failed, which ends
        // the case first.
        self.connections.get_mut(name).ok_or_else(|| {
            Problem::new(
                format!("connection {name}"),
                format!("connection `{name}` is not open"),
            )
        })
    }

    pub(super) fn connect(&mut self, name: &str, deadline: Instant) -> StepResult {
        let addr = self.running.addr;
        if self
            .mutation
            .as_ref()
            .is_some_and(|m| m.refuses_connection())
        {
            return Err(Problem::new(
                format!("a connection to {addr}"),
                format!(
                    "could not connect to the {} at {addr}: connection refused",
                    self.noun
                ),
            ));
        }
        loop {
            let network = &self.running.network;
            match network.run(|| Connection::connect(addr, deadline)) {
                Ok(connection) => {
                    let connection = connection.relayed(self.relay());
                    let from = connection
                        .local_addr()
                        .map(|a| a.to_string())
                        .unwrap_or_default();
                    self.transcript
                        .note(name, format!("connected to {addr} from {from}"));
                    self.connections.insert(name.to_string(), connection);
                    return Ok(());
                }
                // A server that closed its listening socket, or has not
                // re-opened it yet, refuses; one that closed it with this
                // connection still waiting in its backlog resets it. Either
                // way: wait while it is alive.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset
                    ) && Instant::now() < deadline
                        && !crate::stop::requested() =>
                {
                    if let Some(status) = self.running.process.exit_status() {
                        return Err(Problem::new(
                            format!("a connection to {addr}"),
                            format!(
                                "the {} {} instead of accepting a connection",
                                self.noun,
                                describe_status(status)
                            ),
                        ));
                    }
                    std::thread::sleep(POLL);
                }
                Err(e) => {
                    return Err(Problem::new(
                        format!("a connection to {addr}"),
                        format!("could not connect to the {} at {addr}: {e}", self.noun),
                    ))
                }
            }
        }
    }

    pub(super) fn accept(&mut self, name: &str, deadline: Instant) -> StepResult {
        let addr = self.running.addr;
        let expected = format!("a connection to the runner at {addr}");
        let Some(listener) = &self.running.listener else {
            return Err(Problem::new(expected, "the runner has no listening socket"));
        };
        listener
            .set_nonblocking(true)
            .map_err(|e| Problem::new(&expected, format!("the runner's listener failed: {e}")))?;
        loop {
            match listener.accept() {
                Ok((stream, peer)) => {
                    let _ = stream.set_nonblocking(false);
                    self.transcript
                        .note(name, format!("accepted a connection from {peer}"));
                    let connection = Connection::new(stream).relayed(self.relay());
                    self.connections.insert(name.to_string(), connection);
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(Problem::new(expected, format!("accepting failed: {e}"))),
            }
            if let Some(status) = self.running.process.exit_status() {
                return Err(Problem::new(
                    expected,
                    format!(
                        "the {} {} without connecting to {addr}",
                        self.noun,
                        describe_status(status)
                    ),
                ));
            }
            if Instant::now() >= deadline || crate::stop::requested() {
                return Err(Problem::new(
                    expected,
                    format!("the {} did not connect to {addr} in time", self.noun),
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    pub(super) fn send(
        &mut self,
        name: &str,
        payload: &Payload,
        chunks: &[usize],
        pause: Duration,
        deadline: Instant,
        timeout: Duration,
    ) -> StepResult {
        let bytes = render(payload, &self.captures);
        let mut pieces = Vec::new();
        let mut rest = bytes.as_slice();
        for size in chunks {
            if rest.is_empty() {
                break;
            }
            let (piece, tail) = rest.split_at((*size).min(rest.len()));
            pieces.push(piece);
            rest = tail;
        }
        if !rest.is_empty() {
            pieces.push(rest);
        }
        let noun = self.noun;
        for (index, piece) in pieces.iter().enumerate() {
            if index > 0 && !pause.is_zero() {
                // The pause is what the spec asks for: the pieces must
                // arrive as separate segments.
                let until = crate::stop::deadline_after(pause).min(self.case_deadline);
                if !crate::stop::sleep_until(until) || Instant::now() >= self.case_deadline {
                    return Err(Problem::new(
                        "to send",
                        "the pause between chunks was cut short",
                    ));
                }
            }
            let connection = self.connection(name)?;
            let result = connection.send(piece, deadline);
            if let Err(e) = &result {
                if e.kind() == ErrorKind::TimedOut {
                    return Err(Problem::new(
                        format!("to send {}", quoted(piece)),
                        format!(
                            "could not send within {}: the {noun} is not reading what it is sent",
                            took(timeout)
                        ),
                    ));
                }
            }
            if let Err(e) = result {
                return Err(Problem::new(
                    format!("to send {}", quoted(piece)),
                    format!("could not send: the {noun} has closed or reset the connection ({e})"),
                )
                .hung_up());
            }
            self.transcript.record(name, Direction::Sent, piece);
        }
        Ok(())
    }

    /// Reads once and records what came, or fails with what it means.
    fn read_into_transcript(&mut self, name: &str, deadline: Instant) -> ReadEvent {
        if crate::stop::requested() {
            return ReadEvent::Failed(std::io::Error::from(ErrorKind::Interrupted));
        }
        let event = match self.connection(name) {
            Ok(connection) => connection.read_some(deadline),
            Err(problem) => return ReadEvent::Failed(std::io::Error::other(problem.message)),
        };
        match &event {
            ReadEvent::Data(data) if !data.is_empty() => {
                self.transcript.record(name, Direction::Received, data)
            }
            ReadEvent::Closed => self
                .transcript
                .note(name, format!("closed by the {}", self.noun)),
            ReadEvent::Reset => self
                .transcript
                .note(name, format!("reset by the {}", self.noun)),
            _ => {}
        }
        event
    }

    pub(super) fn recv(
        &mut self,
        name: &str,
        matcher: &Matcher,
        capture: Option<&str>,
        deadline: Instant,
        timeout: Duration,
    ) -> StepResult {
        let expectation = Expectation::new(matcher, &self.captures);
        let expected = expectation.describe();
        let noun = self.noun;
        loop {
            if matches!(expectation, Expectation::Any { .. })
                && !self.connection(name)?.pending.is_empty()
            {
                self.settle(name, deadline);
            }
            let connection = self.connection(name)?;
            let state = expectation.on_stream(&connection.pending);
            let held = connection.pending.len();
            match state {
                StreamMatch::Matched(n) => {
                    let taken = connection.consume(n);
                    if let Some(capture) = capture {
                        self.captures
                            .insert(capture.to_string(), expectation.captured(&taken));
                    }
                    return Ok(());
                }
                StreamMatch::Mismatch => {
                    let pending = &connection.pending;
                    return Err(Problem::new(
                        &expected,
                        format!(
                            "expected {expected}, but the {noun} sent {}",
                            Self::arrived(pending)
                        ),
                    )
                    .with_actual(pending)
                    .against(&expectation, "reply"));
                }
                StreamMatch::NeedMore if held > MAX_PENDING => {
                    return Err(Problem::new(
                        &expected,
                        format!(
                            "expected {expected}, but the {noun} sent more than {} MiB without it",
                            MAX_PENDING >> 20
                        ),
                    )
                    .with_actual(&connection.pending));
                }
                StreamMatch::NeedMore => {}
            }
            let event = self.read_into_transcript(name, deadline);
            if matches!(event, ReadEvent::Data(_)) {
                continue;
            }
            let pending = self.connection(name)?.pending.clone();
            let so_far = Self::arrived(&pending);
            let problem = match event {
                ReadEvent::Data(_) => unreachable!("handled above"),
                ReadEvent::Closed if pending.is_empty() => format!(
                    "expected {expected}, but the {noun} closed the connection without sending anything"
                ),
                ReadEvent::Closed => format!(
                    "expected {expected}, but the {noun} closed the connection after sending only {so_far}"
                ),
                ReadEvent::Reset => format!(
                    "expected {expected}, but the {noun} reset the connection (it crashed, or closed it with data unread) after sending {so_far}"
                ),
                ReadEvent::TimedOut if pending.is_empty() => format!(
                    "expected {expected} within {}, but nothing arrived{}",
                    took(timeout),
                    super::silence::likely_causes(
                        self.running.language,
                        noun,
                        &self.sent_on(name)
                    )
                ),
                ReadEvent::TimedOut => format!(
                    "expected {expected} within {}, but only {so_far} arrived", took(timeout)
                ),
                ReadEvent::Failed(e) => format!("expected {expected}, but reading failed: {e}"),
            };
            return Err(Problem::new(expected, problem)
                .with_actual(&pending)
                .against(&expectation, "reply"));
        }
    }

    /// Reads what keeps arriving on `name` until nothing has for
    /// `SETTLE` (or the peer closed, or `deadline`): a reply the program
    /// wrote in pieces is taken whole by a step that takes any reply.
    fn settle(&mut self, name: &str, deadline: Instant) {
        loop {
            let quiet = (Instant::now() + SETTLE).min(deadline);
            if !matches!(self.read_into_transcript(name, quiet), ReadEvent::Data(_)) {
                return;
            }
        }
    }

    pub(super) fn eof(
        &mut self,
        name: &str,
        after_any: bool,
        deadline: Instant,
        timeout: Duration,
    ) -> StepResult {
        let noun = self.noun;
        let expected = if after_any {
            format!("a reply of any content on {name}, then the {noun} closes it")
        } else {
            format!("the {noun} closes connection {name}")
        };
        let mut replied = false;
        loop {
            if after_any {
                // Recorded in the transcript, not judged.
                let connection = self.connection(name)?;
                replied |= !connection.pending.is_empty();
                connection.pending.clear();
            }
            let pending = self.connection(name)?.pending.clone();
            if !pending.is_empty() {
                return Err(Problem::new(
                    &expected,
                    format!(
                        "the {noun} sent more instead of closing the connection: {}",
                        Self::arrived(&pending)
                    ),
                )
                .with_actual(&pending));
            }
            match self.read_into_transcript(name, deadline) {
                ReadEvent::Data(_) => continue,
                ReadEvent::Closed if after_any && !replied => {
                    return Err(Problem::new(
                        expected,
                        format!("the {noun} closed the connection without sending a reply"),
                    ))
                }
                ReadEvent::Closed => return Ok(()),
                ReadEvent::Reset if after_any && !replied => {
                    return Err(Problem::new(
                        expected,
                        format!(
                            "the {noun} reset the connection without sending a reply (it crashed, or closed it with data unread)"
                        ),
                    ))
                }
                ReadEvent::Reset => {
                    return Err(Problem::new(
                        expected,
                        format!(
                            "the {noun} reset the connection (RST) instead of closing it: close the socket once everything received is read, and do not set SO_LINGER to 0"
                        ),
                    ))
                }
                ReadEvent::TimedOut => {
                    return Err(Problem::new(
                        expected,
                        format!(
                            "the {noun} kept the connection open for {} without closing it",
                            took(timeout)
                        ),
                    ))
                }
                ReadEvent::Failed(e) => {
                    return Err(Problem::new(expected, format!("reading failed: {e}")))
                }
            }
        }
    }

    pub(super) fn quiet(&mut self, name: &str, window: Duration) -> StepResult {
        let deadline = crate::stop::deadline_after(window).min(self.case_deadline);
        let expected = format!("no data for {}", took(window));
        loop {
            let pending = self.connection(name)?.pending.clone();
            if !pending.is_empty() {
                return Err(Problem::new(
                    &expected,
                    format!(
                        "expected {expected}, but the {} sent {}",
                        self.noun,
                        Self::arrived(&pending)
                    ),
                )
                .with_actual(&pending));
            }
            match self.read_into_transcript(name, deadline) {
                ReadEvent::Data(_) => continue,
                ReadEvent::TimedOut => {
                    // The window, for readers of the transcript and the
                    // diagram: it ends now.
                    self.transcript
                        .note(name, format!("nothing arrived for {}", took(window)));
                    return Ok(());
                }
                ReadEvent::Closed | ReadEvent::Reset => return Ok(()),
                ReadEvent::Failed(e) => {
                    return Err(Problem::new(expected, format!("reading failed: {e}")))
                }
            }
        }
    }

    pub(super) fn shutdown(&mut self, name: &str) -> StepResult {
        let result = self.connection(name)?.shutdown_write();
        match result {
            Ok(()) => {
                self.transcript
                    .note(name, "runner shut down its sending side (FIN)");
                Ok(())
            }
            // The peer already reset the connection: there is nothing left
            // to half-close, and the next step will say what that means.
            Err(e) if e.kind() == ErrorKind::NotConnected => {
                self.transcript.note(
                    name,
                    format!(
                        "could not shut down: the {} already reset the connection",
                        self.noun
                    ),
                );
                Ok(())
            }
            Err(e) => Err(Problem::new(
                "a half-close",
                format!("shutdown failed: {e}"),
            )),
        }
    }

    pub(super) fn close(&mut self, name: &str) -> StepResult {
        let mut connection = self.connections.remove(name).ok_or_else(|| {
            Problem::new(
                format!("connection {name}"),
                format!("connection `{name}` is not open"),
            )
        })?;
        let late = connection.drain();
        if !late.is_empty() {
            self.transcript.record(name, Direction::Received, &late);
        }
        connection.close();
        self.transcript.note(name, "closed by the runner (FIN)");
        Ok(())
    }

    pub(super) fn reset(&mut self, name: &str) -> StepResult {
        let connection = self.connections.remove(name).ok_or_else(|| {
            Problem::new(
                format!("connection {name}"),
                format!("connection `{name}` is not open"),
            )
        })?;
        connection.reset();
        self.transcript.note(name, "reset by the runner (RST)");
        Ok(())
    }
}
