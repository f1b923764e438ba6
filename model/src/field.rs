//! Field names, interned process-wide, and an event's flat set of fields.
//!
//! Names are flat and dotted (`source.ip`, `user.name`, or a vendor's own key). A rule compiler
//! interns the names it reads once; an event's fields carry the same small [`FieldId`]s, so
//! matching compares integers instead of hashing strings per event.
//!
//! The interner holds at most [`MAX_INTERNED`] names, so a sender inventing a new JSON key per
//! event cannot grow it without bound. Names past that bound are kept on the event by text (see
//! [`Fields::overflow`]): nothing is lost, and no compiled rule can be looking for them, since a
//! rule's names were interned when it compiled.

use std::collections::HashMap;
use std::fmt;
use std::sync::{OnceLock, RwLock};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::Value;
use crate::hash::FxMap;

/// The most names the process-wide interner will hold.
pub const MAX_INTERNED: usize = 1 << 20;

/// An interned field name.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldId(u32);

/// Ids by name; names by id are in [`NAMES`]. Ids are handed out in order, so the next is
/// the number of names held.
struct Interner {
    ids: HashMap<&'static str, u32>,
}

fn interner() -> &'static RwLock<Interner> {
    static I: OnceLock<RwLock<Interner>> = OnceLock::new();
    I.get_or_init(|| {
        RwLock::new(Interner {
            ids: HashMap::new(),
        })
    })
}

/// Names by id, readable without the interner's lock: every event written or matched reads
/// names, from every pipeline thread at once, and a shared lock's reader count made their
/// cores pass one cache line back and forth. Chunks are made as ids reach them; a name is set
/// (under the interner's write lock) before its id is handed out.
const NAME_CHUNK: usize = 1 << 10;
static NAMES: [OnceLock<Box<[OnceLock<&'static str>]>>; MAX_INTERNED / NAME_CHUNK] =
    [const { OnceLock::new() }; MAX_INTERNED / NAME_CHUNK];

fn publish(id: u32, name: &'static str) {
    let i = id as usize;
    if let Some(chunk) = NAMES.get(i / NAME_CHUNK) {
        let chunk = chunk.get_or_init(|| (0..NAME_CHUNK).map(|_| OnceLock::new()).collect());
        if let Some(slot) = chunk.get(i % NAME_CHUNK) {
            let _ = slot.set(name);
        }
    }
}

/// Names this thread looked up lately, by a hash of their text: most lookups are the same few
/// dozen names, event after event, and this answers them without the interner's lock.
const RECENT: usize = 256;
thread_local! {
    static RECENT_IDS: std::cell::RefCell<[Option<(&'static str, u32)>; RECENT]> =
        const { std::cell::RefCell::new([None; RECENT]) };
}

fn recent_slot(name: &str) -> usize {
    use std::hash::Hasher;
    let mut h = crate::hash::FxHasher::default();
    h.write(name.as_bytes());
    (h.finish() >> 56) as usize % RECENT
}

impl FieldId {
    /// The id for `name`, interning it if new. `None` only when the interner is full.
    pub fn intern(name: &str) -> Option<FieldId> {
        if let Some(id) = Self::lookup(name) {
            return Some(id);
        }
        let mut w = interner().write().unwrap_or_else(|p| p.into_inner());
        if let Some(&id) = w.ids.get(name) {
            return Some(FieldId(id));
        }
        if w.ids.len() >= MAX_INTERNED {
            return None;
        }
        // Interned names live for the process; the bound above caps what this can leak.
        let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
        let id = w.ids.len() as u32;
        w.ids.insert(leaked, id);
        publish(id, leaked);
        Some(FieldId(id))
    }

    /// The id for `name` if it was interned before; never interns.
    pub fn lookup(name: &str) -> Option<FieldId> {
        let slot = recent_slot(name);
        let hit = RECENT_IDS.with(|r| match r.borrow().get(slot) {
            Some(Some((n, id))) if *n == name => Some(FieldId(*id)),
            _ => None,
        });
        if hit.is_some() {
            return hit;
        }
        let found = {
            let r = interner().read().unwrap_or_else(|p| p.into_inner());
            r.ids.get_key_value(name).map(|(&n, &id)| (n, id))
        };
        let (n, id) = found?;
        RECENT_IDS.with(|r| {
            if let Some(s) = r.borrow_mut().get_mut(slot) {
                *s = Some((n, id));
            }
        });
        Some(FieldId(id))
    }

    pub fn name(self) -> &'static str {
        NAMES
            .get(self.0 as usize / NAME_CHUNK)
            .and_then(OnceLock::get)
            .and_then(|chunk| chunk.get(self.0 as usize % NAME_CHUNK))
            .and_then(OnceLock::get)
            .copied()
            .unwrap_or("")
    }

    pub fn index(self) -> u32 {
        self.0
    }
}

impl fmt::Debug for FieldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.name(), self.0)
    }
}

