//! JUnit XML: one testcase per case; a case that is not as expected is a failure (or an error
//! when it could not be run), with its reasons. No timestamps, so the bytes are reproducible.

use std::io::Write;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use voice_harness::{CaseReport, ReportStatus};

pub(crate) fn test_case(case: &CaseReport) -> TestCase {
    let status = if case.as_expected {
        TestCaseStatus::success()
    } else {
        let kind = if case.status == ReportStatus::Error {
            NonSuccessKind::Error
        } else {
            NonSuccessKind::Failure
        };
        let mut status = TestCaseStatus::non_success(kind);
        status.set_message(case.first_reason().unwrap_or_default());
        let description = match &case.error {
            Some(error) => error.clone(),
            None if case.failures.is_empty() => {
                "the call passed, but the case expects it to fail".to_owned()
            }
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

pub(crate) fn write(cases: Vec<TestCase>, out: impl Write) -> std::io::Result<()> {
    let mut suite = TestSuite::new("voice-harness");
    suite.add_test_cases(cases);
    let mut report = Report::new("voice-harness");
    report.add_test_suite(suite);
    report.serialize(out).map_err(std::io::Error::other)
}
