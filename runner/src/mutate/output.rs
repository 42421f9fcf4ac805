//! The report of `runner mutate`: a matrix of mutants by cases for
//! people, and JSON for scripts.

use super::operators::Kind;
use super::score::{MutantResult, Scores};
use serde_json::{json, Value};
use std::fmt::Write;

/// Rows in the order a spec author needs them: what is wrong with the
/// spec first (surviving faults, failed harmless variations), then what
/// is right, then faults that changed nothing.
pub(crate) fn rank(mutant: &MutantResult) -> u8 {
    match (mutant.operator.kind, mutant.killed(), mutant.applied) {
        (Kind::Fault, false, true) => 0,
        (Kind::Harmless, true, _) => 1,
        (Kind::Fault, true, _) => 2,
        (Kind::Harmless, false, _) => 3,
        (Kind::Fault, false, false) => 4,
    }
}

pub(crate) fn verdict(mutant: &MutantResult) -> &'static str {
    match rank(mutant) {
        0 => "SURVIVES",
        1 => "FAILED",
        2 => "killed",
        3 => "passed",
        _ => "no effect",
    }
}

/// The matrix: one row per mutant, one column per case. `K` the case
/// kills the mutant at its requirement's check, `c` it kills it before
/// (a cascade), `.` it passes, `E` an error, `-` a case the program
/// itself fails.
pub fn human(scores: &Scores) -> String {
    let mut out = String::new();
    let (killed, total) = scores.faults();
    let harmless: Vec<&MutantResult> = scores
        .mutants
        .iter()
        .filter(|m| m.operator.kind == Kind::Harmless)
        .collect();
    let failed_harmless = harmless.iter().filter(|m| m.killed()).count();
    let _ = writeln!(
        out,
        "{}: {killed} of {total} faults killed, {failed_harmless} of {} harmless variations failed",
        scores.spec,
        harmless.len()
    );
    for (case, why) in &scores.baseline_failures {
        let _ = writeln!(
            out,
            "warning: the program itself fails case {case}, which judges no mutant: {}",
            why.lines().next().unwrap_or_default()
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "cases:");
    for (index, case) in scores.cases.iter().enumerate() {
        let _ = writeln!(out, "  {:>2} {case}", index + 1);
    }
    let _ = writeln!(out);
    let width = scores
        .mutants
        .iter()
        .map(|m| m.operator.id.len())
        .max()
        .unwrap_or(0);
    let header: String = (1..=scores.cases.len())
        .map(|n| format!("{n:>3}"))
        .collect();
    let _ = writeln!(out, "{:9} {:width$} {header}", "", "");
    let mut rows: Vec<&MutantResult> = scores.mutants.iter().collect();
    rows.sort_by_key(|m| rank(m));
    for mutant in rows {
        let cells: String = scores
            .cases
            .iter()
            .map(|case| format!("{:>3}", cell(scores, mutant, case)))
            .collect();
        let _ = writeln!(
            out,
            "{:9} {:width$} {cells}   {} {}",
            verdict(mutant),
            mutant.operator.id,
            mutant.operator.kind.as_str(),
            mutant.operator.about
        );
    }
    let _ = writeln!(
        out,
        "\nK killed at the case's own check, c killed before it (a cascade), . passed, E error, - the program itself fails the case"
    );
    let with_cascades = |breaks_exchange: bool| -> Vec<&MutantResult> {
        scores
            .mutants
            .iter()
            .filter(|m| m.operator.kind == Kind::Fault && !m.cascade.is_empty())
            .filter(|m| m.operator.breaks_exchange() == breaks_exchange)
            .collect()
    };
    for (breaks_exchange, title) in [
        (
            false,
            "cascades (cases that failed before the check their requirement is about):",
        ),
        (
            true,
            "cases that need one exchange to reach their check (no cascade of the spec's: these faults break every exchange):",
        ),
    ] {
        let listed = with_cascades(breaks_exchange);
        if listed.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}");
        for mutant in listed {
            let _ = writeln!(
                out,
                "  {}: {}",
                mutant.operator.id,
                mutant.cascade.join(", ")
            );
        }
    }
    if !scores.not_applicable.is_empty() {
        let ids: Vec<&str> = scores.not_applicable.iter().map(|o| o.id).collect();
        let _ = writeln!(out, "\nnot applicable to this spec: {}", ids.join(", "));
    }
    out
}

pub(crate) fn cell(scores: &Scores, mutant: &MutantResult, case: &String) -> char {
    if scores.baseline_failures.iter().any(|(c, _)| c == case) {
        '-'
    } else if mutant.cascade.contains(case) {
        'c'
    } else if mutant.killed_by.contains(case) {
        'K'
    } else if mutant.errors.contains(case) {
        'E'
    } else {
        '.'
    }
}

/// `{"spec", "cases", "baseline_failures", "mutants": [{"id", "kind",
/// "about", "applied", "killed_by", "cascade", "breaks_exchange",
/// "errors"}],
/// "not_applicable", "killed", "total", "harmless_failed", "strong"}`;
/// `killed` and `total` count the faults that took effect.
pub fn json(scores: &Scores) -> Value {
    let (killed, total) = scores.faults();
    let mutants: Vec<Value> = scores
        .mutants
        .iter()
        .map(|m| {
            json!({
                "id": m.operator.id,
                "kind": m.operator.kind.as_str(),
                "about": m.operator.about,
                "applied": m.applied,
                "killed_by": m.killed_by,
                "cascade": m.cascade,
                "breaks_exchange": m.operator.breaks_exchange(),
                "errors": m.errors,
            })
        })
        .collect();
    json!({
        "spec": scores.spec,
        "cases": scores.cases,
        "baseline_failures": scores.baseline_failures.iter().map(|(case, _)| case).collect::<Vec<_>>(),
        "mutants": mutants,
        "not_applicable": scores.not_applicable.iter().map(|o| o.id).collect::<Vec<_>>(),
        "killed": killed,
        "total": total,
        "harmless_failed": scores.mutants.iter().filter(|m| m.operator.kind == Kind::Harmless && m.killed()).count(),
        "strong": scores.strong(),
    })
}
