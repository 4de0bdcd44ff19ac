//! The suite a run takes its cases from, the same for `cargo test` (`harness.rs`) and the
//! runner (`report/`): discovery of case files and their names, shards, the duplicate
//! `test_id` index, and loading one file as its name. The two sides differ only in how they
//! name a file (relative to the crate, or to the current directory).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::case::discover::{self, DiscoverError, clean, display_path};
use crate::case::{Case, load_case};
use crate::message::{self, LoadError};

/// A case file, and how people see its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaseFile {
    /// Where it is, as found.
    pub(crate) path: PathBuf,
    /// Its name in messages and reports (`/` separators, no `./`).
    pub(crate) shown: String,
    /// Its path within the folder it was found in (its name, for a file named directly):
    /// what shards hash, the same for the runner and `cargo test`.
    pub(crate) within: String,
}

/// A path named to the runner that does not exist or cannot be listed. (`cargo test`
/// discovers through datatest-stable and only the runner words these.)
#[derive(Debug)]
#[cfg_attr(
    not(feature = "cli"),
    allow(dead_code, reason = "the fields are read by the runner's message")
)]
pub(crate) enum FindError {
    Missing(PathBuf),
    Unreadable(DiscoverError),
}

/// Names files relative to `base` when they are below it.
#[derive(Debug, Clone)]
pub(crate) struct Namer {
    base: Option<PathBuf>,
}

impl Namer {
    /// Names relative to the current directory, asked once.
    #[cfg(feature = "cli")]
    pub(crate) fn current_dir() -> Self {
        Self {
            base: std::env::current_dir().ok(),
        }
    }

    /// Names relative to `base`.
    #[cfg_attr(not(feature = "harness"), allow(dead_code))]
    pub(crate) fn relative_to(base: &Path) -> Self {
        Self {
            base: Some(base.to_owned()),
        }
    }

    /// The name of `folder`, when each file under it is named as that name and its path
    /// within: not when the base lies inside the folder (its files are named from the
    /// base, the folder is not).
    fn prefix_for(&self, folder: &Path) -> Option<String> {
        let appends = match &self.base {
            Some(base) if folder.is_absolute() => folder.starts_with(base),
            _ => true,
        };
        appends.then(|| self.name(folder))
    }

    pub(crate) fn name(&self, path: &Path) -> String {
        let relative = match &self.base {
            Some(base) if path.is_absolute() => path.strip_prefix(base).unwrap_or(path),
            _ => path,
        };
        display_path(&clean(relative))
    }
}

/// Every case file under the given files and folders (a file named directly is taken
/// whatever its extension), sorted by name, each file once however it was named:
/// `cases/a.json` and `./cases/a.json` are one file.
pub(crate) fn find(paths: &[PathBuf], namer: &Namer) -> Result<Vec<CaseFile>, FindError> {
    let mut files: Vec<CaseFile> = Vec::new();
    for path in paths {
        if path.is_dir() {
            // The folder's name once, each file's as its path within added to it (naming
            // each file whole was a third of the time to find 10,000 files).
            let prefix = namer.prefix_for(path);
            for file in discover::case_files(path).map_err(FindError::Unreadable)? {
                let within = display_path(file.strip_prefix(path).unwrap_or(&file));
                let shown = match prefix.as_deref() {
                    None => namer.name(&file),
                    Some("") => within.clone(),
                    Some(p) if p.ends_with('/') => format!("{p}{within}"),
                    Some(p) => format!("{p}/{within}"),
                };
                files.push(CaseFile {
                    shown,
                    path: file,
                    within,
                });
            }
        } else if path.is_file() {
            let within = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            files.push(CaseFile {
                shown: namer.name(path),
                path: path.clone(),
                within,
            });
        } else {
            return Err(FindError::Missing(path.clone()));
        }
    }
    files.sort_by(|a, b| a.shown.cmp(&b.shown));
    files.dedup_by(|a, b| a.shown == b.shown);
    // One folder cannot name a file twice (links are not followed); several paths can.
    if paths.len() > 1 {
        let mut seen = std::collections::HashSet::new();
        files.retain(|f| seen.insert(std::fs::canonicalize(&f.path).unwrap_or(f.path.clone())));
    }
    Ok(files)
}

/// Which files declare each `test_id` that more than one file declares, to refuse
/// duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub(crate) struct Ids(BTreeMap<String, Vec<String>>);

impl Ids {
    pub(crate) fn scan(files: &[CaseFile]) -> Self {
        Self(discover::test_id_index(
            files,
            |f| f.path.as_path(),
            |f| f.shown.clone(),
        ))
    }

