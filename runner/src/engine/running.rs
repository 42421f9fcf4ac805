//! A started target and the runner's own sockets that go with it: where
//! it serves, or where the runner listens for it.

use crate::net::Datagrams;
use crate::program::{
    time_wait_on, wait_until_serving, Confinement, OutputSnapshot, Process, SocketKind,
    StartFailure, TargetCommand,
};
use crate::sandbox::Network;
use crate::speclang::{Role, Spec, Transport};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::{Duration, Instant};

/// Where the target is to serve (or connect to).
#[derive(Debug, Clone, Copy)]
pub enum AddressPlan {
    /// `--addr`: the program hard-codes this address.
    Fixed(SocketAddr),
    /// A free loopback port, passed in through `{host}` / `{port}`.
    Fresh,
    /// The program hard-codes an address we were not told: watch which
    /// socket it opens.
    Discover,
}

pub struct Running {
    pub process: Process,
    /// The limits the target runs under, to name the one it ran into.
    pub limits: crate::program::Limits,
    /// Where the runner opens the case's sockets: the target's network.
    pub network: Network,
    /// Where the target serves (server role) or where the runner listens
    /// for it (client role).
    pub addr: SocketAddr,
    /// Client role, TCP: the runner's listening socket.
    pub listener: Option<TcpListener>,
    /// Client role, UDP: the runner's socket the client sends to.
    pub service: Option<Datagrams>,
    /// Client role, UDP: who sent the last datagram, to reply to.
    pub last_sender: Option<SocketAddr>,
    /// How much of stdout / stderr earlier steps have consumed.
    pub stdout_from: usize,
    pub stderr_from: usize,
    /// The program's language, if known: it picks the cases' hints.
    pub language: Option<crate::speclang::Language>,
    /// A prebuilt statically linked program, whose unflushed output the
    /// runner cannot make unbuffered: said with a failed output step.
    pub static_binary: bool,
    /// Cases run on this target so far (more than one with `restart: once`).
    pub cases_run: u32,
    /// `runner mutate`: the mutant the runner sees instead of the program.
    pub mutation: Option<std::sync::Arc<crate::mutate::Mutation>>,
}

/// A target that failed to start properly, and what it printed (why).
pub struct TargetStartError {
    pub failure: StartFailure,
    /// The limits it ran into, in words.
    pub limits_hit: Vec<String>,
    pub stdout: OutputSnapshot,
    pub stderr: OutputSnapshot,
}

/// Why a start failed, and whose fault it is.
pub enum StartError {
    /// The runner could not set up (e.g. its listening port is taken).
    Harness(String),
    /// The target failed to start properly; what it printed tells why.
    Target(Box<TargetStartError>),
}

impl StartError {
    /// Where the program listens instead of the address it was to serve,
    /// if it listens elsewhere: a wrong address in the program or in
    /// `--addr`, the same at every start.
    pub fn serving_elsewhere(&self) -> Option<(SocketAddr, &[SocketAddr])> {
        let StartError::Target(started) = self else {
            return None;
        };
        match &started.failure {
            StartFailure::NotListening {
                expected: Some(expected),
                seen,
                ..
            } if !seen.is_empty() => Some((*expected, seen)),
            _ => None,
        }
    }
}

impl Running {
    pub fn start(
        spec: &Spec,
        command: &TargetCommand,
        plan: AddressPlan,
        confinement: &Confinement,
        case_deadline: Instant,
    ) -> Result<Running, StartError> {
        // A network of its own per target: an address it hard-codes is
        // private to it, and never in TIME_WAIT from an earlier case.
        let network = Network::for_target().map_err(|e| {
            StartError::Harness(format!("the runner cannot make the sandbox's network: {e}"))
        })?;
        let mut running = match spec.target.role {
            Role::Server => {
                Self::start_server(spec, command, plan, confinement, network, case_deadline)
            }
            Role::Client => Self::start_client(spec, command, plan, confinement, network),
        }?;
        running.language = command.language();
        running.static_binary = command.is_static_binary();
        Ok(running)
    }

