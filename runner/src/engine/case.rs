//! Runs one case's steps against a started target and turns what happened
//! into a `CaseOutcome`.

use super::difference::{self, Difference};
use super::matching::Expectation;
use super::outcome::{CaseOutcome, Failure, Verdict};
use super::running::Running;
use super::show;
use super::transcript::Transcript;
use crate::net::{Connection, Datagrams};
use crate::program::describe_status;
use crate::speclang::{Action, Case, DatagramSocket, Restart, Role, Spec, Step};
use crate::stop;
use std::collections::HashMap;
use std::time::Instant;

/// Why a step did not pass.
pub struct Problem {
    /// What would have passed.
    pub expected: String,
    /// What arrived instead, its first `ACTUAL_KEPT` bytes.
    pub actual: Option<Vec<u8>>,
    /// Bytes of what arrived past `ACTUAL_KEPT`, not kept.
    pub actual_dropped: u64,
    /// The symptom, in the student's terms.
    pub message: String,
    /// The target hung up (closed, reset, broken pipe): it may be exiting,
    /// and the report should say how it ended.
    pub hung_up: bool,
    /// Set when what arrived is not text: lengths, diagnosis and the
    /// offset a hex dump marks.
    /// Boxed: a step's result stays small on its common path.
    pub difference: Option<Box<Difference>>,
}

impl Problem {
    pub fn new(expected: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            expected: expected.into(),
            actual: None,
            actual_dropped: 0,
            message: message.into(),
            hung_up: false,
            difference: None,
        }
    }

    pub fn hung_up(mut self) -> Problem {
        self.hung_up = true;
        self
    }

    /// What arrived, kept to its first `ACTUAL_KEPT` bytes: every report
    /// format quotes it (JSON as text and hex), once per failed case.
    pub fn with_actual(mut self, actual: &[u8]) -> Problem {
        let kept = crate::bounded::cut(actual, ACTUAL_KEPT, 0);
        self.actual = Some(kept.head.to_vec());
        self.actual_dropped = kept.dropped;
        self
    }
}

impl Problem {
    /// Measures what arrived against `expectation` when it is not text,
    /// for reports to show as lengths and a hex dump rather than escapes;
    /// `noun` names the data (`datagram`, `reply`, `output`).
    pub fn against(mut self, expectation: &Expectation, noun: &str) -> Problem {
        if let Some(actual) = self.actual.as_deref() {
            if !actual.is_empty() && !show::is_printable(actual) {
                self.difference = Some(Box::new(difference::compare(
                    expectation.literal(),
                    actual,
                    noun,
                )));
            }
        }
        self
    }
}

/// Bytes of what arrived that a failure keeps as evidence.
pub const ACTUAL_KEPT: usize = 4 << 10;

pub type StepResult = Result<(), Problem>;

/// The state of one case while its steps run.
pub struct CaseRun<'r> {
    /// "server" or "client": what the target is, for messages.
    pub noun: &'static str,
    pub running: &'r mut Running,
    pub connections: HashMap<String, Connection>,
    pub sockets: HashMap<String, Datagrams>,
    pub captures: HashMap<String, Vec<u8>>,
    pub transcript: Transcript,
    /// No step of the case waits past this.
    pub case_deadline: Instant,
    /// Whether the transcript already says how the program ended.
    pub exit_noted: bool,
    /// `runner mutate`: the mutant's state for this case.
    pub mutation: Option<std::sync::Arc<crate::mutate::CaseScope>>,
}

