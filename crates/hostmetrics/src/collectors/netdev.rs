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
    columns: Columns,
    values: Vec<u64>,
    names: Names,
    scratch_path: PathBuf,
}

/// Column names derived from the file header, kept across scrapes while the
/// header is unchanged.
#[derive(Default)]
struct Columns {
    header: String,
    names: Vec<String>,
}

/// Reused buffers for a family's name and help text.
#[derive(Default)]
struct Names {
    name: String,
    help: String,
}

impl NetdevCollector {
    pub(crate) fn new(o: &HostCollectorOptions, exclude: Option<Regex>) -> Self {
        Self {
            path: o.procfs.join("net/dev"),
            class_net: o.sysfs.join("class/net"),
            exclude,
            buf: String::new(),
            small: String::new(),
            columns: Columns::default(),
            values: Vec::new(),
            names: Names::default(),
            scratch_path: PathBuf::new(),
        }
    }
}

/// Parses /proc/net/dev: column names go to `columns`, the values of each
/// kept device to `values` (`columns.names.len()` per device, in order), and
/// the kept device names are returned.
fn parse<'a>(
    path: &Path,
    text: &'a str,
    exclude: Option<&Regex>,
    columns: &mut Columns,
    values: &mut Vec<u64>,
) -> Result<Vec<&'a str>, CollectError> {
    let mut lines = text.lines();
    let _title = lines.next();
    let header = lines
        .next()
        .ok_or_else(|| CollectError::parse(path, "missing header"))?;
    if columns.header != header {
        let mut parts = header.split('|');
        let (Some(_), Some(rx), Some(tx), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CollectError::parse(path, format!("bad header {header:?}")));
        };
        columns.names.clear();
        columns
            .names
            .extend(rx.split_ascii_whitespace().map(|f| format!("receive_{f}")));
        columns
            .names
            .extend(tx.split_ascii_whitespace().map(|f| format!("transmit_{f}")));
        columns.header.clear();
        columns.header.push_str(header);
    }
    let width = columns.names.len();
    values.clear();
    let mut devices = Vec::new();
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
        let before = values.len();
        for v in rest.split_ascii_whitespace() {
            values.push(parse_u64(path, dev, v)?);
        }
        if values.len() - before != width {
            return Err(CollectError::parse(
                path,
                format!("{dev}: {} values for {width} fields", values.len() - before),
            ));
        }
        devices.push(dev);
    }
    Ok(devices)
}

impl Names {
    fn set(&mut self, field: &str) {
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
        self.set("receive_nohandler");
        expo::header(out, &self.name, &self.help, Kind::Counter);
        for (dev, v) in values {
            expo::sample_u64(out, &self.name, &[("device", dev)], *v);
        }
    }
}

impl Collector for NetdevCollector {
    fn name(&self) -> &'static str {
        "netdev"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        let Self {
            path,
            class_net,
            exclude,
            buf,
            small,
            columns,
            values,
            names,
            scratch_path,
        } = self;
        let text = read_into(path, buf)?;
        let devices = parse(path, text, exclude.as_ref(), columns, values)?;
        let width = columns.names.len();

        // rx_nohandler per device, where sysfs has it.
        let mut nohandler: Vec<(&str, u64)> = Vec::with_capacity(devices.len());
        for dev in &devices {
            scratch_path.clear();
            scratch_path.push(&*class_net);
            scratch_path.push(dev);
            scratch_path.push("statistics/rx_nohandler");
            if let Ok(v) = read_into(scratch_path, small) {
                if let Ok(v) = v.trim().parse::<u64>() {
                    nohandler.push((dev, v));
                }
            }
        }

        let mut emitted_nohandler = false;
        for (i, field) in columns.names.iter().enumerate() {
            if field.starts_with("transmit_") && !emitted_nohandler {
                emitted_nohandler = true;
                names.write_nohandler(out, &nohandler);
            }
            names.set(field);
            expo::header(out, &names.name, &names.help, Kind::Counter);
            for (d, dev) in devices.iter().enumerate() {
                expo::sample_u64(out, &names.name, &[("device", dev)], values[d * width + i]);
            }
        }
        if !emitted_nohandler {
            names.write_nohandler(out, &nohandler);
        }
        Ok(())
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

    fn parse(p: &Path, text: &str, exclude: Option<&Regex>) -> Result<Vec<String>, CollectError> {
        let devices = super::parse(p, text, exclude, &mut Columns::default(), &mut Vec::new())?;
        Ok(devices.into_iter().map(String::from).collect())
    }

    #[test]
    fn header_change_is_picked_up() {
        let p = Path::new("/proc/net/dev");
        let (mut cols, mut vals) = (Columns::default(), Vec::new());
        super::parse(p, "x\n a |b|c\n eth0: 1 2\n", None, &mut cols, &mut vals).unwrap();
        assert_eq!(cols.names, ["receive_b", "transmit_c"]);
        super::parse(
            p,
            "x\n a |b d|c\n eth0: 1 2 3\n",
            None,
            &mut cols,
            &mut vals,
        )
        .unwrap();
        assert_eq!(cols.names, ["receive_b", "receive_d", "transmit_c"]);
        assert_eq!(vals, [1, 2, 3]);
    }

    #[test]
    fn malformed_input_is_an_error() {
        let p = Path::new("/proc/net/dev");
        assert!(parse(p, "", None).is_err());
        assert!(parse(p, "x\n a |b|c\n eth0: 1\n", None).is_err());
        assert!(parse(p, "x\n a |b|c\n eth0: 1 x\n", None).is_err());
        assert!(parse(p, "x\n a |b|c\n eth0 1 2\n", None).is_err());
        assert_eq!(
            parse(p, "x\n a |b|c\n eth0: 1 2\n", None).unwrap(),
            ["eth0"]
        );
    }
}
