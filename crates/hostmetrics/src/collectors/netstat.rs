//! `netstat`: protocol counters from /proc/net/netstat, /proc/net/snmp and
//! /proc/net/snmp6, filtered by node_exporter's default field list.
//!
//! The first two files hold pairs of lines (`Proto: Name Name…` then
//! `Proto: value value…`); snmp6 holds `ProtoName value` lines where the
//! protocol ends at its first `6`. Each kept counter becomes an untyped
//! `node_netstat_<Proto>_<Name>`.

use super::Collector;
use crate::error::CollectError;
use crate::expo::{self, Kind};
use crate::source::{parse_f64, read_into};
use once_cell::sync::Lazy;
use regex::Regex;
use std::path::{Path, PathBuf};

/// node_exporter's default `--collector.netstat.fields`.
const DEFAULT_FIELDS: &str = r"^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$";

/// The compiled field filter; `None` only if the constant failed to compile,
/// which a unit test rules out.
static FIELDS: Lazy<Option<Regex>> = Lazy::new(|| Regex::new(DEFAULT_FIELDS).ok());

/// Publishes selected network protocol counters.
pub(crate) struct NetstatCollector {
    netstat: PathBuf,
    snmp: PathBuf,
    snmp6: PathBuf,
    buf: String,
    names: Names,
}

/// Reused buffers for building metric names and help texts.
#[derive(Default)]
struct Names {
    key: String,
    name: String,
    help: String,
}

impl NetstatCollector {
    pub(crate) fn new(procfs: &Path) -> Self {
        Self {
            netstat: procfs.join("net/netstat"),
            snmp: procfs.join("net/snmp"),
            snmp6: procfs.join("net/snmp6"),
            buf: String::new(),
            names: Names::default(),
        }
    }
}

/// Writes one counter if the filter keeps `proto_field`.
fn emit(
    n: &mut Names,
    out: &mut String,
    path: &Path,
    proto: &str,
    field: &str,
    value: &str,
) -> Result<(), CollectError> {
    n.key.clear();
    n.key.push_str(proto);
    n.key.push('_');
    n.key.push_str(field);
    if !FIELDS.as_ref().is_some_and(|r| r.is_match(&n.key)) {
        return Ok(());
    }
    let v = parse_f64(path, &n.key, value)?;
    n.name.clear();
    n.name.push_str("node_netstat_");
    n.name.push_str(&n.key);
    n.help.clear();
    n.help.push_str("Statistic ");
    n.help.push_str(proto);
    n.help.push_str(field);
    n.help.push('.');
    expo::single(out, &n.name, &n.help, Kind::Untyped, v);
    Ok(())
}

/// Reads `path`, treating a missing file as empty (the kernel may lack it,
/// e.g. snmp6 with IPv6 disabled).
fn read_optional<'a>(path: &Path, buf: &'a mut String) -> Result<&'a str, CollectError> {
    match read_into(path, buf) {
        Ok(t) => Ok(t),
        Err(e) if e.is_not_found() => Ok(""),
        Err(e) => Err(e),
    }
}

/// Handles a file of header/value line pairs.
fn paired(n: &mut Names, out: &mut String, path: &Path, text: &str) -> Result<(), CollectError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    while let Some(names) = lines.next() {
        let values = lines
            .next()
            .ok_or_else(|| CollectError::parse(path, format!("no value line after {names:?}")))?;
        let (Some((proto, names)), Some((vproto, values))) =
            (names.split_once(':'), values.split_once(':'))
        else {
            return Err(CollectError::parse(path, "line without protocol prefix"));
        };
        if proto != vproto {
            return Err(CollectError::parse(
                path,
                format!("header {proto} followed by {vproto}"),
            ));
        }
        let (names, values) = (
            names.split_ascii_whitespace(),
            values.split_ascii_whitespace(),
        );
        if names.clone().count() != values.clone().count() {
            return Err(CollectError::parse(
                path,
                format!("{proto}: field and value counts differ"),
            ));
        }
        for (field, value) in names.zip(values) {
            emit(n, out, path, proto, field, value)?;
        }
    }
    Ok(())
}

