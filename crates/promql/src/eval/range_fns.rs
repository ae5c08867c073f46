//! Functions over range vectors (`rate`, `*_over_time`, `deriv`, ...) and the
//! numeric helpers they share (Kahan summation, quantiles, linear regression).

use super::window::WinCtx;
use super::Result;
use crate::error::exec_err;
use sightline_model::Sample;

/// Neumaier-compensated summation step: returns the new sum and compensation.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// The `q`-quantile of `values` with linear interpolation (sorts `values`; NaNs
/// sort first, as in Prometheus).
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let w = rank - rank.floor();
    values[lower as usize] * (1.0 - w) + values[upper as usize] * w
}

/// Least-squares slope and intercept with x in seconds relative to `intercept_t`.
pub(crate) fn linear_regression(s: &[Sample], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy, mut sxy, mut cxy, mut sx2, mut cx2) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let init_y = s[0].v;
    let mut const_y = true;
    for (i, p) in s.iter().enumerate() {
        if const_y && i > 0 && p.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(p.v, sy, cy);
        (sxy, cxy) = kahan_inc(x * p.v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

/// `rate`, `increase` and `delta` with Prometheus' extrapolation to the window edges.
pub(crate) fn extrapolated_rate(
    c: &WinCtx,
    s: &[Sample],
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let range_start = c.range_end - c.range;
    let (first, last) = (s[0], s[s.len() - 1]);
    let mut result = last.v - first.v;
    if is_counter {
        let mut prev = first.v;
        for p in &s[1..] {
            if p.v < prev {
                result += prev;
            }
            prev = p.v;
        }
    }
    let mut to_start = (first.t - range_start) as f64 / 1000.0;
    let mut to_end = (c.range_end - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg_between = sampled / (s.len() - 1) as f64;
    let threshold = avg_between * 1.1;
    if to_start >= threshold {
        to_start = avg_between / 2.0;
    }
    if is_counter {
        let mut to_zero = to_start;
        if result > 0.0 && first.v >= 0.0 {
            to_zero = sampled * (first.v / result);
        }
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg_between / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= c.range as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `irate` (`is_rate`) and `idelta` from the last two samples.
pub(crate) fn instant_value(s: &[Sample], is_rate: bool) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (prev, last) = (s[s.len() - 2], s[s.len() - 1]);
    let mut r = if is_rate && last.v < prev.v {
        last.v
    } else {
        last.v - prev.v
    };
    if is_rate {
        let dt = last.t - prev.t;
        if dt == 0 {
            return None;
        }
        r /= dt as f64 / 1000.0;
    }
    Some(r)
}

fn variance(s: &[Sample]) -> f64 {
    let (mut count, mut mean, mut cmean, mut aux, mut caux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for p in s {
        count += 1.0;
        let delta = p.v - (mean + cmean);
        (mean, cmean) = kahan_inc(delta / count, mean, cmean);
        (aux, caux) = kahan_inc(delta * (p.v - (mean + cmean)), aux, caux);
    }
    (aux + caux) / count
}

fn double_exp_smoothing(s: &[Sample], sf: f64, tf: f64) -> Result<Option<f64>> {
    if sf <= 0.0 || sf >= 1.0 {
        return Err(exec_err!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {}",
            sf
        ));
    }
    if tf <= 0.0 || tf >= 1.0 {
        return Err(exec_err!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {}",
            tf
        ));
    }
    if s.len() < 2 {
        return Ok(None);
    }
    let (mut s0, mut s1) = (0.0, s[0].v);
    let mut b = s[1].v - s[0].v;
    for (i, p) in s.iter().enumerate().skip(1) {
        let x = sf * p.v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Ok(Some(s1))
}

/// Evaluates the range function `name` on one window. `p1`/`p2` are the scalar
/// arguments of this step (quantile, prediction horizon, smoothing factors).
pub(crate) fn apply(name: &str, c: &WinCtx, s: &[Sample], p1: f64, p2: f64) -> Result<Option<f64>> {
    let v = if s.is_empty() {
        None
    } else {
        match name {
            "rate" => extrapolated_rate(c, s, true, true),
            "increase" => extrapolated_rate(c, s, true, false),
            "delta" => extrapolated_rate(c, s, false, false),
            "irate" => instant_value(s, true),
            "idelta" => instant_value(s, false),
            "deriv" => (s.len() >= 2).then(|| linear_regression(s, s[0].t).0),
            "predict_linear" => (s.len() >= 2).then(|| {
                let (slope, icpt) = linear_regression(s, c.t);
                slope * p1 + icpt
            }),
            "resets" => Some(s.windows(2).filter(|w| w[1].v < w[0].v).count() as f64),
            "changes" => Some(
                s.windows(2)
                    .filter(|w| !(w[1].v == w[0].v || (w[1].v.is_nan() && w[0].v.is_nan())))
                    .count() as f64,
            ),
            "avg_over_time" => Some(super::aggregate::avg(s.iter().map(|p| p.v))),
            "sum_over_time" => {
                let (mut sum, mut cc) = (0.0, 0.0);
                for p in s {
                    (sum, cc) = kahan_inc(p.v, sum, cc);
                }
                Some(sum + cc)
            }
            "count_over_time" => Some(s.len() as f64),
            "min_over_time" => {
                Some(
                    s.iter()
                        .fold(f64::NAN, |m, p| if m.is_nan() || p.v < m { p.v } else { m }),
                )
            }
            "max_over_time" => {
                Some(
                    s.iter()
                        .fold(f64::NAN, |m, p| if m.is_nan() || p.v > m { p.v } else { m }),
                )
            }
            "last_over_time" => Some(s[s.len() - 1].v),
            "first_over_time" => Some(s[0].v),
            "present_over_time" => Some(1.0),
            "stdvar_over_time" => Some(variance(s)),
            "stddev_over_time" => Some(variance(s).sqrt()),
            "quantile_over_time" => {
                let mut v: Vec<f64> = s.iter().map(|p| p.v).collect();
                Some(quantile(p1, &mut v))
            }
            "mad_over_time" if s.iter().any(|p| p.v.is_nan()) => Some(f64::NAN),
            "mad_over_time" => {
                let mut v: Vec<f64> = s.iter().map(|p| p.v).collect();
                let median = quantile(0.5, &mut v);
                let mut d: Vec<f64> = v.iter().map(|x| (x - median).abs()).collect();
                Some(quantile(0.5, &mut d))
            }
            "ts_of_last_over_time" => Some(s[s.len() - 1].t as f64 / 1000.0),
            "ts_of_first_over_time" => Some(s[0].t as f64 / 1000.0),
            "ts_of_max_over_time" => Some(ts_of_extreme(s, |a, b| a > b)),
            "ts_of_min_over_time" => Some(ts_of_extreme(s, |a, b| a < b)),
            "double_exponential_smoothing" | "holt_winters" => {
                return double_exp_smoothing(s, p1, p2)
            }
            _ => return Err(exec_err!("unknown range function {name}")),
        }
    };
    Ok(v)
}

fn ts_of_extreme(s: &[Sample], better: impl Fn(f64, f64) -> bool) -> f64 {
    let mut best = s[0];
    for p in &s[1..] {
        if better(p.v, best.v) || best.v.is_nan() && !p.v.is_nan() || (p.v == best.v) {
            best = *p;
        }
    }
    best.t as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_model::Labels;

    fn ctx(end: i64, range: i64, l: &Labels) -> WinCtx<'_> {
        WinCtx {
            step: 0,
            t: end,
            range_end: end,
            range,
            labels: l,
        }
    }

    #[test]
    fn rate_extrapolates_like_prometheus() {
        // Counter 0,10,...,60 every 10s at t=0..60s; window (0s, 60s] sees 10..60.
        let s: Vec<Sample> = (1..=6)
            .map(|i| Sample::new(i * 10_000, i as f64 * 10.0))
            .collect();
        let l = Labels::empty();
        let c = ctx(60_000, 60_000, &l);
        // increase over 50s sampled, extrapolated to 60s: 50 * 60/50 = 60.
        assert_eq!(extrapolated_rate(&c, &s, true, false), Some(60.0));
        assert_eq!(extrapolated_rate(&c, &s, true, true), Some(1.0));
    }

    #[test]
    fn counter_reset_is_compensated() {
        let s = vec![
            Sample::new(10_000, 5.0),
            Sample::new(20_000, 1.0),
            Sample::new(30_000, 3.0),
        ];
        assert_eq!(
            apply(
                "resets",
                &ctx(30_000, 30_000, &Labels::empty()),
                &s,
                0.0,
                0.0
            )
            .unwrap(),
            Some(1.0)
        );
        assert_eq!(instant_value(&s, true), Some(0.2));
        assert_eq!(instant_value(&s, false), Some(2.0));
    }

    #[test]
    fn quantile_interpolates() {
        assert_eq!(quantile(0.5, &mut [1.0, 3.0, 2.0, 4.0]), 2.5);
        assert_eq!(quantile(2.0, &mut [1.0]), f64::INFINITY);
        assert_eq!(quantile(-1.0, &mut [1.0]), f64::NEG_INFINITY);
    }

    #[test]
    fn regression_slope() {
        let s: Vec<Sample> = (0..5)
            .map(|i| Sample::new(i * 1000, 2.0 * i as f64 + 1.0))
            .collect();
        let (slope, icpt) = linear_regression(&s, 0);
        assert!((slope - 2.0).abs() < 1e-12 && (icpt - 1.0).abs() < 1e-12);
    }

    #[test]
    fn over_time_family() {
        let l = Labels::empty();
        let c = ctx(0, 1, &l);
        let s: Vec<Sample> = [1.0, 4.0, 2.0]
            .iter()
            .enumerate()
            .map(|(i, v)| Sample::new(i as i64, *v))
            .collect();
        let f = |n: &str| apply(n, &c, &s, 0.5, 0.0).unwrap().unwrap();
        assert_eq!(f("sum_over_time"), 7.0);
        assert_eq!(f("max_over_time"), 4.0);
        assert_eq!(f("min_over_time"), 1.0);
        assert_eq!(f("changes"), 2.0);
        assert_eq!(f("quantile_over_time"), 2.0);
        assert_eq!(f("stdvar_over_time"), 14.0 / 9.0);
    }
}
