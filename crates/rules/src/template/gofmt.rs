//! Go's float and `printf` formatting, reproduced so that alert text rendered by
//! Sightline is byte-for-byte what Prometheus renders for the same value.
//!
//! Rust's exact float formatting rounds correctly (ties to even on exact decimal
//! halves), as Go's does, so the digits come from Rust and only the layout rules
//! (`%g` exponent thresholds, `e+06` exponents, trailing-zero trimming) are Go's.

use super::value::Val;

/// Decimal digits and exponent of `v` rounded to `prec` significant digits, or the
/// shortest round-trip digits when `prec` is `None`. Digits have no trailing zeros.
fn digits(v: f64, prec: Option<usize>) -> (String, i32) {
    let s = match prec {
        Some(p) => format!("{:.*e}", p.saturating_sub(1), v.abs()),
        None => format!("{:e}", v.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    while d.len() > 1 && d.ends_with('0') {
        d.pop();
    }
    if d == "0" {
        return (d, 0);
    }
    (d, exp)
}

fn special(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("+Inf")
    } else if v == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

/// Go's exponent suffix: `e+06`, `e-10` (at least two digits, always signed).
fn exp_suffix(out: &mut String, e: i32) {
    out.push('e');
    out.push(if e < 0 { '-' } else { '+' });
    let a = e.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
}

/// `strconv.FormatFloat(v, 'g', prec, 64)`; `prec = None` is Go's shortest form
/// (used by `%v` and plain `{{ $value }}`).
pub fn format_g(v: f64, prec: Option<usize>) -> String {
    if let Some(s) = special(v) {
        return s.to_string();
    }
    let prec = prec.map(|p| p.max(1));
    let (d, exp) = digits(v, prec);
    let nd = d.len() as i32;
    let dp = exp + 1;
    // Go decides between %e and %f with precision 6 when printing the shortest form.
    let mut eprec = match prec {
        Some(p) => p as i32,
        None => 6,
    };
    if prec.is_some() && eprec > nd && nd >= dp {
        eprec = nd;
    }
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    if exp < -4 || exp >= eprec {
        out.push_str(&d[..1]);
        if d.len() > 1 {
            out.push('.');
            out.push_str(&d[1..]);
        }
        exp_suffix(&mut out, exp);
    } else {
        fixed_from_digits(&mut out, &d, dp);
    }
    out
}

/// Writes digits `d` with the decimal point after `dp` digits, no trailing zeros.
fn fixed_from_digits(out: &mut String, d: &str, dp: i32) {
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(d);
    } else if dp as usize >= d.len() {
        out.push_str(d);
        for _ in 0..(dp as usize - d.len()) {
            out.push('0');
        }
    } else {
        out.push_str(&d[..dp as usize]);
        out.push('.');
        out.push_str(&d[dp as usize..]);
    }
}

/// Go's `%.<prec>e`.
fn format_e(v: f64, prec: usize) -> String {
    if let Some(s) = special(v) {
        return s.to_string();
    }
    let s = format!("{:.*e}", prec, v);
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let mut out = m.to_string();
    exp_suffix(&mut out, e.parse().unwrap_or(0));
    out
}

/// Go's `%.<prec>f`.
fn format_f(v: f64, prec: usize) -> String {
    match special(v) {
        Some(s) => s.to_string(),
        None => format!("{:.*}", prec, v),
    }
}

/// The text Go's `fmt` prints for a template value with `%v`.
pub fn format_v(v: &Val) -> String {
    v.to_string()
}

struct Spec {
    minus: bool,
    plus: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

fn pad(s: String, spec: &Spec, numeric: bool) -> String {
    let Some(w) = spec.width else { return s };
    let n = s.chars().count();
    if n >= w {
        return s;
    }
    let fill = w - n;
    if spec.minus {
        format!("{s}{}", " ".repeat(fill))
    } else if spec.zero && numeric {
        let (sign, rest) = match s.strip_prefix(['-', '+']) {
            Some(r) => (&s[..1], r),
            None => ("", s.as_str()),
        };
        format!("{sign}{}{rest}", "0".repeat(fill))
    } else {
        format!("{}{s}", " ".repeat(fill))
    }
}

fn num_arg(v: &Val) -> Option<f64> {
    match v {
        Val::Float(f) => Some(*f),
        Val::Int(i) => Some(*i as f64),
        _ => None,
    }
}

fn signed(mut s: String, spec: &Spec, nonneg: bool) -> String {
    if nonneg && spec.plus {
        s.insert(0, '+');
    } else if nonneg && spec.space {
        s.insert(0, ' ');
    }
    s
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%s %v %d %f %e %g %q %t %x %%`
/// with flags `-+ 0`, width and precision. Mismatches print Go's `%!v(type=value)`
/// style markers rather than failing, as Go does.
pub fn sprintf(format: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let mut it = format.chars().peekable();
    let mut ai = 0;
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec {
            minus: false,
            plus: false,
            zero: false,
            space: false,
            width: None,
            prec: None,
        };
        while let Some(&f) = it.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                '#' => {}
                _ => break,
            }
            it.next();
        }
        let mut w = String::new();
        while let Some(&d) = it.peek().filter(|d| d.is_ascii_digit()) {
            w.push(d);
            it.next();
        }
        spec.width = w.parse().ok();
        if it.peek() == Some(&'.') {
            it.next();
            let mut p = String::new();
            while let Some(&d) = it.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                it.next();
            }
            spec.prec = Some(p.parse().unwrap_or(0));
        }
        let Some(verb) = it.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(ai) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        ai += 1;
        let s = match (verb, arg) {
            ('v', _) | ('s', Val::Str(_)) => {
                let mut s = arg.to_string();
                if let (Some(p), 's') = (spec.prec, verb) {
                    s = s.chars().take(p).collect();
                }
                pad(s, &spec, false)
            }
            ('s', _) => pad(arg.to_string(), &spec, false),
            ('q', Val::Str(s)) => pad(format!("{s:?}"), &spec, false),
            ('t', Val::Bool(b)) => pad(b.to_string(), &spec, false),
            ('d', Val::Int(i)) => pad(signed(i.to_string(), &spec, *i >= 0), &spec, true),
            ('x', Val::Int(i)) => pad(format!("{i:x}"), &spec, true),
            ('x', Val::Str(s)) => pad(
                s.bytes().map(|b| format!("{b:02x}")).collect(),
                &spec,
                false,
            ),
            ('f' | 'F' | 'e' | 'g', a) if num_arg(a).is_some() => {
                let f = num_arg(a).unwrap_or(0.0);
                let s = match verb {
                    'e' => format_e(f, spec.prec.unwrap_or(6)),
                    'g' => format_g(f, spec.prec),
                    _ => format_f(f, spec.prec.unwrap_or(6)),
                };
                pad(signed(s, &spec, f >= 0.0 || f.is_nan()), &spec, true)
            }
            (_, a) => format!("%!{verb}({}={})", a.go_type(), a),
        };
        out.push_str(&s);
    }
    if ai < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[ai..]
            .iter()
            .map(|a| format!("{}={}", a.go_type(), a))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_formats_like_go() {
        // Expected strings are Go's fmt.Sprintf("%.4g", v) / fmt.Sprint(v) outputs.
        let cases: &[(f64, Option<usize>, &str)] = &[
            (1.0, Some(4), "1"),
            (1234.0, Some(4), "1234"),
            (12345.0, Some(4), "1.234e+04"),
            (0.0001, Some(4), "0.0001"),
            (0.00001, Some(4), "1e-05"),
            (1.5, Some(4), "1.5"),
            (123.456, Some(4), "123.5"),
            (0.0, Some(4), "0"),
            (-2.5, Some(4), "-2.5"),
            (1e6, None, "1e+06"),
            (123456.0, None, "123456"),
            (0.5, None, "0.5"),
            (1234567.0, None, "1.234567e+06"),
            (1e21, None, "1e+21"),
            (0.00001, None, "1e-05"),
            (f64::NAN, Some(4), "NaN"),
            (f64::INFINITY, None, "+Inf"),
        ];
        for (v, p, want) in cases {
            assert_eq!(format_g(*v, *p), *want, "format_g({v}, {p:?})");
        }
    }

    #[test]
    fn printf_verbs() {
        let f = |s: &str, a: Vec<Val>| sprintf(s, &a);
        assert_eq!(f("%.2f", vec![Val::Float(1.23456)]), "1.23");
        assert_eq!(f("%d%%", vec![Val::Int(42)]), "42%");
        assert_eq!(f("%5.1f|", vec![Val::Float(2.25)]), "  2.2|");
        assert_eq!(
            f("%s=%v", vec![Val::Str("a".into()), Val::Float(1e6)]),
            "a=1e+06"
        );
        assert_eq!(f("%e", vec![Val::Float(1234.5)]), "1.234500e+03");
        assert_eq!(f("%d", vec![]), "%!d(MISSING)");
        assert_eq!(f("%d", vec![Val::Str("x".into())]), "%!d(string=x)");
        assert_eq!(f("%03d", vec![Val::Int(7)]), "007");
    }
}
