#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use onewall_model::{Event, EventId, RegionCode, Source, Timestamp};
use tokio::sync::mpsc;

use super::*;

fn events(tag: &str, n: usize) -> EventBatch {
    (0..n)
        .map(|i| {
            Event::new(
                Timestamp::now(),
                RegionCode::new(410100).unwrap(),
                Source::new("http", None),
                format!("{tag} {i}").as_bytes(),
            )
        })
        .collect()
}

fn opts(dir: &Path, max_bytes: u64, segment_bytes: u64) -> SpoolOptions {
    SpoolOptions {
        dir: dir.to_owned(),
        fsync: Fsync::Never,
        max_bytes,
        segment_bytes,
        disk_reserve_bytes: 0,
    }
}

/// Receive until `n` events arrived (or a second passed without any).
fn receive(rx: &mut mpsc::Receiver<Spooled>, n: usize) -> Vec<(u64, Event)> {
    let mut out = Vec::new();
    while out.len() < n {
        let mut got = None;
        for _ in 0..100 {
            match rx.try_recv() {
                Ok(b) => {
                    got = Some(b);
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        let Some(b) = got else { break };
        for (i, e) in b.events.into_iter().enumerate() {
            out.push((b.first_seq + i as u64, e));
        }
    }
    out
}

#[test]
fn live_appends_arrive_in_order_with_their_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let spool = Spool::open(opts(dir.path(), 1 << 30, 1 << 20), tx).unwrap();
    let a = events("a", 3);
    let b = events("b", 2);
    assert_eq!(spool.append(a.clone()).unwrap(), 0);
    assert_eq!(spool.append(b.clone()).unwrap(), 3);
    let got = receive(&mut rx, 5);
    let want: Vec<(u64, Event)> = a
        .into_iter()
        .chain(b)
        .enumerate()
        .map(|(i, e)| (i as u64, e))
        .collect();
    assert_eq!(got, want);
    assert_eq!(spool.positions(), (0, 5));
    spool.close();
}

#[test]
fn a_full_channel_is_caught_up_from_the_files_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::channel(2);
    // Small segments, so catch-up crosses several files.
    let spool = Spool::open(opts(dir.path(), 1 << 30, 8 << 10), tx).unwrap();
    let mut all = Vec::new();
    for i in 0..50 {
        let b = events(&format!("batch{i}"), 20);
        all.extend(b.clone());
        spool.append(b).unwrap();
    }
    assert!(files::list_segments(dir.path()).unwrap().len() > 2);
    let got = receive(&mut rx, all.len());
    let ids: Vec<EventId> = got.iter().map(|(_, e)| e.id).collect();
    let want: Vec<EventId> = all.iter().map(|e| e.id).collect();
    assert_eq!(ids, want);
    let seqs: Vec<u64> = got.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (0..1000).collect::<Vec<u64>>());
    // Live again after catching up.
    spool.append(events("after", 1)).unwrap();
    assert_eq!(receive(&mut rx, 1)[0].0, 1000);
    spool.close();
}

#[test]
fn restart_replays_what_was_not_committed_and_deletes_what_was() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    {
        let (tx, mut rx) = mpsc::channel(1024);
        let spool = Spool::open(opts(dir.path(), 1 << 30, 4 << 10), tx).unwrap();
        for i in 0..30 {
            let b = events(&format!("r{i}"), 10);
            all.extend(b.clone());
            spool.append(b).unwrap();
        }
        assert_eq!(receive(&mut rx, 300).len(), 300);
        let before = files::list_segments(dir.path()).unwrap().len();
        spool.commit(125).unwrap();
        let after = files::list_segments(dir.path()).unwrap().len();
        assert!(after < before, "{before} -> {after}");
        spool.close();
    }
    let (tx, mut rx) = mpsc::channel(1024);
    let spool = Spool::open(opts(dir.path(), 1 << 30, 4 << 10), tx).unwrap();
    let got = receive(&mut rx, 175);
    let ids: Vec<EventId> = got.iter().map(|(_, e)| e.id).collect();
    let want: Vec<EventId> = all[125..].iter().map(|e| e.id).collect();
    assert_eq!(ids, want);
    assert_eq!(got[0].0, 125);
    assert_eq!(got[0].1, all[125]);
    // New appends continue the numbering.
    assert_eq!(spool.append(events("new", 1)).unwrap(), 300);
    assert!(rx.try_recv().is_ok() || !receive(&mut rx, 1).is_empty());
    spool.close();
}

#[test]
fn a_torn_last_record_is_cut_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let all = events("t", 10);
    {
        let (tx, _rx) = mpsc::channel(1024);
        let spool = Spool::open(opts(dir.path(), 1 << 30, 1 << 20), tx).unwrap();
        spool.append(all[..6].to_vec()).unwrap();
        spool.append(all[6..].to_vec()).unwrap();
        spool.close();
    }
    // Cut the second record in half, as a crash mid-write would.
    let path = files::segment_path(dir.path(), 0);
    let len = std::fs::metadata(&path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len - 30).unwrap();
    drop(f);
    let (tx, mut rx) = mpsc::channel(1024);
    let spool = Spool::open(opts(dir.path(), 1 << 30, 1 << 20), tx).unwrap();
    let got = receive(&mut rx, 10);
    assert_eq!(got.len(), 6);
    assert_eq!(spool.positions(), (0, 6));
    assert_eq!(spool.append(events("u", 1)).unwrap(), 6);
    spool.close();
}

