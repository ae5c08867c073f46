//! Named time intervals (`time_intervals:`) used by routes' `mute_time_intervals`
//! and `active_time_intervals`: times of day, weekdays, days of month, months and
//! years, evaluated in UTC, local time or an IANA zone (`location: Europe/Berlin`).

use std::sync::Arc;

use chrono::{DateTime, Datelike, FixedOffset, Local, Timelike, Utc};

use crate::config::TimeIntervalSpec;

/// One compiled range; every non-empty part must match.
#[derive(Debug, Clone, Default)]
pub struct TimeInterval {
    times: Vec<(u32, u32)>,
    weekdays: Vec<(u32, u32)>,
    days_of_month: Vec<(i32, i32)>,
    months: Vec<(u32, u32)>,
    years: Vec<(i32, i32)>,
    location: Location,
}

/// Where times of day are evaluated.
#[derive(Debug, Clone, Default)]
enum Location {
    #[default]
    Utc,
    Local,
    Zone(Arc<crate::tz::Zone>),
}

const DAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn minutes(s: &str) -> Result<u32, String> {
    let (h, m) = s
        .split_once(':')
        .ok_or_else(|| format!("invalid time {s:?} (use HH:MM)"))?;
    let h: u32 = h.parse().map_err(|_| format!("invalid hour in {s:?}"))?;
    let m: u32 = m.parse().map_err(|_| format!("invalid minute in {s:?}"))?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(format!("time {s:?} out of range"));
    }
    Ok(h * 60 + m)
}

fn range<T: Copy + PartialOrd>(
    s: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<(T, T), String> {
    let (a, b) = match s.split_once(':') {
        Some((a, b)) => (parse(a.trim())?, parse(b.trim())?),
        None => {
            let v = parse(s.trim())?;
            (v, v)
        }
    };
    Ok((a, b))
}

fn named(list: &[&str], s: &str, base: u32) -> Result<u32, String> {
    let l = s.to_ascii_lowercase();
    if let Some(i) = list.iter().position(|n| *n == l) {
        return Ok(i as u32 + base);
    }
    Err(format!("unknown name {s:?}"))
}

impl TimeInterval {
    /// Compiles one configured range.
    pub fn compile(spec: &TimeIntervalSpec) -> Result<Self, String> {
        let mut t = TimeInterval::default();
        for r in &spec.times {
            let (a, b) = (minutes(&r.start_time)?, minutes(&r.end_time)?);
            if a >= b {
                return Err(format!(
                    "start_time {} must be before end_time {}",
                    r.start_time, r.end_time
                ));
            }
            t.times.push((a, b));
        }
        for w in &spec.weekdays {
            t.weekdays.push(range(w, |s| named(&DAYS, s, 0))?);
        }
        for d in &spec.days_of_month {
            let r = range(d, |s| {
                s.parse::<i32>().map_err(|_| format!("invalid day {s:?}"))
            })?;
            if r.0 == 0 || r.1 == 0 || r.0.abs() > 31 || r.1.abs() > 31 {
                return Err(format!("day of month range {d:?} out of range"));
            }
            t.days_of_month.push(r);
        }
        for m in &spec.months {
            t.months.push(range(m, |s| {
                s.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=12).contains(n))
                    .map(Ok)
                    .unwrap_or_else(|| named(&MONTHS, s, 1))
            })?);
        }
        for y in &spec.years {
            t.years.push(range(y, |s| {
                s.parse::<i32>().map_err(|_| format!("invalid year {s:?}"))
            })?);
        }
        t.location = match spec.location.as_deref() {
            None | Some("UTC") | Some("") => Location::Utc,
            Some("Local") => Location::Local,
            Some(name) => Location::Zone(Arc::new(crate::tz::Zone::load(name)?)),
        };
        Ok(t)
    }

    /// True when `at` falls in this range.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        match &self.location {
            Location::Utc => self.check(&at),
            Location::Local => self.check(&at.with_timezone(&Local)),
            Location::Zone(z) => {
                let off = FixedOffset::east_opt(z.offset_at(at.timestamp()))
                    .unwrap_or(FixedOffset::east_opt(0).expect("zero offset"));
                self.check(&at.with_timezone(&off))
            }
        }
    }

    fn check<T: Datelike + Timelike>(&self, t: &T) -> bool {
        let minute = t.hour() * 60 + t.minute();
        if !self.times.is_empty() && !self.times.iter().any(|(a, b)| minute >= *a && minute < *b) {
            return false;
        }
        let wd = t.weekday().num_days_from_sunday();
        if !self.weekdays.is_empty() && !self.weekdays.iter().any(|(a, b)| wd >= *a && wd <= *b) {
            return false;
        }
        if !self.days_of_month.is_empty() {
            let dim = days_in_month(t.year(), t.month()) as i32;
            let d = t.day() as i32;
            let abs = |x: i32| if x < 0 { dim + x + 1 } else { x };
            if !self
                .days_of_month
                .iter()
                .any(|(a, b)| d >= abs(*a) && d <= abs(*b))
            {
                return false;
            }
        }
        if !self.months.is_empty()
            && !self
                .months
                .iter()
                .any(|(a, b)| t.month() >= *a && t.month() <= *b)
        {
            return false;
        }
        if !self.years.is_empty()
            && !self
                .years
                .iter()
                .any(|(a, b)| t.year() >= *a && t.year() <= *b)
        {
            return false;
        }
        true
    }
}

fn days_in_month(y: i32, m: u32) -> u32 {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    chrono::NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .map(|d| d.day())
        .unwrap_or(31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TimeRange;
    use chrono::TimeZone;

    #[test]
    fn business_hours() {
        let t = TimeInterval::compile(&TimeIntervalSpec {
            times: vec![TimeRange {
                start_time: "09:00".into(),
                end_time: "17:00".into(),
            }],
            weekdays: vec!["monday:friday".into()],
            days_of_month: vec!["-7:-1".into()],
            ..Default::default()
        })
        .unwrap();
        // 2024-05-31 was a Friday, within the last 7 days of May.
        assert!(t.contains(Utc.with_ymd_and_hms(2024, 5, 31, 10, 0, 0).unwrap()));
        assert!(!t.contains(Utc.with_ymd_and_hms(2024, 5, 31, 17, 0, 0).unwrap()));
        assert!(!t.contains(Utc.with_ymd_and_hms(2024, 5, 10, 10, 0, 0).unwrap()));
        assert!(!t.contains(Utc.with_ymd_and_hms(2024, 5, 25, 10, 0, 0).unwrap()));
    }

    #[test]
    fn location_shifts_times_of_day() {
        if crate::tz::Zone::load("Europe/Berlin").is_err() {
            eprintln!("skipping: no zoneinfo database");
            return;
        }
        let t = TimeInterval::compile(&TimeIntervalSpec {
            times: vec![TimeRange {
                start_time: "09:00".into(),
                end_time: "17:00".into(),
            }],
            location: Some("Europe/Berlin".into()),
            ..Default::default()
        })
        .unwrap();
        // 07:30 UTC in July is 09:30 in Berlin (CEST); 16:30 UTC is 18:30.
        assert!(t.contains(Utc.with_ymd_and_hms(2024, 7, 1, 7, 30, 0).unwrap()));
        assert!(!t.contains(Utc.with_ymd_and_hms(2024, 7, 1, 16, 30, 0).unwrap()));
        // In January (CET) 07:30 UTC is 08:30: outside.
        assert!(!t.contains(Utc.with_ymd_and_hms(2024, 1, 8, 7, 30, 0).unwrap()));
    }
}
