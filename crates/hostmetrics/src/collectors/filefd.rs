//! `filefd`: allocated and maximum file handles from /proc/sys/fs/file-nr.

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};
use crate::source::{parse_u64, read_into};
use std::path::{Path, PathBuf};

/// Publishes system-wide file handle usage.
pub(crate) struct FilefdCollector {
    path: PathBuf,
    buf: String,
}

impl FilefdCollector {
    pub(crate) fn new(procfs: &Path) -> Self {
        Self {
            path: procfs.join("sys/fs/file-nr"),
            buf: String::new(),
        }
    }
}

impl Collector for FilefdCollector {
    fn name(&self) -> &'static str {
        "filefd"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        let text = read_into(&self.path, &mut self.buf)?;
        let mut f = text.split_ascii_whitespace();
        let (Some(allocated), Some(_unused), Some(maximum)) = (f.next(), f.next(), f.next()) else {
            return Err(CollectError::parse(&self.path, "expected 3 fields"));
        };
        let allocated = parse_u64(&self.path, "allocated", allocated)?;
        let maximum = parse_u64(&self.path, "maximum", maximum)?;
        let name = "node_filefd_allocated";
        expo::header(
            out,
            name,
            "File descriptor statistics: allocated.",
            Kind::Gauge,
        );
        expo::sample_u64(out, name, &[], allocated);
        let name = "node_filefd_maximum";
        expo::header(
            out,
            name,
            "File descriptor statistics: maximum.",
            Kind::Gauge,
        );
        expo::sample_u64(out, name, &[], maximum);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{fixture, run};

    #[test]
    fn renders_allocated_and_maximum() {
        assert_eq!(
            run(&mut FilefdCollector::new(&fixture("proc"))),
            "# HELP node_filefd_allocated File descriptor statistics: allocated.\n\
             # TYPE node_filefd_allocated gauge\nnode_filefd_allocated 495\n\
             # HELP node_filefd_maximum File descriptor statistics: maximum.\n\
             # TYPE node_filefd_maximum gauge\nnode_filefd_maximum 2466170\n"
        );
    }

    #[test]
    fn missing_file_is_an_error() {
        let err = FilefdCollector::new(&fixture("nonexistent"))
            .collect(&mut String::new())
            .unwrap_err();
        assert!(err.is_not_found());
    }
}
