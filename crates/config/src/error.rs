//! Configuration errors that say where the problem is.

use std::fmt;
use std::path::PathBuf;

/// A configuration error located in its file.
///
/// Displayed as `file:line:column: key.path: message`, the form editors and CI logs
/// turn into links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the error is in (or `<inline>` for strings).
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Dotted key path such as `scrape_configs[0].scrape_timeout`, when known.
    pub path: Option<String>,
    /// What is wrong, worded for the person fixing it.
    pub message: String,
}

impl ConfigError {
    /// An error about the file as a whole (unreadable, not found).
    pub fn file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            line: None,
            column: None,
            path: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        f.write_str(": ")?;
        if let Some(p) = &self.path {
            if !p.is_empty() && p != "." {
                write!(f, "{p}: ")?;
            }
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}
