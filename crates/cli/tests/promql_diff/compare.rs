//! Reduces a Prometheus API query response to what two implementations must agree
//! on — result type, label sets, timestamps, values (1e-9 relative; NaN equals NaN;
//! infinities by sign), or the error type — and says precisely where two differ.

use std::collections::BTreeMap;

/// The relative tolerance of value comparison.
pub const REL_TOL: f64 = 1e-9;

/// One series of a result: canonical label set and its `(timestamp, value)` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// `{a="x", b="y"}` with names sorted.
    pub labels: String,
    /// Timestamps in seconds and values.
    pub points: Vec<(f64, f64)>,
    /// The same points as sent: the JSON timestamp and the value string, so that
    /// equal values must also be formatted identically (`"1e-05"` vs `"0.00001"`).
    pub raw: Vec<(String, String)>,
}

/// One server's answer to a query.
#[derive(Debug, Clone)]
pub enum Answer {
    /// `status: success`.
    Data {
        /// `vector`, `matrix`, `scalar` or `string`.
        result_type: String,
        /// Every series (scalars and strings as one series without labels; a string's
        /// value is kept in `labels`).
        series: Vec<Series>,
    },
    /// `status: error`.
    Error {
        /// HTTP status code.
        status: u16,
        /// `errorType` (`bad_data`, `execution`, …).
        error_type: String,
        /// The message (informational; wording differs between versions).
        error: String,
    },
}

/// Parses a value as Prometheus encodes it: a JSON string (`"1.5"`, `"NaN"`, `"+Inf"`).
pub fn parse_value(v: &serde_json::Value) -> Result<f64, String> {
    let s = v
        .as_str()
        .ok_or_else(|| format!("value {v} is not a string"))?;
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => s
            .parse()
            .map_err(|_| format!("value {s:?} is not a number")),
    }
}

/// Canonical text of a label object.
pub fn canonical_labels(m: &serde_json::Value) -> Result<String, String> {
    let obj = m
        .as_object()
        .ok_or_else(|| format!("metric {m} is not an object"))?;
    let sorted: BTreeMap<&String, &serde_json::Value> = obj.iter().collect();
    let parts: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={}", v)).collect();
    Ok(format!("{{{}}}", parts.join(", ")))
}

fn point(p: &serde_json::Value) -> Result<(f64, f64), String> {
    let t = p[0]
        .as_f64()
        .ok_or_else(|| format!("timestamp of {p} is not a number"))?;
    Ok((t, parse_value(&p[1])?))
}

fn raw(p: &serde_json::Value) -> (String, String) {
    (p[0].to_string(), p[1].as_str().unwrap_or("").to_string())
}

/// Parses an HTTP response of `/api/v1/query` or `/api/v1/query_range`.
pub fn parse_answer(status: u16, body: &str) -> Result<Answer, String> {
    let v: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| format!("HTTP {status}, body is not JSON ({e}): {body:.300}"))?;
    if v["status"] == "error" {
        return Ok(Answer::Error {
            status,
            error_type: v["errorType"].as_str().unwrap_or("").to_string(),
            error: v["error"].as_str().unwrap_or("").to_string(),
        });
    }
    if v["status"] != "success" || status != 200 {
        return Err(format!(
            "HTTP {status} with status {}: {body:.300}",
            v["status"]
        ));
    }
    let data = &v["data"];
    let result_type = data["resultType"].as_str().unwrap_or("").to_string();
    let result = &data["result"];
    let mut series = Vec::new();
    match result_type.as_str() {
        "vector" => {
            for s in result.as_array().ok_or("vector result is not an array")? {
                series.push(Series {
                    labels: canonical_labels(&s["metric"])?,
                    points: vec![point(&s["value"])?],
                    raw: vec![raw(&s["value"])],
                });
            }
        }
        "matrix" => {
            for s in result.as_array().ok_or("matrix result is not an array")? {
                let pts = s["values"]
                    .as_array()
                    .ok_or("matrix series without values")?;
                series.push(Series {
                    labels: canonical_labels(&s["metric"])?,
                    points: pts.iter().map(point).collect::<Result<_, _>>()?,
                    raw: pts.iter().map(raw).collect(),
                });
            }
        }
        "scalar" => series.push(Series {
            labels: String::new(),
            points: vec![point(result)?],
            raw: vec![raw(result)],
        }),
        "string" => series.push(Series {
            labels: result[1].as_str().unwrap_or("").to_string(),
            points: vec![(result[0].as_f64().unwrap_or(f64::NAN), 0.0)],
            raw: vec![(result[0].to_string(), String::new())],
        }),
        other => return Err(format!("unknown resultType {other:?}")),
    }
    Ok(Answer::Data {
        result_type,
        series,
    })
}

