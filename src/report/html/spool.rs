//! The spools of the HTML report: each kind of case (not as expected, failing as expected,
//! passing, and the script's data) waits in an anonymous temporary file until the page's
//! head is written, so memory does not grow with the suite.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, Write};

/// A case file spooled to a temporary file.
pub(super) struct Spool {
    /// The temporary file, written through a buffer.
    pub(super) file: BufWriter<File>,
    /// Cases written to it.
    pub(super) cases: usize,
}

impl Spool {
    /// An empty spool in a new anonymous temporary file.
    pub(super) fn new() -> io::Result<Self> {
        Ok(Self {
            file: BufWriter::new(tempfile::tempfile()?),
            cases: 0,
        })
    }

    /// Copies everything written to the spool to `out`, and deletes the file.
    pub(super) fn copy_to(self, out: &mut impl Write) -> io::Result<()> {
        let mut file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                return Ok(());
            }
            out.write_all(&buffer[..n])?;
        }
    }
}