/// Runs `case` on `running` and reports what happened.
pub fn run_case(
    spec: &Spec,
    case: &Case,
    running: &mut Running,
    case_deadline: Instant,
) -> CaseOutcome {
    let started = Instant::now();
    let mutation = running.mutation.as_ref().map(|m| m.for_case());
    if let Some(service) = running.service.as_mut() {
        service.relay_through(mutation.as_ref().map(|m| m.datagrams()));
    }
    let mut run = CaseRun {
        noun: noun(spec.target.role),
        running,
        connections: HashMap::new(),
        sockets: HashMap::new(),
        captures: HashMap::new(),
        transcript: Transcript::new(),
        case_deadline,
        exit_noted: false,
        mutation,
    };
    run.note_start(spec.target.role);
    let mut failure = None;
    let mut message = String::new();
    let mut interrupted = false;
    for (index, step) in case.steps.iter().enumerate() {
        if stop::requested() {
            interrupted = true;
            break;
        }
        if let Err(problem) = run.step(step) {
            message = run.explain(problem.message.clone(), problem.hung_up);
            if problem.actual_dropped > 0 {
                message.push_str(&format!(
                    "; the report keeps the first {} of what arrived ({})",
                    crate::program::show_size(ACTUAL_KEPT as u64),
                    crate::bounded::not_kept(problem.actual_dropped)
                ));
            }
            if run.running.static_binary && matches!(step.action, Action::Expect { .. }) {
                message.push_str(STATIC_BINARY_NOTE);
            }
            if stop::requested() {
                interrupted = true;
            } else if Instant::now() >= case_deadline {
                message = format!("the case reached its wall-time limit: {message}");
            }
            failure = Some(Failure {
                step: index + 1,
                line: step.line,
                action: describe_action(step),
                expected: problem.expected,
                actual: problem.actual,
                difference: problem.difference.map(|d| *d),
            });
            break;
        }
    }
    run.note_exit_if_ended();
    // The program's output as the case ends, before the teardown: what it
    // prints once the runner closes or resets its connections (a
    // traceback of the reset) is the runner's doing, not the case's
    // evidence, and would make a passing case look alarming.
    let stdout = run.running.process.stdout.snapshot().for_report();
    let stderr = run.running.process.stderr.snapshot().for_report();
    run.finish(spec.target.restart);
    let verdict = if interrupted {
        message = String::from("interrupted: the run was stopped before this case finished");
        failure = None;
        Verdict::Error
    } else if failure.is_some() {
        // A limit the program ran into is the first thing to know.
        for hit in run.running.process.limits_hit(&run.running.limits) {
            message = format!("{hit}: {message}");
        }
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    CaseOutcome {
        duration: started.elapsed(),
        failure,
        transcript: run.transcript.entries,
        stdout,
        stderr,
        ..CaseOutcome::new(spec, case, run.running.language, verdict, message)
    }
}

/// Said with an output step a statically linked program failed: its
/// output may be sitting in its stdio buffer.
const STATIC_BINARY_NOTE: &str = "; note: the program is statically linked, so what it prints without flushing reaches the runner only when its buffer fills or it exits: call fflush(stdout) after printf, or hand in the source file";

pub fn noun(role: Role) -> &'static str {
    match role {
        Role::Server => "server",
        Role::Client => "client",
    }
}

impl CaseRun<'_> {
    fn step(&mut self, step: &Step) -> StepResult {
        let deadline = crate::stop::deadline_after(step.timeout).min(self.case_deadline);
        match &step.action {
            Action::Connect { conn } => self.connect(conn, deadline),
            Action::Accept { conn } => self.accept(conn, deadline),
            Action::Send {
                conn,
                payload,
                chunks,
                pause,
            } => self.send(conn, payload, chunks, *pause, deadline, step.timeout),
            Action::Recv {
                conn,
                matcher,
                capture,
            } => self.recv(conn, matcher, capture.as_deref(), deadline, step.timeout),
            Action::Eof { conn, after_any } => self.eof(conn, *after_any, deadline, step.timeout),
            Action::Quiet { conn, window } => self.quiet(conn, *window),
            Action::QuietDatagrams { socket, window } => self.quiet_datagrams(socket, *window),
            Action::Shutdown { conn } => self.shutdown(conn),
            Action::Close { conn } => self.close(conn),
            Action::Reset { conn } => self.reset(conn),
            Action::SendTo { socket, payload } => self.send_to(socket, payload),
            Action::RecvFrom {
                socket,
                matcher,
                capture,
            } => self.recv_from(socket, matcher, capture.as_deref(), deadline, step.timeout),
            Action::WriteStdin { payload } => self.write_stdin(payload, deadline),
            Action::CloseStdin => {
                self.running.process.close_stdin(deadline);
                let how = if self.running.process.stdin_is_terminal() {
                    "ended by the runner (Ctrl-D)"
                } else {
                    "closed by the runner"
                };
                self.transcript.note("stdin", how);
                Ok(())
            }
            Action::Expect {
                stream,
                matcher,
                capture,
            } => self.expect_output(*stream, matcher, capture.as_deref(), deadline, step.timeout),
            Action::Exit { code } => self.exit(*code, deadline, step.timeout),
            Action::Alive => self.alive(),
            Action::Idle { window, max_cpu } => self.idle(*window, *max_cpu),
        }
    }

    /// The transcript's first entry: the program as the case finds it.
    fn note_start(&mut self, role: Role) {
        let addr = self.running.addr;
        let state = if self.running.cases_run > 0 {
            String::from("running since an earlier case (restart: once)")
        } else {
            match role {
                Role::Server => format!("started, listening on {addr}"),
                Role::Client => format!("started, to reach the runner at {addr}"),
            }
        };
        self.running.cases_run += 1;
        self.transcript.note("target", state);
    }

    /// Puts the program's end in the transcript, at the time the runner
    /// saw it, if it ended during the case and no step said so.
    pub(super) fn note_exit_if_ended(&mut self) {
        if self.exit_noted {
            return;
        }
        let process = &mut self.running.process;
        if let (Some(status), Some(when)) = (process.exit_status(), process.exited_at()) {
            self.transcript
                .note_at(when, "target", describe_status(status));
            self.exit_noted = true;
        }
    }

    /// Adds to a failure message what the target's exit tells, if it died.
    fn explain(&mut self, mut message: String, hung_up: bool) -> String {
        // A peer that closed or reset is often a target that is dying:
        // give it a moment, so the report can say how it ended.
        let hung_up = hung_up
            || self
                .connections
                .values()
                .any(|c| c.peer_closed || c.peer_reset);
        let settle = Instant::now() + std::time::Duration::from_millis(200);
        let status = if hung_up {
            self.running.process.wait_exit(settle)
        } else {
            self.running.process.exit_status()
        };
        if let Some(status) = status {
            self.running.process.stderr.wait_closed(settle);
            if !message.contains(" exited with code") && !message.contains(" was killed by") {
                message.push_str(&format!("; the {} {}", self.noun, describe_status(status)));
            }
            let tail = self.running.process.stderr.snapshot().last_lines(5);
            if !tail.trim().is_empty() && !status.success() {
                message.push_str(&format!(
                    "{}{}",
                    super::outcome::STDERR_IN_MESSAGE,
                    tail.trim_end()
                ));
            }
        }
        message
    }

    /// Ends the case's connections. With a fresh target per case they are
    /// reset: an abortive close leaves no TIME_WAIT on the target's
    /// address, so a program that hard-codes its port can bind it again.
    /// A target kept for the next case sees a graceful close, unless it
    /// closed first (or died): then a FIN from the runner would leave its
    /// address in TIME_WAIT, and a later restart could not bind it.
    fn finish(&mut self, restart: Restart) {
        let target_gone = self.running.process.exit_status().is_some();
        for (name, mut connection) in self.connections.drain() {
            let target_closed = connection.peer_closed || connection.peer_reset;
            match restart {
                Restart::PerCase => connection.reset(),
                Restart::Once if target_closed || target_gone => connection.reset(),
                Restart::Once => {
                    let late = connection.drain();
                    if !late.is_empty() {
                        self.transcript.record(
                            &name,
                            super::transcript::Direction::Received,
                            &late,
                        );
                    }
                    connection.close();
                }
            }
        }
        self.sockets.clear();
    }

    /// Text for `what arrived`, used by several steps.
    pub fn arrived(bytes: &[u8]) -> String {
        if bytes.is_empty() {
            String::from("nothing")
        } else {
            show::brief(bytes, 200)
        }
    }
}

