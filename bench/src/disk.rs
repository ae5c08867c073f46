//! On-disk footprint: directory sizes and TSDB blocks (directories holding a
//! `meta.json`, as Prometheus and Sightline lay them out).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

/// Total size in bytes of the regular files under `path` (recursively).
pub fn dir_size(path: &Path) -> io::Result<u64> {
    let mut total = 0u64;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in fs::read_dir(&p)? {
            let e = e?;
            let ft = e.file_type()?;
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                total += e.metadata()?.len();
            }
        }
    }
    Ok(total)
}

/// One persisted block.
#[derive(Debug, Clone, Serialize)]
pub struct BlockInfo {
    /// The block directory.
    pub dir: PathBuf,
    /// Bytes of all its files.
    pub bytes: u64,
    /// Oldest timestamp (ms), from meta.json.
    pub min_time: Option<i64>,
    /// Newest timestamp (ms; exclusive in Prometheus), from meta.json.
    pub max_time: Option<i64>,
    /// `stats.numSamples`, when the block states it.
    pub num_samples: Option<u64>,
    /// `stats.numSeries`, when the block states it.
    pub num_series: Option<u64>,
}

/// Looks up the first of several alternative key paths (camelCase or snake_case).
fn lookup<'a>(v: &'a Value, paths: &[&[&str]]) -> Option<&'a Value> {
    paths
        .iter()
        .find_map(|p| p.iter().try_fold(v, |acc, k| acc.get(*k)))
}

/// The fields of a block's `meta.json` the benchmark uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Meta {
    /// Oldest timestamp, ms.
    pub min_time: Option<i64>,
    /// Newest timestamp, ms.
    pub max_time: Option<i64>,
    /// Sample count.
    pub num_samples: Option<u64>,
    /// Series count.
    pub num_series: Option<u64>,
}

/// Reads the interesting fields of a block's `meta.json`.
pub fn parse_meta(text: &str) -> Result<Meta, serde_json::Error> {
    let v: Value = serde_json::from_str(text)?;
    let min = lookup(&v, &[&["minTime"], &["min_time"]]).and_then(Value::as_i64);
    let max = lookup(&v, &[&["maxTime"], &["max_time"]]).and_then(Value::as_i64);
    let ns = lookup(
        &v,
        &[
            &["stats", "numSamples"],
            &["stats", "num_samples"],
            &["num_samples"],
        ],
    )
    .and_then(Value::as_u64);
    let nser = lookup(
        &v,
        &[
            &["stats", "numSeries"],
            &["stats", "num_series"],
            &["num_series"],
        ],
    )
    .and_then(Value::as_u64);
    Ok(Meta {
        min_time: min,
        max_time: max,
        num_samples: ns,
        num_series: nser,
    })
}

/// Every block directory (one holding `meta.json`, not a temporary one) found under
/// `root`, searched up to `depth` levels down.
pub fn blocks(root: &Path, depth: usize) -> io::Result<Vec<BlockInfo>> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((p, d)) = stack.pop() {
        let meta = p.join("meta.json");
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p != root && meta.is_file() && !name.contains("tmp") {
            let text = fs::read_to_string(&meta)?;
            let Meta {
                min_time,
                max_time,
                num_samples,
                num_series,
            } = parse_meta(&text).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", meta.display()),
                )
            })?;
            out.push(BlockInfo {
                bytes: dir_size(&p)?,
                dir: p,
                min_time,
                max_time,
                num_samples,
                num_series,
            });
            continue;
        }
        if d < depth {
            for e in fs::read_dir(&p)? {
                let e = e?;
                if e.file_type()?.is_dir() {
                    stack.push((e.path(), d + 1));
                }
            }
        }
    }
    out.sort_by_key(|b| b.min_time);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blocks_and_reads_prometheus_meta() {
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path().join("01HBLOCK");
        fs::create_dir_all(b.join("chunks")).unwrap();
        fs::write(b.join("chunks/000001"), vec![0u8; 1000]).unwrap();
        let meta = r#"{"ulid":"01HBLOCK","minTime":100,"maxTime":200,"stats":{"numSamples":50,"numSeries":5,"numChunks":5},"version":1}"#;
        fs::write(b.join("meta.json"), meta).unwrap();
        let tmp = dir.path().join("01HOTHER.tmp-for-creation");
        fs::create_dir_all(&tmp).unwrap();
        fs::write(tmp.join("meta.json"), meta).unwrap();
        fs::create_dir_all(dir.path().join("wal")).unwrap();
        fs::write(dir.path().join("wal/00000000"), vec![0u8; 77]).unwrap();

        let found = blocks(dir.path(), 2).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].bytes, 1000 + meta.len() as u64);
        assert_eq!(found[0].num_samples, Some(50));
        assert_eq!(found[0].num_series, Some(5));
        assert_eq!(
            (found[0].min_time, found[0].max_time),
            (Some(100), Some(200))
        );
        assert_eq!(dir_size(dir.path()).unwrap(), 2 * meta.len() as u64 + 1077);
    }

    #[test]
    fn reads_snake_case_meta_and_tolerates_missing_stats() {
        let m = parse_meta(r#"{"min_time":1,"max_time":9}"#).unwrap();
        assert_eq!(
            m,
            Meta {
                min_time: Some(1),
                max_time: Some(9),
                ..Meta::default()
            }
        );
        assert!(parse_meta("not json").is_err());
    }
}
