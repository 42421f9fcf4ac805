//! JUnit XML, for CI dashboards and grading platforms: one test suite per
//! spec, one test case per case. Written with quick-junit, which also
//! strips characters XML cannot hold. Format reference:
//! <https://llg.cubic.org/docs/junit/>.

use super::{tail, Collected};
use crate::engine::Verdict;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

pub fn render(collected: &Collected) -> String {
    let mut report = Report::new("runner");
    let mut suites: Vec<TestSuite> = Vec::new();
    for outcome in &collected.outcomes {
        let status = match outcome.verdict {
            Verdict::Pass => TestCaseStatus::success(),
            Verdict::NotRun => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(outcome.message.as_str());
                status
            }
            Verdict::Fail | Verdict::Error => {
                let kind = if outcome.verdict == Verdict::Fail {
                    NonSuccessKind::Failure
                } else {
                    NonSuccessKind::Error
                };
                let mut status = TestCaseStatus::non_success(kind);
                status.set_message(outcome.message.as_str());
                let mut description = format!("requirement: {}\n", outcome.about);
                if let Some(failure) = &outcome.failure {
                    description.push_str(&format!(
                        "step {} (line {}): {}\nexpected: {}\n",
                        failure.step, failure.line, failure.action, failure.expected
                    ));
                }
                if let Some(hint) = &outcome.hint {
                    description.push_str(&format!("hint: {hint}\n"));
                }
                status.set_description(description);
                status
            }
        };
        let mut case = TestCase::new(outcome.case.as_str(), status);
        case.set_classname(outcome.spec.as_str());
        case.set_time(outcome.duration);
        if outcome.verdict != Verdict::Pass {
            if let Some(out) = tail(&outcome.stdout, 50) {
                case.set_system_out(out);
            }
            if let Some(err) = tail(&outcome.stderr, 50) {
                case.set_system_err(err);
            }
        }
        match suites.iter_mut().find(|s| s.name.as_str() == outcome.spec) {
            Some(suite) => {
                suite.add_test_case(case);
            }
            None => {
                let mut suite = TestSuite::new(outcome.spec.as_str());
                suite.add_test_case(case);
                suites.push(suite);
            }
        }
    }
    report.add_test_suites(suites);
    report.set_time(collected.summary.duration);
    report.to_string().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_report_parses_back_with_its_verdicts() {
        let xml = super::render(&crate::report::sample::collected());
        let report = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit XML");
        let suite = &report.test_suites[0];
        assert_eq!(suite.name.as_str(), "tcp-upper-server");
        assert_eq!(suite.test_cases.len(), 2);
        assert!(matches!(
            suite.test_cases[0].status,
            quick_junit::TestCaseStatus::Success { .. }
        ));
        assert!(matches!(
            suite.test_cases[1].status,
            quick_junit::TestCaseStatus::NonSuccess { .. }
        ));
    }
}