    /// The other files that declare `test_id`, if any.
    pub(crate) fn others(&self, test_id: &str, this: &str) -> Option<Vec<String>> {
        let others: Vec<String> = self
            .0
            .get(test_id)?
            .iter()
            .filter(|f| f.as_str() != this)
            .cloned()
            .collect();
        (!others.is_empty()).then_some(others)
    }
}

/// The case files a run runs, and the `test_id` index of the whole suite they come from.
/// `cargo test`, `run` and `sweep` all index the ids over every file first and take the
/// shard after (issue 23, fault 3: indexing only a shard's files let two files that share
/// an id pass when they fell in different shards).
#[derive(Debug)]
pub(crate) struct Suite {
    /// The files of the shard (all of them without one), in the order found. (`cargo test`
    /// runs one file a test and takes only the index.)
    #[cfg_attr(not(feature = "cli"), allow(dead_code))]
    pub(crate) files: Vec<CaseFile>,
    /// Every duplicate `test_id` among all the files found.
    pub(crate) ids: std::sync::Arc<Ids>,
}

impl Suite {
    /// Indexes the ids of `all`, then keeps the files of `shard`.
    pub(crate) fn new(mut all: Vec<CaseFile>, shard: Option<Shard>) -> Self {
        let ids = std::sync::Arc::new(Ids::scan(&all));
        all.retain(|file| in_shard(file, shard));
        Self { files: all, ids }
    }
}

/// Whether `file` runs in `shard` (every file runs without one).
pub(crate) fn in_shard(file: &CaseFile, shard: Option<Shard>) -> bool {
    shard.is_none_or(|shard| shard.holds(&file.within))
}

/// Loads a case file, named as `file.shown`.
pub(crate) fn load(file: &CaseFile) -> Result<Case, LoadError> {
    load_case(&file.path).map_err(|e| e.renamed(file.shown.clone()))
}

/// Checks that the case's `test_id` is its own (after selection: a case left out of a run
/// is not one of its duplicates).
pub(crate) fn unique(case: &Case, file: &CaseFile, ids: &Ids) -> Result<(), LoadError> {
    match ids.others(&case.test_id, &file.shown) {
        Some(others) => {
            let problem = message::duplicate_test_id(&case.test_id, &others);
            Err(LoadError::new(file.shown.clone(), vec![problem]))
        }
        None => Ok(()),
    }
}

/// One of N shards of a suite (`--shard K/N`, `VOICE_HARNESS_SHARD=K/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, 1-based.
    pub k: u64,
    /// How many shards.
    pub n: u64,
}

impl Shard {
    /// Reads `K/N`; what is wrong with it, for a message.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad =
            || format!("expected K/N with 1 <= K <= N, such as 2/4 (shard 2 of 4), found {text:?}");
        let (k, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let (k, n) = (
            k.trim().parse::<u64>().map_err(|_| bad())?,
            n.trim().parse::<u64>().map_err(|_| bad())?,
        );
        if n == 0 || k == 0 || k > n {
            return Err(bad());
        }
        Ok(Self { k, n })
    }

    /// Whether the case file at `within` (its path within its cases folder) is in this
    /// shard: by the FNV-1a hash of that path, so every file is in exactly one shard, the
    /// shards are about even, and adding a file never moves another.
    pub fn holds(&self, within: &str) -> bool {
        crate::rng::seed_for_test_id(within) % self.n == self.k - 1
    }

    // `from_env` is in `config`, with every other environment variable.
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_s_files_are_named_as_each_file_would_be() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("cases/sub")).unwrap();
        for file in ["cases/a.json", "cases/sub/b.json"] {
            std::fs::write(root.join(file), "{}").unwrap();
        }
        let spellings = [
            root.join("cases"),
            root.join("cases/"),
            root.join("cases/."),
            root.join("./cases/sub/.."),
            root.to_owned(),
            PathBuf::from("/"),
        ];
        for namer in [
            Namer::relative_to(root),
            Namer::relative_to(&root.join("cases")),
            Namer::relative_to(Path::new("/elsewhere")),
        ] {
            for path in &spellings[..5] {
                let found = find(std::slice::from_ref(path), &namer).unwrap();
                assert!(!found.is_empty());
                for file in found {
                    assert_eq!(file.shown, namer.name(&file.path), "{path:?}");
                }
            }
        }
        // The file system's root: no doubled slash.
        let prefix = Namer::relative_to(Path::new("/elsewhere")).name(&spellings[5]);
        assert_eq!(prefix, "/");
    }
}
