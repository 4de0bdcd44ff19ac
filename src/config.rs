//! Every environment variable the library reads, read here and nowhere else: the limits
//! (`MAX_TRANSCRIPT_SIZE`, `VOICE_HARNESS_MAX_RUNS`), the shard (`VOICE_HARNESS_SHARD`),
//! nextest's run (`NEXTEST_RUN_ID`), CI (`CI`, `TF_BUILD`) and the LLM
//! (`VOICE_HARNESS_LLM_*`), and for the runner `NO_COLOR` and `PATH`. Other modules (the
//! runner's included) ask this one; what a value means stays with the type it configures
//! (docs/configuration.md lists them all).

use crate::limits::{EnvError, Limits};

use crate::prepare::Shard;

/// The variable's value; `None` when it is unset or not Unicode.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The variable's value, any bytes that are not Unicode replaced; `None` when it is unset.
fn var_lossy(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// Whether this is CI (see `message::is_ci`: insta's rule).
#[cfg(any(feature = "harness", feature = "llm"))]
pub(crate) fn ci() -> bool {
    crate::message::is_ci(var)
}

/// nextest's id of this run (`NEXTEST_RUN_ID`), when the tests run under nextest.
#[cfg(feature = "harness")]
pub(crate) fn nextest_run_id() -> Option<String> {
    var("NEXTEST_RUN_ID")
}

impl Limits {
    /// The defaults, overridden by `MAX_TRANSCRIPT_SIZE` and `VOICE_HARNESS_MAX_RUNS` when
    /// set. A value that is not a whole number ≥ 1 is an error, never silently the default.
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(var_lossy)
    }

    /// These limits, each overridden by its environment variable when that is set.
    pub(crate) fn with_env(self) -> Result<Self, EnvError> {
        self.overridden_by(var_lossy)
    }
}

impl Shard {
    /// The shard `VOICE_HARNESS_SHARD` names, if it is set.
    pub fn from_env() -> Result<Option<Self>, String> {
        match var("VOICE_HARNESS_SHARD") {
            None => Ok(None),
            Some(text) => Self::parse(&text)
                .map(Some)
                .map_err(|e| format!("environment variable VOICE_HARNESS_SHARD: {e}")),
        }
    }
}

#[cfg(feature = "llm")]
impl crate::llm::LlmConfig {
    /// From the environment: offline when insta would not write snapshots (`CI`).
    pub fn from_env(lock_root: &std::path::Path) -> Result<Self, String> {
        use crate::llm::LockMode;
        use std::time::Duration;
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let timeout = match var("VOICE_HARNESS_LLM_TIMEOUT") {
            None => Duration::from_secs(60),
            Some(text) => match text.trim().parse::<f64>() {
                Ok(s) if s > 0.0 && s.is_finite() => Duration::from_secs_f64(s),
                _ => {
                    return Err(format!(
                        "environment variable VOICE_HARNESS_LLM_TIMEOUT: expected seconds above 0, found {text:?}"
                    ));
                }
            },
        };
        Ok(Self {
            url: var("VOICE_HARNESS_LLM_URL"),
            model: var("VOICE_HARNESS_LLM_MODEL").unwrap_or_else(|| "default".to_owned()),
            key: var("VOICE_HARNESS_LLM_KEY"),
            timeout,
            mode: if ci() {
                LockMode::Offline
            } else {
                LockMode::Record
            },
            prune: var("VOICE_HARNESS_LLM_PRUNE").is_some_and(|v| v == "1"),
            lock_root: lock_root.to_owned(),
        })
    }
}

/// `NO_COLOR` is set and not empty (<https://no-color.org>): the runner prints no colour.
#[cfg(feature = "cli")]
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// The folders of `PATH`, in order (where the runner looks for an agent program).
#[cfg(feature = "cli")]
pub fn path_dirs() -> Vec<std::path::PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default()
}
