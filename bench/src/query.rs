//! Helpers of the query benchmark (`bench-query`): latency percentiles, the
//! `/api/v1/query_range` matrix as a comparable structure, and the comparison of two
//! servers' answers (series sets and values within a relative tolerance).

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};

/// Nearest-rank percentile `p` (0–100) of `xs` (need not be sorted); `None` when empty.
pub fn percentile(xs: &[f64], p: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

/// Median: the mean of the two middle values for an even count.
pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// One range-query answer: each series' label set (rendered, sorted) to its points.
pub type Matrix = BTreeMap<String, Vec<(f64, f64)>>;

/// Parses a Prometheus `query_range` response body into a [`Matrix`], failing on a
/// non-success status or a result type other than `matrix`.
pub fn parse_matrix(body: &[u8]) -> Result<Matrix> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| anyhow!("response is not JSON: {e}"))?;
    if v["status"] != "success" {
        bail!(
            "status {}: {} {}",
            v["status"],
            v["errorType"],
            v["error"].as_str().unwrap_or("")
        );
    }
    if v["data"]["resultType"] != "matrix" {
        bail!("resultType {} (expected matrix)", v["data"]["resultType"]);
    }
    let result = v["data"]["result"]
        .as_array()
        .ok_or_else(|| anyhow!("no data.result array"))?;
    let mut out = Matrix::new();
    for s in result {
        let metric = s["metric"]
            .as_object()
            .ok_or_else(|| anyhow!("series without a metric object"))?;
        let labels: BTreeMap<&str, &str> = metric
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
            .collect();
        let key = labels
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut points = Vec::new();
        for p in s["values"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let t = p[0]
                .as_f64()
                .ok_or_else(|| anyhow!("point without a numeric timestamp"))?;
            let raw = p[1]
                .as_str()
                .ok_or_else(|| anyhow!("point value is not a string"))?;
            let val = match raw {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                "NaN" => f64::NAN,
                other => other
                    .parse()
                    .map_err(|_| anyhow!("unparsable value {other:?}"))?,
            };
            points.push((t, val));
        }
        if out.insert(key.clone(), points).is_some() {
            bail!("duplicate series {{{key}}} in the result");
        }
    }
    Ok(out)
}

/// How two answers compare.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Comparison {
    /// Series in the first (Sightline) answer.
    pub series_a: usize,
    /// Series in the second (Prometheus) answer.
    pub series_b: usize,
    /// Series present in only one of the answers.
    pub series_only_in_one: usize,
    /// Points compared.
    pub points_compared: usize,
    /// Points whose timestamps differ, or whose values differ beyond the tolerance.
    pub points_differing: usize,
    /// Series whose point counts differ.
    pub length_mismatches: usize,
    /// The first difference found, for the report.
    pub first_difference: Option<String>,
}

impl Comparison {
    /// Same series, same lengths, every compared point within tolerance.
    pub fn ok(&self) -> bool {
        self.series_a == self.series_b
            && self.series_only_in_one == 0
            && self.points_differing == 0
            && self.length_mismatches == 0
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    (a - b).abs() <= rel * a.abs().max(b.abs())
}

/// Compares `a` with `b`: series sets, point counts, and every `stride`-th point of
/// every `stride`-th common series (timestamps exactly, values within `rel`).
pub fn compare(a: &Matrix, b: &Matrix, rel: f64, stride: usize) -> Comparison {
    let stride = stride.max(1);
    let mut c = Comparison {
        series_a: a.len(),
        series_b: b.len(),
        ..Default::default()
    };
    let note = |c: &mut Comparison, s: String| {
        if c.first_difference.is_none() {
            c.first_difference = Some(s);
        }
    };
    c.series_only_in_one = a.keys().filter(|k| !b.contains_key(*k)).count()
        + b.keys().filter(|k| !a.contains_key(*k)).count();
    if let Some(k) = a
        .keys()
        .find(|k| !b.contains_key(*k))
        .or_else(|| b.keys().find(|k| !a.contains_key(*k)))
    {
        note(&mut c, format!("series {{{k}}} in only one answer"));
    }
    for (i, (k, pa)) in a.iter().enumerate() {
        let Some(pb) = b.get(k) else { continue };
        if pa.len() != pb.len() {
            c.length_mismatches += 1;
            note(
                &mut c,
                format!("{{{k}}}: {} vs {} points", pa.len(), pb.len()),
            );
            continue;
        }
        if i % stride != 0 {
            continue;
        }
        for (x, y) in pa.iter().zip(pb).step_by(stride) {
            c.points_compared += 1;
            if x.0 != y.0 || !close(x.1, y.1, rel) {
                c.points_differing += 1;
                note(
                    &mut c,
                    format!("{{{k}}} at {}: {} vs {} (t {})", x.0, x.1, y.1, y.0),
                );
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank_and_median_averages_the_middle() {
        let xs: Vec<f64> = (1..=20).map(f64::from).rev().collect();
        assert_eq!(percentile(&xs, 99.0), Some(20.0));
        assert_eq!(percentile(&xs, 50.0), Some(10.0));
        assert_eq!(median(&xs), Some(10.5));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    fn body(series: &str) -> Vec<u8> {
        format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":[{series}]}}}}"#)
            .into_bytes()
    }

    #[test]
    fn parses_and_compares_matrices() {
        let a = parse_matrix(&body(
            r#"{"metric":{"job":"n","a":"1"},"values":[[10,"1.5"],[25,"NaN"],[40,"+Inf"]]}"#,
        ))
        .unwrap();
        assert_eq!(a.len(), 1);
        let pts = &a["a=\"1\",job=\"n\""];
        assert_eq!(pts[0], (10.0, 1.5));
        assert!(pts[1].1.is_nan());
        let near = parse_matrix(&body(
            r#"{"metric":{"a":"1","job":"n"},"values":[[10,"1.5000000000001"],[25,"NaN"],[40,"+Inf"]]}"#,
        ))
        .unwrap();
        assert!(compare(&a, &near, 1e-9, 1).ok());
        let far = parse_matrix(&body(
            r#"{"metric":{"a":"1","job":"n"},"values":[[10,"1.6"],[25,"NaN"],[40,"+Inf"]]}"#,
        ))
        .unwrap();
        let c = compare(&a, &far, 1e-9, 1);
        assert!(!c.ok());
        assert_eq!(c.points_differing, 1);
        let other = parse_matrix(&body(r#"{"metric":{"a":"2"},"values":[[10,"1"]]}"#)).unwrap();
        let c = compare(&a, &other, 1e-9, 1);
        assert_eq!(c.series_only_in_one, 2);
        assert!(!c.ok());
    }

    #[test]
    fn errors_are_reported() {
        let e = parse_matrix(br#"{"status":"error","errorType":"bad_data","error":"x"}"#);
        assert!(e.unwrap_err().to_string().contains("bad_data"));
        assert!(parse_matrix(b"not json").is_err());
        let dup = body(r#"{"metric":{"a":"1"},"values":[]},{"metric":{"a":"1"},"values":[]}"#);
        assert!(parse_matrix(&dup).is_err());
    }
}
