//! Where a report's bytes go: standard output, or a file written beside its path and renamed
//! over it once complete (a run that stops part way never leaves a half-written report), and
//! the check that two reports do not name one file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::cli::Usage;
use crate::cli::output::usage;

/// Where a report goes.
pub(crate) enum Sink {
    Stdout,
    /// The file as named, and the file written (see [`open_report`]).
    File(PathBuf, File),
}

impl Sink {
    /// The file it writes to, if it is one.
    pub(crate) fn path(&self) -> Option<PathBuf> {
        match self {
            Sink::File(path, _) => Some(path.clone()),
            Sink::Stdout => None,
        }
    }
}

/// The sink for `path`, and the report file it replaces once complete.
pub(crate) fn open_sink(
    path: &Option<PathBuf>,
    what: &str,
) -> Result<(Option<Sink>, Option<Pending>), Usage> {
    match path {
        None => Ok((None, None)),
        Some(p) if p.as_os_str() == "-" => Ok((Some(Sink::Stdout), None)),
        Some(p) => open_report(p)
            .map(|(file, pending)| (Some(Sink::File(p.clone(), file)), pending))
            .map_err(|e| usage::cannot_open_report(what, p, e)),
    }
}

/// A report written to a temporary file beside its path, renamed over it once complete, so
/// that a run that stops part way (Ctrl-C, a crash) never leaves an empty or half-written
/// report in place of the old one. Dropped before [`Pending::commit`], the temporary file
/// is removed.
pub(crate) struct Pending {
    /// The file the report replaces (a link's target: the link stays).
    target: PathBuf,
    temp: PathBuf,
    /// The old report's permissions, which the new one keeps.
    mode: Option<std::fs::Permissions>,
    done: bool,
}

impl Pending {
    /// Puts the complete report in place of the old one.
    pub(crate) fn commit(mut self) -> io::Result<()> {
        if let Some(mode) = self.mode.take() {
            std::fs::set_permissions(&self.temp, mode)?;
        }
        // Freeing a 100 MB file's pages takes the kernel 9 ms, done by whoever lets go of
        // it last. Held open while it is replaced, the old report is freed by a thread of
        // its own, beside the run instead of in it.
        #[cfg(unix)]
        let old = File::open(&self.target).ok();
        std::fs::rename(&self.temp, &self.target)?;
        self.done = true;
        #[cfg(unix)]
        if let Some(old) = old {
            std::thread::spawn(move || drop(old));
        }
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Opens the file a report is written to: a temporary file beside `path` (see [`Pending`]),
/// or, for a path that is not a regular file (a pipe, /dev/stdout), the path itself. A link
/// is written through (its target is replaced, the link stays). A report that exists but
/// cannot be written (read-only) is refused rather than replaced behind the user's back.
pub(crate) fn open_report(path: &Path) -> io::Result<(File, Option<Pending>)> {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    let target = match is_link {
        true => match std::fs::canonicalize(path) {
            Ok(target) => target,
            // A dangling link: written through in place, as it names no file yet.
            Err(_) => return File::create(path).map(|f| (f, None)),
        },
        false => path.to_owned(),
    };
    let mode = match std::fs::metadata(&target) {
        Ok(m) if !m.is_file() => return File::create(&target).map(|f| (f, None)),
        Ok(m) => {
            // Says why when it may not be written (opened, not truncated).
            std::fs::OpenOptions::new().write(true).open(&target)?;
            Some(m.permissions())
        }
        Err(_) => None,
    };
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::other("not the name of a file"))?;
    let temp = target.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let file = File::create(&temp)?;
    let pending = Pending {
        target,
        temp,
        mode,
        done: false,
    };
    Ok((file, Some(pending)))
}

/// A buffered writer into `sink`.
pub(crate) fn writer(sink: Sink) -> Box<dyn Write + Send> {
    // A realistic case's JSON line is about 10 KB, more than BufWriter's default 8 KiB
    // buffer: it went to the kernel in one or two writes a case. 256 KiB a write instead.
    const BUFFER: usize = 256 * 1024;
    match sink {
        Sink::Stdout => Box::new(BufWriter::with_capacity(BUFFER, io::stdout())),
        Sink::File(_, file) => Box::new(BufWriter::with_capacity(BUFFER, file)),
    }
}

/// `--json F --junit F` would write both reports into one file: refuse it.
pub(crate) fn same_file(a: &Option<PathBuf>, b: &Option<PathBuf>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return false;
    };
    if a.as_os_str() == "-" || b.as_os_str() == "-" {
        return false;
    }
    let full = |p: &Path| {
        let parent = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::canonicalize(parent)
            .map(|d| d.join(p.file_name().unwrap_or_default()))
            .unwrap_or_else(|_| p.to_owned())
    };
    full(a) == full(b)
}
