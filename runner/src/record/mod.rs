//! `runner record`: a session between a teacher and a reference program,
//! relayed and recorded, becomes a draft spec.
//!
//! The program starts in its sandbox as in a normal run. In server role
//! the recorder listens on a loopback address of the host and carries
//! every connection (or datagram) made to it into the program's network;
//! in client role it listens where the program connects and carries each
//! connection to the teacher's upstream server. Lines typed on the
//! recorder's stdin go to the program's stdin. Everything is logged
//! (`log`) and turned into YAML (`draft`).

pub mod draft;
pub mod log;
mod relay;

use crate::program::{
    wait_until_serving, Confinement, Process, SocketKind, StartFailure, TargetCommand,
};
use crate::sandbox::Network;
use crate::speclang::{Role, Transport};
use log::{Event, Lines, Log, Side, What};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// What to record.
pub struct Options<'a> {
    pub role: Role,
    pub transport: Transport,
    /// The program, already built if it is a source file.
    pub command: &'a TargetCommand,
    /// `--addr`: where the program serves or connects (it hard-codes it);
    /// None: a fresh loopback port through `{host}` / `{port}`, or (server
    /// role) wherever it turns out to listen.
    pub addr: Option<SocketAddr>,
    /// Server role: where the teacher's client connects, on the host.
    pub listen: Option<SocketAddr>,
    /// Client role: the server the program's connections are carried to.
    pub upstream: Option<SocketAddr>,
    /// How long a server may take to start listening.
    pub start_timeout: Duration,
    pub confinement: &'a Confinement<'a>,
}

/// A finished recording.
pub struct Recording {
    pub events: Vec<Event>,
    /// Where the program served (server role) or was told to connect.
    pub program_addr: SocketAddr,
}

