//! `runner mutate --format html`: the matrix of mutants by cases as a
//! page, surviving faults and failed harmless variations first, each cell
//! saying whether the case kills the mutant at its own check, as a
//! cascade, or lets it pass.

use super::{page, text};
use crate::mutate::output::{cell, rank, verdict};
use crate::mutate::{Kind, MutantResult, Scores};
use maud::html;

pub fn mutants(scores: &Scores) -> String {
    let (killed, total) = scores.faults();
    let harmless_failed = scores
        .mutants
        .iter()
        .filter(|m| m.operator.kind == Kind::Harmless && m.killed())
        .count();
    let harmless = scores
        .mutants
        .iter()
        .filter(|m| m.operator.kind == Kind::Harmless)
        .count();
    let mut rows: Vec<&MutantResult> = scores.mutants.iter().collect();
    rows.sort_by_key(|m| rank(m));
    let title = format!("{}: mutants", text(&scores.spec));
    let body = html! {
        header.top {
            h1 { (title) }
            dl.stats {
                div { dt { "faults killed" } dd { (killed) " / " (total) } }
                div { dt { "harmless variations failed" } dd { (harmless_failed) " / " (harmless) } }
                div { dt { "strong" } dd { (if scores.strong() { "yes" } else { "no" }) } }
            }
        }
        main {
            section aria-labelledby="matrix" {
                h2 id="matrix" { "Mutants by cases" }
                div.scroll {
                    table.mutants {
                        caption { "K: killed at the case's own check; c: killed before it (a cascade); .: passed; E: error; -: the program itself fails the case" }
                        thead {
                            tr {
                                th scope="col" { "verdict" }
                                th scope="col" { "mutant" }
                                th scope="col" { "kind" }
                                @for case in &scores.cases {
                                    th scope="col" { (text(case)) }
                                }
                                th scope="col" { "what it does" }
                            }
                        }
                        tbody {
                            @for mutant in &rows {
                                tr class=(format!("rank-{}", rank(mutant))) {
                                    td { (verdict(mutant)) }
                                    th scope="row" { (mutant.operator.id) }
                                    td { (mutant.operator.kind.as_str()) }
                                    @for case in &scores.cases {
                                        td.cell { (cell(scores, mutant, case).to_string()) }
                                    }
                                    td { (mutant.operator.about) }
                                }
                            }
                        }
                    }
                }
            }
            @if !scores.not_applicable.is_empty() {
                p.note {
                    "Not applicable to this spec: "
                    (scores.not_applicable.iter().map(|o| o.id).collect::<Vec<_>>().join(", "))
                }
            }
        }
    };
    page(&title, body, None)
}
