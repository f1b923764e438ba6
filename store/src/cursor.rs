//! Opaque page cursors.
//!
//! A cursor is where the previous page ended: the sort key (a time in nanoseconds) and the id
//! of its last row. It travels as text a client cannot mistake for anything it could build:
//! a kind letter, a format version, then both numbers in hex (`e1` + 16 + 32 digits). Every
//! backend shares this encoding, so a cursor stays valid when a node changes backends.

use onewall_model::{Alert, Event, Incident};

use crate::{Page, StoreError};

/// What a cursor pages over; a cursor of one kind is refused by the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CursorKind {
    Event,
    Alert,
    Incident,
}

impl CursorKind {
    fn prefix(self) -> &'static str {
        match self {
            CursorKind::Event => "e1",
            CursorKind::Alert => "a1",
            CursorKind::Incident => "i1",
        }
    }
}

/// The sort key and id of the last row of a page; the next page starts strictly after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// Nanoseconds (event time, alert time, or incident update time).
    pub key: i64,
    /// The row's id, big-endian, as stored.
    pub id: [u8; 16],
}

const KEY_DIGITS: usize = 16;
const ID_DIGITS: usize = 32;
const LEN: usize = 2 + KEY_DIGITS + ID_DIGITS;
/// Flipping the sign bit makes the key's hex sort like the number, negative times included.
const SIGN: u64 = 1 << 63;

impl Cursor {
    pub fn new(key: i64, id: [u8; 16]) -> Self {
        Cursor { key, id }
    }

    pub fn encode(self, kind: CursorKind) -> String {
        format!(
            "{}{:016x}{:032x}",
            kind.prefix(),
            (self.key as u64) ^ SIGN,
            u128::from_be_bytes(self.id)
        )
    }

    /// Read a cursor made by [`Cursor::encode`] for the same kind.
    pub fn decode(kind: CursorKind, text: &str) -> Result<Cursor, StoreError> {
        let invalid = |reason: &str| {
            let shown: String = text.chars().take(64).collect();
            StoreError::InvalidQuery(format!("invalid cursor {shown:?}: {reason}"))
        };
        if text.len() != LEN || !text.is_ascii() {
            return Err(invalid("not a cursor this store made"));
        }
        let (prefix, rest) = text.split_at(2);
        if prefix != kind.prefix() {
            return Err(invalid("made for another kind of search"));
        }
        let (key, id) = rest.split_at(KEY_DIGITS);
        let hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !hex(key) || !hex(id) {
            return Err(invalid("not a cursor this store made"));
        }
        let key = u64::from_str_radix(key, 16).map_err(|_| invalid("bad position"))?;
        let id = u128::from_str_radix(id, 16).map_err(|_| invalid("bad id"))?;
        Ok(Cursor {
            key: (key ^ SIGN) as i64,
            id: id.to_be_bytes(),
        })
    }
}

/// Decode an optional cursor.
pub(crate) fn decode_opt(
    kind: CursorKind,
    text: Option<&str>,
) -> Result<Option<Cursor>, StoreError> {
    text.map(|t| Cursor::decode(kind, t)).transpose()
}

/// A row a search pages over: its cursor kind and where a page ending at it ends.
pub(crate) trait Paged {
    const KIND: CursorKind;
    fn cursor(&self) -> Cursor;
}

impl Paged for Event {
    const KIND: CursorKind = CursorKind::Event;
    fn cursor(&self) -> Cursor {
        Cursor::new(self.time.0, self.id.to_bytes())
    }
}

impl Paged for Alert {
    const KIND: CursorKind = CursorKind::Alert;
    fn cursor(&self) -> Cursor {
        Cursor::new(self.time.0, self.id.to_bytes())
    }
}

impl Paged for Incident {
    const KIND: CursorKind = CursorKind::Incident;
    fn cursor(&self) -> Cursor {
        Cursor::new(self.updated.0, self.id.to_bytes())
    }
}

/// A page of rows fetched with `limit + 1` (or more): trimmed to `limit`, with the cursor of
/// its last row when rows were left over.
pub(crate) fn page<T: Paged>(mut items: Vec<T>, limit: usize) -> Page<T> {
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|t| t.cursor().encode(T::KIND))
    } else {
        None
    };
    Page { items, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_including_negative_keys() {
        for key in [0, 1, -1, i64::MIN, i64::MAX, 1_764_288_000_000_000_000] {
            let c = Cursor::new(key, [7; 16]);
            let text = c.encode(CursorKind::Event);
            assert_eq!(text.len(), LEN);
            assert_eq!(Cursor::decode(CursorKind::Event, &text).ok(), Some(c));
        }
    }

    #[test]
    fn text_sorts_like_the_key() {
        let a = Cursor::new(-5, [0; 16]).encode(CursorKind::Alert);
        let b = Cursor::new(3, [0; 16]).encode(CursorKind::Alert);
        assert!(a < b);
    }

    #[test]
    fn refuses_other_kinds_and_garbage() {
        let text = Cursor::new(1, [1; 16]).encode(CursorKind::Alert);
        for bad in [
            String::new(),
            "abc".to_owned(),
            text.replace("a1", "e1").to_uppercase(),
            format!("{}Z", &text[..LEN - 1]),
            format!("{text}0"),
            "é".repeat(LEN / 2),
        ] {
            let e = Cursor::decode(CursorKind::Alert, &bad).err();
            assert!(
                matches!(&e, Some(StoreError::InvalidQuery(m)) if m.starts_with("invalid cursor")),
                "{bad:?}: {e:?}"
            );
        }
        assert!(Cursor::decode(CursorKind::Event, &text).is_err());
    }
}