/// Runs the session until the program exits or a stop is requested
/// (Ctrl-C). `say` tells the teacher what is going on. An error means
/// nothing worth a draft was recorded.
pub fn record(options: &Options, say: &dyn Fn(&str)) -> Result<Recording, String> {
    let network = Network::for_target()
        .map_err(|e| format!("the runner cannot make the sandbox's network: {e}"))?;
    let start = Instant::now();
    let log = Log::new(start);
    let shared = relay::Shared::new(log.clone());
    let (mut process, program_addr) = match options.role {
        Role::Server => start_server(options, &network, &shared, say)?,
        Role::Client => start_client(options, &network, &shared, say)?,
    };
    say("recording: press Ctrl-C to stop and write the draft; lines typed here go to the program's stdin");
    let typed = read_stdin_lines();
    let (mut out, mut err) = (Lines::default(), Lines::default());
    let mut exited_at = None;
    loop {
        take_output(&process, &log, &mut out, &mut err);
        while let Ok(line) = typed.try_recv() {
            if let Some(prompt) = out.flush() {
                log.push(What::Stdout(prompt));
            }
            log.push(What::Stdin(line.clone()));
            let deadline = Instant::now() + Duration::from_secs(2);
            if let Err(e) = process.write_stdin(format!("{line}\n").as_bytes(), deadline) {
                say(&format!("the program did not take the typed line: {e}"));
            }
        }
        if let Some(status) = process.exit_status() {
            let at = Instant::now();
            exited_at.get_or_insert(at);
            // Let the last exchanges finish: a peer's close after the
            // program's, the program's last words.
            let settled = shared.live.load(Ordering::SeqCst) == 0;
            if settled || at.duration_since(exited_at.unwrap_or(at)) > Duration::from_secs(1) {
                process.stdout.wait_closed(at + Duration::from_millis(300));
                process.stderr.wait_closed(at + Duration::from_millis(300));
                take_output(&process, &log, &mut out, &mut err);
                log.push(What::Exit(status.code()));
                say(&format!(
                    "the program {}",
                    crate::program::describe_status(status)
                ));
                break;
            }
        }
        if crate::stop::requested() {
            take_output(&process, &log, &mut out, &mut err);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Some(rest) = out.flush() {
        log.push(What::Stdout(rest));
    }
    if let Some(rest) = err.flush() {
        log.push(What::Stderr(rest));
    }
    shared.finish();
    process.stop();
    let events = log.events();
    if !events.iter().any(|e| matches!(e.what, What::Net { .. })) {
        return Err(String::from(
            "nothing was recorded: no connection or datagram reached the program",
        ));
    }
    Ok(Recording {
        events,
        program_addr,
    })
}

fn start_server(
    options: &Options,
    network: &Network,
    shared: &relay::Shared,
    say: &dyn Fn(&str),
) -> Result<(Process, SocketAddr), String> {
    let listen = options
        .listen
        .ok_or("the server role needs --listen HOST:PORT")?;
    let cannot = |e: std::io::Error| format!("cannot listen on {listen}: {e}");
    // The teacher's side is bound first: a taken address fails before the
    // program is started.
    enum Front {
        Tcp(TcpListener),
        Udp(UdpSocket),
    }
    let front = match options.transport {
        Transport::Tcp => Front::Tcp(TcpListener::bind(listen).map_err(cannot)?),
        Transport::Udp => Front::Udp(UdpSocket::bind(listen).map_err(cannot)?),
    };
    let expected = match options.addr {
        Some(addr) => Some(addr),
        None if options.command.has_placeholders() => {
            Some(crate::program::free_port(options.transport, network)?)
        }
        None => None,
    };
    let mut process = Process::spawn(
        &options.command.argv_for(expected),
        options.confinement,
        network,
    )
    .map_err(|e| format!("the program could not be started: {e}"))?;
    let kind = match options.transport {
        Transport::Tcp => SocketKind::TcpListening,
        Transport::Udp => SocketKind::UdpBound,
    };
    let deadline = Instant::now() + options.start_timeout;
    // Where the relay connects: `wait_until_serving` gives an address the
    // runner reaches (loopback for a program listening on every address).
    let addr = match wait_until_serving(&mut process, kind, expected, deadline) {
        Ok(addr) => addr,
        Err(failure) => {
            if matches!(failure, StartFailure::Exited { .. }) {
                process
                    .stderr
                    .wait_closed(Instant::now() + Duration::from_millis(500));
            }
            let tail = process.stderr.snapshot().last_lines(5);
            process.stop();
            let mut message = format!(
                "{}; nothing was recorded and no file was written",
                failure.describe("program")
            );
            if !tail.trim().is_empty() {
                message.push_str(&format!("\nits stderr ends with:\n{}", tail.trim_end()));
            }
            return Err(message);
        }
    };
    let inside = network.clone();
    let started = match front {
        Front::Tcp(listener) => relay::tcp(shared, listener, Side::Runner, move || {
            inside.run(|| TcpStream::connect_timeout(&addr, Duration::from_secs(2)))
        }),
        Front::Udp(socket) => relay::udp(shared, socket, Side::Runner, move || {
            inside.run(|| {
                let socket = UdpSocket::bind(loopback_any(addr))?;
                socket.connect(addr)?;
                Ok(socket)
            })
        }),
    };
    started.map_err(|e| format!("cannot relay on {listen}: {e}"))?;
    say(&format!(
        "the program serves on {addr}; connect to {listen} ({}) to talk to it",
        match options.transport {
            Transport::Tcp => "TCP",
            Transport::Udp => "UDP",
        }
    ));
    Ok((process, addr))
}

fn start_client(
    options: &Options,
    network: &Network,
    shared: &relay::Shared,
    say: &dyn Fn(&str),
) -> Result<(Process, SocketAddr), String> {
    let upstream = options
        .upstream
        .ok_or("the client role needs --upstream HOST:PORT, the server to relay to")?;
    let bind_at = match options.addr {
        Some(addr) => addr,
        None if options.command.has_placeholders() => SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        None => {
            return Err(String::from(
                "a client must be told where to connect: put {host} and {port} in the command, or give --addr",
            ))
        }
    };
    let cannot = |e: std::io::Error| format!("cannot listen on {bind_at} for the program: {e}");
    let addr = match options.transport {
        Transport::Tcp => {
            let listener = network.run(|| TcpListener::bind(bind_at)).map_err(cannot)?;
            let addr = listener.local_addr().map_err(cannot)?;
            relay::tcp(shared, listener, Side::Program, move || {
                TcpStream::connect_timeout(&upstream, Duration::from_secs(2))
            })
            .map_err(cannot)?;
            addr
        }
        Transport::Udp => {
            let socket = network.run(|| UdpSocket::bind(bind_at)).map_err(cannot)?;
            let addr = socket.local_addr().map_err(cannot)?;
            relay::udp(shared, socket, Side::Program, move || {
                let socket = UdpSocket::bind(loopback_any(upstream))?;
                socket.connect(upstream)?;
                Ok(socket)
            })
            .map_err(cannot)?;
            addr
        }
    };
    let process = Process::spawn(
        &options.command.argv_for(Some(addr)),
        options.confinement,
        network,
    )
    .map_err(|e| format!("the program could not be started: {e}"))?;
    say(&format!(
        "the program connects to {addr}; its connections are carried to {upstream}"
    ));
    Ok((process, addr))
}

/// A fresh port on the loopback address of `like`'s family.
fn loopback_any(like: SocketAddr) -> SocketAddr {
    match like {
        SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
    }
}

/// New lines of the program's stdout and stderr, into the log.
fn take_output(process: &Process, log: &Log, out: &mut Lines, err: &mut Lines) {
    for line in out.feed(&process.stdout.snapshot().head) {
        log.push(What::Stdout(line));
    }
    for line in err.feed(&process.stderr.snapshot().head) {
        log.push(What::Stderr(line));
    }
}

/// Lines typed on the recorder's stdin, as they come. The end of its
/// input ends nothing: a recording driven without a keyboard has none.
fn read_stdin_lines() -> std::sync::mpsc::Receiver<String> {
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut line = String::new();
        loop {
            line.clear();
            match stdin.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let text = line.trim_end_matches('\n').trim_end_matches('\r');
                    if sender.send(text.to_string()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    lines
}
