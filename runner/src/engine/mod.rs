//! Runs specs against a target and produces events; never prints.

mod case;
mod matching;
mod outcome;
mod running;
pub mod show;
mod steps_process;
mod steps_tcp;
mod steps_udp;
mod transcript;

pub use outcome::{CaseOutcome, Event, Failure, Summary, Verdict};
pub use running::AddressPlan;
pub use transcript::{Direction, Entry};

use crate::spec::{Case, LimitSettings, Restart, Spec};
use crate::target::{Confinement, Limits, Sandbox, TargetCommand};
use case::{noun, run_case};
use running::{Running, StartError};
use std::time::{Duration, Instant};

/// Which program to test and which of its cases.
pub struct RunOptions {
    /// An external target for every spec; None: each spec's reference.
    pub target: Option<TargetCommand>,
    /// `--addr`: where a target that hard-codes its address serves.
    pub addr: Option<std::net::SocketAddr>,
    pub selection: Selection,
    /// Limits from the command line; they override the spec's.
    pub limits: LimitSettings,
    /// Set when the runner is root: whom targets run as.
    pub sandbox: Option<Sandbox>,
    /// When the whole run must end.
    pub deadline: Option<Instant>,
}

/// Wall time for one case when neither the spec nor the command line
/// sets one.
pub const DEFAULT_CASE_TIME: Duration = Duration::from_secs(60);

impl RunOptions {
    /// The limits in force for `spec`: command line, else spec, else default.
    pub fn limits_for(&self, spec: &Spec) -> (Limits, Duration) {
        let settings = self.limits.or(spec.target.limits);
        let default = Limits::default();
        let limits = Limits {
            cpu: settings.cpu.unwrap_or(default.cpu),
            memory: settings.memory.unwrap_or(default.memory),
            processes: settings.processes.unwrap_or(default.processes),
            file_size: default.file_size,
            output: settings.output.unwrap_or(default.output),
        };
        (limits, settings.case_time.unwrap_or(DEFAULT_CASE_TIME))
    }

    fn out_of_time(&self) -> bool {
        crate::stop::requested() || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// Which cases run: a name pattern and the optional tags turned on.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Glob (`*` wildcard) on the case id or `spec/case`.
    pub pattern: Option<String>,
    /// Tagged cases run only when one of their tags is listed here
    /// (`all` turns every tag on).
    pub tags: Vec<String>,
}

impl Selection {
    pub fn includes(&self, spec: &Spec, case: &Case) -> bool {
        let tags_on = case.tags.is_empty()
            || case
                .tags
                .iter()
                .any(|tag| self.tags.iter().any(|on| on == tag || on == "all"));
        let named = self.pattern.as_deref().is_none_or(|pattern| {
            glob_match(pattern, &case.id)
                || glob_match(pattern, &format!("{}/{}", spec.name, case.id))
        });
        tags_on && named
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Runs the selected cases of every spec, telling `report` as it goes.
pub fn run(specs: &[Spec], options: &RunOptions, report: &mut dyn FnMut(&Event)) -> Summary {
    let started = Instant::now();
    let selected: Vec<(&Spec, Vec<&Case>)> = specs
        .iter()
        .map(|spec| {
            let cases = spec
                .cases
                .iter()
                .filter(|c| options.selection.includes(spec, c))
                .collect();
            (spec, cases)
        })
        .filter(|(_, cases): &(&Spec, Vec<&Case>)| !cases.is_empty())
        .collect();
    report(&Event::RunStarted {
        specs: selected.len(),
        cases: selected.iter().map(|(_, cases)| cases.len()).sum(),
    });
    let mut summary = Summary::default();
    for (spec, cases) in selected {
        run_spec(spec, &cases, options, &mut summary, report);
        if options.out_of_time() {
            summary.interrupted = true;
            break;
        }
    }
    summary.duration = started.elapsed();
    report(&Event::RunFinished(&summary));
    summary
}

fn run_spec(
    spec: &Spec,
    cases: &[&Case],
    options: &RunOptions,
    summary: &mut Summary,
    report: &mut dyn FnMut(&Event),
) {
    let command = match (&options.target, &spec.target.reference) {
        (Some(command), _) => command.clone(),
        (None, Some(reference)) => TargetCommand::reference(reference),
        // The CLI refuses this combination before running anything.
        (None, None) => unreachable!("a spec without a reference needs --target"),
    };
    let plan = match options.addr {
        Some(addr) => AddressPlan::Fixed(addr),
        None if command.has_placeholders() => AddressPlan::Fresh,
        None => AddressPlan::Discover,
    };
    report(&Event::SpecStarted {
        spec: &spec.name,
        title: &spec.title,
        target: &command.label,
        cases: cases.len(),
    });
    let (limits, case_time) = options.limits_for(spec);
    let confinement = Confinement {
        limits,
        sandbox: options.sandbox.as_ref(),
    };
    let mut running: Option<Running> = None;
    for case in cases {
        if options.out_of_time() {
            summary.interrupted = true;
            return;
        }
        let started = Instant::now();
        let mut case_deadline = started + case_time;
        if let Some(deadline) = options.deadline {
            case_deadline = case_deadline.min(deadline);
        }
        let reuse = spec.target.restart == Restart::Once
            && running
                .as_mut()
                .is_some_and(|r| r.process.exit_status().is_none());
        if !reuse {
            // Stop the old target before starting a new one: a program
            // with a hard-coded address needs its port back.
            running = None;
            match Running::start(spec, &command, plan, &confinement) {
                Ok(started) => running = Some(started),
                Err(error) => {
                    let outcome = start_failed(spec, case, error, started.elapsed());
                    summary.add(&outcome);
                    report(&Event::CaseFinished(&outcome));
                    continue;
                }
            }
        }
        let Some(target) = running.as_mut() else {
            continue;
        };
        let mut outcome = run_case(spec, case, target, case_deadline);
        // A case's time includes starting its target.
        outcome.duration = started.elapsed();
        if spec.target.restart == Restart::PerCase {
            running = None;
        }
        summary.add(&outcome);
        report(&Event::CaseFinished(&outcome));
    }
}

/// The outcome of a case whose target never got to its first step.
fn start_failed(spec: &Spec, case: &Case, error: StartError, duration: Duration) -> CaseOutcome {
    let noun = noun(spec.target.role);
    let (verdict, message, stdout, stderr) = match error {
        StartError::Harness(message) => (
            Verdict::Error,
            message,
            Default::default(),
            Default::default(),
        ),
        StartError::Target(started) => {
            let running::TargetStartError {
                failure,
                stdout,
                stderr,
            } = *started;
            let verdict = match failure {
                crate::target::StartFailure::Spawn(_) => Verdict::Error,
                _ => Verdict::Fail,
            };
            let mut message = failure.describe(noun);
            let tail = stderr.last_lines(5);
            if !tail.trim().is_empty() {
                message.push_str(&format!("; its stderr ends with:\n{}", tail.trim_end()));
            }
            (verdict, message, stdout, stderr)
        }
    };
    CaseOutcome {
        spec: spec.name.clone(),
        case: case.id.clone(),
        about: case.about.clone(),
        hint: case.hint.clone(),
        verdict,
        points: 0,
        max_points: case.points,
        duration,
        message,
        failure: None,
        transcript: Vec::new(),
        stdout,
        stderr,
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("greeting", "greeting"));
        assert!(glob_match("tcp-*/greet*", "tcp-upper-server/greeting"));
        assert!(glob_match("*reset*", "survives-reset-and-more"));
        assert!(!glob_match("greet", "greeting"));
    }
}
