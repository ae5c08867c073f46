//! Durable state: alerts, silences and the notification log, written as one JSON
//! snapshot (write to a temporary file, fsync, rename, fsync the directory) so a
//! restart neither pages twice nor forgets a resolve.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::nflog::Entry;
use crate::silence::Silence;

/// The snapshot file name inside the state directory.
pub const FILE: &str = "notifier-state.json";

/// Everything persisted.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// Format version (1).
    pub version: u32,
    /// Known alerts.
    pub alerts: Vec<Alert>,
    /// Silences.
    pub silences: Vec<Silence>,
    /// Notification log.
    pub nflog: Vec<Entry>,
}

/// The snapshot path in `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Loads the snapshot; a missing file is an empty state.
pub fn load(dir: &Path) -> Result<Snapshot, String> {
    let p = path(dir);
    let bytes = match std::fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Snapshot::default()),
        Err(e) => return Err(format!("cannot read {}: {e}", p.display())),
    };
    let s: Snapshot = serde_json::from_slice(&bytes)
        .map_err(|e| format!("corrupt notifier state {}: {e}", p.display()))?;
    if s.version != 1 {
        return Err(format!(
            "{}: unsupported state version {}",
            p.display(),
            s.version
        ));
    }
    Ok(s)
}

/// Atomically replaces the snapshot with `bytes`.
pub fn write(dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{FILE}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path(dir))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().alerts.is_empty());
        let mut s = Snapshot {
            version: 1,
            ..Default::default()
        };
        s.alerts
            .push(Alert::new(sightline_model::Labels::from_pairs([(
                "alertname",
                "A",
            )])));
        write(dir.path(), &serde_json::to_vec(&s).unwrap()).unwrap();
        assert_eq!(load(dir.path()).unwrap().alerts, s.alerts);
        std::fs::write(path(dir.path()), b"{not json").unwrap();
        assert!(load(dir.path()).unwrap_err().contains("corrupt"));
    }
}
