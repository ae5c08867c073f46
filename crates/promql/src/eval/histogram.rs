//! `histogram_quantile` and `histogram_fraction` over classic (`le`-bucketed)
//! histograms, with Prometheus' bucket coalescing and monotonicity fix.

/// One cumulative bucket: upper bound and count.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bucket {
    pub upper: f64,
    pub count: f64,
}

const SMALL_DELTA: f64 = 1e-12;

fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let min_normal = f64::from_bits(0x0010_0000_0000_0000);
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < min_normal {
        return diff < eps * min_normal;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

/// Sorts by bound and merges equal bounds. Returns false when there is no +Inf bucket.
fn prepare(b: &mut Vec<Bucket>) -> bool {
    b.sort_by(|x, y| {
        x.upper
            .partial_cmp(&y.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if b.is_empty() || b[b.len() - 1].upper != f64::INFINITY {
        return false;
    }
    let mut out: Vec<Bucket> = Vec::with_capacity(b.len());
    for x in b.iter() {
        match out.last_mut() {
            Some(last) if last.upper == x.upper => last.count += x.count,
            _ => out.push(*x),
        }
    }
    *b = out;
    true
}

/// Forces counts to be non-decreasing; returns (forced_monotonic, fixed_precision).
fn ensure_monotonic(b: &mut [Bucket]) -> (bool, bool) {
    let (mut forced, mut fixed) = (false, false);
    let mut prev = b[0].count;
    for x in b.iter_mut().skip(1) {
        let cur = x.count;
        if cur == prev {
            continue;
        }
        if almost_equal(prev, cur, SMALL_DELTA) {
            x.count = prev;
            fixed = true;
            continue;
        }
        if cur < prev {
            x.count = prev;
            forced = true;
            continue;
        }
        prev = cur;
    }
    (forced, fixed)
}

/// The `q` quantile; the flag says the input needed a monotonicity fix.
pub(crate) fn bucket_quantile(q: f64, mut b: Vec<Bucket>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    if !prepare(&mut b) {
        return (f64::NAN, false);
    }
    let (forced, _) = ensure_monotonic(&mut b);
    if b.len() < 2 {
        return (f64::NAN, false);
    }
    let obs = b[b.len() - 1].count;
    if obs == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * obs;
    let idx = b[..b.len() - 1].partition_point(|x| x.count < rank);
    if idx == b.len() - 1 {
        return (b[b.len() - 2].upper, forced);
    }
    if idx == 0 && b[0].upper <= 0.0 {
        return (b[0].upper, forced);
    }
    let (mut start, end, mut count) = (0.0, b[idx].upper, b[idx].count);
    if idx > 0 {
        start = b[idx - 1].upper;
        count -= b[idx - 1].count;
        rank -= b[idx - 1].count;
    }
    (start + (end - start) * (rank / count), forced)
}

/// The estimated fraction of observations between `lower` and `upper`.
pub(crate) fn bucket_fraction(lower: f64, upper: f64, mut b: Vec<Bucket>) -> f64 {
    if !prepare(&mut b) {
        return f64::NAN;
    }
    ensure_monotonic(&mut b);
    let count = b[b.len() - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    for i in 0..b.len() {
        // The first bucket starts at 0 when its upper bound is positive, as in
        // histogram_quantile; otherwise at -Inf, where observations are assumed to
        // sit at the upper bound.
        let lb = match i {
            0 if b[0].upper > 0.0 => 0.0,
            0 => f64::NEG_INFINITY,
            _ => b[i - 1].upper,
        };
        let ub = b[i].upper;
        let bc = b[i].count;
        // No interpolation inside a bucket of infinite width: the observations of
        // the `(-Inf, ub]` bucket are taken to sit at `ub`, those of `(lb, +Inf]`
        // at `lb`, so a partial overlap with either contributes nothing.
        let interp = |v: f64| {
            if lb == f64::NEG_INFINITY {
                bc
            } else if ub == f64::INFINITY {
                rank
            } else {
                rank + (bc - rank) * (v - lb) / (ub - lb)
            }
        };
        if !lower_set && lb >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lb >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lb < lower && ub > lower {
            lower_rank = interp(lower);
            lower_set = true;
        }
        if !upper_set && lb < upper && ub > upper {
            upper_rank = interp(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = bc;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: &[(f64, f64)]) -> Vec<Bucket> {
        v.iter()
            .map(|&(upper, count)| Bucket { upper, count })
            .collect()
    }

    #[test]
    fn quantile_interpolates_within_bucket() {
        let h = b(&[(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)]);
        assert_eq!(bucket_quantile(0.5, h.clone()).0, 1.0);
        assert_eq!(bucket_quantile(0.75, h.clone()).0, 1.5);
        assert_eq!(bucket_quantile(1.0, h).0, 2.0);
    }

    #[test]
    fn monotonicity_is_forced() {
        let h = b(&[(1.0, 10.0), (2.0, 5.0), (f64::INFINITY, 10.0)]);
        let (v, forced) = bucket_quantile(0.5, h);
        assert!(forced);
        assert_eq!(v, 0.5);
    }

    #[test]
    fn missing_inf_bucket_is_nan() {
        assert!(bucket_quantile(0.5, b(&[(1.0, 1.0)])).0.is_nan());
    }

    #[test]
    fn fraction_between_bounds() {
        let h = b(&[(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)]);
        assert_eq!(bucket_fraction(1.0, 2.0, h.clone()), 0.5);
        assert_eq!(bucket_fraction(1.5, 2.0, h), 0.25);
    }
}

#[cfg(test)]
mod fraction_first_bucket {
    use super::*;

    #[test]
    fn first_bucket_starts_at_zero() {
        let h = vec![
            Bucket {
                upper: 1.0,
                count: 1.0,
            },
            Bucket {
                upper: 2.0,
                count: 3.0,
            },
            Bucket {
                upper: 3.0,
                count: 6.0,
            },
            Bucket {
                upper: f64::INFINITY,
                count: 100.0,
            },
        ];
        // [0,1] fully (1) + half of (1,2] (1) = 2 of 100.
        let v = bucket_fraction(0.0, 1.5, h);
        assert!((v - 0.02).abs() < 1e-12, "{v}");
    }
}
