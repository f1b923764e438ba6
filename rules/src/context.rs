//! Per-event matching state: the event and the lowercased text of the fields rules have looked
//! at so far, so each field is case-folded once per event however many rules read it.

use std::fmt::Write;

use onewall_model::{Event, FieldId, Value};

use crate::pattern::{Pattern, lowercase_into};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Field(FieldId),
    Raw,
}

/// Lowercased field text, reused across events (buffers are kept, only cleared).
#[derive(Debug, Default)]
pub(crate) struct LowerCache {
    keys: Vec<Key>,
    bufs: Vec<String>,
    /// Scratch for list elements, which are not cached.
    tmp: String,
}

impl LowerCache {
    fn reset(&mut self) {
        self.keys.clear();
    }

    /// The cached lowercase text for `key`, computing it with `fill` the first time.
    fn get(&mut self, key: Key, fill: impl FnOnce(&mut String)) -> &str {
        let slot = match self.keys.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                let i = self.keys.len();
                self.keys.push(key);
                if self.bufs.len() <= i {
                    self.bufs.push(String::new());
                }
                let buf = &mut self.bufs[i];
                buf.clear();
                fill(buf);
                i
            }
        };
        &self.bufs[slot]
    }
}

/// The event being matched, plus its lowercase cache.
#[derive(Debug)]
pub(crate) struct EventContext<'a> {
    pub(crate) event: &'a Event,
    cache: &'a mut LowerCache,
    message: Option<FieldId>,
    /// A 64-bit summary of the fields the event has (see [`field_bit`]).
    present: u64,
}

/// The bit standing for field `id` in 64-bit field summaries: an event lacking a bit surely
/// lacks every field that maps to it, so a group needing that field cannot match.
pub(crate) fn field_bit(id: FieldId) -> u64 {
    1u64 << (id.index() % 64)
}

impl<'a> EventContext<'a> {
    /// Start matching `event`; `message` is the interned `message` field (keyword target).
    pub(crate) fn new(
        event: &'a Event,
        cache: &'a mut LowerCache,
        message: Option<FieldId>,
    ) -> Self {
        cache.reset();
        let present = event
            .fields
            .entries()
            .iter()
            .fold(0, |acc, (id, _)| acc | field_bit(*id));
        EventContext {
            event,
            cache,
            message,
            present,
        }
    }

    /// Could the event have every field in `mask` (see [`field_bit`])?
    pub(crate) fn may_have(&self, mask: u64) -> bool {
        mask & !self.present == 0
    }

    /// The value of field `id`, if set.
    pub(crate) fn field(&self, id: FieldId) -> Option<&'a Value> {
        self.event.fields.get_id(id)
    }

    /// Does `value` (the value of field `id`) match `pattern`? Lists match when any element
    /// does; null never matches a text pattern.
    pub(crate) fn value_matches(&mut self, id: FieldId, value: &Value, pattern: &Pattern) -> bool {
        match value {
            Value::Null => false,
            Value::List(items) => items.iter().any(|v| self.element_matches(v, pattern)),
            scalar => {
                let text = self
                    .cache
                    .get(Key::Field(id), |buf| write_lower(scalar, buf));
                pattern.matches(text)
            }
        }
    }

    fn element_matches(&mut self, value: &Value, pattern: &Pattern) -> bool {
        match value {
            Value::Null => false,
            Value::List(items) => items.iter().any(|v| self.element_matches(v, pattern)),
            scalar => {
                let mut tmp = std::mem::take(&mut self.cache.tmp);
                tmp.clear();
                write_lower(scalar, &mut tmp);
                let hit = pattern.matches(&tmp);
                self.cache.tmp = tmp;
                hit
            }
        }
    }

    /// Keyword search: the `message` field when the event has one (not null), else the raw text.
    pub(crate) fn keyword_matches(&mut self, pattern: &Pattern) -> bool {
        if let Some(id) = self.message
            && let Some(v) = self.field(id)
            && !v.is_null()
        {
            return self.value_matches(id, v, pattern);
        }
        let raw = &self.event.raw;
        let text = self.cache.get(Key::Raw, |buf| {
            lowercase_into(&String::from_utf8_lossy(raw), buf)
        });
        pattern.matches(text)
    }
}

impl EventContext<'_> {
    /// Keyword search with the original (not case-folded) text: the `message` field's scalars
    /// when the event has one, else the raw text.
    pub(crate) fn keyword_text(&mut self, f: &mut dyn FnMut(&str) -> bool) -> bool {
        if let Some(id) = self.message
            && let Some(v) = self.field(id)
            && !v.is_null()
        {
            return text_any(v, f);
        }
        f(&String::from_utf8_lossy(&self.event.raw))
    }
}

fn text_any(v: &Value, f: &mut dyn FnMut(&str) -> bool) -> bool {
    match v {
        Value::Null => false,
        Value::List(items) => items.iter().any(|i| text_any(i, f)),
        scalar => scalar.to_text().is_some_and(|t| f(&t)),
    }
}

/// Append the lowercase text form of a scalar value to `buf` (as [`Value::to_text`], folded).
fn write_lower(value: &Value, buf: &mut String) {
    // Writing to a String cannot fail.
    let _ = match value {
        Value::Str(s) => {
            lowercase_into(s, buf);
            Ok(())
        }
        Value::Int(i) => write!(buf, "{i}"),
        Value::Float(f) => write!(buf, "{f}"),
        Value::Bool(b) => write!(buf, "{b}"),
        Value::Ip(ip) => write!(buf, "{ip}"),
        Value::Time(t) => {
            lowercase_into(&t.to_rfc3339(), buf);
            Ok(())
        }
        Value::Null | Value::List(_) => Ok(()),
    };
}
