//! The command line: parse arguments, load specs, run, report, exit code.

use crate::engine::{self, RunOptions, Selection, Verdict};
use crate::program::TargetCommand;
use crate::report::{self, human::Human, Collected};
use crate::spec::{self, LimitSettings, Spec, Transport};
use clap::{Parser, ValueEnum};
use std::io::{IsTerminal, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Exit codes: the contract graders script against.
pub const EXIT_PASSED: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
/// The run was stopped by a signal (Ctrl-C): 128 + SIGINT, as shells do.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Runs socket-programming conformance specs against a program over real
/// loopback sockets, and reports pass/fail per case with evidence.
///
/// With no SPEC, every bundled spec runs against its bundled reference
/// implementation. Exit code: 0 all passed, 1 a case failed, 2 spec or
/// usage error, 130 interrupted.
#[derive(Debug, Parser)]
#[command(name = "runner", version, after_help = AFTER_HELP)]
pub struct Args {
    /// Spec files, folders of specs, or names of bundled specs
    /// (e.g. tcp-upper-server).
    #[arg(value_name = "SPEC")]
    pub specs: Vec<String>,

    /// The program under test: an executable, a .py file, or a command line
    /// with {host} and {port} placeholders.
    #[arg(long, value_name = "CMD")]
    pub target: Option<String>,

    /// Where a program that hard-codes its address serves or connects
    /// (loopback only), e.g. 127.1.1.1:8900.
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,

    /// Run only the cases whose id (or spec/id) matches; `*` is a wildcard.
    #[arg(long = "case", value_name = "PATTERN")]
    pub case: Option<String>,

    /// Also run the cases carrying this tag (off by default); `all` for all.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,

    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Also write the report in --format to this file (the human report
    /// still goes to stdout).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// List the selected specs and cases instead of running them.
    #[arg(long)]
    pub list: bool,

    /// Print the YAML of the given specs (bundled ones too) and exit.
    #[arg(long)]
    pub show: bool,

    /// Colour in the human report.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    /// CPU time per target process [default: 10s, or the spec's].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Limits")]
    pub max_cpu: Option<Duration>,

    /// Memory (address space) per target process, e.g. 512MiB [default: 1GiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_memory, help_heading = "Limits")]
    pub max_memory: Option<u64>,

    /// Processes (threads) the target may add to its user's [default: 64].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Limits")]
    pub max_procs: Option<u64>,

    /// Wall time for one case, target start included [default: 60s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Limits")]
    pub max_case_time: Option<Duration>,

    /// Bytes of each target output stream kept whole [default: 1MiB];
    /// past them the middle is dropped and counted, the last 64 KiB kept.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Limits")]
    pub max_output: Option<u64>,

    /// Wall time for the whole run; cases not reached are not run.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Limits")]
    pub deadline: Option<Duration>,

    /// Pass a variable to the target: NAME takes the runner's value,
    /// NAME=VALUE sets one. Targets otherwise get a cleared environment.
    #[arg(long = "env", value_name = "NAME[=VALUE]", value_parser = parse_env)]
    pub env: Vec<(String, String)>,

    /// When the runner is root and namespaces are not available, the
    /// unprivileged user targets run as.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "nobody",
        help_heading = "Limits"
    )]
    pub user: String,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    let (name, value) = match text.split_once('=') {
        Some((name, value)) => (name, Some(value.to_string())),
        None => (text, None),
    };
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!("`{name}` is not a variable name"));
    }
    let value = match value {
        Some(value) => value,
        None => std::env::var(name).map_err(|_| {
            format!("`{name}` is not set in the runner's environment; give NAME=VALUE")
        })?,
    };
    Ok((name.to_string(), value))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(format!(
            "`{text}` is not a positive duration such as 10s or 500ms"
        )),
    }
}

fn parse_memory(text: &str) -> Result<u64, String> {
    let size = parse_size(text)?;
    if size < crate::program::MIN_MEMORY {
        return Err(format!(
            "`{text}` is too little: below {} MiB no program can even start",
            crate::program::MIN_MEMORY >> 20
        ));
    }
    Ok(size)
}

fn parse_size(text: &str) -> Result<u64, String> {
    crate::program::parse_size(text)
        .ok_or_else(|| format!("`{text}` is not a size such as 512MiB or 1GiB"))
}

const AFTER_HELP: &str = "Examples:
  runner                                          all bundled specs against the bundled references
  runner tcp-upper-server --target server.py --addr 127.1.1.1:8900
  runner tcp-chat-server --target './server {host} {port}' --format json
  runner my-spec.yaml --target ./a.out --case 'greet*'";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Junit,
    Tap,
    /// Gradescope autograder results.json.
    Gradescope,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// A problem with the command line or the specs: exit 2, one message.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    #[error(transparent)]
    Target(#[from] crate::program::CommandError),
    #[error("{0}")]
    Other(String),
}

