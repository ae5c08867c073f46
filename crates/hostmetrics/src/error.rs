//! Errors a collector can hit while reading the host's pseudo files.
//!
//! Every error names the file it concerns so that a failing collector can be
//! diagnosed from the message alone.

use std::io;
use std::path::{Path, PathBuf};

/// Why one collector could not produce its metrics.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A file could not be opened or read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// The underlying operating-system error.
        #[source]
        source: io::Error,
    },
    /// A file was read but its content did not have the expected shape.
    #[error("parsing {path}: {message}")]
    Parse {
        /// The file whose content was malformed.
        path: PathBuf,
        /// What was wrong with it.
        message: String,
    },
    /// A system call failed.
    #[error("{call}: {source}")]
    Syscall {
        /// The call that failed, e.g. `uname`.
        call: &'static str,
        /// The errno it returned.
        #[source]
        source: io::Error,
    },
}

impl CollectError {
    /// Builds an [`CollectError::Io`] for `path`.
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        CollectError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Builds a [`CollectError::Parse`] for `path`.
    pub(crate) fn parse(path: &Path, message: impl Into<String>) -> Self {
        CollectError::Parse {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    /// True when the error only says the file does not exist, which some
    /// collectors treat as "this kernel does not provide that data".
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, CollectError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// Why a [`crate::HostCollector`] could not be built from its options.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    /// One of the exclude patterns is not a valid regular expression.
    #[error("option {option}: invalid regular expression {pattern:?}: {source}")]
    BadRegex {
        /// The option field holding the pattern.
        option: &'static str,
        /// The pattern as given.
        pattern: String,
        /// The compiler's complaint.
        #[source]
        source: regex::Error,
    },
}
