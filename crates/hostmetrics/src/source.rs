//! Reading pseudo files into reused buffers.
//!
//! Collectors keep one `String` each and read their files into it on every
//! scrape, so a steady-state render does not allocate for file contents.

use crate::error::CollectError;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Reads the whole file at `path` into `buf` (cleared first) and returns it.
pub(crate) fn read_into<'a>(path: &Path, buf: &'a mut String) -> Result<&'a str, CollectError> {
    buf.clear();
    let mut file = File::open(path).map_err(|e| CollectError::io(path, e))?;
    file.read_to_string(buf)
        .map_err(|e| CollectError::io(path, e))?;
    Ok(buf.as_str())
}

/// Parses an unsigned integer field, naming the file and field on failure.
pub(crate) fn parse_u64(path: &Path, field: &str, text: &str) -> Result<u64, CollectError> {
    text.parse::<u64>().map_err(|_| {
        CollectError::parse(
            path,
            format!("{field}: {text:?} is not an unsigned integer"),
        )
    })
}

/// Parses a float field, naming the file and field on failure.
pub(crate) fn parse_f64(path: &Path, field: &str, text: &str) -> Result<f64, CollectError> {
    text.parse::<f64>()
        .map_err(|_| CollectError::parse(path, format!("{field}: {text:?} is not a number")))
}
