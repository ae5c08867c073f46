//! `${VAR}` expansion, so secrets (tokens, routing keys) stay out of the file.
//!
//! Only the braced form with a name that starts with a letter or `_` is expanded:
//! `${1}` and `$1` stay as they are because relabelling uses them for capture groups.
//! `${VAR:-default}` supplies a default; `$${VAR}` writes a literal `${VAR}`. A variable
//! that is unset and has no default is an error naming the variable and its line.

/// Expands `${VAR}` references in `text`. `lookup` returns a variable's value.
///
/// On failure returns the 1-based line and column of the reference and a message.
pub fn expand(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, (usize, usize, String)> {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut last = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        // `$${` escapes a reference.
        if text[i..].starts_with("$${") {
            out.push_str(&text[last..i]);
            i += 1;
            last = i;
            // Skip past the escaped `${` so it is not expanded.
            i += 2;
            continue;
        }
        if !text[i..].starts_with("${") {
            i += 1;
            continue;
        }
        let start = i + 2;
        let Some(rel_end) = text[start..].find('}') else {
            i += 1;
            continue;
        };
        let inner = &text[start..start + rel_end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        let valid_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            i += 1;
            continue;
        }
        let value = match (lookup(name), default) {
            (Some(v), _) => v,
            (None, Some(d)) => d.to_string(),
            (None, None) => {
                let line = text[..i].matches('\n').count() + 1;
                let col = i - text[..i].rfind('\n').map(|p| p + 1).unwrap_or(0) + 1;
                return Err((line, col, format!("environment variable {name} is not set (use ${{{name}:-default}} for a default)")));
            }
        };
        out.push_str(&text[last..i]);
        out.push_str(&value);
        i = start + rel_end + 1;
        last = i;
    }
    out.push_str(&text[last..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            _ => None,
        }
    }

    #[test]
    fn expands_and_keeps_capture_groups() {
        let s = "a: ${TOKEN}\nb: ${1}x$1\nc: ${MISSING:-dflt}\nd: $${TOKEN}\n";
        assert_eq!(
            expand(s, env).unwrap(),
            "a: s3cret\nb: ${1}x$1\nc: dflt\nd: ${TOKEN}\n"
        );
    }

    #[test]
    fn missing_variable_is_located() {
        let err = expand("a: 1\nb: x${NOPE}\n", env).unwrap_err();
        assert_eq!((err.0, err.1), (2, 5));
        assert!(err.2.contains("NOPE"));
    }
}
