//! Prometheus' `humanize*` template functions, with Go's `%.4g` layout.

use super::gofmt::format_g;

fn g4(v: f64) -> String {
    format_g(v, Some(4))
}

/// `humanize`: SI prefixes (k, M, G… and m, u, n…), 4 significant digits.
pub fn humanize(mut v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    if v.abs() >= 1.0 {
        let mut prefix = "";
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
        return format!("{}{prefix}", g4(v));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}", g4(v))
}

/// `humanize1024`: binary prefixes (ki, Mi, Gi…), 4 significant digits.
pub fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", g4(v))
}

/// `humanizeDuration`: seconds as `1d 2h 3m 4s`, or with sub-second prefixes.
pub fn humanize_duration(mut v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    if v == 0.0 {
        return format!("{}s", g4(v));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        // Go's int64(v) on amd64 yields math.MinInt64 when v overflows; the
        // remainders below then come out negative, exactly as Prometheus prints.
        let d = if v >= i64::MAX as f64 {
            i64::MIN
        } else {
            v as i64
        };
        let (secs, mins, hours, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        if days != 0 {
            return format!("{sign}{days}d {hours}h {mins}m {secs}s");
        }
        if hours != 0 {
            return format!("{sign}{hours}h {mins}m {secs}s");
        }
        if mins != 0 {
            return format!("{sign}{mins}m {secs}s");
        }
        return format!("{sign}{}s", g4(v));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", g4(v))
}

/// `humanizePercentage`: a ratio as a percentage, 4 significant digits.
pub fn humanize_percentage(v: f64) -> String {
    format!("{}%", g4(v * 100.0))
}

/// `humanizeTimestamp`: Unix seconds as Go prints a UTC `time.Time`
/// (`2015-06-23 13:19:44.128 +0000 UTC`), at millisecond precision as Prometheus.
pub fn humanize_timestamp(v: f64) -> Result<String, String> {
    if v.is_nan() || v.is_infinite() {
        return Ok(g4(v));
    }
    let ns = v * 1e9;
    if !(-9.2e18..=9.2e18).contains(&ns) {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            format_g(v, None)
        ));
    }
    let ms = (ns as i64) / 1_000_000;
    Ok(go_time_string(ms))
}

/// Go's `time.Time.String()` of a UTC instant given in milliseconds.
pub fn go_time_string(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    let dt = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
    let mut s = dt.format("%Y-%m-%d %H:%M:%S").to_string();
    if frac != 0 {
        let f = format!("{frac:03}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s.push_str(" +0000 UTC");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected outputs are those of Prometheus' template functions (its own
    /// template tests and Go's `%.4g`), checked by hand.
    #[test]
    fn humanize_table() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (1.0, "1"),
            (12.0, "12"),
            (1234.0, "1.234k"),
            (12345.0, "12.35k"),
            (1234567.0, "1.235M"),
            (1e9, "1G"),
            (0.1, "100m"),
            (0.0012, "1.2m"),
            (0.000001, "1u"),
            (-1234.0, "-1.234k"),
            (1e27, "1000Y"),
            (f64::INFINITY, "+Inf"),
            (f64::NAN, "NaN"),
        ];
        for (v, want) in cases {
            assert_eq!(humanize(*v), *want, "humanize({v})");
        }
    }

    #[test]
    fn humanize1024_table() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (1.0, "1"),
            (1023.0, "1023"),
            (1024.0, "1ki"),
            (1048576.0, "1Mi"),
            (1536.0, "1.5ki"),
            (0.5, "0.5"),
            (1073741824.0, "1Gi"),
            (1.0737418e9, "1024Mi"),
        ];
        for (v, want) in cases {
            assert_eq!(humanize1024(*v), *want, "humanize1024({v})");
        }
    }

    #[test]
    fn humanize_duration_table() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0s"),
            (1.0, "1s"),
            (60.0, "1m 0s"),
            (3600.0, "1h 0m 0s"),
            (86400.0, "1d 0h 0m 0s"),
            (86400.0 + 3600.0 + 61.0, "1d 1h 1m 1s"),
            (59.999, "60s"),
            (1.5, "1.5s"),
            (0.1, "100ms"),
            (0.0001, "100us"),
            (-60.0, "-1m 0s"),
            (-1.5, "-1.5s"),
            (f64::NAN, "NaN"),
            (1e21, "-106751991167300d -15h -30m -8s"),
        ];
        for (v, want) in cases {
            assert_eq!(humanize_duration(*v), *want, "humanizeDuration({v})");
        }
    }

    #[test]
    fn humanize_percentage_and_timestamp() {
        assert_eq!(humanize_percentage(0.1234567), "12.35%");
        assert_eq!(humanize_percentage(0.0), "0%");
        assert_eq!(humanize_percentage(1.0), "100%");
        assert_eq!(
            humanize_timestamp(1435065584.128).unwrap(),
            "2015-06-23 13:19:44.128 +0000 UTC"
        );
        assert_eq!(
            humanize_timestamp(0.0).unwrap(),
            "1970-01-01 00:00:00 +0000 UTC"
        );
        assert_eq!(humanize_timestamp(f64::INFINITY).unwrap(), "+Inf");
    }
}