pub fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run(args: &Args) -> Result<u8, UsageError> {
    let specs = load_specs(&args.specs)?;
    let target = match &args.target {
        Some(text) => {
            if args.specs.is_empty() {
                return Err(UsageError::Other(String::from(
                    "--target needs the spec(s) to check it against, e.g. `runner tcp-upper-server --target server.py`",
                )));
            }
            Some(TargetCommand::parse(text)?)
        }
        None => None,
    };
    let addr = args.addr.as_deref().map(loopback_addr).transpose()?;
    let known_tags: std::collections::BTreeSet<&str> = specs
        .iter()
        .flat_map(|s| {
            s.cases
                .iter()
                .flat_map(|c| c.tags.iter().map(String::as_str))
        })
        .collect();
    if let Some(unknown) = args
        .tags
        .iter()
        .find(|t| *t != "all" && !known_tags.contains(t.as_str()))
    {
        let known: Vec<&str> = known_tags.into_iter().collect();
        return Err(UsageError::Other(format!(
            "--tag {unknown}: no case of these specs has that tag (tags here: {})",
            if known.is_empty() {
                String::from("none")
            } else {
                known.join(", ")
            }
        )));
    }
    let selection = Selection {
        pattern: args.case.clone(),
        tags: args.tags.clone(),
    };
    if args.list {
        list(&specs, &selection);
        return Ok(EXIT_PASSED);
    }
    if args.show {
        for spec in &specs {
            println!(
                "# {}\n{}",
                spec.source,
                spec::source_text(&spec.source).unwrap_or_default()
            );
        }
        return Ok(EXIT_PASSED);
    }
    if target.is_none() {
        if let Some(spec) = specs.iter().find(|s| s.target.reference.is_none()) {
            return Err(UsageError::Other(format!(
                "{}: the spec names no reference program, so it needs --target",
                spec.source
            )));
        }
    }

    let selected = specs
        .iter()
        .map(|s| s.cases.iter().filter(|c| selection.includes(s, c)).count())
        .sum::<usize>();
    if selected == 0 {
        return Err(UsageError::Other(String::from(
            "no case matches --case/--tag; `runner --list` shows the cases",
        )));
    }
    let isolation = crate::sandbox::isolation();
    if let crate::sandbox::Isolation::ProcessGroup { reason } = isolation {
        eprintln!(
            "warning: targets are not sandboxed ({reason}): each runs in a process group of its own, and shares the network, files and processes of this machine"
        );
    }
    if let Some(note) = crate::sandbox::limits_notice() {
        eprintln!("note: {note}");
    }
    if let (Some(addr), false) = (addr, isolation.namespaces()) {
        // In a sandbox the address is the target's own; on the host, a
        // program already holding it would fail every case.
        check_addr_free(addr, &specs)?;
    }
    let identity = crate::program::Identity::for_this_run(&args.user)
        .map_err(|e| UsageError::Other(e.to_string()))?;
    let options = RunOptions {
        target,
        addr,
        selection,
        limits: LimitSettings {
            cpu: args.max_cpu,
            memory: args.max_memory,
            processes: args.max_procs,
            case_time: args.max_case_time,
            output: args.max_output,
        },
        identity,
        env: args.env.clone(),
        deadline: args.deadline.map(crate::stop::deadline_after),
    };
    crate::signals::stop_on_signals();
    crate::program::become_subreaper();
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    // The report file is opened before anything runs: a path that cannot
    // be written is a usage error, not a lost report after the run.
    let mut output_file = match &args.output {
        Some(path) => Some(create_report_file(path)?),
        None => None,
    };
    let human_on_stdout = args.format == Format::Human || args.output.is_some();
    let mut human = Human::new(std::io::stdout().lock(), color);
    let mut human_file = match (&output_file, args.format) {
        (Some(file), Format::Human) => file.try_clone().ok().map(|f| Human::new(f, false)),
        _ => None,
    };
    let mut collected = Collected::default();
    let summary = engine::run(&specs, &options, &mut |event| {
        if human_on_stdout {
            human.event(event);
        }
        if let Some(file) = &mut human_file {
            file.event(event);
        }
        collected.event(event);
    });
    crate::program::kill_leftovers();
    drop(human);
    let rendered = match args.format {
        Format::Human => None,
        Format::Json => Some(report::json::render(&collected)),
        Format::Junit => Some(report::junit::render(&collected)),
        Format::Tap => Some(report::tap::render(&collected)),
        Format::Gradescope => Some(report::gradescope::render(&collected)),
    };
    if let Some(text) = rendered {
        let written = match &mut output_file {
            Some(file) => file.write_all(text.as_bytes()),
            // A reader that went away (`| head`) is not the run's problem.
            None => match writeln!(std::io::stdout(), "{text}") {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other,
            },
        };
        written.map_err(|e| UsageError::Other(format!("cannot write the report: {e}")))?;
    }
    if summary.interrupted && crate::stop::requested() {
        return Ok(EXIT_INTERRUPTED);
    }
    let all_passed = collected
        .outcomes
        .iter()
        .all(|o| o.verdict == Verdict::Pass);
    Ok(
        if all_passed && summary.total() > 0 && !summary.interrupted {
            EXIT_PASSED
        } else {
            EXIT_FAILED
        },
    )
}

