//! Runs specs against a target and produces events; never prints.

mod case;
pub mod difference;
pub mod hexdump;
mod matching;
mod outcome;
mod running;
mod session;
pub mod show;
mod silence;
pub mod slots;
mod steps_process;
mod steps_tcp;
mod steps_udp;
mod transcript;

pub use outcome::{CaseOutcome, Event, Failure, Setback, Summary, Verdict, STDERR_IN_MESSAGE};
pub use running::AddressPlan;
pub use transcript::{Direction, Entry};

use crate::program::{Identity, Limits, TargetCommand};
use crate::speclang::{Case, LimitSettings, Spec};
use session::{run_spec, SpecTarget};
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
    /// Set when the runner is root: staged files, and whom targets run as
    /// in the fallback.
    pub identity: Option<std::sync::Arc<Identity>>,
    /// Variables passed to every target on purpose (`--env`).
    pub env: Vec<(String, String)>,
    /// When the whole run must end.
    pub deadline: Option<Instant>,
    /// `runner mutate`: the program is seen through this mutant.
    pub mutation: Option<std::sync::Arc<crate::mutate::Mutation>>,
    /// Where a spec's cases may run side by side (each in a sandbox of
    /// its own), the places they share with every other run holding the
    /// same slots; None: one case after another.
    pub cases_at_once: Option<std::sync::Arc<slots::Slots>>,
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

/// Which cases run: name patterns to run and to skip, and the optional
/// tags turned on.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Globs (`*` wildcard) on the case id or `spec/case`: a case runs if
    /// it matches any of them; none given, every case does.
    pub patterns: Vec<String>,
    /// Globs of the same kind: a case matching any of them does not run,
    /// even when `patterns` names it.
    pub skip: Vec<String>,
    /// Tagged cases run only when one of their tags is listed here
    /// (`all` turns every tag on).
    pub tags: Vec<String>,
    /// Only this part of the cases chosen by name and tag (`--partition`).
    pub partition: Option<crate::partition::Partition>,
}

impl Selection {
    pub fn includes(&self, spec: &Spec, case: &Case) -> bool {
        let tags_on = case.tags.is_empty()
            || case
                .tags
                .iter()
                .any(|tag| self.tags.iter().any(|on| on == tag || on == "all"));
        let full = format!("{}/{}", spec.name, case.id);
        let matches =
            |pattern: &String| glob_match(pattern, &case.id) || glob_match(pattern, &full);
        let named = self.patterns.is_empty() || self.patterns.iter().any(matches);
        let skipped = self.skip.iter().any(matches);
        tags_on && named && !skipped
    }