impl fmt::Display for FieldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An event's fields: flat names to typed values, in the order they were set. Setting a name
/// twice replaces the value. Events carry tens of fields, so lookups scan a small vector; a
/// 64-bit summary of the ids present (bit `id % 64`) answers most misses without a scan, so
/// setting a new field and looking up an absent one are usually constant time. Past
/// [`INDEX_FROM`] fields a hash index from id to position takes over the scans, so filling or
/// reading an event of many thousand fields stays linear in their number.
#[derive(Clone, Default)]
pub struct Fields {
    entries: Vec<(FieldId, Value)>,
    /// Bit `id % 64` is set for every id in `entries` (and may stay set after a removal).
    present: u64,
    /// Position in `entries` of each id, kept once `entries` holds more than [`INDEX_FROM`].
    index: Option<Box<FxMap<FieldId, u32>>>,
    /// Fields whose names could not be interned (interner full). Rare; see the module docs.
    overflow: Vec<(Box<str>, Value)>,
    /// When not 0, the most fields this holds: new names past it are refused (and counted in
    /// `refused`), values of names already set still change. See [`Fields::limit`].
    cap: u32,
    /// New names refused since the cap was set.
    refused: u32,
}

/// Fields past which [`Fields`] keeps a hash index instead of scanning: with 64 summary bits,
/// a scan is short below this, and an index costs more to build than it saves.
pub const INDEX_FROM: usize = 32;

impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries && self.overflow == other.overflow
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fields")
            .field("entries", &self.entries)
            .field("overflow", &self.overflow)
            .finish()
    }
}

#[inline]
fn bit(id: FieldId) -> u64 {
    1u64 << (id.0 & 63)
}

impl Fields {
    pub fn new() -> Self {
        Self::default()
    }

    /// No fields, with room for `n` interned ones before the first reallocation.
    pub fn with_capacity(n: usize) -> Self {
        Fields {
            entries: Vec::with_capacity(n),
            present: 0,
            index: None,
            overflow: Vec::new(),
            cap: 0,
            refused: 0,
        }
    }

    /// Make room for `n` more interned fields.
    pub fn reserve(&mut self, n: usize) {
        self.entries.reserve(n);
    }

