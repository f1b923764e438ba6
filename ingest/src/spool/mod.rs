//! The durable spool: every accepted event is appended here before it is acknowledged to an
//! HTTP client and before detection sees it; the store writer records how far it has stored
//! ([`Spool::commit`]); after a restart (or a crash) the spool delivers again everything past
//! that point. The store ignores event ids it already holds, so a replay never duplicates.
//!
//! # Files
//!
//! A directory of segment files named by the sequence number of their first event
//! (`00000000000000001234.seg`) and a `committed` file. A segment is a run of records, one
//! per appended batch:
//!
//! ```text
//! len u32 | count u32 | first_seq u64 | payload_crc u32 | header_crc u32 | payload (len bytes)
//! ```
//!
//! little-endian, CRC-32C checksums, the payload being `count` events in the form of
//! `codec`. A record cut short by a crash (or whose checksum fails) ends the last segment: it
//! is truncated there on open. Segments are started at `segment_bytes` and deleted once every
//! event in them is committed.
//!
//! # Delivery
//!
//! Appends go to disk, then straight to the pipeline's channel when it has room (*live*).
//! When it is full, or after a restart, a reader thread delivers from the files instead
//! (*catch-up*) until it reaches the end, then the spool is live again. Either way the
//! pipeline sees the events in spool order, each once per run.
//!
//! # Limits
//!
//! When the files reach `max_bytes`, [`Spool::append`] refuses with [`SpoolError::Full`]: the
//! caller pushes back (TCP stops reading, HTTP answers 503 with Retry-After) or, for UDP,
//! drops and counts. Metrics: `onewall_spool_bytes`, `onewall_spool_segments`,
//! `onewall_spool_appended_events_total`, `onewall_spool_replayed_events_total` (delivered
//! from the files), `onewall_spool_full_total`, `onewall_spool_corrupt_records_total`.
//!
//! When the free space on the spool's filesystem is below `disk_reserve_bytes` (kept for the
//! store), or a write finds the disk full, it refuses with [`SpoolError::DiskFull`] instead
//! (`onewall_disk_full_total`; see `disk`), and takes events again by itself once space
//! returns. While the disk is short, a segment whose events are all stored is given back at
//! once rather than when it would have rolled over.

mod codec;
mod disk;
mod files;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use metrics::{counter, gauge};
use onewall_model::EventBatch;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

pub use codec::{DecodeError, crc32c};
use disk::DiskWatch;
pub use disk::{disk_full_message, is_disk_full, reserve as disk_reserve, space};
use files::{Record, SegmentReader};

/// How often the free space is measured while nothing is appended.
const DISK_WATCH_EVERY: Duration = Duration::from_secs(1);

/// When appended records are forced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// Before [`Spool::append`] returns: an acknowledged event survives a power cut.
    Always,
    /// Every so often, by a background thread: a crash of the process loses nothing (the
    /// operating system holds the writes), a power cut may lose the last interval.
    Interval(Duration),
    /// Left to the operating system.
    Never,
}

/// How a spool is laid out and limited.
#[derive(Debug, Clone)]
pub struct SpoolOptions {
    /// Directory of the segment files (created if absent).
    pub dir: PathBuf,
    pub fsync: Fsync,
    /// Appends are refused when the files hold this many bytes.
    pub max_bytes: u64,
    /// A new segment is started when the current one reaches this size.
    pub segment_bytes: u64,
    /// Appends are refused while the spool's filesystem has less free space than this (or a
    /// tenth of the filesystem, if smaller): it is kept for the store's writes.
    pub disk_reserve_bytes: u64,
}

/// Events delivered to the pipeline: `events[i]` has sequence number `first_seq + i`.
#[derive(Debug)]
pub struct Spooled {
    pub first_seq: u64,
    pub events: EventBatch,
}

impl Spooled {
    /// The sequence number after the last event: what to [`Spool::commit`] once they are
    /// stored.
    pub fn end_seq(&self) -> u64 {
        self.first_seq + self.events.len() as u64
    }
}

