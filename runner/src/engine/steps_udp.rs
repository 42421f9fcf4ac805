//! Datagram steps: sendto and recvfrom. A datagram is judged whole: its
//! boundaries are part of the check.

use super::case::{CaseRun, Problem, StepResult};
use super::matching::{render, Expectation};
use super::transcript::Direction;
use crate::net::Datagrams;
use crate::speclang::{DatagramSocket, Matcher, Payload};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

/// The transcript's name for a datagram exchange: the peer's address,
/// and in server role which of the runner's sockets was used.
fn channel(socket: &DatagramSocket, peer: SocketAddr) -> String {
    match socket {
        DatagramSocket::Service => format!("client {peer}"),
        DatagramSocket::Named(name) => format!("{name} ({peer})"),
    }
}

/// How often a wait for a datagram looks whether the program has ended.
const EXIT_CHECK: Duration = Duration::from_millis(50);

impl CaseRun<'_> {
    /// The next datagram on `which` before `deadline`; None at the
    /// deadline, or soon after the program has ended (a datagram it sent
    /// before ending is still taken), so that a program that died costs no
    /// full timeout.
    fn recv_while_running(
        &mut self,
        which: &DatagramSocket,
        deadline: Instant,
        expected: &str,
    ) -> Result<Option<(Vec<u8>, SocketAddr)>, Problem> {
        let failed = |e: std::io::Error| Problem::new(expected, format!("receiving failed: {e}"));
        loop {
            let slice = (Instant::now() + EXIT_CHECK).min(deadline);
            let received = self.socket(which)?.recv_from(slice).map_err(failed)?;
            if received.is_some() || Instant::now() >= deadline || crate::stop::requested() {
                return Ok(received);
            }
            if self.running.process.exit_status().is_some() {
                let lag = self.mutation.as_ref().map(|m| m.exit_lag());
                let last_look = Instant::now() + EXIT_CHECK + lag.unwrap_or_default();
                return self.socket(which)?.recv_from(last_look).map_err(failed);
            }
        }
    }

    /// The runner's socket for a step: in client role the one the target
    /// sends to; in server role the named one, bound on first use to a
    /// fresh loopback port of the target's address family.
    fn socket(&mut self, socket: &DatagramSocket) -> Result<&Datagrams, Problem> {
        let missing = || Problem::new("a socket", "the runner has no socket");
        let name = match socket {
            DatagramSocket::Service => return self.running.service.as_ref().ok_or_else(missing),
            DatagramSocket::Named(name) => name,
        };
        if !self.sockets.contains_key(name) {
            let local = if self.running.addr.is_ipv4() {
                SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
            } else {
                SocketAddr::from((Ipv6Addr::LOCALHOST, 0))
            };
            let network = &self.running.network;
            let mut bound = network.run(|| Datagrams::bind(local)).map_err(|e| {
                Problem::new(
                    "a datagram socket",
                    format!("the runner cannot bind a socket: {e}"),
                )
            })?;
            if let Ok(addr) = bound.local_addr() {
                self.transcript
                    .note(name, format!("runner socket bound to {addr}"));
            }
            bound.relay_through(self.mutation.as_ref().map(|m| m.datagrams()));
            self.sockets.insert(name.clone(), bound);
        }
        self.sockets.get(name).ok_or_else(missing)
    }

    pub(super) fn send_to(&mut self, socket: &DatagramSocket, payload: &Payload) -> StepResult {
        let bytes = render(payload, &self.captures);
        let to = if *socket == DatagramSocket::Service {
            self.running.last_sender.ok_or_else(|| {
                Problem::new(
                    "an address to reply to",
                    format!(
                        "the {} has not sent a datagram yet, so there is no address to reply to",
                        self.noun
                    ),
                )
            })?
        } else {
            self.running.addr
        };
        let noun = self.noun;
        self.socket(socket)?.send_to(&bytes, to).map_err(|e| {
            Problem::new(
                format!("to send a datagram to {to}"),
                format!("sending to the {noun} failed: {e}"),
            )
        })?;
        self.transcript
            .record(&channel(socket, to), Direction::Sent, &bytes);
        Ok(())
    }

    /// No datagram arrives on `which` for `window` (or until the program
    /// ended, after which none can come).
    pub(super) fn quiet_datagrams(
        &mut self,
        which: &DatagramSocket,
        window: Duration,
    ) -> StepResult {
        let deadline = crate::stop::deadline_after(window).min(self.case_deadline);
        let expected = format!("no datagram for {}", humantime::format_duration(window));
        let received = self.recv_while_running(which, deadline, &expected)?;
        let Some((data, from)) = received else {
            return Ok(());
        };
        self.transcript
            .record(&channel(which, from), Direction::Received, &data);
        Err(Problem::new(
            &expected,
            format!(
                "expected {expected} after the reply, but the {} sent another: {}",
                self.noun,
                Self::arrived(&data)
            ),
        )
        .with_actual(&data))
    }

    pub(super) fn recv_from(
        &mut self,
        which: &DatagramSocket,
        matcher: &Matcher,
        capture: Option<&str>,
        deadline: Instant,
        timeout: Duration,
    ) -> StepResult {
        let expectation = Expectation::new(matcher, &self.captures);
        let expected = format!("a datagram {}", expectation.describe());
        let noun = self.noun;
        let local = self
            .socket(which)?
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let received = self.recv_while_running(which, deadline, &expected)?;
        let Some((data, from)) = received else {
            let ended = self.running.process.exit_status().is_some();
            let message = if ended && *which == DatagramSocket::Service {
                format!("expected {expected}, but the {noun} ended without sending it")
            } else if ended {
                format!(
                    "expected {expected} back at the runner's address {local}, but none arrived before the {noun} ended (the {noun} must reply to the address the request came from)"
                )
            } else if *which == DatagramSocket::Service {
                format!(
                    "expected {expected} from the {noun} within {}, but none arrived",
                    humantime::format_duration(timeout)
                )
            } else {
                format!(
                    "expected {expected} back at the runner's address {local} within {}, but none arrived (the {noun} must reply to the address the request came from)",
                    humantime::format_duration(timeout)
                )
            };
            return Err(Problem::new(expected, message));
        };
        self.transcript
            .record(&channel(which, from), Direction::Received, &data);
        if *which == DatagramSocket::Service {
            self.running.last_sender = Some(from);
        }
        if !expectation.on_datagram(&data) {
            let article = if super::show::is_printable(&data) {
                "the datagram"
            } else {
                "a datagram of"
            };
            return Err(Problem::new(
                &expected,
                format!(
                    "expected {expected}, but the {noun} sent {article} {}",
                    Self::arrived(&data)
                ),
            )
            .with_actual(&data)
            .against(&expectation, "datagram"));
        }
        if let Some(capture) = capture {
            self.captures
                .insert(capture.to_string(), expectation.captured(&data));
        }
        Ok(())
    }
}
