#![allow(clippy::unwrap_used)] // tests fail loudly

use std::os::unix::fs::PermissionsExt;

use super::*;

const V1: Migration = Migration::sql(
    "schema",
    "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);",
);

fn add_column(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch("ALTER TABLE kv ADD COLUMN at INTEGER NOT NULL DEFAULT 0;")
}

const V2: Migration = Migration::run("kv.at", add_column);

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn migrations_run_once_in_order_and_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.sqlite");
    let c = open(&path, Pragmas::WAL, &[V1]).unwrap();
    assert_eq!(version(&c).unwrap(), 1);
    c.execute("INSERT INTO kv (k, v) VALUES ('x', 'y')", [])
        .unwrap();
    drop(c);
    // Reopened with a second migration: only that one runs (a rerun of the first would keep
    // the row; a rerun of the second would fail on the existing column).
    let c = open(&path, Pragmas::WAL, &[V1, V2]).unwrap();
    assert_eq!(version(&c).unwrap(), 2);
    let at: i64 = c
        .query_row("SELECT at FROM kv WHERE k = 'x'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(at, 0);
    drop(c);
    let c = open(&path, Pragmas::WAL, &[V1, V2]).unwrap();
    assert_eq!(version(&c).unwrap(), 2);
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_file_from_before_versions_opens_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    let c = Connection::open(&path).unwrap();
    c.execute_batch(
        "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);
         INSERT INTO kv (k, v) VALUES ('kept', '1');",
    )
    .unwrap();
    drop(c);
    let c = open(&path, Pragmas::default(), &[V1, V2]).unwrap();
    assert_eq!(version(&c).unwrap(), 2);
    let v: String = c
        .query_row("SELECT v FROM kv WHERE k = 'kept'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, "1");
}

#[test]
fn a_file_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.sqlite");
    drop(open(&path, Pragmas::default(), &[V1, V2]).unwrap());
    let e = open(&path, Pragmas::default(), &[V1]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Newer {
                version: 2,
                known: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("schema version 2 is newer than this build's 1"),
        "{e}"
    );
}

#[test]
fn a_failed_migration_names_itself_and_leaves_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.sqlite");
    let bad = Migration::sql("broken", "CREATE TABLE kv (;");
    let e = open(&path, Pragmas::default(), &[V1, bad]).unwrap_err();
    assert!(e.to_string().contains("migration 2 (broken)"), "{e}");
    let c = Connection::open(&path).unwrap();
    assert_eq!(version(&c).unwrap(), 1);
}

#[test]
fn files_are_private_and_new_directories_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("sub").join("p.sqlite");
    let c = open(&path, Pragmas::WAL, &[V1]).unwrap();
    c.execute("INSERT INTO kv (k, v) VALUES ('x', 'y')", [])
        .unwrap();
    assert_eq!(mode(&path), FILE_MODE);
    assert_eq!(mode(&dir.path().join("data")), DIR_MODE);
    assert_eq!(mode(&dir.path().join("data").join("sub")), DIR_MODE);
    // SQLite gives the write-ahead log the mode of its database.
    assert_eq!(mode(&path.with_extension("sqlite-wal")), FILE_MODE);
    drop(c);
    // A file an older version left readable to others is taken back.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(open(&path, Pragmas::WAL, &[V1]).unwrap());
    assert_eq!(mode(&path), FILE_MODE);
}

#[test]
fn pragmas_are_applied() {
    let c = open_in_memory(
        Pragmas {
            wal: true,
            synchronous: Some(Synchronous::Full),
            busy_timeout: Some(Duration::from_secs(10)),
            foreign_keys: true,
        },
        &[V1],
    )
    .unwrap();
    let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
    assert_eq!(sync, 2, "FULL");
    let fk: i64 = c
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    let busy: i64 = c
        .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
        .unwrap();
    assert_eq!(busy, 10_000);
    assert_eq!(version(&c).unwrap(), 1);
}
