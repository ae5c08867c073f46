//! Alertmanager's matcher syntax (`{a="b", c=~"d"}`, `a=b`, `a!~"x|y"`) parsed into
//! [`sightline_model::Matcher`], as used by `matchers:` in routes and inhibit rules,
//! by silences and by the API's `filter` parameter.

use sightline_model::{MatchOp, Matcher};

/// Parses one matcher such as `severity=~"critical|page"` or `team = infra`.
pub fn parse_matcher(input: &str) -> Result<Matcher, String> {
    let s = input.trim();
    let name_end = s
        .find(['=', '!', '~'])
        .ok_or_else(|| format!("matcher {input:?} has no operator (use =, !=, =~ or !~)"))?;
    let name = unquote_name(s[..name_end].trim())
        .ok_or_else(|| format!("invalid label name in matcher {input:?}"))?;
    let rest = &s[name_end..];
    let (op, rest) = if let Some(r) = rest.strip_prefix("=~") {
        (MatchOp::RegexMatch, r)
    } else if let Some(r) = rest.strip_prefix("!~") {
        (MatchOp::RegexNoMatch, r)
    } else if let Some(r) = rest.strip_prefix("!=") {
        (MatchOp::NotEqual, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (MatchOp::Equal, r)
    } else {
        return Err(format!("invalid operator in matcher {input:?}"));
    };
    let raw = rest.trim();
    let value = if raw.starts_with('"') {
        let (v, used) = parse_quoted(raw).map_err(|e| format!("matcher {input:?}: {e}"))?;
        if used != raw.len() {
            return Err(format!(
                "matcher {input:?}: unexpected text after the quoted value"
            ));
        }
        v
    } else {
        raw.to_string()
    };
    Matcher::new(op, name, value).map_err(|e| format!("matcher {input:?}: {e}"))
}

/// Parses a list of matchers, with or without braces, separated by commas:
/// `{a="b", c=~"d"}` or `a=b,c!=d`. An empty input gives an empty list.
pub fn parse_matchers(input: &str) -> Result<Vec<Matcher>, String> {
    let mut s = input.trim();
    if let Some(inner) = s.strip_prefix('{') {
        s = inner
            .strip_suffix('}')
            .ok_or_else(|| format!("matchers {input:?}: missing closing brace"))?;
    }
    let mut out = Vec::new();
    for part in split_top_level(s)? {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        out.push(parse_matcher(part)?);
    }
    Ok(out)
}

/// Formats matchers the way Alertmanager prints them: `{a="b", c=~"d"}`.
pub fn format_matchers(ms: &[Matcher]) -> String {
    let mut s = String::from("{");
    for (i, m) in ms.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&m.to_string());
    }
    s.push('}');
    s
}

fn unquote_name(s: &str) -> Option<String> {
    if s.starts_with('"') {
        let (v, used) = parse_quoted(s).ok()?;
        return (used == s.len() && !v.is_empty()).then_some(v);
    }
    let ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '.')
        && !s.starts_with(|c: char| c.is_ascii_digit());
    ok.then(|| s.to_string())
}

/// Splits on commas that are not inside double quotes.
fn split_top_level(s: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_q = false;
    let mut esc = false;
    for (i, c) in s.char_indices() {
        if in_q {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_q = false;
            }
        } else if c == '"' {
            in_q = true;
        } else if c == ',' {
            parts.push(&s[start..i]);
            start = i + 1;
        }
    }
    if in_q {
        return Err(format!("matchers {s:?}: unterminated quoted string"));
    }
    parts.push(&s[start..]);
    Ok(parts)
}

/// Parses a double-quoted string at the start of `s`, returning the value and the
/// number of bytes consumed.
fn parse_quoted(s: &str) -> Result<(String, usize), String> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    chars.next();
    let mut esc = false;
    for (i, c) in chars {
        if esc {
            match c {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if c == '"' {
            return Ok((out, i + 1));
        } else {
            out.push(c);
        }
    }
    Err("unterminated quoted string".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        let m = parse_matchers(r#"{alertname="Watchdog", severity=~"warn|crit"}"#).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].op, MatchOp::RegexMatch);
        assert!(m[1].matches("crit") && !m[1].matches("critical"));
        let m = parse_matcher("team = infra ").unwrap();
        assert_eq!((m.name.as_str(), m.value.as_str()), ("team", "infra"));
        let m = parse_matcher(r#"a!="x,y""#).unwrap();
        assert_eq!(m.value, "x,y");
        assert_eq!(parse_matchers(r#"a="1,2",b!~c"#).unwrap().len(), 2);
        assert!(parse_matcher("novalue").is_err());
        assert!(parse_matcher(r#"a=~"(""#).is_err());
        assert!(parse_matcher(r#"a="x"y"#).is_err());
        assert_eq!(parse_matcher(r#"a="q\"x""#).unwrap().value, "q\"x");
        assert_eq!(parse_matcher("a=").unwrap().value, "");
    }

    #[test]
    fn formats_like_alertmanager() {
        let m = parse_matchers("a=b,c=~d").unwrap();
        assert_eq!(format_matchers(&m), r#"{a="b", c=~"d"}"#);
    }
}
