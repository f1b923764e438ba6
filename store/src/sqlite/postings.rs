//! Posting lists for the common fields of a day's events.
//!
//! An index entry per event and field made the writer's B-tree work grow with every common
//! field an event carries: four high-cardinality partial indexes (host, source and destination
//! address, user) took a batch from 6 to 20 µs per event. Instead, each write batch adds one
//! row per distinct `(field, term)` to `events_<day>_terms`: the matching events' times and
//! rowids, newest first. A search by a common field merges those runs newest first and reads
//! only the rows it returns (or rejects on its other conditions), as walking an index did.
//! One more run per batch holds every event (see [`EVERY`]): searches by time alone merge
//! those, so a day table has no index on `time` either.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use onewall_model::hash::FxMap;
use rusqlite::{Connection, params};

use super::backend;
use super::schema::day_table;
use super::sql::int;
use crate::Result;
use crate::codec::COMMON_COLUMNS;

/// The run every event of a write batch joins, whatever its fields: `(EVERY, "")`. It orders
/// a day's events by time for searches without a common field, in place of an index on
/// `time` (an entry per event).
pub(super) const EVERY: usize = COMMON_COLUMNS.len();

/// The table of a day's posting lists.
pub(super) fn terms_table(day: u32) -> String {
    format!("{}_terms", day_table(day))
}

/// The statements that create a day's posting table.
pub(super) fn terms_ddl(day: u32) -> String {
    let t = terms_table(day);
    // One B-tree, keyed for the search (a term's runs by their newest time, with `tmin` in the
    // key so a run that starts after the range is skipped unread); `first` (the rowid of
    // the run's newest entry, never in another run of the field) keeps keys unique.
    format!(
        "CREATE TABLE IF NOT EXISTS {t} (
            field INTEGER NOT NULL,
            term TEXT NOT NULL,
            tmax INTEGER NOT NULL,
            tmin INTEGER NOT NULL,
            first INTEGER NOT NULL,
            entries BLOB NOT NULL,
            PRIMARY KEY (field, term, tmax, tmin, first)
        ) WITHOUT ROWID;\n"
    )
}

/// The postings of one write batch: per common field (by its place in the common columns)
/// and term, the `(time, rowid)` of each event.
#[derive(Debug, Default)]
pub(super) struct Batch {
    runs: Vec<FxMap<Box<str>, Entries>>,
}

/// `(time, rowid)` pairs.
type Entries = Vec<(i64, i64)>;

impl Batch {
    pub fn add(&mut self, field: usize, term: &str, time: i64, rowid: i64) {
        if self.runs.len() <= field {
            self.runs.resize_with(field + 1, FxMap::default);
        }
        let terms = &mut self.runs[field];
        // Most terms repeat within a batch: look up by the borrowed text first.
        match terms.get_mut(term) {
            Some(run) => run.push((time, rowid)),
            None => {
                terms.insert(term.into(), vec![(time, rowid)]);
            }
        }
    }

    /// Write the batch's runs into `day`'s posting table.
    pub fn write(self, conn: &Connection, day: u32) -> Result<()> {
        if self.runs.iter().all(|terms| terms.is_empty()) {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO {} (field, term, tmax, tmin, first, entries) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            terms_table(day)
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut buf = Vec::new();
        for (field, terms) in self.runs.into_iter().enumerate() {
            for (term, mut run) in terms {
                run.sort_unstable_by(|a, b| b.cmp(a));
                let (Some(&(tmax, first)), Some(&(tmin, _))) = (run.first(), run.last()) else {
                    continue;
                };
                buf.clear();
                encode(&run, &mut buf);
                stmt.execute(params![int(field), &*term, tmax, tmin, first, &buf[..]])?;
            }
        }
        Ok(())
    }
}

fn put_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A run of `(time, rowid)` entries, newest first, as varints: the first entry whole, then
/// each time as its (never negative) distance below the previous one and each rowid as a
/// signed difference.
fn encode(run: &[(i64, i64)], out: &mut Vec<u8>) {
    let mut prev = (0i64, 0i64);
    for (i, &(time, rowid)) in run.iter().enumerate() {
        if i == 0 {
            put_varint(zigzag(time), out);
            put_varint(zigzag(rowid), out);
        } else {
            put_varint(prev.0.wrapping_sub(time) as u64, out);
            put_varint(zigzag(rowid.wrapping_sub(prev.1)), out);
        }
        prev = (time, rowid);
    }
}

/// Reads a run written by [`encode`], entry by entry.
#[derive(Debug)]
struct Run {
    bytes: Vec<u8>,
    pos: usize,
    started: bool,
    head: (i64, i64),
}

impl Run {
    fn new(bytes: Vec<u8>) -> Run {
        Run {
            bytes,
            pos: 0,
            started: false,
            head: (0, 0),
        }
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(backend("a posting run ends inside an entry"));
            };
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(backend("a posting run holds an overlong number"))
    }