/// Opens a report file for writing, never through a symbolic link: a
/// submission folder may carry one pointing anywhere, and the runner is
/// often root.
fn create_report_file(path: &Path) -> Result<std::fs::File, UsageError> {
    use std::os::unix::fs::OpenOptionsExt;
    let refuse = |why: String| {
        UsageError::Other(format!(
            "cannot write the report to {}: {why}",
            path.display()
        ))
    };
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(refuse(String::from(
            "it is a symbolic link; give the path of a regular file",
        )));
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(nix::libc::ELOOP) => refuse(String::from(
                "it is a symbolic link; give the path of a regular file",
            )),
            _ => refuse(e.to_string()),
        })
}

/// Spec arguments: files, folders (every *.yaml inside), bundled names.
fn load_specs(args: &[String]) -> Result<Vec<Spec>, UsageError> {
    if args.is_empty() {
        return Ok(spec::bundled()?);
    }
    let mut specs = Vec::new();
    for arg in args {
        let path = Path::new(arg);
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| UsageError::Other(format!("{arg}: cannot read the folder: {e}")))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .is_some_and(|ext| ext == "yaml" || ext == "yml")
                })
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(UsageError::Other(format!(
                    "{arg}: the folder holds no .yaml specs"
                )));
            }
            for file in files {
                specs.push(spec::load_file(&file)?);
            }
        } else if path.exists() {
            specs.push(spec::load_file(path)?);
        } else if let Some(bundled) = spec::bundled_named(arg) {
            specs.push(bundled?);
        } else {
            return Err(UsageError::Other(format!(
                "{arg}: no such spec file, and no bundled spec of that name (bundled: {})",
                spec::bundled_names().join(", ")
            )));
        }
    }
    Ok(specs)
}

/// Parses `--addr` and refuses anything but loopback: the runner only
/// ever sends traffic to this machine.
fn loopback_addr(text: &str) -> Result<SocketAddr, UsageError> {
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| UsageError::Other(format!("--addr {text}: not a HOST:PORT address ({e})")))?
        .collect();
    let Some(addr) = addrs.iter().find(|a| a.ip().is_loopback()) else {
        return Err(UsageError::Other(format!(
            "--addr {text}: only loopback addresses (127.0.0.0/8, ::1) may be targets"
        )));
    };
    if addr.port() == 0 {
        return Err(UsageError::Other(format!(
            "--addr {text}: the port must not be 0"
        )));
    }
    Ok(*addr)
}

/// `--addr` must be free before a target is started there: a program
/// already holding it would make every case fail for a reason that is not
/// the submission's.
fn check_addr_free(addr: SocketAddr, specs: &[Spec]) -> Result<(), UsageError> {
    for transport in [Transport::Tcp, Transport::Udp] {
        if !specs.iter().any(|s| s.target.transport == transport) {
            continue;
        }
        let bound = match transport {
            Transport::Tcp => std::net::TcpListener::bind(addr).map(drop),
            Transport::Udp => std::net::UdpSocket::bind(addr).map(drop),
        };
        if let Err(e) = bound {
            let name = if transport == Transport::Tcp {
                "TCP"
            } else {
                "UDP"
            };
            return Err(UsageError::Other(format!(
                "--addr {addr}: the {name} port is already in use ({e}); stop the program holding it or choose another address"
            )));
        }
    }
    Ok(())
}

fn list(specs: &[Spec], selection: &Selection) {
    for spec in specs {
        println!("{} ({}): {}", spec.name, spec.source, spec.title);
        for case in spec.cases.iter().filter(|c| selection.includes(spec, c)) {
            let tags = if case.tags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", case.tags.join(", "))
            };
            println!("  {:<28} {} pt  {}{tags}", case.id, case.points, case.about);
        }
    }
}