    pub fn len(&self) -> usize {
        self.entries.len() + self.overflow.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Take at most `max` fields from now on (0: no bound): a new name past it is refused,
    /// without being interned, and counted; a name already set still takes a new value. A
    /// parser sets this so that a record of a million keys costs what `max` fields cost; the
    /// record's raw bytes keep the rest. [`Fields::unlimit`] lifts it.
    pub fn limit(&mut self, max: usize) {
        self.cap = u32::try_from(max).unwrap_or(u32::MAX);
    }

    /// Lift the bound of [`Fields::limit`]; the number of new names it refused.
    pub fn unlimit(&mut self) -> usize {
        self.cap = 0;
        std::mem::take(&mut self.refused) as usize
    }

    /// Whether the bound of [`Fields::limit`] is reached.
    #[inline]
    fn full(&self) -> bool {
        self.cap != 0 && self.len() >= self.cap as usize
    }

    #[inline]
    fn refuse(&mut self) {
        self.refused = self.refused.saturating_add(1);
    }

    /// Set `name` to `value`, replacing an earlier value.
    pub fn insert(&mut self, name: &str, value: impl Into<Value>) {
        let value = value.into();
        if self.full() {
            // Only names already set may change: look them up, never intern.
            let pos = FieldId::lookup(name)
                .filter(|id| self.present & bit(*id) != 0)
                .and_then(|id| self.position(id));
            if let Some(slot) = pos.and_then(|p| self.entries.get_mut(p)) {
                slot.1 = value;
            } else if let Some(slot) = self.overflow.iter_mut().find(|(n, _)| &**n == name) {
                slot.1 = value;
            } else {
                self.refuse();
            }
            return;
        }
        match FieldId::intern(name) {
            Some(id) => self.insert_id(id, value),
            None => match self.overflow.iter_mut().find(|(n, _)| &**n == name) {
                Some(slot) => slot.1 = value,
                None => self.overflow.push((name.into(), value)),
            },
        }
    }

    /// Set the interned field `id` to `value`, replacing an earlier value.
    pub fn insert_id(&mut self, id: FieldId, value: Value) {
        let bit = bit(id);
        if self.present & bit != 0
            && let Some(pos) = self.position(id)
            && let Some(slot) = self.entries.get_mut(pos)
        {
            slot.1 = value;
            return;
        }
        if self.full() {
            self.refuse();
            return;
        }
        self.present |= bit;
        self.entries.push((id, value));
        self.index_last();
    }

    /// Where `id` is in `entries`: by the index when there is one, else by a scan.
    #[inline]
    fn position(&self, id: FieldId) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(&id).map(|&p| p as usize),
            None => {
                let found = self.entries.iter().position(|(i, _)| *i == id);
                #[cfg(test)]
                tests::count_scanned(found.map_or(self.entries.len(), |p| p + 1));
                found
            }
        }
    }

    /// Keep the index after a push: note the last entry, or build the index when the entries
    /// just grew past [`INDEX_FROM`].
    #[inline]
    fn index_last(&mut self) {
        let len = self.entries.len();
        match &mut self.index {
            Some(index) => {
                if let Some((id, _)) = self.entries.last() {
                    // The first of a (buggy) duplicate push stays the one found, as in a scan.
                    index.entry(*id).or_insert((len - 1) as u32);
                }
            }
            None if len > INDEX_FROM => self.rebuild_index(),
            None => {}
        }
    }

    /// Index every entry afresh (or drop the index when the entries are few again).
    fn rebuild_index(&mut self) {
        if self.entries.len() <= INDEX_FROM {
            self.index = None;
            return;
        }
        let mut index = FxMap::default();
        index.reserve(self.entries.capacity());
        for (pos, (id, _)) in self.entries.iter().enumerate() {
            index.entry(*id).or_insert(pos as u32);
        }
        self.index = Some(Box::new(index));
    }

    /// Append the interned field `id`, which the caller knows is not set yet: a builder
    /// filling a fresh event from names it knows are distinct, or one that tracks the ids it
    /// has set. It skips the search [`Fields::insert_id`] makes when the id's summary bit is
    /// already taken (about one field in four once an event has 30), so a bulk fill is linear.
    ///
    /// Pushing an id that is already set keeps both entries, and lookups see the first: a bug
    /// in the caller, caught by a debug assertion.
    #[inline]
    pub fn push_distinct(&mut self, id: FieldId, value: Value) {
        debug_assert!(
            self.get_id(id).is_none(),
            "push_distinct: {} is already set",
            id.name()
        );
        if self.full() {
            self.refuse();
            return;
        }
        self.present |= bit(id);
        self.entries.push((id, value));
        self.index_last();
    }

    /// [`Fields::push_distinct`] for each pair, in order: the ids must be distinct from each
    /// other and from those already set.
    pub fn extend_distinct(&mut self, fields: impl IntoIterator<Item = (FieldId, Value)>) {
        let fields = fields.into_iter();
        self.entries.reserve(fields.size_hint().0);
        for (id, value) in fields {
            self.push_distinct(id, value);
        }
    }

    /// The value of the interned field `id`.
    pub fn get_id(&self, id: FieldId) -> Option<&Value> {
        if self.present & bit(id) == 0 {
            return None;
        }
        self.entries.get(self.position(id)?).map(|(_, v)| v)
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        match FieldId::lookup(name) {
            Some(id) => self.get_id(id),
            None => self
                .overflow
                .iter()
                .find(|(n, _)| &**n == name)
                .map(|(_, v)| v),
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<Value> {
        if let Some(id) = FieldId::lookup(name)
            && let Some(pos) = self.position(id)
        {
            let (_, value) = self.entries.remove(pos);
            if self.index.is_some() {
                // Later entries moved down one place.
                self.rebuild_index();
            }
            return Some(value);
        }
        let pos = self.overflow.iter().position(|(n, _)| &**n == name)?;
        Some(self.overflow.remove(pos).1)
    }

    /// All fields as `(name, value)`, interned ones first, each group in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries
            .iter()
            .map(|(id, v)| (id.name(), v))
            .chain(self.overflow.iter().map(|(n, v)| (&**n, v)))
    }

    /// The interned fields, for compiled matchers.
    pub fn entries(&self) -> &[(FieldId, Value)] {
        &self.entries
    }

    /// Fields whose names were not interned because the interner was full.
    pub fn overflow(&self) -> &[(Box<str>, Value)] {
        &self.overflow
    }

    /// Flatten a JSON value into dotted names under `prefix` (empty for the top level):
    /// `{"source":{"ip":"10.0.0.1"}}` sets `source.ip`. Arrays stay one list value.
    pub fn insert_json(&mut self, prefix: &str, v: &serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                if map.is_empty() && !prefix.is_empty() {
                    self.insert(prefix, Value::Null);
                }
                for (k, child) in map {
                    if prefix.is_empty() {
                        self.insert_json(k, child);
                    } else {
                        self.insert_json(&format!("{prefix}.{k}"), child);
                    }
                }
            }
            other => self.insert(prefix, Value::from_json(other)),
        }
    }

    /// Plain JSON object of dotted names.
    pub fn to_json(&self) -> serde_json::Value {
        let map = self
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_json()))
            .collect();
        serde_json::Value::Object(map)
    }
}

