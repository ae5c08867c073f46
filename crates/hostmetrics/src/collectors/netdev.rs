//! `netdev`: per interface traffic counters from /proc/net/dev.
//!
//! Field names come from the file's own header (`bytes`, `packets`, `errs`,
//! `drop`, `fifo`, `frame`, `compressed`, `multicast` for receive; `colls`
//! and `carrier` for transmit) and become `node_network_{receive,transmit}_
//! <field>_total`. `receive_nohandler`, which node_exporter gets over netlink,
//! is read from sysfs `statistics/rx_nohandler` where the kernel has it.

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};
use crate::options::HostCollectorOptions;
use crate::source::{parse_u64, read_into};
use regex::Regex;
use std::path::{Path, PathBuf};

/// Publishes network interface statistics.
pub(crate) struct NetdevCollector {
    path: PathBuf,
    class_net: PathBuf,
    exclude: Option<Regex>,
    buf: String,
    small: String,
    name: String,
    help: String,
    scratch_path: PathBuf,
}

impl NetdevCollector {
    pub(crate) fn new(o: &HostCollectorOptions, exclude: Option<Regex>) -> Self {
        Self {
            path: o.procfs.join("net/dev"),
            class_net: o.sysfs.join("class/net"),
            exclude,
            buf: String::new(),
            small: String::new(),
            name: String::new(),
            help: String::new(),
            scratch_path: PathBuf::new(),
        }
    }
}

/// Parsed /proc/net/dev: field names (receive then transmit, already
/// prefixed) and one row of values per device.
struct Table<'a> {
    fields: Vec<String>,
    rows: Vec<(&'a str, Vec<u64>)>,
}

fn parse<'a>(
    path: &Path,
    text: &'a str,
    exclude: Option<&Regex>,
) -> Result<Table<'a>, CollectError> {
    let mut lines = text.lines();
    let _title = lines.next();
    let header = lines
        .next()
        .ok_or_else(|| CollectError::parse(path, "missing header"))?;
    let mut parts = header.split('|');
    let (Some(_), Some(rx), Some(tx), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CollectError::parse(path, format!("bad header {header:?}")));
    };
    let mut fields: Vec<String> = rx
        .split_ascii_whitespace()
        .map(|f| format!("receive_{f}"))
        .collect();
    fields.extend(tx.split_ascii_whitespace().map(|f| format!("transmit_{f}")));
    let mut rows = Vec::new();
    for line in lines {
        let Some((dev, rest)) = line.split_once(':') else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(CollectError::parse(path, format!("bad line {line:?}")));
        };
        let dev = dev.trim();
        if exclude.is_some_and(|r| r.is_match(dev)) {
            continue;
        }
        let values = rest
            .split_ascii_whitespace()
            .map(|v| parse_u64(path, dev, v))
            .collect::<Result<Vec<u64>, _>>()?;
        if values.len() != fields.len() {
            return Err(CollectError::parse(
                path,
                format!("{dev}: {} values for {} fields", values.len(), fields.len()),
            ));
        }
        rows.push((dev, values));
    }
    Ok(Table { fields, rows })
}

impl Collector for NetdevCollector {
    fn name(&self) -> &'static str {
        "netdev"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        let mut buf = std::mem::take(&mut self.buf);
        let result = self.collect_from(out, &mut buf);
        self.buf = buf;
        result
    }
}

impl NetdevCollector {
    fn collect_from(&mut self, out: &mut String, buf: &mut String) -> Result<(), CollectError> {
        let text = read_into(&self.path, buf)?;
        let table = parse(&self.path, text, self.exclude.as_ref())?;

        // rx_nohandler per device, where sysfs has it.
        let mut nohandler: Vec<(&str, u64)> = Vec::with_capacity(table.rows.len());
        for (dev, _) in &table.rows {
            self.scratch_path.clear();
            self.scratch_path.push(&self.class_net);
            self.scratch_path.push(dev);
            self.scratch_path.push("statistics/rx_nohandler");
            if let Ok(v) = read_into(&self.scratch_path, &mut self.small) {
                if let Ok(v) = v.trim().parse::<u64>() {
                    nohandler.push((dev, v));
                }
            }
        }

        let mut emitted_nohandler = false;
        for (i, field) in table.fields.iter().enumerate() {
            if field.starts_with("transmit_") && !emitted_nohandler {
                emitted_nohandler = true;
                self.write_nohandler(out, &nohandler);
            }
            self.family_names(field);
            expo::header(out, &self.name, &self.help, Kind::Counter);
            for (dev, values) in &table.rows {
                expo::sample_u64(out, &self.name, &[("device", dev)], values[i]);
            }
        }
        if !emitted_nohandler {
            self.write_nohandler(out, &nohandler);
        }
        Ok(())
    }

