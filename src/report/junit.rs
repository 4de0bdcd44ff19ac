//! JUnit XML: one testcase per case; a case that is not as expected is a failure (or an error
//! when it could not be run), with its reason (the same words as the runner's line and the
//! `cargo test` message). No timestamps, so the bytes are reproducible.

use std::io::Write;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{CaseReport, ReportStatus};
use crate::message;

/// A JUnit report, built case by case.
#[derive(Debug, Default)]
pub struct JunitReport {
    cases: Vec<TestCase>,
}

impl JunitReport {
    /// An empty report.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one case.
    pub fn case(&mut self, case: &CaseReport) {
        self.add(&JunitCase::from(case));
    }

    pub(crate) fn add(&mut self, case: &JunitCase) {
        self.cases.push(test_case(case));
    }

    /// Writes the report.
    pub fn write(self, out: impl Write) -> std::io::Result<()> {
        let mut suite = TestSuite::new("voice-harness");
        suite.add_test_cases(self.cases);
        let mut report = Report::new("voice-harness");
        report.add_test_suite(suite);
        report.serialize(out).map_err(std::io::Error::other)
    }
}

/// What JUnit needs of a case (from a run, or from a report being merged).
#[derive(Debug)]
pub(crate) struct JunitCase {
    pub(crate) file: String,
    pub(crate) test_id: Option<String>,
    pub(crate) status: ReportStatus,
    pub(crate) as_expected: bool,
    pub(crate) error: Option<String>,
    pub(crate) failures: Vec<String>,
    pub(crate) reason: Option<String>,
}

impl From<&CaseReport> for JunitCase {
    fn from(case: &CaseReport) -> Self {
        Self {
            file: case.file.clone(),
            test_id: case.test_id.clone(),
            status: case.status,
            as_expected: case.as_expected,
            error: case.error.clone(),
            failures: case.failures.clone(),
            reason: case.reason().map(str::to_owned),
        }
    }
}

fn test_case(case: &JunitCase) -> TestCase {
    let status = if case.as_expected {
        TestCaseStatus::success()
    } else {
        let kind = if case.status == ReportStatus::Error {
            NonSuccessKind::Error
        } else {
            NonSuccessKind::Failure
        };
        let mut status = TestCaseStatus::non_success(kind);
        status.set_message(case.reason.as_deref().unwrap_or_default());
        let description = match &case.error {
            Some(error) => error.clone(),
            None if case.failures.is_empty() => message::PASSED_BUT_EXPECTED_TO_FAIL.to_owned(),
            None => case.failures.join("\n"),
        };
        status.set_description(description);
        status
    };
    let mut test_case = TestCase::new(case.file.clone(), status);
    test_case.set_classname(
        case.test_id
            .clone()
            .unwrap_or_else(|| "(unreadable)".to_owned()),
    );
    test_case
}
