//! Limits, and how the environment variables that override them are read (the reading is
//! `config`'s): one reader for `cargo test` and the runner, so the two can never disagree
//! (docs/configuration.md).

use std::fmt;

/// Default for `MAX_TRANSCRIPT_SIZE`: rows kept per call transcript.
pub const DEFAULT_MAX_TRANSCRIPT_SIZE: usize = 1000;
/// Default for `VOICE_HARNESS_MAX_RUNS`: runs the in-memory store retains.
pub const DEFAULT_MAX_RUNS: usize = 1000;
/// Case files larger than this are not read.
pub const MAX_CASE_FILE_BYTES: u64 = 1024 * 1024;
/// Replies longer than this fail their step: no spoken reply is that long, and the cap keeps
/// a runaway agent from filling memory and snapshots. Input from an agent in another process
/// is cut here before it is buffered.
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

/// The bounds that apply to runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Rows kept per call transcript (`MAX_TRANSCRIPT_SIZE`, default 1000). A longer call is
    /// cut there and its outcome says so.
    pub max_transcript_rows: usize,
    /// Runs the in-memory store retains (`VOICE_HARNESS_MAX_RUNS`, default 1000); the
    /// oldest is evicted first.
    pub max_runs: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_transcript_rows: DEFAULT_MAX_TRANSCRIPT_SIZE,
            max_runs: DEFAULT_MAX_RUNS,
        }
    }
}

/// An environment variable with a value the harness cannot use (its message is worded in
/// `message/runner.rs`, with the rest).
#[derive(Clone, PartialEq, Eq)]
pub struct EnvError {
    pub(crate) var: &'static str,
    pub(crate) value: String,
    pub(crate) default: usize,
}

impl fmt::Debug for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for EnvError {}

impl Limits {
    // `from_env` is in `config`, with every other environment variable.

    /// Like [`Limits::from_env`], reading variables through `lookup` (for tests), on top of
    /// the defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        Self::default().overridden_by(lookup)
    }

    /// These limits, each overridden by its environment variable when that is set.
    pub(crate) fn overridden_by(
        self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, EnvError> {
        let read = |var: &'static str, default: usize| match lookup(var) {
            None => Ok(default),
            Some(value) => match value.trim().parse::<usize>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(EnvError {
                    var,
                    value,
                    default,
                }),
            },
        };
        Ok(Self {
            max_transcript_rows: read("MAX_TRANSCRIPT_SIZE", self.max_transcript_rows)?,
            max_runs: read("VOICE_HARNESS_MAX_RUNS", self.max_runs)?,
        })
    }
}
