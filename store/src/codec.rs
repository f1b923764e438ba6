//! What both backends store and query the same way: the promoted fields' columns and the
//! filters on them, the fields of an event as typed JSON, and the open statuses.

use std::fmt;
use std::net::IpAddr;

use onewall_model::event::names;
use onewall_model::{Fields, IncidentStatus, Value};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// The common fields, each copied on write into a text column of its own (holding the value's
/// text form) with the same meaning in every backend: field name, column name.
pub(crate) const COMMON_COLUMNS: [(&str, &str); 6] = [
    (names::HOST_NAME, "host_name"),
    (names::SOURCE_IP, "source_ip"),
    (names::DESTINATION_IP, "destination_ip"),
    (names::USER_NAME, "user_name"),
    (names::PROCESS_NAME, "process_name"),
    (names::EVENT_ACTION, "event_action"),
];

/// For a filter `field == value` on a common field: the field's place in [`COMMON_COLUMNS`],
/// its column, and the text the column holds for that value (its text form: an address is
/// spelled the way the model writes it, however the filter spells it).
pub(crate) fn common_filter(field: &str, value: &str) -> Option<(usize, &'static str, String)> {
    let place = COMMON_COLUMNS.iter().position(|(n, _)| *n == field)?;
    let is_ip_field = [names::SOURCE_IP, names::DESTINATION_IP].contains(&field);
    let text = match value.parse::<IpAddr>() {
        Ok(ip) if is_ip_field => ip.to_string(),
        _ => value.to_owned(),
    };
    Some((place, COMMON_COLUMNS[place].1, text))
}

/// The open incident statuses as an SQL list: `'new', 'acknowledged', ...`.
pub(crate) fn open_statuses() -> String {
    let open: Vec<String> = IncidentStatus::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    open.join(", ")
}

/// Refuse a filter's field name no backend can look up: empty, or holding a `"` or a control
/// character (SQLite's JSON paths cannot quote them).
pub(crate) fn check_filter_field(name: &str) -> Result<(), StoreError> {
    if name.is_empty() || name.contains('"') || name.chars().any(char::is_control) {
        return Err(StoreError::InvalidQuery(format!(
            "invalid filter field {name:?}: a field name is not empty and has no '\"' or control character"
        )));
    }
    Ok(())
}

/// The typed JSON of the fields ([`Value::to_typed_json`]), keeping their order. Written
/// straight from the values: building the JSON value first copied every string of a wide
/// Windows event once more per write.
pub(crate) fn fields_to_json(fields: &Fields) -> Result<String, serde_json::Error> {
    struct Typed<'a>(&'a Fields);
    impl Serialize for Typed<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in self.0.iter() {
                m.serialize_entry(k, &TypedValue(v))?;
            }
            m.end()
        }
    }
    serde_json::to_string(&Typed(fields))
}

/// A value written as [`Value::to_typed_json`] gives it.
struct TypedValue<'a>(&'a Value);

impl Serialize for TypedValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            // As `to_json`: a float JSON cannot hold (NaN, infinities) is a null.
            Value::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => n.serialize(s),
                None => s.serialize_unit(),
            },
            Value::Str(t) => s.serialize_str(t),
            Value::Ip(ip) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("$ip", &ip.to_string())?;
                m.end()
            }
            Value::Time(t) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("$time", &t.0)?;
                m.end()
            }
            Value::List(items) => s.collect_seq(items.iter().map(TypedValue)),
        }
    }
}

/// The inverse of [`fields_to_json`], in stored order (which [`Fields`] equality sees).
pub(crate) fn fields_from_json(text: &str) -> Result<Fields, serde_json::Error> {
    struct Ordered(Fields);
    struct OrderedVisitor;
    impl<'de> Visitor<'de> for OrderedVisitor {
        type Value = Ordered;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object of fields")
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Ordered, A::Error> {
            let mut fields = Fields::new();
            while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                fields.insert(&k, Value::from_typed_json(&v));
            }
            Ok(Ordered(fields))
        }
    }
    impl<'de> Deserialize<'de> for Ordered {
        fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            d.deserialize_map(OrderedVisitor)
        }
    }
    serde_json::from_str::<Ordered>(text).map(|o| o.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use onewall_model::Timestamp;

    #[test]
    fn fields_keep_their_order() {
        let mut f = Fields::new();
        f.insert("zeta", "last name first");
        f.insert("alpha", Value::Ip("10.0.0.1".parse().expect("ip")));
        f.insert("mid", Value::Time(Timestamp(5)));
        let text = fields_to_json(&f).expect("encode");
        assert_eq!(fields_from_json(&text).expect("decode"), f);
    }

    #[test]
    fn fields_are_written_as_their_typed_json() {
        // Names in sorted order, so the comparison holds whether or not serde_json keeps
        // insertion order in this build.
        let mut f = Fields::new();
        f.insert("b", true);
        f.insert("big", Value::Float(1e300));
        f.insert("f", Value::Float(1.5));
        f.insert("i", -42);
        f.insert("ip4", Value::Ip("10.0.0.1".parse().expect("ip")));
        f.insert("ip6", Value::Ip("fe80::1".parse().expect("ip")));
        f.insert(
            "l",
            Value::List(vec![
                Value::Int(1),
                Value::str("x"),
                Value::Ip("::1".parse().expect("ip")),
                Value::List(vec![Value::Null, Value::Time(Timestamp(-5))]),
            ]),
        );
        f.insert("n", Value::Null);
        f.insert("nan", Value::Float(f64::NAN));
        f.insert("s", "a \"quoted\" 二道门\n");
        f.insert("t", Value::Time(Timestamp(1_700_000_000_123_456_789)));
        let text = fields_to_json(&f).expect("encode");
        assert_eq!(
            text,
            serde_json::to_string(&f.to_typed_json()).expect("encode the value")
        );
        assert_eq!(fields_from_json(&text).expect("decode").len(), f.len());
    }

    #[test]
    fn field_names_no_backend_can_look_up_are_refused() {
        for bad in ["", "a\"b", "a\u{0}b", "a\nb"] {
            assert!(
                matches!(check_filter_field(bad), Err(StoreError::InvalidQuery(_))),
                "{bad:?}"
            );
        }
        assert!(check_filter_field("a.b[0] $x\\").is_ok());
    }

    #[test]
    fn common_filters_hold_the_column_text() {
        assert_eq!(
            common_filter("source.ip", "::FFFF:a00:1"),
            Some((1, "source_ip", "::ffff:10.0.0.1".to_owned()))
        );
        assert_eq!(
            common_filter("host.name", "::1"),
            Some((0, "host_name", "::1".to_owned()))
        );
        assert_eq!(common_filter("message", "x"), None);
    }
}
