//! `runner record`: write a spec by showing it. A session between the
//! teacher and the reference program becomes a draft spec; `--check`
//! runs a draft again against the same program.

use super::options::{announce_isolation, loopback_addr, parse_duration, LimitArgs, UsageError};
use super::{EXIT_FAILED, EXIT_PASSED};
use crate::program::{Confinement, TargetCommand};
use crate::record::{self, draft};
use crate::speclang::{Role, Transport};
use clap::{Parser, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// The side the program plays: `server` (the teacher's client connects
    /// to --listen) or `client` (its connections go to --upstream).
    #[arg(long, value_enum, required_unless_present = "check")]
    pub role: Option<RecordRole>,

    /// `tcp` or `udp`.
    #[arg(long, value_enum, default_value_t = RecordTransport::Tcp)]
    pub transport: RecordTransport,

    /// The reference program (as for `runner --target`), e.g.
    /// './server {host} {port}'.
    #[arg(long, value_name = "CMD", value_hint = clap::ValueHint::CommandString)]
    pub target: Option<String>,

    /// Where the program serves or connects, when it hard-codes its
    /// address (loopback only).
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,

    /// Server role: where the teacher connects (`nc`, a client of their
    /// own), on this machine's loopback.
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<String>,

    /// Client role: the server the program's connections are carried to
    /// (loopback only), e.g. the teacher's reference server.
    #[arg(long, value_name = "HOST:PORT")]
    pub upstream: Option<String>,

    /// The draft spec to write.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        required_unless_present = "check"
    )]
    pub output: Option<PathBuf>,

    /// Overwrite FILE if it exists.
    #[arg(long)]
    pub force: bool,

    /// How long a server may take to start listening.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    pub start_timeout: Duration,

    /// Instead of recording: run the draft FILE against the program it was
    /// recorded with (or --target), which must pass.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["role", "output", "listen", "upstream"])]
    pub check: Option<PathBuf>,

    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordRole {
    Server,
    Client,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordTransport {
    Tcp,
    Udp,
}

pub fn record(args: &RecordArgs) -> Result<u8, UsageError> {
    if let Some(file) = &args.check {
        return check(file, args);
    }
    let (Some(role), Some(output)) = (args.role, &args.output) else {
        return Err(UsageError::Other(String::from(
            "runner record needs --role and -o FILE",
        )));
    };
    let role = match role {
        RecordRole::Server => Role::Server,
        RecordRole::Client => Role::Client,
    };
    let transport = match args.transport {
        RecordTransport::Tcp => Transport::Tcp,
        RecordTransport::Udp => Transport::Udp,
    };
    let text = args.target.as_deref().ok_or_else(|| {
        UsageError::Other(String::from(
            "--target CMD is needed: the reference program to record",
        ))
    })?;
    let command = TargetCommand::parse(text)?;
    let addr = args.addr.as_deref().map(loopback_addr).transpose()?;
    let only_loopback = |flag: &str, text: &str| {
        crate::speclang::address::loopback_addr(text)
            .map_err(|why| UsageError::Other(format!("{flag} {text}: {why}")))
    };
    let listen = args
        .listen
        .as_deref()
        .map(|t| only_loopback("--listen", t))
        .transpose()?;
    let upstream = args
        .upstream
        .as_deref()
        .map(|t| only_loopback("--upstream", t))
        .transpose()?;
    match role {
        Role::Server if listen.is_none() => {
            return Err(UsageError::Other(String::from(
                "--role server needs --listen HOST:PORT: where you connect to the program",
            )))
        }
        Role::Client if upstream.is_none() => return Err(UsageError::Other(String::from(
            "--role client needs --upstream HOST:PORT: the server the program's connections go to",
        ))),
        _ => {}
    }
    if listen.is_some() && role == Role::Client {
        return Err(UsageError::Other(String::from(
            "--listen is for the server role; a client's connections go to --upstream",
        )));
    }
    if output.exists() && !args.force {
        return Err(UsageError::Other(format!(
            "{} exists; give --force to overwrite it, or another -o FILE",
            output.display()
        )));
    }
    if let (Some(listen), Some(addr), false) =
        (listen, addr, crate::sandbox::isolation().namespaces())
    {
        if listen == addr {
            return Err(UsageError::Other(format!(
                "--listen {listen} is the program's own address: choose another port"
            )));
        }
    }
    announce_isolation();
    let identity = crate::program::Identity::for_this_run(&args.limits.user)
        .map_err(|e| UsageError::Other(e.to_string()))?;
    let settings = args.limits.settings();
    let defaults = crate::program::Limits::default();
    let confinement = Confinement {
        limits: crate::program::Limits {
            cpu: settings.cpu.unwrap_or(defaults.cpu),
            memory: settings.memory.unwrap_or(defaults.memory),
            processes: settings.processes.unwrap_or(defaults.processes),
            file_size: defaults.file_size,
            output: settings.output.unwrap_or(defaults.output),
        },
        identity: identity.as_ref(),
        env: &args.limits.env,
        tools: &[],
        folder: None,
    };
    crate::signals::stop_on_signals();
    crate::program::become_subreaper();
    let prepared = command.prepared(&confinement).map_err(|failure| {
        UsageError::Other(format!(
            "the program could not be built: {}",
            failure.message
        ))
    })?;
    let confinement = Confinement {
        folder: prepared.folder(),
        ..confinement
    };
    let options = record::Options {
        role,
        transport,
        command: &prepared,
        addr,
        listen,
        upstream,
        start_timeout: args.start_timeout,
        confinement: &confinement,
    };
    let say = |text: &str| eprintln!("record: {text}");
    let recorded = record::record(&options, &say);
    crate::program::kill_leftovers();
    let recording = match recorded {
        Ok(recording) => recording,
        Err(why) => {
            eprintln!("error: {why}");
            return Ok(EXIT_FAILED);
        }
    };
    let name = spec_name(output);
    let file = output.display().to_string();
    let about = draft::About {
        name: &name,
        role,
        transport,
        target: text,
        reference: reference_of(text),
        addr,
        program_addr: recording.program_addr,
        file: &file,
    };
    let yaml = draft::draft(&about, &recording.events);
    write_file(output, &yaml, args.force)?;
    eprintln!("record: wrote {file}; check it with `runner record --check {file}`");
    Ok(EXIT_PASSED)
}

/// Writes the draft without ever replacing a file that appeared in the
/// meantime, unless told to.
fn write_file(path: &Path, text: &str, force: bool) -> Result<(), UsageError> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true);
    if force {
        open.create(true).truncate(true);
    } else {
        open.create_new(true);
    }
    let mut file = open
        .open(path)
        .map_err(|e| UsageError::Other(format!("cannot write {}: {e}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(|e| UsageError::Other(format!("cannot write {}: {e}", path.display())))
}

/// A spec name from the file's name: letters, digits, `-` and `_`.
fn spec_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name.trim_matches('-').is_empty() {
        String::from("recorded")
    } else {
        name
    }
}

/// The bundled reference a command runs (`runner __reference NAME ...`).
fn reference_of(target: &str) -> Option<&'static str> {
    let words = shell_words::split(target).ok()?;
    if words.get(1).map(String::as_str) != Some(crate::REFERENCE_SUBCOMMAND) {
        return None;
    }
    let name = words.get(2)?;
    fixtures::REFERENCES.iter().copied().find(|r| r == name)
}

/// `runner record --check FILE`: `runner FILE --target T [--addr A]`, with
/// the target and address the draft was recorded with unless given.
fn check(file: &Path, args: &RecordArgs) -> Result<u8, UsageError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| UsageError::Other(format!("cannot read {}: {e}", file.display())))?;
    let recorded = |prefix: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(prefix))
            .map(|value| value.trim().to_string())
    };
    let target = args
        .target
        .clone()
        .or_else(|| recorded(draft::TARGET_COMMENT));
    let addr = args.addr.clone().or_else(|| recorded(draft::ADDR_COMMENT));
    let mut argv = vec![String::from("runner"), file.display().to_string()];
    if let Some(target) = target {
        // A bundled reference runs from this very binary, wherever the
        // draft was recorded.
        match reference_of(&target) {
            Some(_) => {}
            None => argv.extend([String::from("--target"), target]),
        }
    }
    if let Some(addr) = addr {
        argv.extend([String::from("--addr"), addr]);
    }
    let cli = super::Cli::try_parse_from(&argv)
        .map_err(|e| UsageError::Other(format!("cannot check the draft: {e}")))?;
    super::run::run(&cli.run)
}
