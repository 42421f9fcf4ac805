//! The class dashboard (`index.html` of `runner grade` and `runner
//! merge`): the score distribution as a histogram, each case's pass rate
//! across the class, most missed first, and a table of students with a
//! mark per case, linking to each one's `report.html`. Static; a few
//! lines of script make the table sortable.

use super::{page, text, verdict_mark};
use crate::grade::record::{Column, Manifest, Status, StudentRecord};
use crate::grade::stats::ClassStats;
use maud::{html, Markup};
use std::path::Path;

/// The script that sorts the tables.
const SORT: &str = include_str!("sort.js");

/// Bars of the histogram at most: beyond, scores are grouped.
const MAX_BARS: u32 = 40;

/// The dashboard of the output folder `out`, for `records` graded
/// against `manifest`. A student's name links to their `report.html` when
/// there is one.
pub fn dashboard(out: &Path, manifest: &Manifest, records: &[StudentRecord]) -> String {
    let columns = &manifest.columns;
    let stats = ClassStats::new(columns, records);
    let graded = &stats.graded;
    let max_points = stats.max_points;
    let one_spec = columns
        .iter()
        .map(|c| c.name.split('/').next().unwrap_or_default())
        .collect::<std::collections::HashSet<_>>()
        .len()
        <= 1;
    let short = |column: &Column| {
        if one_spec {
            column
                .name
                .split_once('/')
                .map_or(column.name.as_str(), |(_, case)| case)
                .to_string()
        } else {
            column.name.clone()
        }
    };
    let title = format!("{}: class results", text(&manifest.assignment));
    let per_case: Vec<(&Column, usize)> = stats
        .per_case
        .iter()
        .map(|&(index, passed)| (&columns[index], passed))
        .collect();
    let body = html! {
        header.top {
            h1 { (title) }
            dl.stats {
                div { dt { "students graded" } dd { (graded.len()) " / " (records.len()) } }
                div { dt { "points at most" } dd { (max_points) } }
                div { dt { "mean" } dd { (format!("{:.1}", stats.mean)) } }
                div { dt { "median" } dd { (stats.median_text()) } }
            }
            @if graded.len() < records.len() {
                p.note { (records.len() - graded.len()) " students are not graded (interrupted): run again with --resume." }
            }
        }
        main {
            section aria-labelledby="scores" {
                h2 id="scores" { "Scores" }
                (histogram(&stats.scores, max_points))
            }
            section aria-labelledby="cases" {
                h2 id="cases" { "Cases, most missed first" }
                div.scroll {
                    table.sortable {
                        caption { "How many graded students passed each case" }
                        thead {
                            tr {
                                th scope="col" { "case" }
                                th scope="col" { "requirement" }
                                th scope="col" { "points" }
                                th scope="col" { "passed" }
                                th scope="col" { "pass rate" }
                            }
                        }
                        tbody {
                            @for (column, passed) in &per_case {
                                @let percent = crate::text::percent(*passed, graded.len());
                                tr {
                                    td { code { (text(&column.name)) } }
                                    td { (text(&column.about)) }
                                    td.num { (column.max_points) }
                                    td.num data-value=(passed) { (passed) " / " (graded.len()) }
                                    td.num data-value=(percent) {
                                        span.rate aria-hidden="true" { span style=(format!("width:{percent}%")) {} }
                                        " " (percent) "%"
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="students" {
                h2 id="students" { "Students" }
                p {
                    "✓ pass, ✗ fail, ! could not be run, – not run. "
                    "A student's name opens their report with every case's evidence and sequence diagram."
                }
                div.scroll {
                    table.sortable.marks {
                        caption { "Every student's points and verdict per case, sorted by name" }
                        thead {
                            tr {
                                th scope="col" { "student" }
                                th scope="col" { "points" }
                                th scope="col" { "status" }
                                @for column in columns {
                                    th.case-col scope="col" title=(format!("{}: {}", text(&column.name), text(&column.about))) {
                                        (text(&short(column)))
                                    }
                                }
                                th scope="col" { "note" }
                            }
                        }
                        tbody {
                            @for record in records { (student_row(out, record, columns.len(), max_points)) }
                        }
                    }
                }
            }
        }
        footer { p { "Written by runner " (env!("CARGO_PKG_VERSION")) "; grades.csv holds the same numbers." } }
    };
    page(&title, body, Some(SORT))
}

fn student_row(out: &Path, record: &StudentRecord, columns: usize, max_points: u32) -> Markup {
    let graded = record.status == Status::Graded;
    let report = out.join(&record.student).join(crate::grade::HTML_REPORT);
    let link = report.is_file().then(|| {
        format!(
            "{}/{}",
            percent_encoded(&record.student),
            crate::grade::HTML_REPORT
        )
    });
    html! {
        tr {
            th scope="row" data-value=(text(&record.student).to_lowercase()) {
                @if let Some(link) = link { a href=(link) { (text(&record.student)) } }
                @else { (text(&record.student)) }
            }
            @if graded {
                td.num data-value=(record.points) { (record.points) " / " (max_points) }
            } @else {
                td.num data-value="-1" { "not graded" }
            }
            td.status { (record.csv_status()) }
            @for index in 0..columns {
                @let verdict = record.verdicts.get(index).and_then(Option::as_deref);
                @let (mark, word) = verdict_mark(verdict);
                @let rank = match verdict { Some("pass") => 3, Some("fail") => 1, Some("error") => 0, _ => -1 };
                td class=(format!("mark v-{}", verdict.unwrap_or("not_run"))) data-value=(rank) {
                    span aria-hidden="true" { (mark) }
                    span.visually-hidden { (word) }
                }
            }
            td { (text(&record.note)) }
        }
    }
}

/// The histogram of `scores` (sorted), one bar per score from 0 to
/// `max_points`, or per group of scores when there are many.
fn histogram(scores: &[u32], max_points: u32) -> Markup {
    let width_of_group = (max_points + 1).div_ceil(MAX_BARS).max(1);
    let groups = max_points / width_of_group + 1;
    let counts: Vec<usize> = (0..groups)
        .map(|group| {
            scores
                .iter()
                .filter(|s| (**s / width_of_group).min(groups - 1) == group)
                .count()
        })
        .collect();
    let label = |group: u32| {
        let low = group * width_of_group;
        let high = (low + width_of_group - 1).min(max_points);
        if low == high {
            low.to_string()
        } else {
            format!("{low}–{high}")
        }
    };
    let tallest = counts.iter().copied().max().unwrap_or(0).max(1);
    let bar = (640.0 / f64::from(groups)).clamp(14.0, 56.0);
    let left = 40.0;
    let (top, bottom) = (24.0, 184.0);
    let width = left + bar * f64::from(groups) + 12.0;
    let every = if bar < 30.0 {
        (30.0 / bar).ceil() as u32
    } else {
        1
    };
    let described: Vec<String> = counts
        .iter()
        .enumerate()
        .filter(|(_, count)| **count > 0)
        .map(|(group, count)| {
            format!(
                "{} points: {count} student{}",
                label(group as u32),
                if *count == 1 { "" } else { "s" }
            )
        })
        .collect();
    html! {
        figure.histogram {
            svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="histogram-title histogram-desc"
                width=(format!("{width:.0}")) height="224" viewBox=(format!("0 0 {width:.0} 224")) {
                title id="histogram-title" { "Score distribution" }
                desc id="histogram-desc" {
                    @if described.is_empty() { "No student graded yet." } @else { (described.join("; ")) "." }
                }
                line x1=(left) y1=(bottom) x2=(format!("{:.1}", width - 8.0)) y2=(bottom) {}
                text.axis x="4" y="14" { "students" }
                text.axis x=(format!("{:.1}", width - 8.0)) y="220" text-anchor="end" { "points" }
                @for (group, count) in counts.iter().enumerate() {
                    @let x = left + bar * group as f64;
                    @let height = (bottom - top) * *count as f64 / tallest as f64;
                    g {
                        title { (label(group as u32)) " points: " (count) " student" @if *count != 1 { "s" } }
                        @if *count > 0 {
                            rect.bar x=(format!("{:.1}", x + 2.0)) y=(format!("{:.1}", bottom - height)) width=(format!("{:.1}", bar - 4.0)) height=(format!("{height:.1}")) {}
                            text x=(format!("{:.1}", x + bar / 2.0)) y=(format!("{:.1}", bottom - height - 5.0)) text-anchor="middle" { (count) }
                        }
                        @if (group as u32).is_multiple_of(every) || group as u32 == groups - 1 {
                            text.axis x=(format!("{:.1}", x + bar / 2.0)) y="200" text-anchor="middle" { (label(group as u32)) }
                        }
                    }
                }
            }
            figcaption {
                "Students per score" @if width_of_group > 1 { " (scores grouped by " (width_of_group) ")" } ". "
                @if described.is_empty() { "No student graded yet." } @else { (described.join("; ")) "." }
            }
        }
    }
}

/// A folder name as one segment of a relative URL.
fn percent_encoded(name: &str) -> String {
    name.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
