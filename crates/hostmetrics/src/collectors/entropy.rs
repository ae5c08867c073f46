//! `entropy`: the kernel random pool's available entropy and pool size from
//! /proc/sys/kernel/random.

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};
use crate::source::{parse_u64, read_into};
use std::path::{Path, PathBuf};

/// Publishes entropy pool figures.
pub(crate) struct EntropyCollector {
    avail: PathBuf,
    poolsize: PathBuf,
    buf: String,
}

impl EntropyCollector {
    pub(crate) fn new(procfs: &Path) -> Self {
        let dir = procfs.join("sys/kernel/random");
        Self {
            avail: dir.join("entropy_avail"),
            poolsize: dir.join("poolsize"),
            buf: String::new(),
        }
    }
}

impl Collector for EntropyCollector {
    fn name(&self) -> &'static str {
        "entropy"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        let avail = read_into(&self.avail, &mut self.buf)?.trim();
        let avail = parse_u64(&self.avail, "entropy_avail", avail)?;
        let pool = read_into(&self.poolsize, &mut self.buf)?.trim();
        let pool = parse_u64(&self.poolsize, "poolsize", pool)?;
        let name = "node_entropy_available_bits";
        expo::header(out, name, "Bits of available entropy.", Kind::Gauge);
        expo::sample_u64(out, name, &[], avail);
        let name = "node_entropy_pool_size_bits";
        expo::header(out, name, "Bits of entropy pool.", Kind::Gauge);
        expo::sample_u64(out, name, &[], pool);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{fixture, run};

    #[test]
    fn renders_entropy() {
        assert_eq!(
            run(&mut EntropyCollector::new(&fixture("proc"))),
            "# HELP node_entropy_available_bits Bits of available entropy.\n\
             # TYPE node_entropy_available_bits gauge\nnode_entropy_available_bits 256\n\
             # HELP node_entropy_pool_size_bits Bits of entropy pool.\n\
             # TYPE node_entropy_pool_size_bits gauge\nnode_entropy_pool_size_bits 4096\n"
        );
    }
}