    /// The cases of `specs` this selection runs, spec by spec, in order;
    /// specs with none are left out.
    pub fn select<'a>(&self, specs: &'a [Spec]) -> Vec<(&'a Spec, Vec<&'a Case>)> {
        let mut position = 0;
        specs
            .iter()
            .map(|spec| {
                let cases: Vec<&Case> = spec
                    .cases
                    .iter()
                    .filter(|case| self.includes(spec, case))
                    .filter(|_| {
                        position += 1;
                        self.partition.is_none_or(|p| p.holds(position - 1))
                    })
                    .collect();
                (spec, cases)
            })
            .filter(|(_, cases)| !cases.is_empty())
            .collect()
    }
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
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
///
/// Specs run side by side when every target gets a fresh port (their
/// traffic cannot meet); a target on a fixed or hard-coded address runs one
/// spec at a time. Reports always come in spec order.
pub fn run(specs: &[Spec], options: &RunOptions, report: &mut dyn FnMut(&Event)) -> Summary {
    let started = Instant::now();
    let selected: Vec<(&Spec, Vec<&Case>, SpecTarget)> = options
        .selection
        .select(specs)
        .into_iter()
        .map(|(spec, cases)| (spec, cases, SpecTarget::new(spec, options)))
        .collect();
    let total: usize = selected.iter().map(|(_, cases, _)| cases.len()).sum();
    report(&Event::RunStarted {
        specs: selected.len(),
        cases: total,
    });
    let mut summary = Summary::default();
    let finish = |outcome: CaseOutcome, summary: &mut Summary, report: &mut dyn FnMut(&Event)| {
        summary.add(&outcome);
        report(&Event::CaseFinished(&outcome));
    };
    // A spec's cases run in order: its next case starts when one finishes.
    let start = |spec: &Spec, case: Option<&&Case>, report: &mut dyn FnMut(&Event)| {
        if let Some(case) = case.filter(|_| !options.out_of_time()) {
            report(&Event::CaseStarted {
                spec: &spec.name,
                case: &case.id,
            });
        }
    };
    let parallel = selected.len() > 1
        && selected
            .iter()
            .all(|(_, _, target)| matches!(target.plan, AddressPlan::Fresh));
    if parallel {
        std::thread::scope(|scope| {
            let (sender, outcomes) = std::sync::mpsc::channel::<(usize, CaseOutcome)>();
            let workers: Vec<_> = selected
                .iter()
                .enumerate()
                .map(|(index, (spec, cases, target))| {
                    let sender = sender.clone();
                    scope.spawn(move || {
                        run_spec(spec, cases, target, options, &mut |outcome| {
                            let _ = sender.send((index, outcome));
                        })
                    })
                })
                .collect();
            drop(sender);
            for (spec, cases, _) in &selected {
                start(spec, cases.first(), report);
            }
            // Outcomes are reported in spec order: those of a later spec
            // wait until every earlier spec has finished.
            let mut waiting: Vec<Vec<CaseOutcome>> = vec![Vec::new(); selected.len()];
            let mut received = vec![0; selected.len()];
            let mut next = 0;
            let (spec, cases, target) = &selected[0];
            announce(spec, cases, target, report);
            // The channel closes once every worker has returned; a worker
            // panics only on a bug in the runner, and its missing cases
            // then go unreported rather than the whole report being lost.
            // None once the channel has closed: every spec is then done.
            for arrived in outcomes.into_iter().map(Some).chain([None]) {
                let all_done = arrived.is_none();
                if let Some((index, outcome)) = arrived {
                    received[index] += 1;
                    let (spec, cases, _) = &selected[index];
                    start(spec, cases.get(received[index]), report);
                    waiting[index].push(outcome);
                }
                while next < selected.len() {
                    for outcome in waiting[next].drain(..) {
                        finish(outcome, &mut summary, report);
                    }
                    if !all_done && received[next] < selected[next].1.len() {
                        break;
                    }
                    next += 1;
                    if let Some((spec, cases, target)) = selected.get(next) {
                        announce(spec, cases, target, report);
                    }
                }
            }
            for worker in workers {
                let _ = worker.join();
            }
        });
    } else {
        for (spec, cases, target) in &selected {
            announce(spec, cases, target, report);
            start(spec, cases.first(), report);
            let mut done = 0;
            // Past the deadline, the remaining cases are reported not run.
            run_spec(spec, cases, target, options, &mut |outcome| {
                finish(outcome, &mut summary, report);
                done += 1;
                start(spec, cases.get(done), report);
            });
        }
    }
    // Cases not run because the program listens at a wrong address do
    // not make an interrupted run; those the run's time cut off do.
    summary.interrupted = summary.total() < total
        || crate::stop::requested()
        || (summary.not_run > 0 && options.out_of_time());
    summary.duration = started.elapsed();
    report(&Event::RunFinished(&summary));
    summary
}

fn announce(spec: &Spec, cases: &[&Case], target: &SpecTarget, report: &mut dyn FnMut(&Event)) {
    report(&Event::SpecStarted {
        spec: &spec.name,
        title: &spec.title,
        target: &target.command.label,
        cases: cases.len(),
    });
}

#[cfg(test)]
mod tests {
    use super::{glob_match, Selection};

    fn selected(selection: &Selection) -> Vec<String> {
        let specs = vec![crate::speclang::bundled_named("tcp-upper-server")
            .expect("bundled")
            .expect("loads")];
        selection
            .select(&specs)
            .into_iter()
            .flat_map(|(_, cases)| cases.into_iter().map(|c| c.id.clone()))
            .collect()
    }

    #[test]
    fn several_patterns_select_any_match_and_skip_wins() {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let both = Selection {
            patterns: strings(&["greeting", "tcp-upper-server/mixed-*"]),
            ..Selection::default()
        };
        assert_eq!(selected(&both), ["greeting", "mixed-text"]);
        let skipped = Selection {
            skip: strings(&["greeting"]),
            ..both.clone()
        };
        assert_eq!(selected(&skipped), ["mixed-text"]);
        let all = selected(&Selection::default());
        let without_text = Selection {
            skip: strings(&["*-text"]),
            ..Selection::default()
        };
        assert_eq!(selected(&without_text).len(), all.len() - 2);
    }

    #[test]
    fn globs() {
        assert!(glob_match("greeting", "greeting"));
        assert!(glob_match("tcp-*/greet*", "tcp-upper-server/greeting"));
        assert!(glob_match("*reset*", "survives-reset-and-more"));
        assert!(!glob_match("greet", "greeting"));
    }
}
