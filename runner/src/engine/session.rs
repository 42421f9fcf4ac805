//! One spec's run: start the target (per case or once), run each case,
//! turn start failures into outcomes.

use super::case::{noun, run_case};
use super::running::{AddressPlan, Running, StartError, TargetStartError};
use super::slots::Slots;
use super::{CaseOutcome, RunOptions, Setback, Verdict};
use crate::program::{Confinement, StartFailure, TargetCommand};
use crate::speclang::{Case, Restart, Spec};
use std::sync::atomic::{AtomicUsize, Ordering};
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
    let each = Each {
        spec,
        command,
        plan,
        confinement: &confinement,
        options,
        case_time,
    };
    let mut delivery = Delivery::default();
    let side_by_side = options.cases_at_once.as_deref().filter(|_| {
        // Only where no two cases can meet: each target in a network of
        // its own, started afresh for its case. Under a deadline for the
        // whole run, one after another: the cases it leaves no time for
        // are then reported not run, rather than all started and cut.
        spec.target.restart == Restart::PerCase
            && cases.len() > 1
            && options.deadline.is_none()
            && crate::sandbox::isolation().namespaces()
    });
    match side_by_side {
        Some(slots) => run_side_by_side(&each, cases, slots, &mut |case, ran| {
            finished(delivery.deliver(spec, case, ran));
        }),
        None => {
            let mut running: Option<Running> = None;
            for case in cases {
                let outcome = match delivery.serving_elsewhere(spec, case) {
                    // Not started: the spec's target serves elsewhere.
                    Some(not_run) if !options.out_of_time() => not_run,
                    _ => delivery.deliver(spec, case, each.run(case, &mut running)),
                };
                finished(outcome);
            }
        }
    }
}

/// What every case of one spec's run shares.
struct Each<'a> {
    spec: &'a Spec,
    command: &'a TargetCommand,
    plan: AddressPlan,
    confinement: &'a Confinement<'a>,
    options: &'a RunOptions,
    case_time: Duration,
}

/// One case's outcome, before the spec's earlier cases are taken into
/// account (see `Delivery`).
struct Ran {
    outcome: CaseOutcome,
    /// The case's target could not start: its setback is told once.
    start_failed: bool,
    /// The start found the program listening at another address: why the
    /// spec's later cases are not run.
    elsewhere: Option<String>,
}

impl Ran {
    fn plain(outcome: CaseOutcome) -> Ran {
        Ran {
            outcome,
            start_failed: false,
            elsewhere: None,
        }
    }
}

impl Each<'_> {
    /// Runs `case`, in `running` when the spec keeps its target from case
    /// to case, else in a target of its own.
    fn run(&self, case: &Case, running: &mut Option<Running>) -> Ran {
        let Each {
            spec,
            command,
            plan,
            confinement,
            options,
            case_time,
        } = *self;
        if options.out_of_time() {
            return Ran::plain(not_run(spec, case));
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
            *running = None;
            match Running::start(spec, command, plan, confinement, case_deadline) {
                Ok(mut started) => {
                    started.mutation = options.mutation.clone();
                    *running = Some(started);
                }
                Err(error) => {
                    let elsewhere = error.serving_elsewhere().map(|(expected, seen)| {
                        let seen: Vec<String> = seen.iter().map(ToString::to_string).collect();
                        format!(
                            "not run: the {} listens on {}, not on {expected} (see case {})",
                            noun(spec.target.role),
                            seen.join(", "),
                            case.id
                        )
                    });
                    let outcome = start_failed(spec, case, error, started.elapsed());
                    return Ran {
                        outcome: cut_by_deadline(outcome, options),
                        start_failed: true,
                        elsewhere,
                    };
                }
            }
        }
        let Some(target) = running.as_mut() else {
            unreachable!("a target was started or kept above");
        };
        let mut outcome = run_case(spec, case, target, case_deadline);
        // A case's time includes starting its target.
        outcome.duration = started.elapsed();
        if spec.target.restart == Restart::PerCase {
            *running = None;
        }
        Ran::plain(cut_by_deadline(outcome, options))
    }
}

/// Runs every case in a target of its own, as many at once as `slots`
/// has free places, and hands over the results in the cases' order.
fn run_side_by_side(
    each: &Each,
    cases: &[&Case],
    slots: &Slots,
    deliver: &mut dyn FnMut(&Case, Ran),
) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (sender, results) = std::sync::mpsc::channel::<(usize, Ran)>();
        for _ in 0..cases.len().min(slots.capacity()) {
            let (sender, next) = (sender.clone(), &next);
            scope.spawn(move || loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(index) else {
                    break;
                };
                let ran = {
                    let _slot = slots.take();
                    each.run(case, &mut None)
                };
                if sender.send((index, ran)).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        let mut arrived: Vec<Option<Ran>> = cases.iter().map(|_| None).collect();
        let mut due = 0;
        for (index, ran) in results {
            arrived[index] = Some(ran);
            while let Some(ran) = arrived.get_mut(due).and_then(Option::take) {
                deliver(cases[due], ran);
                due += 1;
            }
        }
    });
}

/// Turns each case's result into its outcome, in the cases' order: a
/// setback is told in full once, and once a start found the program
/// serving elsewhere, the later cases are not run (side by side they may
/// have run: their results are set aside for the same reason).
#[derive(Default)]
struct Delivery {
    told: Told,
    elsewhere: Option<String>,
}

impl Delivery {
    /// Once a start found the program serving elsewhere: `case`, not run
    /// for that reason.
    fn serving_elsewhere(&self, spec: &Spec, case: &Case) -> Option<CaseOutcome> {
        let why = self.elsewhere.as_ref()?;
        Some(CaseOutcome::new(
            spec,
            case,
            None,
            Verdict::NotRun,
            why.clone(),
        ))
    }

    fn deliver(&mut self, spec: &Spec, case: &Case, ran: Ran) -> CaseOutcome {
        let Ran {
            outcome,
            start_failed,
            elsewhere,
        } = ran;
        if let Some(not_run) = self.serving_elsewhere(spec, case) {
            // A case the run's end kept from starting keeps that reason.
            return if outcome.verdict == Verdict::NotRun {
                outcome
            } else {
                not_run
            };
        }
        self.elsewhere = elsewhere;
        if start_failed {
            self.told.once(outcome)
        } else {
            outcome
        }
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
