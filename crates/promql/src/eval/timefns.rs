//! Calendar functions (`minute`, `hour`, `day_of_week`, `days_in_month`, ...) on
//! Unix timestamps in seconds, in UTC.

/// Civil date (year, month 1-12, day 1-31) from days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Applies the calendar function `name` to a timestamp in seconds. The fraction is
/// truncated like Go's `time.Unix(int64(v), 0)`. Returns `None` for unknown names.
pub(crate) fn apply(name: &str, v: f64) -> Option<f64> {
    if v.is_nan() || v.is_infinite() {
        return Some(f64::NAN);
    }
    let secs = v as i64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let doy = {
        let mut n = d;
        for mm in 1..m {
            n += days_in_month(y, mm);
        }
        n
    };
    Some(match name {
        "minute" => ((sod / 60) % 60) as f64,
        "hour" => (sod / 3600) as f64,
        "day_of_week" => (days + 4).rem_euclid(7) as f64,
        "day_of_month" => d as f64,
        "day_of_year" => doy as f64,
        "days_in_month" => days_in_month(y, m) as f64,
        "month" => m as f64,
        "year" => y as f64,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        // 2024-02-29T13:45:00Z is a Thursday, day 60 of a leap year.
        let t = 1_709_214_300.0;
        assert_eq!(apply("year", t), Some(2024.0));
        assert_eq!(apply("month", t), Some(2.0));
        assert_eq!(apply("day_of_month", t), Some(29.0));
        assert_eq!(apply("days_in_month", t), Some(29.0));
        assert_eq!(apply("day_of_year", t), Some(60.0));
        assert_eq!(apply("day_of_week", t), Some(4.0));
        assert_eq!(apply("hour", t), Some(13.0));
        assert_eq!(apply("minute", t), Some(45.0));
        // Before the epoch: 1969-12-31T23:59:59Z is a Wednesday.
        assert_eq!(apply("day_of_week", -1.0), Some(3.0));
        assert_eq!(apply("year", -1.0), Some(1969.0));
    }
}
