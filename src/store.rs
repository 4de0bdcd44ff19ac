//! The in-memory store (SPEC §8): cases and runs, shared between threads, bounded.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use crate::case::Case;
use crate::run::Outcome;

/// Default for `MAX_TRANSCRIPT_SIZE`: rows kept per run transcript.
pub const DEFAULT_MAX_TRANSCRIPT_SIZE: usize = 1000;
/// Default for `VOICE_HARNESS_MAX_RUNS`: runs retained before the oldest is evicted.
pub const DEFAULT_MAX_RUNS: usize = 1000;

/// The store's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Rows kept per run transcript (`MAX_TRANSCRIPT_SIZE`, default 1000).
    pub max_transcript_rows: usize,
    /// Runs retained (`VOICE_HARNESS_MAX_RUNS`, default 1000).
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

/// An environment variable with a value the harness cannot use.
#[derive(Clone, PartialEq, Eq)]
pub struct EnvError {
    var: &'static str,
    value: String,
    default: usize,
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "environment variable {}: expected a whole number of at least 1, found {:?}\n  help: fix it, or unset it to use the default ({})",
            self.var, self.value, self.default
        )
    }
}

impl fmt::Debug for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for EnvError {}

impl Limits {
    /// The defaults, overridden by `MAX_TRANSCRIPT_SIZE` and `VOICE_HARNESS_MAX_RUNS` when
    /// set. A value that is not a whole number ≥ 1 is an error, never silently the default.
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(|var| std::env::var_os(var).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Like [`Limits::from_env`], reading variables through `lookup` (for tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
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
            max_transcript_rows: read("MAX_TRANSCRIPT_SIZE", DEFAULT_MAX_TRANSCRIPT_SIZE)?,
            max_runs: read("VOICE_HARNESS_MAX_RUNS", DEFAULT_MAX_RUNS)?,
        })
    }
}

/// Cases and runs, safe to share between threads (`&Store` is `Send + Sync`).
#[derive(Debug)]
pub struct Store {
    /// The cases, by `test_id`.
    pub cases: CaseStore,
    /// The runs, oldest evicted first.
    pub runs: RunStore,
}

impl Store {
    /// An empty store with these bounds.
    pub fn new(limits: Limits) -> Self {
        Self {
            cases: CaseStore::default(),
            runs: RunStore::new(limits),
        }
    }
}

/// Cases by `test_id`.
#[derive(Debug, Default)]
pub struct CaseStore {
    cases: RwLock<BTreeMap<String, Arc<Case>>>,
}

impl CaseStore {
    /// The case with this `test_id`.
    pub fn get(&self, test_id: &str) -> Option<Arc<Case>> {
        self.cases
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(test_id)
            .cloned()
    }

    /// Every case, ordered by `test_id`.
    pub fn list(&self) -> Vec<Arc<Case>> {
        self.cases
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Inserts or replaces the case with its `test_id`; returns the one it replaced.
    pub fn upsert(&self, case: Case) -> Option<Arc<Case>> {
        let mut cases = self.cases.write().unwrap_or_else(PoisonError::into_inner);
        cases.insert(case.test_id.clone(), Arc::new(case))
    }

    /// Removes the case; returns it if it was there.
    pub fn delete(&self, test_id: &str) -> Option<Arc<Case>> {
        self.cases
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(test_id)
    }

    /// Number of cases.
    pub fn len(&self) -> usize {
        self.cases
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// No cases stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Identifies a run; ids increase in creation order and are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(pub u64);

/// One stored run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Run {
    /// The run's id.
    pub id: RunId,
    /// The case file it ran, as named to the harness.
    pub file: String,
    /// What happened, with the transcript cut to the store's row limit.
    pub outcome: Outcome,
}

/// Runs, bounded: creating one beyond the limit evicts the oldest, and counts it.
#[derive(Debug)]
pub struct RunStore {
    limits: Limits,
    inner: Mutex<RunsInner>,
}

#[derive(Debug, Default)]
struct RunsInner {
    runs: VecDeque<Run>,
    next_id: u64,
    evicted: u64,
}

impl RunStore {
    /// An empty run store with these bounds.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, RunsInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a run of `file` and returns its id. A transcript longer than the row limit is
    /// cut there (and the outcome says `truncated`); the oldest run is evicted when full.
    pub fn create(&self, file: impl Into<String>, mut outcome: Outcome) -> RunId {
        if outcome.transcript.len() > self.limits.max_transcript_rows {
            outcome.transcript.truncate(self.limits.max_transcript_rows);
            outcome.truncated = true;
        }
        let mut inner = self.lock();
        let id = RunId(inner.next_id);
        inner.next_id += 1;
        inner.runs.push_back(Run {
            id,
            file: file.into(),
            outcome,
        });
        while inner.runs.len() > self.limits.max_runs {
            inner.runs.pop_front();
            inner.evicted += 1;
        }
        id
    }

    /// The run with this id, unless it was evicted.
    pub fn get(&self, id: RunId) -> Option<Run> {
        let inner = self.lock();
        let index = inner.runs.binary_search_by_key(&id, |r| r.id).ok()?;
        inner.runs.get(index).cloned()
    }

    /// Up to `n` runs, newest first.
    pub fn list_recent(&self, n: usize) -> Vec<Run> {
        self.lock().runs.iter().rev().take(n).cloned().collect()
    }

    /// Changes a stored run in place; `false` when there is no such run (or it was evicted).
    /// The id cannot be changed, and the transcript is cut to the row limit again.
    pub fn update(&self, id: RunId, change: impl FnOnce(&mut Run)) -> bool {
        let mut inner = self.lock();
        let Ok(index) = inner.runs.binary_search_by_key(&id, |r| r.id) else {
            return false;
        };
        let run = &mut inner.runs[index];
        change(run);
        run.id = id;
        if run.outcome.transcript.len() > self.limits.max_transcript_rows {
            run.outcome
                .transcript
                .truncate(self.limits.max_transcript_rows);
            run.outcome.truncated = true;
        }
        true
    }

    /// Runs currently retained.
    pub fn len(&self) -> usize {
        self.lock().runs.len()
    }

    /// No runs retained.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs evicted so far to stay within the bound.
    pub fn evicted(&self) -> u64 {
        self.lock().evicted
    }

    /// The bounds in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }
}
