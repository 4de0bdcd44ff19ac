//! Metrics and status (docs/case-format.md, "Metrics").

use serde::Serialize;

use crate::call::conversation::Row;
use crate::case::{CallerAct, Case, Speaker, Status};
use crate::validate::StepResult;

/// The numbers that describe one call (docs/case-format.md, "Metrics"). Serialized as the `metrics` object of the
/// report and as the `metrics.snap` snapshot, fields in this order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Metrics {
    /// Number of turns in the case.
    pub total_steps: u32,
    /// Steps that passed.
    pub steps_passed: u32,
    /// `total_steps - steps_passed`.
    pub steps_failed: u32,
    /// `step_order` of every failed step, ascending.
    pub failure_steps: Vec<u32>,
    /// The first failed step, if any.
    pub first_failure_step: Option<u32>,
    /// Some step with a caller run has `user_match` false.
    pub user_deviation_detected: bool,
    /// `steps_passed / total_steps`.
    pub coverage: f64,
    /// Keywords that appeared / keywords expected, over non-exact steps; `None` when no
    /// keyword is expected.
    pub keyword_recall: Option<f64>,
    /// Fillers the simulator inserted.
    pub disfluencies_injected: u32,
    /// Median agent-row latency (nearest rank).
    pub latency_ms_p50: Option<u64>,
    /// 95th-percentile agent-row latency (nearest rank).
    pub latency_ms_p95: Option<u64>,
    /// Slowest agent row.
    pub latency_ms_max: Option<u64>,
    /// Expected tool calls, over all steps (only when the case uses tools).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls_expected: Option<u32>,
    /// Expected tool calls that a call matched (only when the case uses tools).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls_matched: Option<u32>,
    /// The measured word error rate of what the agent heard (only when the case has
    /// `caller.asr`): word errors over words said, over the call's spoken lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asr_wer: Option<f64>,
    /// How a rule-following caller's call went (only for such cases).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub rules: Option<RulesMetrics>,
    /// Voice events (only when the case has silence, keypad tones or barge-ins).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub voice: Option<VoiceMetrics>,
}

/// The metrics of a rule-following caller's call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RulesMetrics {
    /// Who ended the call: `caller`, `agent`, or `max_turns` (a loop).
    pub ended_by: crate::case::EndedBy,
    /// Lines the caller said (the opening included).
    pub caller_turns: u32,
    /// Caller lines that came from a rule.
    pub rules_fired: u32,
    /// Caller lines that were `otherwise` (no rule matched).
    pub otherwise_lines: u32,
}

/// The metrics of a call with voice events (silence, keypad tones, barge-ins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VoiceMetrics {
    /// Agent replies the caller cut off.
    pub interruptions: u32,
    /// The slowest reply to a silence (a reprompt), when the agent answered any.
    pub latency_ms_after_silence_max: Option<u64>,
}

impl Metrics {
    pub(crate) fn compute(
        case: &Case,
        steps: &[StepResult],
        transcript: &[Row],
        disfluencies: u32,
    ) -> Self {
        let total_steps = steps.len() as u32;
        let steps_passed = steps.iter().filter(|s| s.passed).count() as u32;
        let failure_steps: Vec<u32> = steps
            .iter()
            .filter(|s| !s.passed)
            .map(|s| s.step_order)
            .collect();

        let (mut expected, mut appeared) = (0usize, 0usize);
        for (turn, step) in case.turns.iter().zip(steps) {
            if !turn.exact_match_required {
                expected += turn.expected_agent_response_keywords.len();
                appeared +=
                    turn.expected_agent_response_keywords.len() - step.missing_keywords.len();
            }
        }

        let mut latencies: Vec<u64> = transcript
            .iter()
            .filter(|r| r.speaker == Speaker::Agent)
            .filter_map(|r| r.latency_ms)
            .collect();
        latencies.sort_unstable();

        Metrics {
            total_steps,
            steps_passed,
            steps_failed: total_steps - steps_passed,
            first_failure_step: failure_steps.first().copied(),
            failure_steps,
            user_deviation_detected: steps.iter().any(|s| s.user_match == Some(false)),
            coverage: if total_steps == 0 {
                0.0
            } else {
                f64::from(steps_passed) / f64::from(total_steps)
            },
            keyword_recall: (expected > 0).then(|| appeared as f64 / expected as f64),
            disfluencies_injected: disfluencies,
            latency_ms_p50: nearest_rank(&latencies, 50),
            latency_ms_p95: nearest_rank(&latencies, 95),
            latency_ms_max: latencies.last().copied(),
            tool_calls_expected: case.uses_tools().then(|| match &case.rules {
                Some(rules) => rules.outcome.tool_calls.len() as u32,
                None => case
                    .turns
                    .iter()
                    .map(|t| t.expected_tool_calls.len() as u32)
                    .sum(),
            }),
            tool_calls_matched: case
                .uses_tools()
                .then(|| steps.iter().map(|s| s.tool_calls_matched).sum()),
            asr_wer: None,
            rules: None,
            voice: case.uses_voice_events().then(|| VoiceMetrics {
                interruptions: transcript.iter().filter(|r| r.cut.is_some()).count() as u32,
                latency_ms_after_silence_max: case
                    .turns
                    .iter()
                    .zip(steps)
                    .filter(|(turn, _)| matches!(turn.act, CallerAct::Silence(_)))
                    .filter_map(|(_, step)| step.latency_ms)
                    .max(),
            }),
        }
    }
}

/// The ⌈p·n/100⌉-th smallest of `sorted` (1-based), or `None` when empty.
pub(crate) fn nearest_rank(sorted: &[u64], p: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

/// `pass` when every step and the tone check passed.
pub(crate) fn status(steps: &[StepResult], tone_passed: bool) -> Status {
    if tone_passed && steps.iter().all(|s| s.passed) {
        Status::Pass
    } else {
        Status::Fail
    }
}