/// True when two sample values agree: bit-for-bit specials, else within
/// [`REL_TOL`] relative.
pub fn values_match(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    if a.is_infinite() || b.is_infinite() {
        return false;
    }
    (a - b).abs() <= REL_TOL * a.abs().max(b.abs())
}

/// `None` when `want` (the reference) and `got` agree; otherwise where they first
/// differ. With `ordered` (results of `sort`, `sort_desc`) the values must also come
/// in the same order; the order among equal values (NaNs included) is unspecified
/// in Prometheus, so series with equal values may be permuted.
pub fn diff(want: &Answer, got: &Answer, ordered: bool) -> Option<String> {
    diff_with(want, got, ordered, Tolerance::default())
}

/// Differences that a named, explained cause allows (all off for [`diff`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tolerance {
    /// A value the reference writes in exponent notation (`"1e+21"`, `"4.2e-07"`:
    /// Prometheus does so below 1e-6 and from 1e21 in magnitude) may be written in
    /// plain decimals if it is the same number (a known Sightline bug).
    pub plain_decimals: bool,
    /// Two values both below this magnitude match (rounding noise of sums that
    /// cancel out, which 2.42 and 3.x round differently).
    pub near_zero: f64,
    /// A reference 0 may be NaN (3.x's stddev/stdvar of a lone NaN/Inf).
    pub zero_as_nan: bool,
}

/// Like [`diff`], with the given [`Tolerance`].
pub fn diff_with(want: &Answer, got: &Answer, ordered: bool, tol: Tolerance) -> Option<String> {
    if let Some(d) = diff_unordered(want, got, tol) {
        return Some(d);
    }
    if let (Answer::Data { series: a, .. }, Answer::Data { series: b, .. }) = (want, got) {
        if ordered {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let (vx, vy) = (x.points.first(), y.points.first());
                if let (Some(p), Some(q)) = (vx, vy) {
                    if !values_match(p.1, q.1) {
                        return Some(format!(
                            "order: position {i} holds {} = {} vs {} = {}",
                            x.labels, p.1, y.labels, q.1
                        ));
                    }
                }
            }
        }
    }
    None
}

/// True when two answers of a top-level `topk`/`bottomk` select the same values at
/// every timestamp. Which of several series with equal values (NaNs included) is
/// kept at the cut-off is unspecified in Prometheus; the values are not.
pub fn same_selection(want: &Answer, got: &Answer) -> bool {
    let by_time = |series: &[Series]| {
        let mut m: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
        for s in series {
            for p in &s.points {
                m.entry(p.0.to_bits()).or_default().push(p.1);
            }
        }
        for v in m.values_mut() {
            v.sort_by(|a, b| a.total_cmp(b));
        }
        m
    };
    match (want, got) {
        (
            Answer::Data {
                result_type: ta,
                series: a,
            },
            Answer::Data {
                result_type: tb,
                series: b,
            },
        ) if ta == tb => {
            let (ma, mb) = (by_time(a), by_time(b));
            ma.len() == mb.len()
                && ma.iter().zip(&mb).all(|((ka, va), (kb, vb))| {
                    ka == kb
                        && va.len() == vb.len()
                        && va.iter().zip(vb).all(|(x, y)| values_match(*x, *y))
                })
        }
        _ => false,
    }
}

