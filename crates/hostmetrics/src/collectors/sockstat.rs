//! `sockstat`: socket counts per protocol from /proc/net/sockstat and
//! /proc/net/sockstat6.
//!
//! Lines look like `TCP: inuse 2 orphan 0 tw 3 alloc 2 mem 310`; each pair
//! becomes `node_sockstat_<PROTO>_<key>`. `mem` is in pages, so it is also
//! published as `_mem_bytes`. `sockets: used N` becomes
//! `node_sockstat_sockets_used`.

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};
use crate::source::{parse_u64, read_into};
use std::path::{Path, PathBuf};

/// Publishes socket usage.
pub(crate) struct SockstatCollector {
    files: [PathBuf; 2],
    page_size: u64,
    buf: String,
    name: String,
    help: String,
}

impl SockstatCollector {
    pub(crate) fn new(procfs: &Path) -> Self {
        // SAFETY: sysconf has no memory-safety preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        Self {
            files: [procfs.join("net/sockstat"), procfs.join("net/sockstat6")],
            page_size: u64::try_from(page).ok().filter(|p| *p > 0).unwrap_or(4096),
            buf: String::new(),
            name: String::new(),
            help: String::new(),
        }
    }
}

/// Writes `node_sockstat_<proto>_<key>`, building names in reused buffers.
fn gauge(
    name: &mut String,
    help: &mut String,
    out: &mut String,
    proto: &str,
    key: &str,
    value: u64,
) {
    name.clear();
    name.push_str("node_sockstat_");
    name.push_str(proto);
    name.push('_');
    name.push_str(key);
    help.clear();
    help.push_str("Number of ");
    help.push_str(proto);
    help.push_str(" sockets in state ");
    help.push_str(key);
    help.push('.');
    expo::header(out, name, help, Kind::Gauge);
    expo::sample_u64(out, name, &[], value);
}

impl Collector for SockstatCollector {
    fn name(&self) -> &'static str {
        "sockstat"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        let Self {
            files,
            page_size,
            buf,
            name,
            help,
        } = self;
        for (i, path) in files.iter().enumerate() {
            let text = match read_into(path, buf) {
                Ok(t) => t,
                // sockstat6 is absent when IPv6 is disabled.
                Err(e) if i > 0 && e.is_not_found() => continue,
                Err(e) => return Err(e),
            };
            for line in text.lines() {
                let Some((proto, rest)) = line.split_once(':') else {
                    continue;
                };
                let mut f = rest.split_ascii_whitespace();
                while let Some(key) = f.next() {
                    let value = f.next().ok_or_else(|| {
                        CollectError::parse(path, format!("{proto}: {key} has no value"))
                    })?;
                    let value = parse_u64(path, key, value)?;
                    if proto == "sockets" && key == "used" {
                        let metric = "node_sockstat_sockets_used";
                        expo::header(out, metric, "Number of IPv4 sockets in use.", Kind::Gauge);
                        expo::sample_u64(out, metric, &[], value);
                        continue;
                    }
                    gauge(name, help, out, proto, key, value);
                    if key == "mem" {
                        gauge(
                            name,
                            help,
                            out,
                            proto,
                            "mem_bytes",
                            value.saturating_mul(*page_size),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{fixture, run};

    #[test]
    fn renders_every_protocol_state() {
        let mut c = SockstatCollector::new(&fixture("proc"));
        c.page_size = 4096;
        let out = run(&mut c);
        let samples: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "node_sockstat_sockets_used 15",
                "node_sockstat_TCP_inuse 2",
                "node_sockstat_TCP_orphan 0",
                "node_sockstat_TCP_tw 3",
                "node_sockstat_TCP_alloc 2",
                "node_sockstat_TCP_mem 310",
                "node_sockstat_TCP_mem_bytes 1269760",
                "node_sockstat_UDP_inuse 1",
                "node_sockstat_UDP_mem 4",
                "node_sockstat_UDP_mem_bytes 16384",
                "node_sockstat_UDPLITE_inuse 0",
                "node_sockstat_RAW_inuse 0",
                "node_sockstat_FRAG_inuse 0",
                "node_sockstat_FRAG_memory 0",
                "node_sockstat_TCP6_inuse 5",
                "node_sockstat_UDP6_inuse 0",
                "node_sockstat_FRAG6_inuse 0",
                "node_sockstat_FRAG6_memory 0",
            ]
        );
        assert!(out.contains(
            "# HELP node_sockstat_TCP_tw Number of TCP sockets in state tw.\n# TYPE node_sockstat_TCP_tw gauge\n"
        ));
    }
}
