//! Exclusive ownership of a WAL directory.
//!
//! Two writers appending to the same segments would interleave records and destroy
//! the log, so opening takes an advisory exclusive lock on `<dir>/lock`, held until
//! the [`crate::Wal`] is dropped. The lock is per open file, so a second open of the
//! same directory fails in the same process too.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::error::WalError;

/// Name of the lock file inside the WAL directory.
pub const LOCK_FILE: &str = "lock";

/// Takes the directory lock, failing at once if another handle holds it.
// `File::try_lock` is newer than the workspace's declared rust-version; the pinned
// toolchain has it, and the alternative is raw `flock` through `unsafe`.
#[allow(clippy::incompatible_msrv)]
pub fn lock_dir(dir: &Path) -> Result<File, WalError> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| WalError::io("open lock file", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(WalError::Locked { path }),
        Err(TryLockError::Error(e)) => Err(WalError::io("lock", &path, e)),
    }
}
