//! One spec's run: start the target (per case or once), run each case,
//! turn start failures into outcomes.

use super::case::{noun, run_case};
use super::running::{AddressPlan, Running, StartError, TargetStartError};
use super::{CaseOutcome, RunOptions, Setback, Verdict};
use crate::program::{Confinement, StartFailure, TargetCommand};
use crate::speclang::{Case, Restart, Spec};
use std::time::{Duration, Instant};

/// What runs a spec: the program and where it is to be reached.
pub struct SpecTarget {
    pub command: TargetCommand,
    pub plan: AddressPlan,
}

impl SpecTarget {
    pub fn new(spec: &Spec, options: &RunOptions) -> SpecTarget {
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
        SpecTarget { command, plan }
    }
}

/// Runs `cases` of `spec`, starting the target per case or once as the
/// spec says, and hands each outcome to `finished`. Stops early when the
/// run is out of time or interrupted.
pub fn run_spec(
    spec: &Spec,
    cases: &[&Case],
    target: &SpecTarget,
    options: &RunOptions,
    finished: &mut dyn FnMut(CaseOutcome),
) {
    let SpecTarget { command, plan } = target;
    let plan = *plan;
    let (limits, case_time) = options.limits_for(spec);
    let confinement = Confinement {
        limits,
        identity: options.identity.as_deref(),
        env: &options.env,
        tools: &[],
        folder: None,
    };
    // A source file is built before its first case; a build that fails
    // fails every case. The first case's message holds the compiler's
    // messages; the others refer to it.
    let prepared = command.prepared(&confinement);
    let command = match &prepared {
        Ok(command) => command,
        Err(failure) => {
            let mut told = Told::default();
            for case in cases {
                finished(if options.out_of_time() {
                    not_run(spec, case)
                } else {
                    let verdict = if failure.by_harness {
                        Verdict::Error
                    } else {
                        Verdict::Fail
                    };
                    let outcome = CaseOutcome {
                        setback: (!failure.by_harness).then_some(Setback::BuildFailed),
                        ..CaseOutcome::new(
                            spec,
                            case,
                            command.language(),
                            verdict,
                            failure.message.clone(),
                        )
                    };
                    told.once(outcome)
                });
            }
            return;
        }
    };
    // An assignment's `run:` starts in the program's folder, built or not.
    let confinement = Confinement {
        folder: command.folder(),
        ..confinement
    };
    let mut running: Option<Running> = None;
    // Set once a start finds the program listening at another address:
    // said once, by that case; the others are not run against it.
    let mut elsewhere: Option<String> = None;
    // A program that does not start the same way case after case is
    // told so once.
    let mut told = Told::default();
    for case in cases {
        if options.out_of_time() {
            finished(not_run(spec, case));
            continue;
        }
        if let Some(why) = &elsewhere {
            finished(CaseOutcome::new(
                spec,
                case,
                None,
                Verdict::NotRun,
                why.clone(),
            ));
            continue;
        }
        let started = Instant::now();
        let mut case_deadline = crate::stop::deadline_after(case_time);
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
            match Running::start(spec, command, plan, &confinement, case_deadline) {
                Ok(mut started) => {
                    started.mutation = options.mutation.clone();
                    running = Some(started);
                }
                Err(error) => {
                    if let Some((expected, seen)) = error.serving_elsewhere() {
                        let seen: Vec<String> = seen.iter().map(ToString::to_string).collect();
                        elsewhere = Some(format!(
                            "not run: the {} listens on {}, not on {expected} (see case {})",
                            noun(spec.target.role),
                            seen.join(", "),
                            case.id
                        ));
                    }
                    let outcome = start_failed(spec, case, error, started.elapsed());
                    finished(cut_by_deadline(told.once(outcome), options));
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
        finished(cut_by_deadline(outcome, options));
    }
}

/// The setback a spec's cases met, told in full by the first case it
/// hit: a later case with the same message refers to that case instead
/// of repeating the compiler's messages or the traceback.
#[derive(Default)]
struct Told {
    /// The message told, and the case that told it.
    first: Option<(String, String)>,
}

impl Told {
    fn once(&mut self, outcome: CaseOutcome) -> CaseOutcome {
        let Some(setback) = outcome.setback else {
            return outcome;
        };
        match &self.first {
            Some((message, case)) if *message == outcome.message => CaseOutcome {
                message: format!("{} (see case {case})", setback.short()),
                setback_told_by: Some(case.clone()),
                stdout: Default::default(),
                stderr: Default::default(),
                ..outcome
            },
            _ => {
                self.first = Some((outcome.message.clone(), outcome.case.clone()));
                outcome
            }
        }
    }
}

/// A case the run ended before: the run's deadline or an interruption.
pub fn not_run(spec: &Spec, case: &Case) -> CaseOutcome {
    let why = if crate::stop::requested() {
        "not run: the run was interrupted before this case"
    } else {
        "not run: the time for the whole run ran out before this case"
    };
    CaseOutcome::new(spec, case, None, Verdict::NotRun, String::from(why))
}

/// A failure once the run's own deadline has passed is the runner's doing
/// (it cut the case short), never the program's: an error.
fn cut_by_deadline(outcome: CaseOutcome, options: &RunOptions) -> CaseOutcome {
    let past_deadline = options
        .deadline
        .is_some_and(|deadline| Instant::now() >= deadline);
    if outcome.verdict != Verdict::Fail || !past_deadline {
        return outcome;
    }
    CaseOutcome {
        verdict: Verdict::Error,
        points: 0,
        // The runner's doing, not a setback of the program's.
        setback: None,
        setback_told_by: None,
        message: String::from("not finished: the time for the whole run ran out during this case"),
        ..outcome
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
            let TargetStartError {
                failure,
                limits_hit,
                stdout,
                stderr,
            } = *started;
            let verdict = match failure {
                StartFailure::Spawn(_) | StartFailure::Interrupted => Verdict::Error,
                _ => Verdict::Fail,
            };
            let mut message = failure.describe(noun);
            for hit in limits_hit {
                message = format!("{hit}: {message}");
            }
            let tail = stderr.last_lines(5);
            if !tail.trim().is_empty() {
                message.push_str(&format!(
                    "{}{}",
                    super::outcome::STDERR_IN_MESSAGE,
                    tail.trim_end()
                ));
            }
            (verdict, message, stdout.for_report(), stderr.for_report())
        }
    };
    CaseOutcome {
        duration,
        stdout,
        stderr,
        setback: (verdict == Verdict::Fail).then_some(Setback::DidNotStart),
        // The case's hint is about its exchange, which never began.
        hint: None,
        ..CaseOutcome::new(spec, case, None, verdict, message)
    }
}
