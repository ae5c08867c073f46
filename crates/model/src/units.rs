//! Durations and sizes written the Prometheus way (`15s`, `1h30m`, `15d`, `512MB`),
//! with serde support so every configuration section parses them identically.

use std::fmt;
use std::time::Duration;

/// A duration parsed from Prometheus notation: one or more `<number><unit>` terms with
/// units `ms`, `s`, `m`, `h`, `d` (24h), `w` (7d), `y` (365d), largest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PromDuration(pub Duration);

impl PromDuration {
    /// Parses `s`, returning a message naming the problem on failure.
    pub fn parse(s: &str) -> Result<Self, String> {
        parse_duration(s).map(PromDuration)
    }

    /// The duration in milliseconds.
    pub fn as_millis(&self) -> i64 {
        self.0.as_millis() as i64
    }

    /// The inner `std` duration.
    pub fn get(&self) -> Duration {
        self.0
    }
}

impl From<Duration> for PromDuration {
    fn from(d: Duration) -> Self {
        PromDuration(d)
    }
}

/// Parses Prometheus duration notation. `0` alone is accepted, as Prometheus does.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 24 * 3600 * 1000),
        ("w", 7 * 24 * 3600 * 1000),
        ("d", 24 * 3600 * 1000),
        ("h", 3600 * 1000),
        ("ms", 1),
        ("m", 60 * 1000),
        ("s", 1000),
    ];
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("empty duration string".into());
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total: u64 = 0;
    let mut last_rank = usize::MAX;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(format!("not a valid duration string: {s:?}"));
        }
        let n: u64 = s[start..i]
            .parse()
            .map_err(|_| format!("number too large in duration {s:?}"))?;
        let rest = &s[i..];
        let (rank, (unit, ms)) = UNITS
            .iter()
            .enumerate()
            .find(|(_, (u, _))| rest.starts_with(u) && !(*u == "m" && rest.starts_with("ms")))
            .ok_or_else(|| {
                format!("unknown unit in duration {s:?} (use ms, s, m, h, d, w or y)")
            })?;
        // Order y > w > d > h > m > s > ms; "ms" sits at index 4 in UNITS but ranks last.
        let order = match *unit {
            "ms" => 6,
            "m" => 4,
            "s" => 5,
            _ => rank,
        };
        if last_rank != usize::MAX && order <= last_rank {
            return Err(format!(
                "not a valid duration string: {s:?} (units must be in decreasing order)"
            ));
        }
        last_rank = order;
        total = n
            .checked_mul(*ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration out of range: {s:?}"))?;
        i += unit.len();
    }
    Ok(Duration::from_millis(total))
}

impl fmt::Display for PromDuration {
    /// Formats like Prometheus: `1h30m`, `15s`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis() as u64;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [
            ("y", 365 * 24 * 3600 * 1000u64),
            ("w", 7 * 24 * 3600 * 1000),
            ("d", 24 * 3600 * 1000),
            ("h", 3600 * 1000),
            ("m", 60 * 1000),
            ("s", 1000),
            ("ms", 1),
        ] {
            if ms >= size {
                write!(f, "{}{}", ms / size, unit)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl serde::Serialize for PromDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PromDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PromDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A byte size in Prometheus notation (`512MB`, `1GB`, `100KiB`-free forms): units
/// B, KB, MB, GB, TB, PB, EB, each a power of 1024 as in Prometheus' flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// Parses `s`, returning a message naming the problem on failure.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        if digits == 0 {
            return Err(format!("not a valid size: {s:?}"));
        }
        let n: u64 = s[..digits]
            .parse()
            .map_err(|_| format!("size too large: {s:?}"))?;
        let mult: u64 = match &s[digits..] {
            "" | "B" => 1,
            "KB" | "KiB" => 1 << 10,
            "MB" | "MiB" => 1 << 20,
            "GB" | "GiB" => 1 << 30,
            "TB" | "TiB" => 1 << 40,
            "PB" | "PiB" => 1 << 50,
            "EB" | "EiB" => 1 << 60,
            u => {
                return Err(format!(
                    "unknown size unit {u:?} in {s:?} (use B, KB, MB, GB, TB, PB or EB)"
                ))
            }
        };
        n.checked_mul(mult)
            .map(ByteSize)
            .ok_or_else(|| format!("size out of range: {s:?}"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (u, m) in [
            ("EB", 1u64 << 60),
            ("PB", 1 << 50),
            ("TB", 1 << 40),
            ("GB", 1 << 30),
            ("MB", 1 << 20),
            ("KB", 1 << 10),
        ] {
            if self.0 >= m && self.0.is_multiple_of(m) {
                return write!(f, "{}{}", self.0 / m, u);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl serde::Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size such as 512MB or a number of bytes")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ByteSize, E> {
                ByteSize::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15s").unwrap(), Duration::from_secs(15));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(
            parse_duration("1m500ms").unwrap(),
            Duration::from_millis(60_500)
        );
        assert_eq!(
            parse_duration("15d").unwrap(),
            Duration::from_secs(15 * 86400)
        );
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("30m1h").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn duration_display_roundtrip() {
        for s in ["1h30m", "15s", "0s", "2w3d", "1m500ms"] {
            assert_eq!(PromDuration::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(ByteSize::parse("512MB").unwrap().0, 512 << 20);
        assert_eq!(ByteSize::parse("10").unwrap().0, 10);
        assert!(ByteSize::parse("1XB").is_err());
        assert_eq!(ByteSize(1 << 30).to_string(), "1GB");
    }
}