    fn start_server(
        spec: &Spec,
        command: &TargetCommand,
        plan: AddressPlan,
        confinement: &Confinement,
        network: Network,
        case_deadline: Instant,
    ) -> Result<Running, StartError> {
        let expected = match plan {
            AddressPlan::Fixed(addr)
                if spec.target.transport == Transport::Tcp
                    && !network.is_private()
                    && time_wait_on(addr) =>
            {
                return Err(StartError::Harness(format!(
                    "{addr} is in TIME_WAIT from an earlier connection (it clears within 60 s): a program that binds it without SO_REUSEADDR would fail through no fault of its own; run again in a minute"
                )));
            }
            AddressPlan::Fixed(addr) => Some(addr),
            AddressPlan::Fresh => Some(
                crate::program::free_port(spec.target.transport, &network)
                    .map_err(StartError::Harness)?,
            ),
            AddressPlan::Discover => None,
        };
        let mut process = Process::spawn(&command.argv_for(expected), confinement, &network)
            .map_err(spawn_failed)?;
        let kind = match spec.target.transport {
            Transport::Tcp => SocketKind::TcpListening,
            Transport::Udp => SocketKind::UdpBound,
        };
        let deadline = crate::stop::deadline_after(spec.target.start_timeout).min(case_deadline);
        let addr = match wait_until_serving(&mut process, kind, expected, deadline) {
            Ok(addr) => addr,
            Err(failure) => {
                // Let the pumps collect the last words of a program that
                // died (its traceback), without waiting on one that did not.
                let settle = Instant::now() + Duration::from_millis(500);
                if matches!(failure, StartFailure::Exited { .. }) {
                    process.stderr.wait_closed(settle);
                    process.stdout.wait_closed(settle);
                }
                return Err(StartError::Target(Box::new(TargetStartError {
                    failure,
                    limits_hit: process.limits_hit(&confinement.limits),
                    stdout: process.stdout.snapshot(),
                    stderr: process.stderr.snapshot(),
                })));
            }
        };
        Ok(Running::new(process, network, confinement.limits, addr))
    }

    fn start_client(
        spec: &Spec,
        command: &TargetCommand,
        plan: AddressPlan,
        confinement: &Confinement,
        network: Network,
    ) -> Result<Running, StartError> {
        let bind_at = match plan {
            AddressPlan::Fixed(addr) => addr,
            AddressPlan::Fresh => SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            AddressPlan::Discover => {
                return Err(StartError::Harness(String::from(
                    "a client target must be told where to connect: put {host} and {port} in the command, or give --addr",
                )))
            }
        };
        let cannot = |e: std::io::Error| {
            StartError::Harness(format!("the runner cannot listen on {bind_at}: {e}"))
        };
        let (listener, service, addr) = match spec.target.transport {
            Transport::Tcp => {
                let listener = network.run(|| TcpListener::bind(bind_at)).map_err(cannot)?;
                let addr = listener.local_addr().map_err(cannot)?;
                (Some(listener), None, addr)
            }
            Transport::Udp => {
                let socket = network.run(|| Datagrams::bind(bind_at)).map_err(cannot)?;
                let addr = socket.local_addr().map_err(cannot)?;
                (None, Some(socket), addr)
            }
        };
        let process = Process::spawn(&command.argv_for(Some(addr)), confinement, &network)
            .map_err(spawn_failed)?;
        let mut running = Running::new(process, network, confinement.limits, addr);
        running.listener = listener;
        running.service = service;
        Ok(running)
    }

    fn new(
        process: Process,
        network: Network,
        limits: crate::program::Limits,
        addr: SocketAddr,
    ) -> Running {
        Running {
            process,
            limits,
            network,
            addr,
            listener: None,
            service: None,
            last_sender: None,
            stdout_from: 0,
            stderr_from: 0,
            language: None,
            static_binary: false,
            cases_run: 0,
            mutation: None,
        }
    }
}

fn spawn_failed(error: std::io::Error) -> StartError {
    StartError::Target(Box::new(TargetStartError {
        failure: StartFailure::Spawn(error),
        limits_hit: Vec::new(),
        stdout: OutputSnapshot::default(),
        stderr: OutputSnapshot::default(),
    }))
}