impl Fields {
    /// Lossless JSON object for storage (see [`Value::to_typed_json`]).
    pub fn to_typed_json(&self) -> serde_json::Value {
        let map = self
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_typed_json()))
            .collect();
        serde_json::Value::Object(map)
    }

    /// The inverse of [`Fields::to_typed_json`]. Anything but an object gives no fields.
    pub fn from_typed_json(v: &serde_json::Value) -> Self {
        let mut f = Fields::new();
        if let serde_json::Value::Object(m) = v {
            for (k, v) in m {
                f.insert(k, Value::from_typed_json(v));
            }
        }
        f
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static SCANNED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// Count entries a lookup compared (this thread's tests only).
    pub(super) fn count_scanned(n: usize) {
        SCANNED.with(|s| s.set(s.get() + n));
    }

    fn scanned() -> usize {
        SCANNED.with(std::cell::Cell::get)
    }

    #[test]
    fn many_fields_are_set_and_read_in_linear_time() {
        // 20,000 distinct names share the 64 summary bits, so without an index each insert and
        // each lookup would scan the entries: about 20,000² / 2 comparisons per pass.
        const N: usize = 20_000;
        let names: Vec<String> = (0..N).map(|k| format!("test.linear.f{k}")).collect();
        let before = scanned();
        let mut f = Fields::new();
        for (k, n) in names.iter().enumerate() {
            f.insert(n, Value::Int(k as i64));
        }
        for (k, n) in names.iter().enumerate() {
            f.insert(n, Value::Int(-(k as i64)));
        }
        for (k, n) in names.iter().enumerate() {
            assert_eq!(f.get(n), Some(&Value::Int(-(k as i64))), "{n}");
        }
        let per_field = (scanned() - before) / N;
        assert!(
            per_field <= 3 * INDEX_FROM,
            "{per_field} entries compared per field: not linear"
        );
        assert_eq!(f.len(), N);
        // Removing keeps the index right: later fields moved down one place.
        assert_eq!(f.remove(&names[10]), Some(Value::Int(-10)));
        assert_eq!(f.get(&names[10]), None);
        assert_eq!(f.get(&names[11]), Some(&Value::Int(-11)));
        assert_eq!(f.get(&names[N - 1]), Some(&Value::Int(-((N - 1) as i64))));
        f.insert(&names[10], Value::Int(7));
        assert_eq!(f.get(&names[10]), Some(&Value::Int(7)));
        assert_eq!(f.iter().last().map(|(n, _)| n), Some(names[10].as_str()));
        // Decoding a stored event of as many fields gives them all.
        let back = Fields::from_typed_json(&f.to_typed_json());
        assert_eq!(back.len(), N);
        assert_eq!(back.get(&names[10]), Some(&Value::Int(7)));
        let pushed_ids: Vec<FieldId> = names
            .iter()
            .map(|n| FieldId::lookup(n).expect("interned"))
            .collect();
        let mut pushed = Fields::new();
        pushed.extend_distinct(pushed_ids.iter().map(|id| (*id, Value::Null)));
        assert_eq!(pushed.get_id(pushed_ids[N / 2]), Some(&Value::Null));
    }

    #[test]
    fn interning_is_stable() {
        let a = FieldId::intern("source.ip").unwrap();
        assert_eq!(FieldId::intern("source.ip"), Some(a));
        assert_eq!(FieldId::lookup("source.ip"), Some(a));
        assert_eq!(a.name(), "source.ip");
        assert_eq!(FieldId::lookup("never.seen.anywhere.field"), None);
    }

    #[test]
    fn insert_replaces_and_flattens_json() {
        let mut f = Fields::new();
        f.insert("user.name", "root");
        f.insert("user.name", "alice");
        assert_eq!(f.get("user.name"), Some(&Value::str("alice")));
        let j: serde_json::Value =
            serde_json::from_str(r#"{"source":{"ip":"10.0.0.1","port":22},"tags":["a","b"]}"#)
                .unwrap();
        f.insert_json("", &j);
        assert_eq!(f.get("source.port"), Some(&Value::Int(22)));
        assert_eq!(
            f.get("tags"),
            Some(&Value::List(vec!["a".into(), "b".into()]))
        );
        assert_eq!(f.len(), 4);
        assert_eq!(f.to_json()["source.ip"], "10.0.0.1");
    }

    #[test]
    fn names_and_ids_agree_on_every_thread_past_a_chunk() {
        // More names than one chunk of the lock-free name table holds.
        let names: Vec<String> = (0..2 * NAME_CHUNK + 3)
            .map(|k| format!("test.chunks.f{k}"))
            .collect();
        let ids: Vec<FieldId> = names.iter().map(|n| FieldId::intern(n).unwrap()).collect();
        let check = move || {
            for (n, id) in names.iter().zip(&ids) {
                assert_eq!(id.name(), n);
                // Twice: the second answer comes from the thread's recent names.
                assert_eq!(FieldId::lookup(n), Some(*id));
                assert_eq!(FieldId::lookup(n), Some(*id));
            }
            assert_eq!(FieldId::lookup("test.chunks.never"), None);
        };
        std::thread::spawn(check.clone()).join().unwrap();
        check();
    }

    #[test]
    fn many_fields_sharing_summary_bits_stay_distinct() {
        // 200 names: several share each of the 64 summary bits.
        let names: Vec<String> = (0..200).map(|k| format!("test.summary.f{k}")).collect();
        let mut f = Fields::with_capacity(4);
        for (k, n) in names.iter().enumerate() {
            f.insert(n, Value::Int(k as i64));
        }
        for (k, n) in names.iter().enumerate() {
            f.insert(n, Value::Int(k as i64 * 2));
        }
        assert_eq!(f.len(), 200);
        for (k, n) in names.iter().enumerate() {
            assert_eq!(f.get(n), Some(&Value::Int(k as i64 * 2)), "{n}");
        }
        assert_eq!(f.remove(&names[7]), Some(Value::Int(14)));
        assert_eq!(f.get(&names[7]), None);
        f.insert(&names[7], Value::Int(1));
        assert_eq!(f.get(&names[7]), Some(&Value::Int(1)));
        assert_eq!(f.len(), 200);
        let mut g = Fields::new();
        for (k, n) in names.iter().enumerate() {
            g.insert(n, Value::Int(k as i64 * 2));
        }
        g.remove(&names[7]);
        g.insert(&names[7], Value::Int(1));
        assert_eq!(f, g);
    }

    #[test]
    fn pushing_distinct_ids_equals_inserting_them() {
        // 100 names share the 64 summary bits, so `insert_id` would have to search; the
        // unchecked push must end in the same fields, found by id and by name.
        let ids: Vec<FieldId> = (0..100)
            .map(|k| FieldId::intern(&format!("test.distinct.f{k}")).unwrap())
            .collect();
        let mut pushed = Fields::with_capacity(8);
        pushed.push_distinct(ids[0], Value::Int(0));
        pushed.extend_distinct(
            ids[1..]
                .iter()
                .enumerate()
                .map(|(k, id)| (*id, Value::Int(k as i64 + 1))),
        );
        let mut inserted = Fields::new();
        for (k, id) in ids.iter().enumerate() {
            inserted.insert_id(*id, Value::Int(k as i64));
        }
        assert_eq!(pushed, inserted);
        for (k, id) in ids.iter().enumerate() {
            assert_eq!(pushed.get_id(*id), Some(&Value::Int(k as i64)));
        }
        assert_eq!(pushed.get("test.distinct.f99"), Some(&Value::Int(99)));
        assert_eq!(pushed.get("test.distinct.absent"), None);
        // A later checked insert still replaces a pushed value in place.
        pushed.insert_id(ids[42], Value::Int(-1));
        assert_eq!(pushed.get_id(ids[42]), Some(&Value::Int(-1)));
        assert_eq!(pushed.len(), 100);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "already set")]
    fn pushing_a_set_id_is_caught_in_debug_builds() {
        let id = FieldId::intern("test.distinct.twice").unwrap();
        let mut f = Fields::new();
        f.push_distinct(id, Value::Int(1));
        f.push_distinct(id, Value::Int(2));
    }

    #[test]
    fn a_limit_refuses_new_names_without_interning_them() {
        let mut f = Fields::new();
        f.insert("test.limit.kept", 1);
        f.limit(3);
        f.insert("test.limit.second", 2);
        f.push_distinct(FieldId::intern("test.limit.third").unwrap(), Value::Int(3));
        f.insert("test.limit.never.interned", 4);
        f.insert_id(FieldId::intern("test.limit.fourth").unwrap(), Value::Int(4));
        f.insert_json("", &serde_json::json!({"test": {"limit": {"nested": 5}}}));
        // A name already set still changes.
        f.insert("test.limit.kept", 10);
        assert_eq!(f.len(), 3);
        assert_eq!(f.get("test.limit.kept"), Some(&Value::Int(10)));
        assert_eq!(FieldId::lookup("test.limit.never.interned"), None);
        assert_eq!(FieldId::lookup("test.limit.nested"), None);
        assert_eq!(f.unlimit(), 3);
        assert_eq!(f.unlimit(), 0);
        f.insert("test.limit.after", 6);
        assert_eq!(f.len(), 4);
    }
}
