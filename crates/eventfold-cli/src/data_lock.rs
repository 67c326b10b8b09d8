//! The data directory's writer lock, as seen by commands that check or repair files.

use std::fs::File;
use std::path::Path;

/// Takes the writer lock of `data` if no process holds it: `Some` (held until dropped), or
/// `None` when a writer (another process) has the directory open.
pub fn try_lock(data: &Path) -> anyhow::Result<Option<File>> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data.join("LOCK"))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(error)) => Err(error.into()),
    }
}
