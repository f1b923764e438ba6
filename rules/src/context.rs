//! Per-event matching state: the event and the lowercased text of the fields rules have looked
//! at so far, so each field is case-folded once per event however many rules read it.

use std::fmt::Write;

use onewall_model::{Event, FieldId, Value};

use crate::pattern::{Pattern, lowercase_into};

/// Marks a field no rule reads in [`Slots`].
const NO_SLOT: u32 = u32::MAX;

/// The fields rules read, each given a slot (a small index) so per-event state is an array.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    /// `FieldId::index()` → slot, [`NO_SLOT`] for fields no rule reads.
    slot_of: Vec<u32>,
    len: usize,
}

impl Slots {
    /// A slot for each distinct field of `fields`, in order.
    pub(crate) fn new(fields: impl IntoIterator<Item = FieldId>) -> Slots {
        let mut slot_of = Vec::new();
        let mut len = 0u32;
        for id in fields {
            let i = id.index() as usize;
            if slot_of.len() <= i {
                slot_of.resize(i + 1, NO_SLOT);
            }
            if slot_of[i] == NO_SLOT {
                slot_of[i] = len;
                len += 1;
            }
        }
        Slots {
            slot_of,
            len: len as usize,
        }
    }

    /// Number of slots.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The slot of field `id`, if some rule reads it.
    #[inline]
    pub(crate) fn get(&self, id: FieldId) -> Option<usize> {
        match self.slot_of.get(id.index() as usize) {
            Some(&s) if s != NO_SLOT => Some(s as usize),
            _ => None,
        }
    }
}

/// Per-batch matching state, reused from one event to the next (buffers are kept, and a
/// generation number tells which entries belong to the current event, so nothing is cleared or
/// allocated per event once the buffers have grown).
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// The current event's generation; entries stamped with another are stale.
    generation: u32,
    /// Per field slot (see [`Slots`]): the generation and the position of the field in
    /// the current event's entries.
    pos: Vec<(u32, u32)>,
    /// Per field slot: the generation at which `lower` was filled.
    lowered: Vec<u32>,
    /// Per field slot: the field's lowercased text.
    lower: Vec<String>,
    /// Generation at which `raw` was filled.
    raw_generation: u32,
    /// The lowercased raw text (keyword searches on events without `message`).
    raw: String,
    /// Scratch for list elements and unslotted fields, which are not cached.
    tmp: String,
}

impl Scratch {
    /// Start the next event.
    fn advance(&mut self, slots: usize) {
        if self.pos.len() < slots {
            self.pos.resize(slots, (0, 0));
            self.lowered.resize(slots, 0);
            self.lower.resize_with(slots, String::new);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // Wrapped: forget every stamp so none can look current.
            self.pos.fill((0, 0));
            self.lowered.fill(0);
            self.raw_generation = 0;
            self.generation = 1;
        }
    }
}

/// The event being matched, its fields resolved to the engine's slots, and the lowercased text
/// of the fields read so far: each field is looked up and case-folded once per event however
/// many rules read it.
#[derive(Debug)]
pub(crate) struct EventContext<'a> {
    pub(crate) event: &'a Event,
    slots: &'a Slots,
    scratch: &'a mut Scratch,
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
    /// Start matching `event`: resolve its fields to `slots`. `message` is the interned
    /// `message` field (keyword target).
    pub(crate) fn new(
        event: &'a Event,
        slots: &'a Slots,
        scratch: &'a mut Scratch,
        message: Option<FieldId>,
    ) -> Self {
        scratch.advance(slots.len());
        let generation = scratch.generation;
        let mut present = 0;
        for (i, (id, _)) in event.fields.entries().iter().enumerate() {
            present |= field_bit(*id);
            if let Some(slot) = slots.get(*id) {
                scratch.pos[slot] = (generation, i as u32);
            }
        }
        EventContext {
            event,
            slots,
            scratch,
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
        let event: &'a Event = self.event;
        match self.slots.get(id) {
            Some(slot) => {
                let (generation, at) = self.scratch.pos[slot];
                if generation != self.scratch.generation {
                    return None;
                }
                event.fields.entries().get(at as usize).map(|(_, v)| v)
            }
            None => event.fields.get_id(id),
        }
    }

    /// The lowercased text of `value`, a scalar that is the value of field `id`: computed once
    /// per event for fields the engine knows, into scratch otherwise.
    pub(crate) fn lower(&mut self, id: FieldId, value: &Value) -> &str {
        match self.slots.get(id) {
            Some(slot) => self.lower_slot(slot, value),
            None => self.lower_tmp(value),
        }
    }

    /// As [`EventContext::lower`], for the field in `slot`.
    pub(crate) fn lower_slot(&mut self, slot: usize, value: &Value) -> &str {
        let s = &mut *self.scratch;
        if s.lowered[slot] != s.generation {
            s.lowered[slot] = s.generation;
            let buf = &mut s.lower[slot];
            buf.clear();
            write_lower(value, buf);
        }
        &s.lower[slot]
    }

    /// The lowercased text of a scalar that is not cached (a list element).
    pub(crate) fn lower_tmp(&mut self, value: &Value) -> &str {
        let tmp = &mut self.scratch.tmp;
        tmp.clear();
        write_lower(value, tmp);
        tmp
    }

    /// Does `value` (the value of field `id`) match `pattern`? Lists match when any element
    /// does; null never matches a text pattern.
    pub(crate) fn value_matches(&mut self, id: FieldId, value: &Value, pattern: &Pattern) -> bool {
        match value {
            Value::Null => false,
            Value::List(items) => items.iter().any(|v| self.element_matches(v, pattern)),
            scalar => pattern.matches(self.lower(id, scalar)),
        }
    }

    fn element_matches(&mut self, value: &Value, pattern: &Pattern) -> bool {
        match value {
            Value::Null => false,
            Value::List(items) => items.iter().any(|v| self.element_matches(v, pattern)),
            scalar => pattern.matches(self.lower_tmp(scalar)),
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
        pattern.matches(self.lower_raw())
    }

    /// The event's raw text, lowercased (once per event).
    pub(crate) fn lower_raw(&mut self) -> &str {
        let s = &mut *self.scratch;
        if s.raw_generation != s.generation {
            s.raw_generation = s.generation;
            s.raw.clear();
            match std::str::from_utf8(&self.event.raw) {
                Ok(text) => lowercase_into(text, &mut s.raw),
                Err(_) => lowercase_into(&String::from_utf8_lossy(&self.event.raw), &mut s.raw),
            }
        }
        &s.raw
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
