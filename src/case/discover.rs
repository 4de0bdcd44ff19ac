//! Finding case files, with the same rules for `cargo test` and the runner.
//!
//! The rules are datatest-stable's, which makes the generated tests, so that the runner
//! and `cargo test` always see the same files: every file under the folder whose name ends
//! in `.json`, recursively; files whose name starts with `.` are skipped (folders are
//! not); symbolic links are skipped (datatest-stable does not follow them); a folder that
//! cannot be read is an error, never silently skipped. The files come in the file system's
//! order: `prepare::find` sorts them by name, so no run depends on that order.

use std::collections::BTreeMap;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Component, Path, PathBuf};

use crate::limits::MAX_CASE_FILE_BYTES;

/// A folder or file that could not be listed or found.
#[derive(Debug)]
pub(crate) struct DiscoverError {
    pub(crate) path: PathBuf,
    pub(crate) error: io::Error,
}

/// The path as a user wrote it, with `/` separators on every platform.
pub(crate) fn display_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        text.into_owned()
    } else {
        text.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// `path` without `.` components: `./cases/a.json` is `cases/a.json`.
pub(crate) fn clean(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| *c != Component::CurDir)
        .collect()
}

/// Every case file under `dir` (see the module docs for the rules), unsorted.
pub(crate) fn case_files(dir: &Path) -> Result<Vec<PathBuf>, DiscoverError> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let fail = |error| DiscoverError {
            path: dir.clone(),
            error,
        };
        for entry in std::fs::read_dir(&dir).map_err(fail)? {
            let entry = entry.map_err(fail)?;
            let path = entry.path();
            // `DirEntry::file_type` does not follow symbolic links, like walkdir's default.
            let kind = entry.file_type().map_err(fail)?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && !name.starts_with('.') && name.ends_with(".json") {
                files.push(path);
            }
        }
    }
    Ok(files)
}

