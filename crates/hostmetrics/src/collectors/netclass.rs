//! `netclass`: interface properties from /sys/class/net/<iface>: link state,
//! MTU, speed, carrier changes and the identifying `node_network_info`.
//!
//! Attributes the kernel refuses to report for an interface (e.g. `carrier`
//! or `speed` of a down or virtual device, which fail with EINVAL) are left
//! out for that interface, as node_exporter does. Interfaces matching the
//! netdev exclude pattern are skipped here too.

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};
use crate::options::HostCollectorOptions;
use crate::source::read_into;
use regex::Regex;
use std::path::PathBuf;

/// How a sysfs attribute is turned into a number.
#[derive(Clone, Copy)]
enum Parse {
    Decimal,
    Hex,
    /// Mbit/s to bytes/s (node_exporter keeps -1 "unknown" as -125000).
    MbitToBytes,
    /// `operstate` text: 1 when "up".
    Up,
}

/// (sysfs attribute, metric name, type, parsing) in publication order.
const ATTRS: [(&str, &str, Kind, Parse); 18] = [
    (
        "addr_assign_type",
        "node_network_address_assign_type",
        Kind::Gauge,
        Parse::Decimal,
    ),
    (
        "carrier",
        "node_network_carrier",
        Kind::Gauge,
        Parse::Decimal,
    ),
    (
        "carrier_changes",
        "node_network_carrier_changes_total",
        Kind::Counter,
        Parse::Decimal,
    ),
    (
        "carrier_down_count",
        "node_network_carrier_down_changes_total",
        Kind::Counter,
        Parse::Decimal,
    ),
    (
        "carrier_up_count",
        "node_network_carrier_up_changes_total",
        Kind::Counter,
        Parse::Decimal,
    ),
    ("dev_id", "node_network_device_id", Kind::Gauge, Parse::Hex),
    (
        "dormant",
        "node_network_dormant",
        Kind::Gauge,
        Parse::Decimal,
    ),
    ("flags", "node_network_flags", Kind::Gauge, Parse::Hex),
    (
        "ifindex",
        "node_network_iface_id",
        Kind::Gauge,
        Parse::Decimal,
    ),
    (
        "iflink",
        "node_network_iface_link",
        Kind::Gauge,
        Parse::Decimal,
    ),
    (
        "link_mode",
        "node_network_iface_link_mode",
        Kind::Gauge,
        Parse::Decimal,
    ),
    ("mtu", "node_network_mtu_bytes", Kind::Gauge, Parse::Decimal),
    (
        "name_assign_type",
        "node_network_name_assign_type",
        Kind::Gauge,
        Parse::Decimal,
    ),
    (
        "netdev_group",
        "node_network_net_dev_group",
        Kind::Gauge,
        Parse::Decimal,
    ),
    (
        "type",
        "node_network_protocol_type",
        Kind::Gauge,
        Parse::Decimal,
    ),
    (
        "speed",
        "node_network_speed_bytes",
        Kind::Gauge,
        Parse::MbitToBytes,
    ),
    (
        "tx_queue_len",
        "node_network_transmit_queue_length",
        Kind::Gauge,
        Parse::Decimal,
    ),
    ("operstate", "node_network_up", Kind::Gauge, Parse::Up),
];

/// Text attributes published as `node_network_info` labels (besides device).
const INFO: [(&str, &str); 5] = [
    ("address", "address"),
    ("broadcast", "broadcast"),
    ("duplex", "duplex"),
    ("ifalias", "ifalias"),
    ("operstate", "operstate"),
];

/// What was read for one interface.
struct Iface {
    name: String,
    values: [Option<i64>; ATTRS.len()],
    info: [String; INFO.len()],
}

fn parse_value(raw: &str, how: Parse) -> Option<i64> {
    match how {
        Parse::Decimal => raw.parse().ok(),
        Parse::Hex => i64::from_str_radix(raw.strip_prefix("0x").unwrap_or(raw), 16).ok(),
        Parse::MbitToBytes => raw.parse::<i64>().ok().map(|m| m.saturating_mul(125_000)),
        Parse::Up => Some(i64::from(raw == "up")),
    }
}

/// Publishes interface properties.
pub(crate) struct NetclassCollector {
    dir: PathBuf,
    exclude: Option<Regex>,
    buf: String,
    path: PathBuf,
    help: String,
}

impl NetclassCollector {
    pub(crate) fn new(o: &HostCollectorOptions, exclude: Option<Regex>) -> Self {
        Self {
            dir: o.sysfs.join("class/net"),
            exclude,
            buf: String::new(),
            path: PathBuf::new(),
            help: String::new(),
        }
    }

    /// Reads one attribute, `None` when the kernel does not provide it.
    fn attr(&mut self, iface: &str, attr: &str) -> Option<&str> {
        self.path.clear();
        self.path.push(&self.dir);
        self.path.push(iface);
        self.path.push(attr);
        read_into(&self.path, &mut self.buf).ok().map(str::trim)
    }