/// Why the spool refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpoolError {
    /// The spool holds `max_bytes`: the store is behind. Retry later.
    #[error("spool {dir} is full ({bytes} of {max} bytes): the store is behind", dir = .dir.display())]
    Full { dir: PathBuf, bytes: u64, max: u64 },
    /// The filesystem has less free space than the store's reserve. Retry later.
    #[error("disk full: {free} bytes free on the data directory's filesystem ({dir}), the store needs {reserve}", dir = .dir.display())]
    DiskFull {
        dir: PathBuf,
        free: u64,
        reserve: u64,
    },
    /// A file operation failed.
    #[error("spool {path}: {op}: {source}", path = .path.display())]
    Io {
        path: PathBuf,
        op: &'static str,
        source: std::io::Error,
    },
    /// The spool was closed (the node is stopping).
    #[error("spool is closed")]
    Closed,
}

impl SpoolError {
    fn io(path: &Path, op: &'static str, source: std::io::Error) -> SpoolError {
        SpoolError::Io {
            path: path.to_owned(),
            op,
            source,
        }
    }
}

/// Where the reader is, when it is delivering from the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    /// The segment (its first sequence number) and the byte offset in it.
    segment: u64,
    offset: u64,
    /// Events before this sequence number are not delivered (already committed).
    skip_before: u64,
}

#[derive(Debug)]
struct State {
    tx: Option<mpsc::Sender<Spooled>>,
    /// Every segment file, by first sequence number, with its size; the last is `active`.
    segments: BTreeMap<u64, u64>,
    active: File,
    active_first: u64,
    next_seq: u64,
    committed: u64,
    /// `None`: live; `Some`: the reader delivers from this position.
    catchup: Option<Position>,
    /// Appended since the last fsync.
    dirty: bool,
    closed: bool,
}

impl State {
    fn bytes(&self) -> u64 {
        self.segments.values().sum()
    }
    fn active_len(&self) -> u64 {
        self.segments.get(&self.active_first).copied().unwrap_or(0)
    }
    fn publish(&self) {
        gauge!("onewall_spool_bytes").set(self.bytes() as f64);
        gauge!("onewall_spool_segments").set(self.segments.len() as f64);
    }
}

/// The spool. Shared (`Arc`) by the appenders and the store writer.
#[derive(Debug)]
pub struct Spool {
    opts: SpoolOptions,
    state: Mutex<State>,
    /// Wakes the reader (catch-up started, or closed) and the fsync thread (closed).
    wake: Condvar,
    disk: DiskWatch,
    /// Record buffers kept between appends (see [`BufferPool`]).
    buffers: BufferPool,
}

/// Record buffers kept between appends. A request's record runs to megabytes (each Windows
/// event holds its raw JSON and every flattened field); a fresh buffer grown to that size for
/// every append had the kernel zero each new page, which was a fifth to a third of the node's
/// CPU on a Windows feed.
#[derive(Debug, Default)]
struct BufferPool(Mutex<Vec<Vec<u8>>>);

impl BufferPool {
    /// Buffers kept at most: one per append running at once is plenty.
    const KEPT: usize = 4;
    /// A buffer larger than this is let go rather than kept.
    const MAX_BYTES: usize = 64 << 20;

    fn take(&self) -> Vec<u8> {
        let mut buf = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
            .unwrap_or_default();
        buf.clear();
        buf
    }

    fn give_back(&self, buf: Vec<u8>) {
        if buf.capacity() > Self::MAX_BYTES {
            return;
        }
        let mut kept = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() < Self::KEPT {
            kept.push(buf);
        }
    }
}

