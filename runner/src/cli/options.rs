//! What several commands share: limit flags, spec arguments, addresses,
//! the case selection, report files, and the one error type of bad input.

use crate::engine::Selection;
use crate::speclang::{self as spec, LimitSettings, Spec};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

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

/// Limits and environment of the targets, for `runner` and `runner grade`.
#[derive(Debug, clap::Args)]
pub struct LimitArgs {
    /// CPU time per target process [default: 10s, or the spec's].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Limits")]
    pub max_cpu: Option<Duration>,

    /// Memory of a target, all its processes together, e.g. 512MiB [default: 1GiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_memory, help_heading = "Limits")]
    pub max_memory: Option<u64>,

    /// Processes (threads) of a target, all together [default: 64].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Limits")]
    pub max_procs: Option<u64>,

    /// Wall time for one case, target start included [default: 60s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Limits")]
    pub max_case_time: Option<Duration>,

    /// Bytes of each target output stream kept whole [default: 1MiB];
    /// past them the middle is dropped and counted, the last 64 KiB kept.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Limits")]
    pub max_output: Option<u64>,

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

impl LimitArgs {
    pub fn settings(&self) -> LimitSettings {
        LimitSettings {
            cpu: self.max_cpu,
            memory: self.max_memory,
            processes: self.max_procs,
            case_time: self.max_case_time,
            output: self.max_output,
        }
    }
}

/// Says on stderr how targets are confined on this machine, when it is
/// less than a full sandbox.
pub fn announce_isolation() {
    for note in isolation_notes() {
        eprintln!("{note}");
    }
}

/// What `announce_isolation` says, one line each.
pub fn isolation_notes() -> Vec<String> {
    let mut notes = Vec::new();
    if let crate::sandbox::Isolation::ProcessGroup { reason } = crate::sandbox::isolation() {
        notes.push(format!(
            "warning: targets are not sandboxed ({reason}): each runs in a process group of its own, and shares the network, files and processes of this machine"
        ));
    }
    if let Some(note) = crate::sandbox::limits_notice() {
        notes.push(format!("note: {note}"));
    }
    notes
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

pub fn parse_duration(text: &str) -> Result<Duration, String> {
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

pub fn parse_partition(text: &str) -> Result<crate::partition::Partition, String> {
    crate::partition::Partition::parse(text)
}

/// The case selection flags that `runner`, `runner list` and `runner
/// grade` share.
#[derive(Debug, Clone, clap::Args)]
pub struct SelectArgs {
    /// Run only the cases whose id (or spec/id) matches; `*` is a wildcard.
    /// Repeatable: a case runs if it matches any.
    #[arg(long = "case", value_name = "PATTERN")]
    pub cases: Vec<String>,

    /// Do not run the cases whose id (or spec/id) matches, even if --case
    /// names them. Repeatable.
    #[arg(long = "skip", value_name = "PATTERN")]
    pub skip: Vec<String>,

    /// Also run the cases carrying this tag (off by default); `all` for all.
    /// Repeatable.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
}

/// The selection of `--case`, `--skip` and `--tag`, checked against the
/// specs: a tag no case carries is a typo, not an empty run.
pub fn selection(specs: &[&Spec], args: &SelectArgs) -> Result<Selection, UsageError> {
    let tags = &args.tags;
    let known_tags: std::collections::BTreeSet<&str> = specs
        .iter()
        .flat_map(|s| {
            s.cases
                .iter()
                .flat_map(|c| c.tags.iter().map(String::as_str))
        })
        .collect();
    if let Some(unknown) = tags
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
    Ok(Selection {
        patterns: args.cases.clone(),
        skip: args.skip.clone(),
        tags: tags.to_vec(),
        partition: None,
    })
}

/// Opens a report file for writing, never through a symbolic link: a
/// submission folder may carry one pointing anywhere, and the runner is
/// often root.
pub fn create_report_file(path: &Path) -> Result<std::fs::File, UsageError> {
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
    crate::report::create_file(path).map_err(|e| match e.raw_os_error() {
        Some(nix::libc::ELOOP) => refuse(String::from(
            "it is a symbolic link; give the path of a regular file",
        )),
        _ => refuse(e.to_string()),
    })
}

pub use crate::speclang::STDIN_ARG;

/// Refuses a command line that would read stdin twice.
pub fn stdin_at_most_once<'a>(
    args: impl IntoIterator<Item = &'a String>,
) -> Result<(), UsageError> {
    Ok(crate::speclang::select::stdin_at_most_once(args)?)
}

/// Spec arguments: files, folders (every *.yaml inside), bundled names,
/// and `-` for one spec on stdin (see `speclang::select`).
pub fn load_specs(args: &[String]) -> Result<Vec<Spec>, UsageError> {
    Ok(crate::speclang::load_specs(args)?)
}

/// Parses `--addr`: a loopback address only (see `speclang::address`).
pub fn loopback_addr(text: &str) -> Result<SocketAddr, UsageError> {
    crate::speclang::address::loopback_addr(text)
        .map_err(|why| UsageError::Other(format!("--addr {text}: {why}")))
}