fn diff_unordered(want: &Answer, got: &Answer, tol: Tolerance) -> Option<String> {
    match (want, got) {
        (
            Answer::Error {
                error_type: a,
                status: sa,
                ..
            },
            Answer::Error {
                error_type: b,
                status: sb,
                ..
            },
        ) => (a != b || sa != sb).then(|| format!("error {sa}/{a} vs {sb}/{b}")),
        (Answer::Error { .. }, Answer::Data { .. }) => Some("want an error, got data".into()),
        (Answer::Data { .. }, Answer::Error { .. }) => Some("want data, got an error".into()),
        (
            Answer::Data {
                result_type: ta,
                series: sa,
            },
            Answer::Data {
                result_type: tb,
                series: sb,
            },
        ) => {
            if ta != tb {
                return Some(format!("resultType {ta} vs {tb}"));
            }
            let (mut a, mut b) = (sa.clone(), sb.clone());
            a.sort_by(|x, y| x.labels.cmp(&y.labels));
            b.sort_by(|x, y| x.labels.cmp(&y.labels));
            let la: Vec<&str> = a.iter().map(|s| s.labels.as_str()).collect();
            let lb: Vec<&str> = b.iter().map(|s| s.labels.as_str()).collect();
            if la != lb {
                let missing: Vec<&&str> = la.iter().filter(|l| !lb.contains(l)).collect();
                let extra: Vec<&&str> = lb.iter().filter(|l| !la.contains(l)).collect();
                return Some(format!(
                    "series differ ({} vs {}): missing {missing:?}, unexpected {extra:?}{}",
                    la.len(),
                    lb.len(),
                    if missing.is_empty() && extra.is_empty() {
                        " (order)"
                    } else {
                        ""
                    }
                ));
            }
            for (x, y) in a.iter().zip(&b) {
                if x.points.len() != y.points.len() {
                    let tx: Vec<f64> = x.points.iter().map(|p| p.0).collect();
                    let ty: Vec<f64> = y.points.iter().map(|p| p.0).collect();
                    let only_x: Vec<&f64> = tx.iter().filter(|t| !ty.contains(t)).take(5).collect();
                    let only_y: Vec<&f64> = ty.iter().filter(|t| !tx.contains(t)).take(5).collect();
                    return Some(format!(
                        "{}: {} vs {} points; only in reference {only_x:?}, only in Sightline {only_y:?}",
                        x.labels,
                        x.points.len(),
                        y.points.len()
                    ));
                }
                let raw = x.raw.iter().zip(&y.raw);
                for ((p, q), (rp, rq)) in x.points.iter().zip(&y.points).zip(raw) {
                    if p.0 != q.0 {
                        return Some(format!("{}: timestamp {} vs {}", x.labels, p.0, q.0));
                    }
                    let noise = (p.1.abs() < tol.near_zero && q.1.abs() < tol.near_zero)
                        || (tol.zero_as_nan && p.1 == 0.0 && q.1.is_nan());
                    if !values_match(p.1, q.1) && !noise {
                        return Some(format!(
                            "{} @{}: value {:?} vs {:?}",
                            x.labels, p.0, p.1, q.1
                        ));
                    }
                    if rp.0 != rq.0 {
                        return Some(format!(
                            "{}: timestamp written {} vs {}",
                            x.labels, rp.0, rq.0
                        ));
                    }
                    let tolerated = (tol.plain_decimals && rp.1.contains('e')) || noise;
                    if p.1.to_bits() == q.1.to_bits() && rp.1 != rq.1 && !tolerated {
                        return Some(format!(
                            "{} @{}: the same value written {:?} vs {:?}",
                            x.labels, p.0, rp.1, rq.1
                        ));
                    }
                }
            }
            None
        }
    }
}

/// Short rendering of an answer for failure messages, with values as written.
pub fn render(a: &Answer) -> String {
    let s = match a {
        Answer::Error {
            status,
            error_type,
            error,
        } => format!("error {status} {error_type}: {error}"),
        Answer::Data {
            result_type,
            series,
        } => {
            let body: Vec<String> = series
                .iter()
                .map(|s| {
                    let pts: Vec<String> = s
                        .raw
                        .iter()
                        .take(4)
                        .map(|(t, v)| format!("{t}:{}", clip(v, 40)))
                        .collect();
                    let more = if s.raw.len() > 4 { " …" } else { "" };
                    format!("{} [{}{more}]", s.labels, pts.join(" "))
                })
                .collect();
            format!(
                "{result_type} ({} series) {}",
                series.len(),
                body.join("; ")
            )
        }
    };
    clip(&s, 1500)
}

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &s[..cut])
}