impl Spool {
    /// Open (or create) the spool in `opts.dir`, and start delivering to `tx`: first whatever
    /// was appended and not committed before (a replay), then new appends.
    pub fn open(opts: SpoolOptions, tx: mpsc::Sender<Spooled>) -> Result<Arc<Spool>, SpoolError> {
        let dir = &opts.dir;
        std::fs::create_dir_all(dir).map_err(|e| SpoolError::io(dir, "creating", e))?;
        let committed = files::read_committed(dir)?;
        let mut segments = files::list_segments(dir)?;
        // The last segment may end in a record a crash cut short: cut it there.
        let mut next_seq = committed;
        if let Some((&first, _)) = segments.iter().next_back() {
            let (len, end_seq) = files::recover_tail(dir, first)?;
            segments.insert(first, len);
            next_seq = next_seq.max(end_seq);
        }
        // Segments wholly committed are not needed.
        files::delete_committed(dir, &mut segments, committed, None);
        let active_first = match segments.iter().next_back() {
            Some((&first, _)) => first,
            None => next_seq,
        };
        let active = files::open_append(dir, active_first)?;
        segments.entry(active_first).or_insert(0);
        let replay_from = segments
            .range(..=committed)
            .next_back()
            .map(|(&s, _)| s)
            .unwrap_or(active_first);
        let catchup = Position {
            segment: replay_from.min(active_first),
            offset: 0,
            skip_before: committed,
        };
        let pending = next_seq.saturating_sub(committed);
        if pending > 0 {
            info!(dir = %dir.display(), events = pending, from = committed, "spool replays events not yet stored");
        }
        let state = State {
            tx: Some(tx),
            segments,
            active,
            active_first,
            next_seq,
            committed,
            catchup: Some(catchup),
            dirty: false,
            closed: false,
        };
        state.publish();
        let disk = DiskWatch::new(opts.dir.clone(), opts.disk_reserve_bytes);
        let spool = Arc::new(Spool {
            opts,
            state: Mutex::new(state),
            wake: Condvar::new(),
            disk,
            buffers: BufferPool::default(),
        });
        // Measured at once, so the gauge and the health condition are right from the start.
        let _ = spool.disk.room();
        let reader = spool.clone();
        std::thread::Builder::new()
            .name("onewall-spool".into())
            .spawn(move || reader.deliver_from_files())
            .map_err(|e| SpoolError::io(&spool.opts.dir, "starting the reader", e))?;
        if let Fsync::Interval(every) = spool.opts.fsync {
            let syncer = spool.clone();
            std::thread::Builder::new()
                .name("onewall-spool-sync".into())
                .spawn(move || syncer.sync_every(every))
                .map_err(|e| SpoolError::io(&spool.opts.dir, "starting the fsync thread", e))?;
        }
        let watcher = spool.clone();
        std::thread::Builder::new()
            .name("onewall-spool-disk".into())
            .spawn(move || watcher.watch_disk(DISK_WATCH_EVERY))
            .map_err(|e| SpoolError::io(&spool.opts.dir, "starting the disk watch", e))?;
        Ok(spool)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the files inconsistent with the state
        // in a way that matters: the next append or open re-reads what is on disk.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Append `events` as one record (all or nothing) and hand them on. Blocks on the disk
    /// (and on fsync with [`Fsync::Always`]): call it off the async runtime
    /// ([`Spool::append_async`]). On [`SpoolError::Full`] the events are given back.
    pub fn append(&self, events: EventBatch) -> Result<u64, (SpoolError, EventBatch)> {
        if events.is_empty() {
            return Ok(self.lock().next_seq);
        }
        // The record is built in place: room for its header, then the events, encoded (and
        // their checksum taken) before the lock.
        let mut record = self.buffers.take();
        record.resize(files::HEADER, 0);
        for e in &events {
            codec::encode(e, &mut record);
        }
        let payload_crc = codec::crc32c(&record[files::HEADER..]);
        let appended = self.append_record(events, &mut record, payload_crc);
        self.buffers.give_back(record);
        appended
    }

    /// [`Spool::append`] once `record` holds the header's room and the encoded `events`.
    fn append_record(
        &self,
        events: EventBatch,
        record: &mut [u8],
        payload_crc: u32,
    ) -> Result<u64, (SpoolError, EventBatch)> {
        let mut st = self.lock();
        if st.closed {
            return Err((SpoolError::Closed, events));
        }
        if let Err((free, reserve)) = self.disk.room() {
            return Err((self.disk_full(free, reserve), events));
        }
        let bytes = st.bytes();
        if bytes >= self.opts.max_bytes {
            counter!("onewall_spool_full_total").increment(1);
            return Err((
                SpoolError::Full {
                    dir: self.opts.dir.clone(),
                    bytes,
                    max: self.opts.max_bytes,
                },
                events,
            ));
        }
        if st.active_len() >= self.opts.segment_bytes
            && let Err(e) = self.roll(&mut st, true)
        {
            return Err((self.classify(e), events));
        }
        let first_seq = st.next_seq;
        let offset = st.active_len();
        Record::frame(first_seq, events.len() as u32, payload_crc, record);
        if let Err(e) = files::write_record(&mut st.active, record) {
            // A short write would leave a torn record; cut the file back to where it was.
            let _ = st.active.set_len(offset);
            if disk::is_disk_full(&e) {
                let (free, reserve) = self.disk.refused();
                return Err((self.disk_full(free, reserve), events));
            }
            return Err((
                SpoolError::io(
                    &files::segment_path(&self.opts.dir, st.active_first),
                    "append",
                    e,
                ),
                events,
            ));
        }
        let written = record.len() as u64;
        let active_first = st.active_first;
        if let Some(len) = st.segments.get_mut(&active_first) {
            *len += written;
        }
        st.next_seq += events.len() as u64;
        st.dirty = true;
        if self.opts.fsync == Fsync::Always {
            if let Err(e) = st.active.sync_data() {
                // The record is written but may not be durable; the caller must not ack.
                let e = SpoolError::io(
                    &files::segment_path(&self.opts.dir, active_first),
                    "fsync",
                    e,
                );
                return Err((self.classify(e), events));
            }
            st.dirty = false;
        }
        counter!("onewall_spool_appended_events_total").increment(events.len() as u64);
        st.publish();
        if st.catchup.is_none() {
            let sent = match &st.tx {
                Some(tx) => tx.try_send(Spooled { first_seq, events }),
                None => Ok(()),
            };
            if sent.is_err() {
                // The pipeline is full: deliver from the files from this record on.
                st.catchup = Some(Position {
                    segment: active_first,
                    offset,
                    skip_before: 0,
                });
                self.wake.notify_all();
            }
        }
        Ok(first_seq)
    }

    /// [`Spool::append`] on a blocking thread, for async callers.
    pub async fn append_async(
        self: &Arc<Self>,
        events: EventBatch,
    ) -> Result<u64, (SpoolError, EventBatch)> {
        let spool = self.clone();
        match tokio::task::spawn_blocking(move || spool.append(events)).await {
            Ok(r) => r,
            Err(e) => Err((
                SpoolError::io(
                    &self.opts.dir,
                    "append",
                    std::io::Error::other(e.to_string()),
                ),
                Vec::new(),
            )),
        }
    }

    /// A disk-full refusal, counted.
    fn disk_full(&self, free: u64, reserve: u64) -> SpoolError {
        counter!("onewall_disk_full_total").increment(1);
        SpoolError::DiskFull {
            dir: self.opts.dir.clone(),
            free,
            reserve,
        }
    }

    /// An I/O error that says the disk is full becomes [`SpoolError::DiskFull`].
    fn classify(&self, e: SpoolError) -> SpoolError {
        match e {
            SpoolError::Io { source, .. } if disk::is_disk_full(&source) => {
                let (free, reserve) = self.disk.refused();
                self.disk_full(free, reserve)
            }
            e => e,
        }
    }

    /// Start a new segment at the next sequence number; `sync`: force the one it ends to disk
    /// first (not needed when its events are all stored).
    fn roll(&self, st: &mut State, sync: bool) -> Result<(), SpoolError> {
        let dir = &self.opts.dir;
        if sync && self.opts.fsync != Fsync::Never {
            st.active.sync_data().map_err(|e| {
                SpoolError::io(&files::segment_path(dir, st.active_first), "fsync", e)
            })?;
        }
        let first = st.next_seq;
        st.active = files::open_append(dir, first)?;
        st.active_first = first;
        st.segments.entry(first).or_insert(0);
        Ok(())
    }

    /// Everything before sequence number `end_seq` is stored: remember it, and delete the
    /// segments that hold nothing newer.
    pub fn commit(&self, end_seq: u64) -> Result<(), SpoolError> {
        let committed = {
            let mut st = self.lock();
            if end_seq <= st.committed {
                return Ok(());
            }
            st.committed = end_seq;
            // Everything appended is stored: while the disk is short, or once the segment is
            // a quarter full, start a new one so this one can go now rather than when it
            // would have rolled over (a mostly idle spool would keep it for good).
            if end_seq >= st.next_seq
                && st.active_len() > 0
                && (st.active_len() >= self.opts.segment_bytes / 4 || self.disk.short())
                && let Err(e) = self.roll(&mut st, false)
            {
                warn!(error = %e, "spool: cannot start a new segment to free a stored one");
            }
            let active = st.active_first;
            files::delete_committed(&self.opts.dir, &mut st.segments, end_seq, Some(active));
            st.publish();
            end_seq
        };
        gauge!("onewall_spool_committed_seq").set(committed as f64);
        files::write_committed(&self.opts.dir, committed)
    }

    /// Force appended records to disk.
    pub fn sync(&self) -> Result<(), SpoolError> {
        let (file, first) = {
            let mut st = self.lock();
            if !st.dirty {
                return Ok(());
            }
            st.dirty = false;
            let file = st.active.try_clone().map_err(|e| {
                SpoolError::io(
                    &files::segment_path(&self.opts.dir, st.active_first),
                    "fsync",
                    e,
                )
            })?;
            (file, st.active_first)
        };
        file.sync_data()
            .map_err(|e| SpoolError::io(&files::segment_path(&self.opts.dir, first), "fsync", e))
    }

    /// Stop delivering: the channel to the pipeline is dropped (so it drains and ends) and
    /// appends are refused. What was not committed stays on disk for the next start.
    pub fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        st.tx = None;
        self.wake.notify_all();
        drop(st);
        if let Err(e) = self.sync() {
            warn!(error = %e, "spool: final fsync failed");
        }
    }

