//! Runs a spec against the program, then against each mutant that
//! applies, and finds which cases kill each mutant and which of those
//! kills are cascades.

use super::operators::{is_checking, Kind, Operator, OPERATORS};
use super::relay::Mutation;
use crate::engine::{self, CaseOutcome, Event, RunOptions, Verdict};
use crate::speclang::{Action, Matcher, Spec};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What one mutant did to the spec.
pub struct MutantResult {
    pub operator: &'static Operator,
    /// Cases the program passes and the mutant fails, in spec order.
    pub killed_by: Vec<String>,
    /// Of `killed_by`, the cases that failed before their last checking
    /// step: they failed on the way to their own requirement, for a
    /// fault that is not theirs.
    pub cascade: Vec<String>,
    /// Cases that ended in an error (the runner's fault, never a kill).
    pub errors: Vec<String>,
    /// The mutant behaved differently from the program at least once; a
    /// fault that never did is equivalent to the program for this spec.
    pub applied: bool,
}

impl MutantResult {
    pub fn killed(&self) -> bool {
        !self.killed_by.is_empty()
    }

    /// A fault some case kills, or a harmless variation no case does
    /// (a fault that changed nothing is no evidence either way).
    pub fn as_expected(&self) -> bool {
        match self.operator.kind {
            Kind::Fault => self.killed() || !self.applied,
            Kind::Harmless => !self.killed(),
        }
    }
}

/// The whole measurement of one spec.
pub struct Scores {
    pub spec: String,
    /// The selected cases, in spec order.
    pub cases: Vec<String>,
    /// Cases the program itself does not pass, with why: no mutant is
    /// judged by them.
    pub baseline_failures: Vec<(String, String)>,
    /// The mutants run, in catalogue order.
    pub mutants: Vec<MutantResult>,
    /// Operators that cannot change anything this spec looks at.
    pub not_applicable: Vec<&'static Operator>,
}

impl Scores {
    /// Faults that took effect, and of those the ones killed.
    pub fn faults(&self) -> (usize, usize) {
        let applied: Vec<&MutantResult> = self
            .mutants
            .iter()
            .filter(|m| m.operator.kind == Kind::Fault && m.applied)
            .collect();
        let killed = applied.iter().filter(|m| m.killed()).count();
        (killed, applied.len())
    }

    /// The spec is as strong as this tool can tell: the program passes
    /// it, every fault is killed, and no harmless variation is.
    pub fn strong(&self) -> bool {
        self.baseline_failures.is_empty() && self.mutants.iter().all(MutantResult::as_expected)
    }
}

/// Runs `spec` with the options `options` makes for a mutation (None: the
/// program as it is), `jobs` mutants at a time.
pub fn score(
    spec: &Spec,
    options: &(dyn Fn(Option<Arc<Mutation>>) -> RunOptions + Sync),
    jobs: usize,
) -> Scores {
    let baseline = outcomes(spec, &options(None));
    let passed: Vec<&str> = baseline
        .iter()
        .filter(|o| o.verdict == Verdict::Pass)
        .map(|o| o.case.as_str())
        .collect();
    let (applicable, not_applicable): (Vec<&'static Operator>, Vec<&'static Operator>) =
        OPERATORS.iter().partition(|o| o.applies_to(spec));
    let results: Vec<Mutex<Option<MutantResult>>> =
        applicable.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, applicable.len().max(1)) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(operator) = applicable.get(index) else {
                    break;
                };
                if crate::stop::requested() {
                    break;
                }
                let mutation = Mutation::new(operator);
                let run = outcomes(spec, &options(Some(Arc::clone(&mutation))));
                let result = judge(spec, operator, &run, &passed, mutation.fired() > 0);
                *results[index].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            });
        }
    });
    Scores {
        spec: spec.name.clone(),
        cases: baseline.iter().map(|o| o.case.clone()).collect(),
        baseline_failures: baseline
            .iter()
            .filter(|o| o.verdict != Verdict::Pass)
            .map(|o| (o.case.clone(), o.message.clone()))
            .collect(),
        mutants: results
            .into_iter()
            .filter_map(|r| r.into_inner().unwrap_or_else(|e| e.into_inner()))
            .collect(),
        not_applicable,
    }
}

/// Every case outcome of one run of `spec`.
fn outcomes(spec: &Spec, options: &RunOptions) -> Vec<CaseOutcome> {
    let mut outcomes: Vec<CaseOutcome> = Vec::new();
    engine::run(std::slice::from_ref(spec), options, &mut |event| {
        if let Event::CaseFinished(outcome) = event {
            outcomes.push(CaseOutcome::clone(outcome));
        }
    });
    outcomes
}

fn judge(
    spec: &Spec,
    operator: &'static Operator,
    run: &[CaseOutcome],
    passed: &[&str],
    applied: bool,
) -> MutantResult {
    let mut result = MutantResult {
        operator,
        killed_by: Vec::new(),
        cascade: Vec::new(),
        errors: Vec::new(),
        applied,
    };
    for outcome in run {
        match outcome.verdict {
            Verdict::Fail if passed.contains(&outcome.case.as_str()) => {
                result.killed_by.push(outcome.case.clone());
                if is_cascade(spec, outcome) {
                    result.cascade.push(outcome.case.clone());
                }
            }
            Verdict::Error => result.errors.push(outcome.case.clone()),
            _ => {}
        }
    }
    result
}

/// The case failed while it was still getting ready for its check: at
/// or before a step that takes a reply of any content (`any: true`) only
/// to move on: on a connection the case then closes, resets or shuts
/// down, or (a datagram, a line of output) with a check after it. Every
/// other check is part of the case's requirement (a case on replies
/// judges each of them).
fn is_cascade(spec: &Spec, outcome: &CaseOutcome) -> bool {
    let Some(case) = spec.cases.iter().find(|c| c.id == outcome.case) else {
        return false;
    };
    let Some(last_check) = case.steps.iter().rposition(|s| is_checking(&s.action)) else {
        return false;
    };
    let ends = |conn: &str, after: usize| {
        case.steps[after + 1..].iter().any(|s| match &s.action {
            Action::Close { conn: c }
            | Action::Reset { conn: c }
            | Action::Shutdown { conn: c } => c == conn,
            _ => false,
        })
    };
    let last_setup = (0..last_check)
        .rev()
        .find(|&index| match &case.steps[index].action {
            Action::Recv {
                conn,
                matcher: Matcher::Any { .. },
                ..
            } => ends(conn, index),
            // A datagram or a line taken only to go on to a check of
            // another kind (the program's exit, its output, that it is
            // alive).
            Action::RecvFrom {
                matcher: Matcher::Any { .. },
                ..
            }
            | Action::Expect {
                matcher: Matcher::Any { .. },
                ..
            } => !matches!(
                case.steps[last_check].action,
                Action::RecvFrom { .. } | Action::Recv { .. }
            ),
            _ => false,
        });
    // `step` is 1-based; 0 means the program did not even start.
    match (last_setup, outcome.failure.as_ref().map(|f| f.step)) {
        (Some(setup), Some(failed_at)) => failed_at >= 1 && failed_at <= setup + 1,
        _ => false,
    }
}
