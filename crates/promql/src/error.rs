//! Query errors, classified the way the Prometheus HTTP API reports them.

/// Which API error type (`errorType`) a failure maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The query text or its parameters are invalid (`bad_data`).
    BadData,
    /// Evaluation failed (`execution`).
    Execution,
    /// The query ran past its deadline (`timeout`).
    Timeout,
    /// The query was cancelled by its caller (`canceled`).
    Canceled,
}

/// A failure reported by the storage behind [`crate::Queryable`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StorageError(pub String);

/// Why a query failed. `Display` gives Prometheus' message text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The expression does not parse or is not valid for this query type.
    #[error("{0}")]
    Parse(String),
    /// Evaluation failed (matching errors, invalid arguments, storage failures...).
    #[error("{0}")]
    Execution(String),
    /// Too many samples would be held in memory at once.
    #[error("query processing would load too many samples into memory in query execution")]
    TooManySamples,
    /// The deadline passed.
    #[error("query timed out in query execution")]
    Timeout,
    /// The cancel token fired.
    #[error("query was canceled in query execution")]
    Canceled,
}

impl QueryError {
    /// The API error class for this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            QueryError::Parse(_) => ErrorKind::BadData,
            QueryError::Execution(_) | QueryError::TooManySamples => ErrorKind::Execution,
            QueryError::Timeout => ErrorKind::Timeout,
            QueryError::Canceled => ErrorKind::Canceled,
        }
    }
}

impl From<StorageError> for QueryError {
    fn from(e: StorageError) -> Self {
        QueryError::Execution(e.0)
    }
}

/// Shorthand for an execution error with a formatted message.
macro_rules! exec_err {
    ($($arg:tt)*) => { $crate::error::QueryError::Execution(format!($($arg)*)) };
}
pub(crate) use exec_err;
