//! The class at a glance: `grades.csv`, and the summary printed at the end
//! (score distribution, and per case how many students passed it).

use super::record::{Column, Status, StudentRecord};
use super::stats::ClassStats;
use crate::text::spreadsheet_text;
use std::path::Path;

/// Writes `grades.csv`: `student,lms_id,points,max_points,status`
/// (`status`: `graded`, `no-program`, `ambiguous`, `build-failed`,
/// `did-not-start`, `not-graded`), a column per case (`spec/case`, the
/// points earned), then `note`; one row per student in
/// the order given (sorted by name). Text cells (names, notes, headers)
/// are made inert for spreadsheets (`text::spreadsheet_text`): a student
/// names their own folder.
pub fn write_csv(
    path: &Path,
    columns: &[Column],
    records: &[StudentRecord],
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    {
        let mut writer = csv::Writer::from_writer(&mut buffer);
        let mut header: Vec<std::borrow::Cow<str>> = vec![
            "student".into(),
            "lms_id".into(),
            "points".into(),
            "max_points".into(),
            "status".into(),
        ];
        header.extend(columns.iter().map(|c| spreadsheet_text(&c.name)));
        header.push("note".into());
        writer.write_record(header.iter().map(|cell| cell.as_bytes()))?;
        let max_points: u32 = columns.iter().map(|c| c.max_points).sum();
        for record in records {
            let finished = record.status == Status::Graded;
            let mut row = vec![
                spreadsheet_text(&record.student).into_owned(),
                spreadsheet_text(&record.lms_id).into_owned(),
                if finished {
                    record.points.to_string()
                } else {
                    String::new()
                },
                max_points.to_string(),
                record.csv_status().to_string(),
            ];
            row.extend(
                record
                    .cases
                    .iter()
                    .map(|points| points.map(|p| p.to_string()).unwrap_or_default()),
            );
            row.push(spreadsheet_text(&record.note).into_owned());
            writer.write_record(&row)?;
        }
        writer.flush()?;
    }
    super::record::write_atomically(path, &String::from_utf8_lossy(&buffer))
}

/// The summary a teacher reads at the end of a grading.
pub fn summary(assignment: &str, columns: &[Column], records: &[StudentRecord]) -> String {
    let stats = ClassStats::new(columns, records);
    let graded = stats.graded.len();
    let mut text = format!(
        "{assignment}: {graded} of {} students graded, {} points at most\n",
        records.len(),
        stats.max_points
    );
    if graded == 0 {
        return text;
    }
    text.push_str("\nscores (points: students)\n");
    let counts = stats.score_counts();
    let widest = counts.iter().map(|(_, count)| *count).max().unwrap_or(1);
    const BAR: usize = 30;
    for (score, count) in counts {
        let length = (count * BAR).div_ceil(widest).max(1);
        text.push_str(&format!(
            "  {score:>4}  {:<BAR$}  {count}\n",
            "#".repeat(length)
        ));
    }
    text.push_str(&format!(
        "  mean {:.1}, median {}\n",
        stats.mean,
        stats.median_text()
    ));

    text.push_str("\ncases, most missed first (students passing)\n");
    let name_width = columns.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for (index, passed) in stats.per_case {
        text.push_str(&format!(
            "  {:<name_width$}  {passed:>4}/{graded}  {:>3}%\n",
            columns[index].name,
            crate::text::percent(passed, graded)
        ));
    }
    let unfinished = records.len() - graded;
    if unfinished > 0 {
        text.push_str(&format!(
            "\n{unfinished} students not graded (interrupted): run again with --resume\n"
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(student: &str, cases: &[Option<u32>], note: &str) -> StudentRecord {
        StudentRecord {
            student: student.into(),
            lms_id: String::new(),
            status: Status::Graded,
            standing: Default::default(),
            fingerprint: String::new(),
            points: cases.iter().flatten().sum(),
            max_points: 3,
            cases: cases.to_vec(),
            verdicts: cases
                .iter()
                .map(|c| Some(if c.unwrap_or(0) > 0 { "pass" } else { "fail" }.to_string()))
                .collect(),
            note: note.into(),
        }
    }

    fn columns() -> Vec<Column> {
        vec![
            Column {
                name: "s/a".into(),
                max_points: 1,
                about: String::new(),
            },
            Column {
                name: "s/b".into(),
                max_points: 2,
                about: String::new(),
            },
        ]
    }

    #[test]
    fn the_csv_quotes_what_needs_quoting() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("grades.csv");
        let records = vec![
            record("ann", &[Some(1), Some(2)], ""),
            StudentRecord {
                lms_id: "1234567".into(),
                ..record("bo", &[Some(1), Some(2)], "")
            },
            record(
                "bob, jr",
                &[Some(0), Some(0)],
                "no file matches `server.py` (\"x\")",
            ),
            StudentRecord::unfinished("cy", 2, "not graded: interrupted"),
        ];
        write_csv(&path, &columns(), &records).expect("written");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            "student,lms_id,points,max_points,status,s/a,s/b,note\n\
             ann,,3,3,graded,1,2,\n\
             bo,1234567,3,3,graded,1,2,\n\
             \"bob, jr\",,0,3,graded,0,0,\"no file matches `server.py` (\"\"x\"\")\"\n\
             cy,,,3,not-graded,,,not graded: interrupted\n"
        );
    }

    #[test]
    fn the_summary_shows_the_distribution_and_the_most_missed_case_first() {
        let records = vec![
            record("ann", &[Some(1), Some(2)], ""),
            record("bob", &[Some(1), Some(0)], ""),
            record("cy", &[Some(1), Some(0)], ""),
        ];
        let text = summary("lab", &columns(), &records);
        assert!(text.contains("3 of 3 students graded"), "{text}");
        let b = text.find("s/b").expect("b");
        let a = text.find("s/a").expect("a");
        assert!(b < a, "most missed first:\n{text}");
        assert!(text.contains("1/3   33%"), "{text}");
        assert!(text.contains("mean 1.7, median 1"), "{text}");
    }
}
