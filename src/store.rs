//! The in-memory store (docs/configuration.md): cases and runs, shared between threads, bounded.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use crate::case::Case;
use crate::limits::Limits;
use crate::run::Outcome;

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
    /// Each run with its version, bumped by every update.
    runs: VecDeque<(Run, u64)>,
    next_id: u64,
    evicted: u64,
}

impl RunsInner {
    fn find(&self, id: RunId) -> Option<usize> {
        self.runs.binary_search_by_key(&id, |(r, _)| r.id).ok()
    }
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
        self.bound(&mut outcome);
        let mut inner = self.lock();
        let id = RunId(inner.next_id);
        inner.next_id += 1;
        let run = Run {
            id,
            file: file.into(),
            outcome,
        };
        inner.runs.push_back((run, 0));
        while inner.runs.len() > self.limits.max_runs {
            inner.runs.pop_front();
            inner.evicted += 1;
        }
        id
    }

    fn bound(&self, outcome: &mut Outcome) {
        if outcome.transcript.len() > self.limits.max_transcript_rows {
            outcome.transcript.truncate(self.limits.max_transcript_rows);
            outcome.truncated = true;
        }
    }

    /// The run with this id, unless it was evicted.
    pub fn get(&self, id: RunId) -> Option<Run> {
        let inner = self.lock();
        let index = inner.find(id)?;
        inner.runs.get(index).map(|(run, _)| run.clone())
    }

    /// Up to `n` runs, newest first.
    pub fn list_recent(&self, n: usize) -> Vec<Run> {
        self.lock()
            .runs
            .iter()
            .rev()
            .take(n)
            .map(|(run, _)| run.clone())
            .collect()
    }

    /// Changes a stored run; `false` when there is no such run (or it was evicted). The id
    /// cannot be changed, and the transcript is cut to the row limit again.
    ///
    /// `change` runs on a copy of the run, *outside* the store's lock, so it may use the
    /// store itself (read, create, even update another run) without deadlocking. The copy
    /// is written back only if no other update of this run landed meanwhile; otherwise
    /// `change` runs again on the newer run. So no update is lost, and `change` should do
    /// nothing but change the run it is given.
    pub fn update(&self, id: RunId, mut change: impl FnMut(&mut Run)) -> bool {
        loop {
            let (mut run, version) = {
                let inner = self.lock();
                let Some(index) = inner.find(id) else {
                    return false;
                };
                inner.runs[index].clone()
            };
            change(&mut run);
            run.id = id;
            self.bound(&mut run.outcome);
            let mut inner = self.lock();
            let Some(index) = inner.find(id) else {
                return false;
            };
            let slot = &mut inner.runs[index];
            if slot.1 == version {
                *slot = (run, version + 1);
                return true;
            }
        }
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
