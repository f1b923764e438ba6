//! Write throughput of the embedded store: batches of 1,000 syslog-shaped events, one
//! transaction each, into a store that grows as the bench runs.
//!
//! The peer, measured in the same run: the same rows inserted with bare rusqlite into one
//! table that has only its primary key (no per-day tables, no indexed common fields, no
//! blocking-pool hop). `store / peer` is what the layout and the async wrapper cost.
//!
//! Both databases live in a temporary directory under `ONEWALL_BENCH_DIR` when it is set
//! (e.g. a tmpfs, to take the disk out of the figure), else under the system's.

use std::net::IpAddr;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use onewall_model::event::names;
use onewall_model::{Event, EventId, Format, RegionCode, Source, Timestamp, Value};
use onewall_store::{SqliteStore, Store};

const BATCH: usize = 1_000;

/// One RFC 3164 sshd line and the fields a parser takes from it.
fn syslog_event(n: usize, base: Timestamp) -> Event {
    let host = format!("web{:02}", n % 40);
    let src: IpAddr = format!("10.{}.{}.{}", n % 7, (n / 7) % 250, n % 250 + 1)
        .parse()
        .unwrap_or(IpAddr::from([10, 0, 0, 1]));
    let pid = 1000 + (n % 5000) as i64;
    let user = ["root", "admin", "oracle", "alice", "bob"][n % 5];
    let action = if n.is_multiple_of(3) {
        "accepted"
    } else {
        "failed"
    };
    let raw = format!(
        "<38>Nov 28 04:06:26 {host} sshd[{pid}]: {} password for {user} from {src} port {} ssh2",
        if action == "failed" {
            "Failed"
        } else {
            "Accepted"
        },
        40_000 + n % 20_000
    );
    let received = Timestamp(base.0 + n as i64 * 1_000_000);
    let mut e = Event::new(
        received,
        RegionCode::HENAN,
        Source::new("syslog_udp", "192.0.2.10:514".parse().ok()),
        raw.as_bytes(),
    );
    e.format = Format::Rfc3164;
    let f = &mut e.fields;
    f.insert(names::SYSLOG_PRIORITY, 38i64);
    f.insert(names::SYSLOG_FACILITY, 4i64);
    f.insert(names::SYSLOG_SEVERITY, 6i64);
    f.insert(names::HOST_NAME, host.as_str());
    f.insert(names::PROCESS_NAME, "sshd");
    f.insert(names::PROCESS_PID, pid);
    f.insert(names::MESSAGE, &raw[raw.find("]: ").map_or(0, |i| i + 3)..]);
    f.insert(names::EVENT_ACTION, action);
    f.insert(names::USER_NAME, user);
    f.insert(names::SOURCE_IP, Value::Ip(src));
    f.insert(names::SOURCE_PORT, (40_000 + n % 20_000) as i64);
    e
}

/// Batch `k`: the same shapes with new ids, so every write inserts, moved `k` batches later
/// in time, as a live feed would be (the same times in every batch would pile the indexes'
/// keys up on duplicates).
fn batch(template: &[Event], k: i64) -> Vec<Event> {
    let shift = k * BATCH as i64 * 1_000_000;
    template
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.time = Timestamp(e.time.0 + shift);
            e.received = Timestamp(e.received.0 + shift);
            e.id = EventId::new(e.received);
            e
        })
        .collect()
}

fn scratch_dir() -> tempfile::TempDir {
    match std::env::var_os("ONEWALL_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .expect("temporary directory")
}

fn bench_write(c: &mut Criterion) {
    let base = Timestamp::now();
    let template: Vec<Event> = (0..BATCH).map(|n| syslog_event(n, base)).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");

    let mut group = c.benchmark_group("store_write");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(30);

    let dir = scratch_dir();
    let store = SqliteStore::open(dir.path()).expect("open the store");
    let mut k = 0;
    group.bench_function("sqlite_store_1000_syslog_events", |b| {
        b.iter_batched(
            || {
                k += 1;
                batch(&template, k)
            },
            |events| rt.block_on(store.write_events(events)).expect("write"),
            BatchSize::LargeInput,
        )
    });

    let peer_dir = scratch_dir();
    let peer = peer_connection(&peer_dir);
    let mut k = 0;
    group.bench_function("peer_bare_rusqlite_1000_rows", |b| {
        b.iter_batched(
            || {
                k += 1;
                batch(&template, k)
            },
            |events| peer_insert(&peer, &events),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn peer_connection(dir: &tempfile::TempDir) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(dir.path().join("peer.sqlite3")).expect("open peer");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "NORMAL")
        .expect("synchronous");
    conn.execute_batch(
        "CREATE TABLE events (id BLOB PRIMARY KEY, time INTEGER, raw BLOB, fields TEXT)",
    )
    .expect("peer table");
    conn
}

fn peer_insert(conn: &rusqlite::Connection, events: &[Event]) {
    let tx = conn.unchecked_transaction().expect("begin");
    {
        let mut stmt = tx
            .prepare_cached("INSERT OR IGNORE INTO events VALUES (?1, ?2, ?3, ?4)")
            .expect("prepare");
        for e in events {
            let fields = e.fields.to_typed_json().to_string();
            stmt.execute(rusqlite::params![
                &e.id.to_bytes()[..],
                e.time.0,
                &e.raw[..],
                fields
            ])
            .expect("insert");
        }
    }
    tx.commit().expect("commit");
}

criterion_group!(benches, bench_write);
criterion_main!(benches);