    /// Sequence numbers: (committed, next to append).
    pub fn positions(&self) -> (u64, u64) {
        let st = self.lock();
        (st.committed, st.next_seq)
    }

    /// Bytes the segment files hold.
    pub fn bytes(&self) -> u64 {
        self.lock().bytes()
    }

    fn sync_every(&self, every: Duration) {
        self.until_closed(every, || {
            if let Err(e) = self.sync() {
                error!(error = %e, "spool: fsync failed");
            }
        });
    }

    /// Run `work` every `every` until the spool is closed.
    fn until_closed(&self, every: Duration, mut work: impl FnMut()) {
        loop {
            {
                let st = self.lock();
                let (st, _) = self
                    .wake
                    .wait_timeout_while(st, every, |s| !s.closed)
                    .unwrap_or_else(|p| p.into_inner());
                if st.closed {
                    return;
                }
            }
            work();
        }
    }

    /// Measure the free space every so often, so the gauge and the health condition follow
    /// the disk while nothing is appended (space freed while senders wait is noticed).
    fn watch_disk(&self, every: Duration) {
        self.until_closed(every, || {
            let _ = self.disk.room();
        });
    }

    /// The reader thread: while catching up, read records from the files and send them on.
    fn deliver_from_files(&self) {
        let mut reader: Option<SegmentReader> = None;
        loop {
            // Wait for catch-up work; find where to read up to.
            let (pos, end, tx) = {
                let st = self.lock();
                let mut st = self
                    .wake
                    .wait_while(st, |s| s.catchup.is_none() && !s.closed)
                    .unwrap_or_else(|p| p.into_inner());
                let (Some(pos), Some(tx)) = (st.catchup, st.tx.clone()) else {
                    return; // closed
                };
                let active = pos.segment == st.active_first;
                let end = if active {
                    st.active_len()
                } else {
                    st.segments.get(&pos.segment).copied().unwrap_or(0)
                };
                if active && pos.offset >= end {
                    // Caught up: live again. Appends from now on go straight to the channel.
                    st.catchup = None;
                    reader = None;
                    continue;
                }
                if !active && pos.offset >= end {
                    // This segment is done; on to the next.
                    let next = st
                        .segments
                        .range(pos.segment + 1..)
                        .next()
                        .map(|(&s, _)| s)
                        .unwrap_or(st.active_first);
                    st.catchup = Some(Position {
                        segment: next,
                        offset: 0,
                        ..pos
                    });
                    reader = None;
                    continue;
                }
                (pos, end, tx)
            };
            let r = match reader.take() {
                Some(r) if r.segment() == pos.segment && r.offset() == pos.offset => r,
                _ => match SegmentReader::open(&self.opts.dir, pos.segment, pos.offset) {
                    Ok(r) => r,
                    Err(e) => {
                        error!(error = %e, "spool: cannot read a segment; its events are skipped");
                        counter!("onewall_spool_corrupt_records_total").increment(1);
                        self.skip_segment(pos, end);
                        continue;
                    }
                },
            };
            let mut r = r;
            match r.next_record(end) {
                Ok(Some(batch)) => {
                    let end_seq = batch.first_seq + batch.events.len() as u64;
                    let mut batch = batch;
                    if batch.first_seq < pos.skip_before {
                        let skip = (pos.skip_before - batch.first_seq) as usize;
                        batch.events.drain(..skip.min(batch.events.len()));
                        batch.first_seq = pos.skip_before.min(end_seq);
                    }
                    let n = batch.events.len() as u64;
                    if n > 0 {
                        if tx.blocking_send(batch).is_err() {
                            return; // the pipeline is gone
                        }
                        counter!("onewall_spool_replayed_events_total").increment(n);
                    }
                    let mut st = self.lock();
                    if st.catchup == Some(pos) {
                        st.catchup = Some(Position {
                            offset: r.offset(),
                            ..pos
                        });
                        reader = Some(r);
                    }
                }
                Ok(None) => {
                    // Nothing complete before `end`: should not happen for written records.
                    warn!(
                        segment = pos.segment,
                        offset = pos.offset,
                        "spool: record not complete; skipping the rest of the segment"
                    );
                    self.skip_segment(pos, end);
                }
                Err(e) => {
                    error!(error = %e, segment = pos.segment, offset = pos.offset,
                        "spool: a damaged record; the rest of its segment is skipped");
                    counter!("onewall_spool_corrupt_records_total").increment(1);
                    self.skip_segment(pos, end);
                }
            }
        }
    }

    fn skip_segment(&self, pos: Position, end: u64) {
        let mut st = self.lock();
        if st.catchup == Some(pos) {
            if pos.segment == st.active_first {
                // Cannot skip what is still being appended to; start a new segment and go on
                // from there.
                if let Err(e) = self.roll(&mut st, true) {
                    error!(error = %e, "spool: cannot start a new segment");
                }
                st.catchup = Some(Position {
                    segment: st.active_first,
                    offset: 0,
                    ..pos
                });
            } else {
                st.catchup = Some(Position { offset: end, ..pos });
            }
        }
    }
}

#[cfg(test)]
mod tests;
