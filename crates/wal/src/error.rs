//! The error type every fallible WAL operation returns.

use std::io;
use std::path::PathBuf;

/// Why a WAL operation failed. I/O errors name the file or directory involved.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// An operating-system call on `path` failed.
    #[error("wal: {op} {path}: {source}")]
    Io {
        /// What was being done (`"open"`, `"write"`, `"fsync"`, ...).
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A payload larger than one record can hold.
    #[error("wal: record of {size} bytes exceeds the maximum of {max} bytes")]
    RecordTooLarge {
        /// The payload size that was offered.
        size: usize,
        /// The largest payload accepted.
        max: usize,
    },
    /// The options cannot be used (for example an fsync interval of zero).
    #[error("wal: invalid options: {0}")]
    InvalidOptions(String),
    /// A checkpoint request that would lose or overwrite data.
    #[error("wal: invalid checkpoint: {0}")]
    InvalidCheckpoint(String),
    /// Another open [`crate::Wal`] (in this or another process) owns the directory.
    #[error("wal: {path} is locked by another open WAL")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The WAL was closed; no more appends or syncs are accepted.
    #[error("wal: closed")]
    Closed,
    /// An earlier write or fsync failed in a way that leaves the on-disk state
    /// unknown, so the WAL refuses further work rather than acknowledge data it may
    /// have lost. Reopening the WAL (which replays and repairs) recovers.
    #[error("wal: unusable after an earlier failure: {0}")]
    Poisoned(String),
}

impl WalError {
    /// Wraps an I/O error with the operation and path it concerns.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        WalError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
