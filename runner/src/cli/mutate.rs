//! `runner mutate SPEC`: how strong a spec is, by running it against
//! mutants of its reference program (or of `--target`).

use super::options::{
    announce_isolation, load_specs, loopback_addr, selection, LimitArgs, SelectArgs, UsageError,
};
use super::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_PASSED};
use crate::engine::RunOptions;
use crate::mutate::{self, Mutation};
use crate::program::TargetCommand;
use clap::ValueEnum;
use std::io::Write;
use std::sync::Arc;

/// Mutants run at a time when each target has a network of its own:
/// most of a mutant's time is spent waiting for timeouts.
const JOBS: usize = 4;

#[derive(Debug, clap::Args)]
pub struct MutateArgs {
    /// The spec to measure: a spec file or the name of a bundled spec.
    #[arg(value_name = "SPEC", value_hint = clap::ValueHint::AnyPath)]
    pub spec: String,

    /// The program to mutate (as for `runner --target`); the spec's
    /// reference when not given.
    #[arg(long, value_name = "CMD", value_hint = clap::ValueHint::CommandString)]
    pub target: Option<String>,

    /// Where the program serves or connects, when it hard-codes its
    /// address (loopback only).
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,

    #[command(flatten)]
    pub select: SelectArgs,

    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t = MutateFormat::Human)]
    pub format: MutateFormat,

    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MutateFormat {
    Human,
    Json,
    /// The matrix as a page of its own.
    Html,
}

/// Exit 0 when the program passes the spec, every fault that took effect
/// is killed and no harmless variation is; 1 otherwise.
pub fn mutate(args: &MutateArgs) -> Result<u8, UsageError> {
    let mut specs = load_specs(std::slice::from_ref(&args.spec))?;
    if specs.len() != 1 {
        return Err(UsageError::Other(format!(
            "{}: runner mutate measures one spec at a time; this names {}",
            args.spec,
            specs.len()
        )));
    }
    let spec = specs.remove(0);
    let target = args
        .target
        .as_deref()
        .map(TargetCommand::parse)
        .transpose()?;
    if target.is_none() && spec.target.reference.is_none() {
        return Err(UsageError::Other(format!(
            "{}: the spec names no reference program, so it needs --target",
            spec.source
        )));
    }
    let addr = args.addr.as_deref().map(loopback_addr).transpose()?;
    let selection = selection(&[&spec], &args.select)?;
    if selection.select(std::slice::from_ref(&spec)).is_empty() {
        return Err(UsageError::Other(String::from(
            "no case matches --case/--skip/--tag; `runner list` shows the cases",
        )));
    }
    announce_isolation();
    let identity = crate::program::Identity::for_this_run(&args.limits.user)
        .map_err(|e| UsageError::Other(e.to_string()))?
        .map(Arc::new);
    // Mutants run side by side only where their targets cannot meet: in
    // networks of their own, or each on a fresh port.
    let fresh_ports = addr.is_none()
        && target
            .as_ref()
            .is_none_or(|command| command.has_placeholders());
    let jobs = if crate::sandbox::isolation().namespaces() || fresh_ports {
        JOBS
    } else {
        1
    };
    let options = |mutation: Option<Arc<Mutation>>| RunOptions {
        target: target.clone(),
        addr,
        selection: selection.clone(),
        limits: args.limits.settings(),
        identity: identity.clone(),
        env: args.limits.env.clone(),
        deadline: None,
        mutation,
        // Mutants already run side by side.
        cases_at_once: None,
    };
    crate::signals::stop_on_signals();
    crate::program::become_subreaper();
    let scores = mutate::score(&spec, &options, jobs);
    crate::program::kill_leftovers();
    if crate::stop::requested() {
        return Ok(EXIT_INTERRUPTED);
    }
    let text = match args.format {
        MutateFormat::Human => mutate::output::human(&scores),
        MutateFormat::Json => format!("{:#}\n", mutate::output::json(&scores)),
        MutateFormat::Html => crate::report::html::mutants(&scores),
    };
    // A reader that went away (`| head`) is not the run's problem.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(if scores.strong() {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    })
}
