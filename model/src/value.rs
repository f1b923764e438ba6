//! Typed field values.

use std::fmt;
use std::net::IpAddr;

use serde::{Serialize, Serializer};

use crate::{Text, Timestamp};

/// A field's value. Parsers produce the most specific type they can prove (an address that
/// parses is an [`Value::Ip`], a number is an [`Value::Int`]); rule matching compares strings
/// case-insensitively with integer/string coercion, so a rule need not know which was chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Text),
    Ip(IpAddr),
    Time(Timestamp),
    List(Vec<Value>),
}

impl Value {
    pub fn str(s: impl Into<Text>) -> Self {
        Value::Str(s.into())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as text, as a rule or a search compares it. `None` for null and lists.
    pub fn to_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        Some(match self {
            Value::Str(s) => Cow::Borrowed(&**s),
            Value::Int(i) => Cow::Owned(i.to_string()),
            Value::Float(f) => Cow::Owned(f.to_string()),
            Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Value::Ip(ip) => Cow::Owned(ip.to_string()),
            Value::Time(t) => Cow::Owned(t.to_rfc3339()),
            Value::Null | Value::List(_) => return None,
        })
    }

    /// Plain JSON: addresses and times become strings.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or(J::Null),
            Value::Str(s) => J::String(s.to_string()),
            Value::Ip(ip) => J::String(ip.to_string()),
            Value::Time(t) => J::String(t.to_rfc3339()),
            Value::List(l) => J::Array(l.iter().map(Value::to_json).collect()),
        }
    }

    /// From plain JSON. Objects are not values: callers flatten them into dotted field names
    /// first (see [`crate::Fields::insert_json`]); one met here (inside a list) is kept as its
    /// JSON text so nothing is lost.
    pub fn from_json(v: &serde_json::Value) -> Self {
        use serde_json::Value as J;
        match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::Str(s.as_str().into()),
            J::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            J::Object(_) => Value::Str(v.to_string().into()),
        }
    }
}

impl Value {
    /// Lossless JSON for storage: like [`Value::to_json`], except that addresses and times
    /// become `{"$ip": "..."}` and `{"$time": "..."}`. Field values are never JSON objects
    /// (objects are flattened into names), so the encoding is unambiguous.
    pub fn to_typed_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Ip(ip) => serde_json::json!({ "$ip": ip.to_string() }),
            Value::Time(t) => serde_json::json!({ "$time": t.0 }),
            Value::List(l) => J::Array(l.iter().map(Value::to_typed_json).collect()),
            other => other.to_json(),
        }
    }

    /// The inverse of [`Value::to_typed_json`].
    pub fn from_typed_json(v: &serde_json::Value) -> Self {
        use serde_json::Value as J;
        match v {
            J::Object(m) if m.len() == 1 => {
                if let Some(ip) = m
                    .get("$ip")
                    .and_then(J::as_str)
                    .and_then(|s| s.parse().ok())
                {
                    return Value::Ip(ip);
                }
                if let Some(t) = m.get("$time").and_then(J::as_i64) {
                    return Value::Time(Timestamp(t));
                }
                Value::from_json(v)
            }
            J::Array(a) => Value::List(a.iter().map(Value::from_typed_json).collect()),
            other => Value::from_json(other),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_text() {
            Some(t) => f.write_str(&t),
            None => f.write_str(&self.to_json().to_string()),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s.into())
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<IpAddr> for Value {
    fn from(ip: IpAddr) -> Self {
        Value::Ip(ip)
    }
}
impl From<Timestamp> for Value {
    fn from(t: Timestamp) -> Self {
        Value::Time(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_json_round_trips_every_kind() {
        let v = Value::List(vec![
            Value::Null,
            Value::Bool(true),
            Value::Int(-3),
            Value::Float(1.5),
            Value::str("二道门"),
            Value::Ip("fe80::1".parse().unwrap()),
            Value::Time(Timestamp(1_700_000_000_123_456_789)),
        ]);
        assert_eq!(Value::from_typed_json(&v.to_typed_json()), v);
    }

    #[test]
    fn text_form_coerces_numbers() {
        assert_eq!(Value::Int(4625).to_text().unwrap(), "4625");
        assert_eq!(Value::str("4625").as_i64(), Some(4625));
        assert!(Value::Null.to_text().is_none());
    }
}
