//! Kill -9 in the middle of appending: every record whose sync was acknowledged is
//! there after reopening.
//!
//! The test binary re-executes itself: with `SIGHTLINE_WAL_CRASH_DIR` set, the
//! `crash_child` test becomes the writer, printing `ACK <id>` after each sync returns.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::*;
use sightline_wal::{FsyncPolicy, Wal};

const ENV: &str = "SIGHTLINE_WAL_CRASH_DIR";
const POLICY_ENV: &str = "SIGHTLINE_WAL_CRASH_POLICY";

/// The child side; does nothing in a normal test run.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(ENV) else { return };
    let policy = std::env::var(POLICY_ENV).unwrap_or_else(|_| "always".into());
    let o = opts("crash_child", 4096, FsyncPolicy::parse(&policy).unwrap());
    let (wal, _) = Wal::open(std::path::Path::new(&dir), o, |_, _| {}).unwrap();
    let mut out = std::io::stdout().lock();
    for id in 0u64.. {
        // Records of varying size so some straddle segment boundaries.
        let mut p = format!("id-{id}-").into_bytes();
        p.resize(p.len() + (id as usize * 13) % 700, b'x');
        let lsn = wal.append(&p).unwrap();
        wal.sync(lsn).unwrap();
        writeln!(out, "ACK {id}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn kill_9_keeps_every_acknowledged_record_fsync_always() {
    crash_and_check("always");
}

/// With `Interval` and `Never`, `append` has written to the OS, which outlives the
/// process: a kill -9 (unlike a power loss) must not lose acknowledged records.
#[test]
fn kill_9_keeps_every_acknowledged_record_fsync_interval() {
    crash_and_check("50ms");
}

#[test]
fn kill_9_keeps_every_acknowledged_record_fsync_never() {
    crash_and_check("never");
}

fn crash_and_check(policy: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wal");
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(ENV, &dir)
        .env(POLICY_ENV, policy)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = HashSet::new();
    let mut lines = BufReader::new(stdout).lines();
    while acked.len() < 2000 {
        let line = lines.next().expect("child ended early").unwrap();
        if let Some(id) = line.strip_prefix("ACK ") {
            acked.insert(id.parse::<u64>().unwrap());
        }
    }
    // SIGKILL while it is still appending.
    child.kill().unwrap();
    child.wait().unwrap();
    // Acks that were in the pipe before the kill also count.
    for line in lines {
        let Ok(line) = line else { break };
        if let Some(id) = line.strip_prefix("ACK ") {
            if let Ok(id) = id.parse::<u64>() {
                acked.insert(id);
            }
        }
    }

    let (_wal, report, recs) = open_collect(&dir, opts("crash_parent", 4096, FsyncPolicy::Always));
    let mut present = HashSet::new();
    for (_, p) in &recs {
        let s = String::from_utf8_lossy(p);
        let id: u64 = s
            .strip_prefix("id-")
            .and_then(|r| r.split('-').next())
            .and_then(|n| n.parse().ok())
            .expect("well-formed payload");
        present.insert(id);
    }
    let missing: Vec<_> = acked.iter().filter(|id| !present.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but lost: {missing:?} ({report:?})"
    );
    // Replayed ids are a gap-free prefix: nothing after a hole.
    let max = present.iter().max().copied().unwrap();
    assert_eq!(present.len() as u64, max + 1);
}
