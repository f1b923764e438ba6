//! One JSON object's text flattened straight into an event's fields, without building the
//! object first: each key is appended to one name buffer (`{"source":{"ip":..}}` sets
//! `source.ip`), each scalar becomes a [`Value`] as it is read. An array stays one list value
//! (read as JSON, then as [`Value::from_json`] reads it); an empty nested object is a null.
//! What [`Fields::insert_json`] does over a parsed object, with a key repeated in one object
//! taking its place in the order of its first appearance and the value of its last.

use std::fmt;

use onewall_model::{Fields, Value};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Top-level keys whose text may be the event time (see `json.rs`): their values are kept even
/// when the field bound leaves them out of the fields.
pub(super) const TIME_FIELDS: [&str; 3] = ["@timestamp", "timestamp", "time"];

/// The flattened record: its top-level time texts, by [`TIME_FIELDS`] position.
#[derive(Debug, Default)]
pub(super) struct Flattened {
    pub times: [Option<String>; 3],
}

/// Flatten the object `text` into `fields`. `Ok(Err(kind))` when `text` holds a JSON value
/// that is not an object (nothing is set then), naming the kind of value it is.
pub(super) fn flatten_object(
    text: &str,
    fields: &mut Fields,
) -> Result<Result<Flattened, &'static str>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let mut name = String::with_capacity(128);
    let mut out = Flattened::default();
    let top = Top {
        fields,
        name: &mut name,
        out: &mut out,
    };
    let r = top.deserialize(&mut de)?;
    de.end()?;
    Ok(r.map(|()| out))
}

/// The record itself: an object, or the kind of value it is instead.
struct Top<'a> {
    fields: &'a mut Fields,
    name: &'a mut String,
    out: &'a mut Flattened,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = Result<(), &'static str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = Result<(), &'static str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let key = key.as_str();
            if let Some(slot) = TIME_FIELDS.iter().position(|t| *t == key) {
                let value: serde_json::Value = map.next_value()?;
                if let serde_json::Value::String(s) = &value {
                    self.out.times[slot] = Some(s.clone());
                }
                self.fields.insert_json(key, &value);
                continue;
            }
            self.name.clear();
            self.name.push_str(key);
            map.next_value_seed(Leaf {
                fields: &mut *self.fields,
                name: &mut *self.name,
            })?;
        }
        Ok(Ok(()))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Err("null"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Err("a string"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Err("an array"))
    }
}

/// A key, borrowed from the text when it has no escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl Key<'_> {
    fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The value under the name in `name`: a scalar or list is set, an object descended into.
struct Leaf<'a> {
    fields: &'a mut Fields,
    name: &'a mut String,
}

impl Leaf<'_> {
    fn set<E>(self, v: Value) -> Result<(), E> {
        self.fields.insert(self.name, v);
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Leaf<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Leaf<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.set(Value::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<(), E> {
        self.set(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<(), E> {
        self.set(Value::Int(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<(), E> {
        // As `Value::from_json`: past i64 a number is a float.
        self.set(match i64::try_from(u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(u as f64),
        })
    }
    fn visit_f64<E>(self, f: f64) -> Result<(), E> {
        self.set(Value::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        self.set(Value::str(s))
    }
    fn visit_string<E>(self, s: String) -> Result<(), E> {
        self.set(Value::str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<serde_json::Value>()? {
            items.push(Value::from_json(&item));
        }
        self.set(Value::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let base = self.name.len();
        let mut empty = true;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            empty = false;
            self.name.truncate(base);
            self.name.push('.');
            self.name.push_str(key.as_str());
            map.next_value_seed(Leaf {
                fields: &mut *self.fields,
                name: &mut *self.name,
            })?;
        }
        self.name.truncate(base);
        if empty {
            self.fields.insert(self.name, Value::Null);
        }
        Ok(())
    }
}