/// Each `test_id` that two or more files declare → those files (as `shown`, in the order
/// of `files`): what duplicate detection needs, and no more (an id declared once is left
/// out, so 100,000 files cost no index). Files whose `test_id` cannot be read are left out:
/// they fail on their own when loaded. A panic while reading or naming one file leaves out
/// only that file, never the rest of its batch.
///
/// This pass is the first to touch every file, so on a cold page cache it waits on the disk:
/// it reads with more threads than cores to keep more reads in flight.
pub(crate) fn test_id_index<T: Sync>(
    files: &[T],
    path: impl Fn(&T) -> &Path + Sync,
    shown: impl Fn(&T) -> String,
) -> BTreeMap<String, Vec<String>> {
    const IO_THREADS: usize = 16;
    let chunk = files.len().div_ceil(IO_THREADS).max(64);
    let found: Vec<Vec<(String, usize)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let path = &path;
                scope.spawn(move || {
                    part.iter()
                        .enumerate()
                        .filter_map(|(i, file)| {
                            panic::catch_unwind(AssertUnwindSafe(|| peek_test_id(path(file))))
                                .ok()
                                .flatten()
                                .map(|id| (id, c * chunk + i))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            // Each file is read under `catch_unwind`, so a worker cannot panic.
            .map(|w| w.join().unwrap_or_else(|p| panic::resume_unwind(p)))
            .collect()
    });
    let mut all: Vec<(String, usize)> = found.into_iter().flatten().collect();
    // By id, then file order (the sort is stable and chunks come in file order).
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let mut index: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for group in all.chunk_by(|a, b| a.0 == b.0).filter(|g| g.len() > 1) {
        let names: Vec<String> = group
            .iter()
            .filter_map(|(_, i)| panic::catch_unwind(AssertUnwindSafe(|| shown(&files[*i]))).ok())
            .collect();
        if names.len() > 1 {
            index.insert(group[0].0.clone(), names);
        }
    }
    index
}

/// Bytes of a file's head the id scan reads first: a case's `test_id` is nearly always its
/// first field, so one small read finds it.
const HEAD_BYTES: usize = 1024;

/// The `test_id` of a case file, without checking anything else: the value of the
/// top-level `test_id` field, if it is a string. The scan stops there, so it reads only the
/// file's head (more only when `test_id` comes late), and what follows may be broken; such
/// a file is an error when it is loaded, and its `test_id` still counts for duplicates.
pub(crate) fn peek_test_id(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let mut head = [0u8; HEAD_BYTES];
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    match test_id_in(&head[..filled]) {
        Peek::Found(id) => Some(id),
        Peek::Absent => None,
        Peek::NeedMore if filled < head.len() => None,
        Peek::NeedMore => {
            // `test_id` comes late: read the rest, as far as the loader would.
            let mut bytes = head[..filled].to_vec();
            file.take(MAX_CASE_FILE_BYTES.saturating_sub(filled as u64))
                .read_to_end(&mut bytes)
                .ok()?;
            match test_id_in(&bytes) {
                Peek::Found(id) => Some(id),
                Peek::Absent | Peek::NeedMore => None,
            }
        }
    }
}

/// What the head of a case file says of its `test_id`.
#[derive(Debug, PartialEq)]
enum Peek {
    Found(String),
    /// The file is no JSON object, or its `test_id` is not a string, or it has none.
    Absent,
    /// The bytes end before `test_id` was found.
    NeedMore,
}

/// The top-level `test_id` of the JSON object `bytes` starts, parsed only as far as that
/// field's value.
fn test_id_in(bytes: &[u8]) -> Peek {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

    struct TopLevel<'a>(&'a mut Option<String>);

    impl<'de> Visitor<'de> for TopLevel<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a case object")
        }
        fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "test_id" {
                    // Stop here: the rest of the file is the loader's to check.
                    *self.0 = Some(map.next_value::<String>()?);
                    return Ok(());
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }

    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut found = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // Stopping early leaves the object unclosed, which serde_json reports as an error;
    // only what was found counts.
    let result = (&mut de).deserialize_map(TopLevel(&mut found));
    match (found, result) {
        (Some(id), _) => Peek::Found(id),
        (None, Err(e)) if e.is_eof() => Peek::NeedMore,
        (None, _) => Peek::Absent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_reading_one_file_does_not_hide_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = (0..200)
            .map(|i| {
                let path = dir.path().join(format!("{i:03}.json"));
                let id = if i % 2 == 0 { "even" } else { "odd" };
                std::fs::write(&path, format!(r#"{{"test_id": "{id}"}}"#)).unwrap();
                path
            })
            .collect();
        let index = test_id_index(
            &files,
            |file| {
                assert!(!file.ends_with("013.json"), "a bug while reading one file");
                file
            },
            |file| {
                let name = file.file_name().unwrap().to_string_lossy().into_owned();
                assert_ne!(name, "007.json", "a bug while naming one file");
                name
            },
        );
        // Before: the whole batch of 64 files of that worker vanished from the index.
        assert_eq!(index["even"].len(), 100);
        assert_eq!(index["odd"].len(), 98);
        assert!(
            index["odd"].windows(2).all(|w| w[0] < w[1]),
            "in file order"
        );
    }

    #[test]
    fn the_index_holds_only_ids_that_files_share() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = ["a", "b", "c", "d", "e"]
            .iter()
            .zip(["one", "two", "one", "three", "one"])
            .map(|(name, id)| {
                let path = dir.path().join(format!("{name}.json"));
                std::fs::write(&path, format!(r#"{{"test_id": "{id}"}}"#)).unwrap();
                path
            })
            .collect();
        let name = |f: &PathBuf| f.file_name().unwrap().to_string_lossy().into_owned();
        let index = test_id_index(&files, |f| f, name);
        assert_eq!(index.len(), 1, "{index:?}");
        assert_eq!(index["one"], ["a.json", "c.json", "e.json"]);
    }

    #[test]
    fn the_id_peek_reads_as_far_as_the_test_id() {
        let dir = tempfile::tempdir().unwrap();
        let peek = |name: &str, text: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            peek_test_id(&path)
        };
        let long = "x".repeat(3000);
        let first = format!(r#"{{"test_id": "first", "persona": "{long}"}}"#);
        assert_eq!(
            peek("first.json", first.as_bytes()).as_deref(),
            Some("first")
        );
        // Past the first read: the rest of the file is read.
        let late =
            format!(r#"{{"persona": "{long}", "turns": [{{"a": [1, {{}}]}}], "test_id": "late"}}"#);
        assert_eq!(peek("late.json", late.as_bytes()).as_deref(), Some("late"));
        // The id itself cut by the first read.
        let pad = " ".repeat(HEAD_BYTES - 14);
        let cut = format!(r#"{{{pad}"test_id": "cut_across_the_edge"}}"#);
        assert_eq!(
            peek("cut.json", cut.as_bytes()).as_deref(),
            Some("cut_across_the_edge")
        );
        assert_eq!(
            peek("bom.json", b"\xEF\xBB\xBF{\"test_id\": \"bom\"}").as_deref(),
            Some("bom")
        );
        assert_eq!(
            peek("escaped.json", br#"{"test_\u0069d": "a\u0062c"}"#).as_deref(),
            Some("abc")
        );
        // What follows the id is the loader's to check.
        assert_eq!(
            peek("broken.json", br#"{"test_id": "kept", "persona": "#).as_deref(),
            Some("kept")
        );
        for (name, text) in [
            ("number.json", &br#"{"test_id": 5}"#[..]),
            ("nested.json", br#"{"caller": {"test_id": "inner"}}"#),
            ("array.json", br#"[{"test_id": "a"}]"#),
            ("none.json", br#"{"persona": "P"}"#),
            ("cut_short.json", br#"{"persona": "P", "tes"#),
            ("empty.json", b""),
            ("junk.json", b"\xFF\xFE not json"),
        ] {
            assert_eq!(peek(name, text), None, "{name}");
        }
        assert_eq!(peek_test_id(&dir.path().join("missing.json")), None);
    }

    #[test]
    fn discovery_follows_datatest_stables_rules() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".hidden_dir/sub")).unwrap();
        for file in [
            "a.json",
            ".dotfile.json",
            "notes.txt",
            "UPPER.JSON",
            ".hidden_dir/sub/b.json",
        ] {
            std::fs::write(root.join(file), "{}").unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("a.json"), root.join("link.json")).unwrap();
        let mut found: Vec<String> = case_files(root)
            .unwrap()
            .iter()
            .map(|f| display_path(f.strip_prefix(root).unwrap()))
            .collect();
        found.sort();
        assert_eq!(found, [".hidden_dir/sub/b.json", "a.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn an_unreadable_folder_is_an_error() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        // root ignores permissions: only check when the folder really is unreadable.
        if std::fs::read_dir(&locked).is_err() {
            let err = case_files(dir.path()).unwrap_err();
            assert_eq!(err.path, locked);
        }
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(case_files(&dir.path().join("missing")).is_err());
    }
}
