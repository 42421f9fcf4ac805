//! The class's figures, worked out once for the summary printed at the
//! end of a grading and for the dashboard: who was graded, the scores,
//! their mean and median, and how many students passed each case.

use super::record::{Column, Status, StudentRecord};

pub struct ClassStats<'a> {
    /// The students whose grading finished.
    pub graded: Vec<&'a StudentRecord>,
    /// The points the columns are worth together.
    pub max_points: u32,
    /// The graded students' points, lowest first.
    pub scores: Vec<u32>,
    pub mean: f64,
    /// The middle score, or the mean of the two middle ones.
    pub median: f64,
    /// (column index, graded students who passed it), most missed first;
    /// equal counts keep the spec's order.
    pub per_case: Vec<(usize, usize)>,
}

impl<'a> ClassStats<'a> {
    pub fn new(columns: &[Column], records: &'a [StudentRecord]) -> ClassStats<'a> {
        let graded: Vec<&StudentRecord> = records
            .iter()
            .filter(|r| r.status == Status::Graded)
            .collect();
        let mut scores: Vec<u32> = graded.iter().map(|r| r.points).collect();
        scores.sort_unstable();
        let (mean, median) = match scores.len() {
            0 => (0.0, 0.0),
            n => {
                let mean = f64::from(scores.iter().sum::<u32>()) / n as f64;
                let median = if n % 2 == 1 {
                    f64::from(scores[n / 2])
                } else {
                    f64::from(scores[n / 2 - 1] + scores[n / 2]) / 2.0
                };
                (mean, median)
            }
        };
        let mut per_case: Vec<(usize, usize)> = (0..columns.len())
            .map(|index| (index, graded.iter().filter(|r| r.passed(index)).count()))
            .collect();
        per_case.sort_by_key(|(_, passed)| *passed);
        ClassStats {
            graded,
            max_points: columns.iter().map(|c| c.max_points).sum(),
            scores,
            mean,
            median,
            per_case,
        }
    }

    /// The median as a teacher reads it: `7`, or `7.5` between two scores.
    pub fn median_text(&self) -> String {
        if self.median.fract() == 0.0 {
            format!("{:.0}", self.median)
        } else {
            format!("{:.1}", self.median)
        }
    }

    /// Each distinct score, highest first, with how many students got it.
    pub fn score_counts(&self) -> Vec<(u32, usize)> {
        let mut counts: Vec<(u32, usize)> = Vec::new();
        for score in self.scores.iter().rev() {
            match counts.last_mut() {
                Some((last, count)) if last == score => *count += 1,
                _ => counts.push((*score, 1)),
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graded(points: u32) -> StudentRecord {
        StudentRecord {
            points,
            status: Status::Graded,
            ..StudentRecord::unfinished("s", 0, "")
        }
    }

    #[test]
    fn the_median_of_an_even_class_is_between_its_two_middle_scores() {
        let records: Vec<StudentRecord> = [10, 20, 20, 30].into_iter().map(graded).collect();
        let stats = ClassStats::new(&[], &records);
        assert_eq!(stats.median_text(), "20");
        let records: Vec<StudentRecord> = [10, 20].into_iter().map(graded).collect();
        let stats = ClassStats::new(&[], &records);
        assert_eq!(stats.median_text(), "15");
        assert_eq!(stats.score_counts(), vec![(20, 1), (10, 1)]);
        let records: Vec<StudentRecord> = [1, 2].into_iter().map(graded).collect();
        assert_eq!(ClassStats::new(&[], &records).median_text(), "1.5");
    }
}