/// Handles /proc/net/snmp6 `ProtoField value` lines.
fn snmp6(n: &mut Names, out: &mut String, path: &Path, text: &str) -> Result<(), CollectError> {
    for line in text.lines() {
        let mut f = line.split_ascii_whitespace();
        let (Some(key), Some(value)) = (f.next(), f.next()) else {
            continue;
        };
        let Some(split) = key.find('6') else { continue };
        let (proto, field) = key.split_at(split + 1);
        emit(n, out, path, proto, field, value)?;
    }
    Ok(())
}

impl Collector for NetstatCollector {
    fn name(&self) -> &'static str {
        "netstat"
    }

    fn collect(&mut self, out: &mut String) -> Result<(), CollectError> {
        let Self {
            netstat,
            snmp,
            snmp6: snmp6_path,
            buf,
            names,
        } = self;
        let text = read_optional(netstat, buf)?;
        paired(names, out, netstat, text)?;
        let text = read_optional(snmp, buf)?;
        paired(names, out, snmp, text)?;
        let text = read_optional(snmp6_path, buf)?;
        snmp6(names, out, snmp6_path, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::testutil::{fixture, run};

    #[test]
    fn default_filter_compiles() {
        assert!(FIELDS.is_some());
    }

    #[test]
    fn renders_filtered_counters_from_all_three_files() {
        let out = run(&mut NetstatCollector::new(&fixture("proc")));
        let samples: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "node_netstat_TcpExt_SyncookiesSent 1",
                "node_netstat_TcpExt_SyncookiesRecv 2",
                "node_netstat_TcpExt_SyncookiesFailed 3",
                "node_netstat_TcpExt_ListenOverflows 5",
                "node_netstat_TcpExt_ListenDrops 6",
                "node_netstat_TcpExt_TCPTimeouts 7",
                "node_netstat_TcpExt_TCPSynRetrans 8",
                "node_netstat_IpExt_InOctets 80094249",
                "node_netstat_IpExt_OutOctets 314046",
                "node_netstat_Ip_Forwarding 1",
                "node_netstat_Tcp_ActiveOpens 40",
                "node_netstat_Tcp_PassiveOpens 12",
                "node_netstat_Tcp_CurrEstab 3",
                "node_netstat_Tcp_InSegs 4000",
                "node_netstat_Tcp_OutSegs 2500",
                "node_netstat_Tcp_RetransSegs 9",
                "node_netstat_Tcp_InErrs 0",
                "node_netstat_Tcp_OutRsts 14",
                "node_netstat_Udp_InDatagrams 10",
                "node_netstat_Udp_NoPorts 1",
                "node_netstat_Udp_InErrors 0",
                "node_netstat_Udp_OutDatagrams 11",
                "node_netstat_Udp_RcvbufErrors 0",
                "node_netstat_Udp_SndbufErrors 0",
                "node_netstat_Ip6_InOctets 100",
                "node_netstat_Icmp6_InMsgs 2",
                "node_netstat_Udp6_InDatagrams 3",
                "node_netstat_UdpLite6_InErrors 0",
            ]
        );
        assert!(out.starts_with(
            "# HELP node_netstat_TcpExt_SyncookiesSent Statistic TcpExtSyncookiesSent.\n\
             # TYPE node_netstat_TcpExt_SyncookiesSent untyped\n"
        ));
    }

    #[test]
    fn mismatched_pairs_are_errors() {
        let dir = fixture("proc-bad");
        let mut c = NetstatCollector::new(&dir);
        let err = c.collect(&mut String::new()).unwrap_err();
        assert!(err.to_string().contains("counts differ"), "{err}");
    }
}
