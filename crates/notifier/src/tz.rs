//! Time zones for `time_intervals[].location`, read from the system's compiled
//! zoneinfo database (TZif files under `/usr/share/zoneinfo`), so intervals such as
//! business hours in `Europe/Berlin` follow daylight-saving changes.

use std::path::{Path, PathBuf};

/// A time zone: UTC offsets in force from each transition on.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    name: String,
    transitions: Vec<i64>,
    types: Vec<u8>,
    offsets: Vec<i32>,
    initial: i32,
}

const ZONEINFO: &str = "/usr/share/zoneinfo";

fn be32(b: &[u8], at: usize) -> Option<i64> {
    b.get(at..at + 4)
        .map(|s| i32::from_be_bytes([s[0], s[1], s[2], s[3]]) as i64)
}

fn be64(b: &[u8], at: usize) -> Option<i64> {
    let s = b.get(at..at + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(i64::from_be_bytes(a))
}

impl Zone {
    /// Loads an IANA zone such as `Europe/Berlin` from the system database.
    pub fn load(name: &str) -> Result<Zone, String> {
        let ok = !name.is_empty()
            && !name.contains("..")
            && !name.starts_with('/')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c));
        if !ok {
            return Err(format!("invalid time zone name {name:?}"));
        }
        let p: PathBuf = Path::new(ZONEINFO).join(name);
        let bytes = std::fs::read(&p)
            .map_err(|e| format!("unknown time zone {name:?} ({}: {e})", p.display()))?;
        Zone::parse(name, &bytes)
    }

    /// Parses TZif data (versions 1 to 4).
    pub fn parse(name: &str, b: &[u8]) -> Result<Zone, String> {
        let bad = || format!("time zone {name:?}: not a valid TZif file");
        if b.get(0..4) != Some(b"TZif") {
            return Err(bad());
        }
        let version = *b.get(4).ok_or_else(bad)?;
        let counts = |base: usize| -> Option<[usize; 6]> {
            let mut c = [0usize; 6];
            for (i, v) in c.iter_mut().enumerate() {
                *v = usize::try_from(be32(b, base + 20 + i * 4)?).ok()?;
            }
            Some(c)
        };
        let c1 = counts(0).ok_or_else(bad)?;
        let [isut, isstd, leap, timecnt, typecnt, charcnt] = c1;
        let v1_len = timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
        let (base, wide, c) = if version >= b'2' {
            let base = 44 + v1_len;
            if b.get(base..base + 4) != Some(b"TZif") {
                return Err(bad());
            }
            (base, true, counts(base).ok_or_else(bad)?)
        } else {
            (0, false, c1)
        };
        let [_, _, _, timecnt, typecnt, _] = c;
        let tsize = if wide { 8 } else { 4 };
        if b.len() < base + 44 + timecnt * (tsize + 1) + typecnt * 6 {
            return Err(bad());
        }
        let mut at = base + 44;
        let mut transitions = Vec::with_capacity(timecnt);
        for i in 0..timecnt {
            let t = if wide {
                be64(b, at + i * 8)
            } else {
                be32(b, at + i * 4)
            };
            transitions.push(t.ok_or_else(bad)?);
        }
        at += timecnt * tsize;
        let types = b.get(at..at + timecnt).ok_or_else(bad)?.to_vec();
        at += timecnt;
        let mut offsets = Vec::with_capacity(typecnt);
        let mut first_std = None;
        for i in 0..typecnt {
            let off = be32(b, at + i * 6).ok_or_else(bad)? as i32;
            let dst = *b.get(at + i * 6 + 4).ok_or_else(bad)?;
            if dst == 0 && first_std.is_none() {
                first_std = Some(off);
            }
            offsets.push(off);
        }
        if offsets.is_empty() || types.iter().any(|t| *t as usize >= offsets.len()) {
            return Err(bad());
        }
        Ok(Zone {
            name: name.to_string(),
            transitions,
            types,
            initial: first_std.unwrap_or(offsets[0]),
            offsets,
        })
    }

    /// The zone's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The UTC offset in seconds at Unix time `t`.
    pub fn offset_at(&self, t: i64) -> i32 {
        match self.transitions.partition_point(|x| *x <= t) {
            0 => self.initial,
            i => self.offsets[self.types[i - 1] as usize],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_follows_dst_when_available() {
        let Ok(z) = Zone::load("Europe/Berlin") else {
            eprintln!("skipping: no zoneinfo database");
            return;
        };
        // 2024-01-15 and 2024-07-15 at noon UTC.
        assert_eq!(z.offset_at(1_705_320_000), 3600);
        assert_eq!(z.offset_at(1_721_044_800), 7200);
        assert!(Zone::load("../etc/passwd").is_err());
        assert!(Zone::load("Nowhere/City").is_err());
        assert!(Zone::parse("x", b"nope").is_err());
    }
}