    /// Move to the next entry; `false` at the end of the run.
    fn advance(&mut self) -> Result<bool> {
        if self.pos >= self.bytes.len() {
            return Ok(false);
        }
        if self.started {
            let dt = self.varint()? as i64;
            let dr = unzigzag(self.varint()?);
            self.head = (self.head.0.wrapping_sub(dt), self.head.1.wrapping_add(dr));
        } else {
            let t = unzigzag(self.varint()?);
            let r = unzigzag(self.varint()?);
            self.head = (t, r);
            self.started = true;
        }
        Ok(true)
    }
}

/// Runs are ordered by their head entry, so the merge's max-heap yields the newest first.
impl PartialEq for Run {
    fn eq(&self, other: &Self) -> bool {
        self.head == other.head
    }
}
impl Eq for Run {}
impl PartialOrd for Run {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Run {
    fn cmp(&self, other: &Self) -> Ordering {
        self.head.cmp(&other.head)
    }
}

/// The events of one day's table whose `field` is `term`, with times in `[lo, hi]`, newest
/// first, in groups of equal time: `visit` gets each group's rowids and says whether to go
/// on. The runs are read lazily, in order of their newest entry, so a search for the newest
/// few events of a busy term reads only the last few runs.
pub(super) fn merge(
    conn: &Connection,
    day: u32,
    field: usize,
    term: &str,
    lo: i64,
    hi: i64,
    mut visit: impl FnMut(&[i64]) -> Result<bool>,
) -> Result<()> {
    let sql = format!(
        "SELECT tmax, entries FROM {} WHERE field = ?1 AND term = ?2 AND tmax >= ?3 \
         AND tmin <= ?4 ORDER BY tmax DESC",
        terms_table(day)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![int(field), term, lo, hi])?;
    // The next run not yet in the heap, by its newest time.
    let mut pending: Option<(i64, Vec<u8>)> = None;
    let mut exhausted = false;
    let mut heap: BinaryHeap<Run> = BinaryHeap::new();
    let mut group: Vec<i64> = Vec::new();
    loop {
        // Every run whose newest entry could be at or above the heap's head must be in the
        // heap before that head is taken, or an entry of equal time would be missed.
        loop {
            if pending.is_none() && !exhausted {
                match rows.next()? {
                    Some(row) => pending = Some((row.get(0)?, row.get(1)?)),
                    None => exhausted = true,
                }
            }
            let Some((tmax, _)) = &pending else { break };
            if heap.peek().is_some_and(|top| *tmax < top.head.0) {
                break;
            }
            let Some((_, bytes)) = pending.take() else {
                break;
            };
            let mut run = Run::new(bytes);
            // Skip what is newer than the range.
            let mut live = run.advance()?;
            while live && run.head.0 > hi {
                live = run.advance()?;
            }
            if live {
                heap.push(run);
            }
        }
        let Some(top) = heap.peek() else {
            return Ok(());
        };
        let time = top.head.0;
        if time < lo {
            return Ok(());
        }
        group.clear();
        while let Some(top) = heap.peek() {
            if top.head.0 != time {
                break;
            }
            let Some(mut run) = heap.pop() else {
                break;
            };
            group.push(run.head.1);
            if run.advance()? {
                heap.push(run);
            }
        }
        if !visit(&group)? {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_read_back_what_was_written() {
        let run = vec![
            (i64::MAX, 7),
            (5_000, 3),
            (5_000, 1),
            (-20, 9),
            (i64::MIN, i64::MAX),
        ];
        let mut bytes = Vec::new();
        encode(&run, &mut bytes);
        let mut r = Run::new(bytes);
        let mut back = Vec::new();
        while r.advance().expect("decode") {
            back.push(r.head);
        }
        assert_eq!(back, run);
    }

    #[test]
    fn a_cut_run_is_an_error() {
        let mut bytes = Vec::new();
        encode(&[(1 << 40, 1 << 40), (0, 0)], &mut bytes);
        bytes.pop();
        let mut r = Run::new(bytes);
        assert!(r.advance().expect("first entry"));
        assert!(r.advance().is_err());
    }
}