    fn family_names(&mut self, field: &str) {
        self.name.clear();
        self.name.push_str("node_network_");
        self.name.push_str(field);
        self.name.push_str("_total");
        self.help.clear();
        self.help.push_str("Network device statistic ");
        self.help.push_str(field);
        self.help.push('.');
    }

    fn write_nohandler(&mut self, out: &mut String, values: &[(&str, u64)]) {
        if values.is_empty() {
            return;
        }
        self.family_names("receive_nohandler");
        expo::header(out, &self.name, &self.help, Kind::Counter);
        for (dev, v) in values {
            expo::sample_u64(out, &self.name, &[("device", dev)], *v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{fixture, run};

    fn collector(exclude: Option<&str>) -> NetdevCollector {
        let o = HostCollectorOptions {
            procfs: fixture("proc"),
            sysfs: fixture("sys"),
            ..Default::default()
        };
        NetdevCollector::new(&o, exclude.map(|e| Regex::new(e).unwrap()))
    }

    #[test]
    fn renders_every_field_per_device() {
        let out = run(&mut collector(Some("^lo$")));
        let samples: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "node_network_receive_bytes_total{device=\"eth0\"} 80104678",
                "node_network_receive_packets_total{device=\"eth0\"} 4024",
                "node_network_receive_errs_total{device=\"eth0\"} 1",
                "node_network_receive_drop_total{device=\"eth0\"} 2",
                "node_network_receive_fifo_total{device=\"eth0\"} 3",
                "node_network_receive_frame_total{device=\"eth0\"} 4",
                "node_network_receive_compressed_total{device=\"eth0\"} 5",
                "node_network_receive_multicast_total{device=\"eth0\"} 6",
                "node_network_receive_nohandler_total{device=\"eth0\"} 13",
                "node_network_transmit_bytes_total{device=\"eth0\"} 302565",
                "node_network_transmit_packets_total{device=\"eth0\"} 2411",
                "node_network_transmit_errs_total{device=\"eth0\"} 7",
                "node_network_transmit_drop_total{device=\"eth0\"} 8",
                "node_network_transmit_fifo_total{device=\"eth0\"} 9",
                "node_network_transmit_colls_total{device=\"eth0\"} 10",
                "node_network_transmit_carrier_total{device=\"eth0\"} 11",
                "node_network_transmit_compressed_total{device=\"eth0\"} 12",
            ]
        );
        assert!(out.starts_with(
            "# HELP node_network_receive_bytes_total Network device statistic receive_bytes.\n\
             # TYPE node_network_receive_bytes_total counter\n"
        ));
    }

    #[test]
    fn without_exclude_loopback_is_included() {
        let out = run(&mut collector(None));
        assert!(out.contains("node_network_receive_bytes_total{device=\"lo\"} 46119\n"));
        // lo has no sysfs statistics in the fixture: no nohandler sample for it.
        assert!(!out.contains("node_network_receive_nohandler_total{device=\"lo\"}"));
    }

    #[test]
    fn malformed_input_is_an_error() {
        let p = Path::new("/proc/net/dev");
        assert!(parse(p, "", None).is_err());
        assert!(parse(p, "x\n a |b|c\n eth0: 1\n", None).is_err());
        assert!(parse(p, "x\n a |b|c\n eth0: 1 x\n", None).is_err());
        assert!(parse(p, "x\n a |b|c\n eth0 1 2\n", None).is_err());
        assert_eq!(
            parse(p, "x\n a |b|c\n eth0: 1 2\n", None)
                .unwrap()
                .rows
                .len(),
            1
        );
    }
}