#[test]
fn a_damaged_record_is_counted_not_delivered_wrong() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (tx, _rx) = mpsc::channel(1024);
        let spool = Spool::open(opts(dir.path(), 1 << 30, 1 << 20), tx).unwrap();
        spool.append(events("d", 5)).unwrap();
        spool.close();
    }
    // Flip a payload byte: the checksum fails, the record is cut on open.
    let path = files::segment_path(dir.path(), 0);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let (tx, mut rx) = mpsc::channel(1024);
    let spool = Spool::open(opts(dir.path(), 1 << 30, 1 << 20), tx).unwrap();
    assert!(receive(&mut rx, 1).is_empty());
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    spool.close();
}

#[test]
fn full_spool_refuses_and_gives_the_events_back_until_committed() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::channel(1024);
    let spool = Spool::open(opts(dir.path(), 16 << 10, 4 << 10), tx).unwrap();
    let mut appended = 0u64;
    let refused = loop {
        match spool.append(events("f", 10)) {
            Ok(_) => appended += 10,
            Err((e, back)) => break (e, back),
        }
        assert!(appended < 100_000, "never full");
    };
    assert!(
        matches!(refused.0, SpoolError::Full { .. }),
        "{}",
        refused.0
    );
    assert!(refused.0.to_string().contains("is full"));
    assert_eq!(refused.1.len(), 10);
    assert_eq!(receive(&mut rx, appended as usize).len() as u64, appended);
    spool.commit(appended).unwrap();
    assert!(spool.bytes() < 16 << 10);
    spool.append(refused.1).unwrap();
    spool.close();
}

#[test]
fn a_wholly_stored_segment_is_given_back_before_it_fills() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::channel(1024);
    let spool = Spool::open(opts(dir.path(), 1 << 30, 64 << 10), tx).unwrap();
    // A quarter of a segment, all stored: before, the segment stayed until it filled, so a
    // spool that was mostly idle kept up to a whole segment of stored events on the disk.
    let mut n = 0;
    while spool.bytes() < 16 << 10 {
        n += spool.append(events("stored", 10)).map(|_| 10).unwrap();
    }
    assert_eq!(receive(&mut rx, n).len(), n);
    spool.commit(n as u64).unwrap();
    assert_eq!(spool.bytes(), 0);
    assert_eq!(files::list_segments(dir.path()).unwrap().len(), 1);
    // The numbering goes on, and a restart replays only what was not stored.
    assert_eq!(spool.append(events("pending", 1)).unwrap(), n as u64);
    assert_eq!(receive(&mut rx, 1).len(), 1);
    spool.close();
    drop(spool);
    let (tx, mut rx) = mpsc::channel(1024);
    let spool = Spool::open(opts(dir.path(), 1 << 30, 64 << 10), tx).unwrap();
    let got = receive(&mut rx, 1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, n as u64);
    assert!(rx.try_recv().is_err());
    spool.close();
}

#[test]
fn records_built_in_a_kept_buffer_read_back_whole_after_a_larger_one() {
    // A large record, then small ones built in the same (kept, longer) buffer: each record
    // must hold only its own events, as the files give them back after a restart.
    let dir = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    {
        let (tx, mut rx) = mpsc::channel(1024);
        let spool = Spool::open(opts(dir.path(), 1 << 30, 1 << 30), tx).unwrap();
        for (i, n) in [500, 1, 3, 200, 2].into_iter().enumerate() {
            let b = events(&format!("k{i}-{}", "x".repeat(100 * (i % 2))), n);
            all.extend(b.clone());
            spool.append(b).unwrap();
        }
        assert_eq!(receive(&mut rx, all.len()).len(), all.len());
        spool.close();
    }
    let (tx, mut rx) = mpsc::channel(1024);
    let spool = Spool::open(opts(dir.path(), 1 << 30, 1 << 30), tx).unwrap();
    let got = receive(&mut rx, all.len());
    assert_eq!(got.len(), all.len());
    for (k, (seq, e)) in got.iter().enumerate() {
        assert_eq!(*seq, k as u64);
        assert_eq!(e, &all[k]);
    }
    spool.close();
}

#[test]
fn the_buffer_pool_keeps_a_few_bounded_buffers_and_hands_them_out_empty() {
    let pool = BufferPool::default();
    let mut b = pool.take();
    b.extend_from_slice(b"left over");
    let cap = b.capacity();
    pool.give_back(b);
    let again = pool.take();
    assert!(again.is_empty(), "a kept buffer comes back empty");
    assert_eq!(again.capacity(), cap, "and is the one kept");
    // At most KEPT are kept.
    for _ in 0..BufferPool::KEPT + 3 {
        pool.give_back(Vec::with_capacity(16));
    }
    assert_eq!(pool.0.lock().unwrap().len(), BufferPool::KEPT);
    // One past the size bound is let go.
    let pool = BufferPool::default();
    pool.give_back(Vec::with_capacity(BufferPool::MAX_BYTES + 1));
    assert!(pool.0.lock().unwrap().is_empty());
}
