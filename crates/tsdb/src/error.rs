//! The database's error type.

use std::path::PathBuf;

/// Why a database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TsdbError {
    /// An operating-system call on `path` failed.
    #[error("tsdb: {op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file's content is invalid.
    #[error("tsdb: corrupt {path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The write-ahead log failed.
    #[error("tsdb: {0}")]
    Wal(#[from] sightline_wal::WalError),
    /// The configuration is unusable.
    #[error("tsdb: invalid configuration: {0}")]
    Config(String),
    /// The database was closed.
    #[error("tsdb: closed")]
    Closed,
}

impl TsdbError {
    /// Wraps an I/O error with context.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TsdbError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// A corruption error.
    pub fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        TsdbError::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
