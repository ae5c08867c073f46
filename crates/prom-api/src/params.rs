//! Request parameters as Prometheus reads them.
//!
//! Parameters come from the query string and, for form POSTs, from the body too
//! (Grafana switches to POST for long queries). Keys may repeat (`match[]`).
//! Times are Unix seconds with fractions or RFC 3339; durations are seconds with
//! fractions or Prometheus duration strings.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;

use crate::envelope::ApiError;

/// The earliest time an API accepts, in milliseconds (Prometheus' MinTime, rounded).
pub const MIN_TIME_MS: i64 = -9_223_309_901_257_974;
/// The latest time an API accepts, in milliseconds (Prometheus' MaxTime, rounded).
pub const MAX_TIME_MS: i64 = 9_223_309_901_257_974;

/// All parameters of a request, in order.
#[derive(Debug, Default, Clone)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Parses a query string or form body.
    pub fn parse(query: &[u8]) -> Self {
        Params(
            form_urlencoded::parse(query)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A time parameter in milliseconds, or `default` when absent or empty.
    pub fn time_or(&self, key: &str, default: i64) -> Result<i64, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(default),
            Some(v) => parse_time(v)
                .map_err(|e| ApiError::bad_data(format!("invalid parameter {key:?}: {e}"))),
        }
    }

    /// A non-negative integer `limit` parameter (0 or absent = no limit).
    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.get("limit") {
            None | Some("") => Ok(0),
            Some(v) => v.parse::<usize>().map_err(|_| {
                ApiError::bad_data(format!(
                    "invalid parameter \"limit\": cannot parse {v:?} to a valid limit"
                ))
            }),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut params = Params::parse(req.uri().query().unwrap_or("").as_bytes());
        let is_form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            let body = Bytes::from_request(req, state)
                .await
                .map_err(|e| ApiError::bad_data(format!("error reading form body: {e}")))?;
            params.0.extend(Params::parse(&body).0);
        }
        Ok(params)
    }
}

/// Parses a Prometheus API time: Unix seconds (fractions allowed) or RFC 3339.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() {
            return Err(format!("cannot parse {s:?} to a valid timestamp"));
        }
        let ms = (f * 1000.0).round();
        return Ok(ms.clamp(MIN_TIME_MS as f64, MAX_TIME_MS as f64) as i64);
    }
    let has_offset = s.len() > 19 && s[19..].contains(['+', '-']);
    let parsed = if has_offset {
        parse_rfc3339_offset(s)
    } else {
        humantime::parse_rfc3339_weak(s).ok().map(|t| {
            match t.duration_since(std::time::UNIX_EPOCH) {
                Ok(d) => d.as_millis() as i64,
                Err(e) => -(e.duration().as_millis() as i64),
            }
        })
    };
    parsed.ok_or_else(|| format!("cannot parse {s:?} to a valid timestamp"))
}

/// RFC 3339 with a numeric offset (`2024-01-02T03:04:05+02:00`), which humantime
/// does not read.
fn parse_rfc3339_offset(s: &str) -> Option<i64> {
    let (base, sign, off) = {
        let idx = s.rfind(['+', '-']).filter(|&i| i > 10)?;
        (
            &s[..idx],
            if &s[idx..idx + 1] == "+" { 1 } else { -1 },
            &s[idx + 1..],
        )
    };
    let (h, m) = off.split_once(':')?;
    let offset_ms = (h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?) * 60_000 * sign;
    let t = humantime::parse_rfc3339_weak(base).ok()?;
    let ms = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64;
    Some(ms - offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1435781451.781").unwrap(), 1_435_781_451_781);
        assert_eq!(parse_time("1435781451").unwrap(), 1_435_781_451_000);
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z").unwrap(),
            1_435_781_451_781
        );
        assert_eq!(
            parse_time("2015-07-01T22:10:51.781+02:00").unwrap(),
            1_435_781_451_781
        );
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("NaN").is_err());
    }

    #[test]
    fn repeated_keys() {
        let p = Params::parse(b"match[]=up&match[]=%7Bjob%3D%22a%22%7D&limit=5");
        assert_eq!(p.all("match[]"), vec!["up", "{job=\"a\"}"]);
        assert_eq!(p.limit().unwrap(), 5);
    }
}
