//! Attribute values and attribute lists as Prometheus label values and labels.

use std::collections::BTreeMap;

use base64::Engine;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use sightline_model::Label;

use crate::names::label_name;

/// The string form of an attribute value, per the OpenTelemetry attribute spec:
/// strings as-is, booleans and numbers in decimal, bytes in base64, arrays and maps
/// as JSON.
pub fn value_string(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => crate::names::format_float(*d),
        Some(Value::BytesValue(b)) => base64::engine::general_purpose::STANDARD.encode(b),
        Some(other) => json_value(Some(other)).to_string(),
    }
}

fn json_value(v: Option<&Value>) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        None => J::Null,
        Some(Value::StringValue(s)) => J::String(s.clone()),
        Some(Value::BoolValue(b)) => J::Bool(*b),
        Some(Value::IntValue(i)) => J::from(*i),
        Some(Value::DoubleValue(d)) => serde_json::Number::from_f64(*d)
            .map(J::Number)
            .unwrap_or_else(|| J::String(crate::names::format_float(*d))),
        Some(Value::BytesValue(b)) => {
            J::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Some(Value::ArrayValue(a)) => J::Array(
            a.values
                .iter()
                .map(|v| json_value(v.value.as_ref()))
                .collect(),
        ),
        Some(Value::KvlistValue(kv)) => J::Object(
            kv.values
                .iter()
                .map(|kv| {
                    (
                        kv.key.clone(),
                        json_value(kv.value.as_ref().and_then(|v| v.value.as_ref())),
                    )
                })
                .collect(),
        ),
    }
}

/// Converts attributes into labels with sanitised names. Attributes whose names
/// collide after sanitising are merged: values joined with `;` in the order of the
/// original keys. Empty keys and empty values are skipped. The result is unsorted.
pub fn to_labels(attrs: &[KeyValue], skip: impl Fn(&str) -> bool, out: &mut Vec<Label>) {
    // Fast path: no collisions is by far the common case.
    let start = out.len();
    for kv in attrs {
        if kv.key.is_empty() || skip(&kv.key) {
            continue;
        }
        let value = value_string(kv.value.as_ref());
        if value.is_empty() {
            continue;
        }
        out.push(Label {
            name: label_name(&kv.key),
            value,
        });
    }
    let added = &out[start..];
    let collides = added
        .iter()
        .enumerate()
        .any(|(i, l)| added[..i].iter().any(|o| o.name == l.name));
    if !collides {
        return;
    }
    // Slow path: group by sanitised name, ordered by original key.
    let mut groups: BTreeMap<String, Vec<(&str, String)>> = BTreeMap::new();
    for kv in attrs {
        if kv.key.is_empty() || skip(&kv.key) {
            continue;
        }
        let value = value_string(kv.value.as_ref());
        if value.is_empty() {
            continue;
        }
        groups
            .entry(label_name(&kv.key))
            .or_default()
            .push((kv.key.as_str(), value));
    }
    out.truncate(start);
    for (name, mut vals) in groups {
        vals.sort_by(|a, b| a.0.cmp(b.0));
        let value = vals
            .into_iter()
            .map(|(_, v)| v)
            .collect::<Vec<_>>()
            .join(";");
        out.push(Label { name, value });
    }
}

/// The string value of attribute `key`, if present.
pub fn find<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: Value) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
        }
    }

    #[test]
    fn values_are_stringified() {
        let s = |v| value_string(Some(&AnyValue { value: Some(v) }));
        assert_eq!(s(Value::IntValue(-3)), "-3");
        assert_eq!(s(Value::BoolValue(true)), "true");
        assert_eq!(s(Value::DoubleValue(1.5)), "1.5");
        assert_eq!(s(Value::BytesValue(vec![1, 2, 3])), "AQID");
    }

    #[test]
    fn colliding_names_are_joined_in_key_order() {
        let attrs = vec![
            kv("a.b", Value::StringValue("2".into())),
            kv("a_b", Value::StringValue("1".into())),
            kv("c", Value::StringValue("3".into())),
        ];
        let mut out = Vec::new();
        to_labels(&attrs, |_| false, &mut out);
        out.sort();
        assert_eq!(out, vec![Label::new("a_b", "2;1"), Label::new("c", "3")]);
    }
}