/// The step as a short line for the report.
pub fn describe_action(step: &Step) -> String {
    use crate::speclang::Matcher;
    fn matcher(m: &Matcher) -> &'static str {
        match m {
            Matcher::Exact(_) => "text",
            Matcher::Line(_) => "line",
            Matcher::Prefix(_) => "prefix",
            Matcher::Contains(_) => "contains",
            Matcher::Regex(_) => "regex",
            Matcher::Any { .. } => "any",
        }
    }
    match &step.action {
        Action::Connect { conn } => format!("connect {conn}"),
        Action::Accept { conn } => format!("accept {conn}"),
        Action::Send { conn, .. } => format!("send on {conn}"),
        Action::Recv {
            conn, matcher: m, ..
        } => format!("recv on {conn} ({})", matcher(m)),
        Action::Eof { conn, .. } => format!("wait for {conn} to be closed by the other side"),
        Action::Quiet { conn, window } => {
            format!(
                "quiet on {conn} for {}",
                humantime::format_duration(*window)
            )
        }
        Action::QuietDatagrams { window, .. } => {
            format!("no datagram for {}", humantime::format_duration(*window))
        }
        Action::Shutdown { conn } => format!("shutdown {conn}"),
        Action::Close { conn } => format!("close {conn}"),
        Action::Reset { conn } => format!("reset {conn}"),
        Action::SendTo { socket, .. } => match socket {
            DatagramSocket::Service => String::from("sendto the client"),
            DatagramSocket::Named(name) => format!("sendto from {name}"),
        },
        Action::RecvFrom {
            socket, matcher: m, ..
        } => match socket {
            DatagramSocket::Service => format!("recvfrom the client ({})", matcher(m)),
            DatagramSocket::Named(name) => format!("recvfrom on {name} ({})", matcher(m)),
        },
        Action::WriteStdin { .. } => String::from("stdin"),
        Action::CloseStdin => String::from("close-stdin"),
        Action::Expect {
            stream, matcher: m, ..
        } => format!("{} ({})", stream.name(), matcher(m)),
        Action::Exit { code } => match code {
            Some(code) => format!("exit with code {code}"),
            None => String::from("exit"),
        },
        Action::Alive => String::from("alive"),
        Action::Idle { window, max_cpu } => format!(
            "idle for {} (at most {:.0}% CPU)",
            humantime::format_duration(*window),
            max_cpu * 100.0
        ),
    }
}