    fn read_ifaces(&mut self) -> Result<Vec<Iface>, CollectError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(CollectError::io(&self.dir, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| CollectError::io(&self.dir, e))?;
            // Interfaces are (symlinks to) directories; skip files such as
            // bonding_masters.
            if !entry.path().is_dir() {
                continue;
            }
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if self.exclude.as_ref().is_some_and(|r| r.is_match(&name)) {
                continue;
            }
            names.push(name);
        }
        names.sort();
        let mut ifaces = Vec::with_capacity(names.len());
        for name in names {
            let mut values = [None; ATTRS.len()];
            for (slot, (attr, _, _, how)) in values.iter_mut().zip(ATTRS) {
                *slot = self.attr(&name, attr).and_then(|raw| parse_value(raw, how));
            }
            let mut info: [String; INFO.len()] = Default::default();
            for (slot, (_, attr)) in info.iter_mut().zip(INFO) {
                if let Some(v) = self.attr(&name, attr) {
                    slot.push_str(v);
                }
            }
            ifaces.push(Iface { name, values, info });
        }
        Ok(ifaces)
    }
}

impl Collector for NetclassCollector {
    fn name(&self) -> &'static str {
        "netclass"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        let ifaces = self.read_ifaces()?;
        for (i, (attr, name, kind, _)) in ATTRS.iter().enumerate() {
            if ifaces.iter().all(|f| f.values[i].is_none()) {
                continue;
            }
            self.help.clear();
            self.help.push_str("Network device property from sysfs: ");
            self.help.push_str(attr);
            self.help.push('.');
            expo::header(out, name, &self.help, *kind);
            for f in &ifaces {
                if let Some(v) = f.values[i] {
                    expo::sample(out, name, &[("device", &f.name)], v as f64);
                }
            }
        }
        if !ifaces.is_empty() {
            let name = "node_network_info";
            expo::header(
                out,
                name,
                "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
                Kind::Gauge,
            );
            for f in &ifaces {
                let labels = [
                    (INFO[0].0, f.info[0].as_str()),
                    (INFO[1].0, f.info[1].as_str()),
                    ("device", f.name.as_str()),
                    (INFO[2].0, f.info[2].as_str()),
                    (INFO[3].0, f.info[3].as_str()),
                    (INFO[4].0, f.info[4].as_str()),
                ];
                expo::sample(out, name, &labels, 1.0);
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
    fn renders_interface_properties() {
        let o = HostCollectorOptions {
            sysfs: fixture("sys"),
            ..Default::default()
        };
        let out = run(&mut NetclassCollector::new(&o, None));
        let samples: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "node_network_address_assign_type{device=\"eth0\"} 0",
                "node_network_address_assign_type{device=\"ifb0\"} 1",
                "node_network_carrier{device=\"eth0\"} 1",
                "node_network_carrier_changes_total{device=\"eth0\"} 2",
                "node_network_carrier_down_changes_total{device=\"eth0\"} 1",
                "node_network_carrier_up_changes_total{device=\"eth0\"} 1",
                "node_network_device_id{device=\"eth0\"} 0",
                "node_network_device_id{device=\"ifb0\"} 0",
                "node_network_dormant{device=\"eth0\"} 0",
                "node_network_flags{device=\"eth0\"} 4099",
                "node_network_flags{device=\"ifb0\"} 130",
                "node_network_iface_id{device=\"eth0\"} 4",
                "node_network_iface_id{device=\"ifb0\"} 2",
                "node_network_iface_link{device=\"eth0\"} 4",
                "node_network_iface_link{device=\"ifb0\"} 2",
                "node_network_iface_link_mode{device=\"eth0\"} 0",
                "node_network_mtu_bytes{device=\"eth0\"} 1400",
                "node_network_mtu_bytes{device=\"ifb0\"} 1500",
                "node_network_name_assign_type{device=\"eth0\"} 1",
                "node_network_net_dev_group{device=\"eth0\"} 0",
                "node_network_protocol_type{device=\"eth0\"} 1",
                "node_network_protocol_type{device=\"ifb0\"} 1",
                "node_network_speed_bytes{device=\"eth0\"} 125000000",
                "node_network_transmit_queue_length{device=\"eth0\"} 1000",
                "node_network_transmit_queue_length{device=\"ifb0\"} 32",
                "node_network_up{device=\"eth0\"} 1",
                "node_network_up{device=\"ifb0\"} 0",
                "node_network_info{address=\"02:fc:00:00:00:01\",broadcast=\"ff:ff:ff:ff:ff:ff\",device=\"eth0\",duplex=\"full\",ifalias=\"\",operstate=\"up\"} 1",
                "node_network_info{address=\"5e:74:74:87:b3:43\",broadcast=\"ff:ff:ff:ff:ff:ff\",device=\"ifb0\",duplex=\"\",ifalias=\"uplink \\\"A\\\"\",operstate=\"down\"} 1",
            ]
        );
        assert!(out.contains("# TYPE node_network_carrier_changes_total counter\n"));
    }

    #[test]
    fn exclude_pattern_applies() {
        let o = HostCollectorOptions {
            sysfs: fixture("sys"),
            ..Default::default()
        };
        let out = run(&mut NetclassCollector::new(
            &o,
            Some(Regex::new("^ifb").unwrap()),
        ));
        assert!(!out.contains("ifb0"));
        assert!(out.contains("node_network_up{device=\"eth0\"} 1"));
    }

    #[test]
    fn value_parsing() {
        assert_eq!(parse_value("0x1003", Parse::Hex), Some(4099));
        assert_eq!(parse_value("-1", Parse::MbitToBytes), Some(-125_000));
        assert_eq!(parse_value("up", Parse::Up), Some(1));
        assert_eq!(parse_value("lowerlayerdown", Parse::Up), Some(0));
        assert_eq!(parse_value("x", Parse::Decimal), None);
    }
}
