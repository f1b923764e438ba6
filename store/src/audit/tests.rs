#![allow(clippy::unwrap_used)]

use super::*;

fn record(i: u64) -> AuditRecord {
    AuditRecord {
        at: Timestamp::from_secs(1_770_000_000 + i as i64),
        actor: format!("user{i}"),
        role: "analyst".into(),
        scope: "410100".into(),
        action: "GET /api/v1/events".into(),
        target: format!("/api/v1/events?limit={i}"),
        result: 200,
    }
}

fn log_of(n: u64) -> (tempfile::TempDir, AuditLog) {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path()).unwrap();
    for i in 1..=n {
        log.append(record(i)).unwrap();
    }
    (dir, log)
}

/// A connection without the append-only triggers, as someone with the file would have.
fn tamper(dir: &Path) -> Connection {
    let c = Connection::open(dir.join(AUDIT_FILE)).unwrap();
    c.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
        .unwrap();
    c
}

#[test]
fn an_intact_log_verifies_and_survives_reopening() {
    let (dir, log) = log_of(5);
    drop(log);
    let log = AuditLog::open(dir.path()).unwrap();
    let e = log.append(record(6)).unwrap();
    assert_eq!(e.seq, 6);
    assert_eq!(verify(dir.path()).unwrap(), Verdict::Intact { entries: 6 });
    let listed = log.entries(4, 10).unwrap();
    assert_eq!(listed.iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 6]);
    assert_eq!(listed[1].prev, listed[0].hash);
}

#[test]
fn the_table_refuses_updates_and_deletes() {
    let (dir, _log) = log_of(2);
    let c = Connection::open(dir.path().join(AUDIT_FILE)).unwrap();
    let e = c.execute("UPDATE audit SET actor = 'x'", []).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = c.execute("DELETE FROM audit", []).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
}

#[test]
fn an_edited_entry_is_named() {
    let (dir, _log) = log_of(5);
    tamper(dir.path())
        .execute("UPDATE audit SET result = 404 WHERE seq = 3", [])
        .unwrap();
    match verify(dir.path()).unwrap() {
        Verdict::Broken { seq, reason } => {
            assert_eq!(seq, 3);
            assert!(reason.contains("edited"), "{reason}");
        }
        v => panic!("{v:?}"),
    }
}

#[test]
fn a_deleted_entry_is_named() {
    let (dir, _log) = log_of(5);
    tamper(dir.path())
        .execute("DELETE FROM audit WHERE seq = 2", [])
        .unwrap();
    assert!(matches!(
        verify(dir.path()).unwrap(),
        Verdict::Broken { seq: 3, .. }
    ));
}

#[test]
fn a_deleted_last_entry_is_caught_by_the_head() {
    let (dir, _log) = log_of(5);
    tamper(dir.path())
        .execute("DELETE FROM audit WHERE seq = 5", [])
        .unwrap();
    assert!(matches!(
        verify(dir.path()).unwrap(),
        Verdict::Broken { seq: 5, .. }
    ));
}

#[test]
fn an_inserted_entry_is_named() {
    let (dir, _log) = log_of(5);
    let c = tamper(dir.path());
    // Make room at 3 and slip a well-formed entry in, chained to entry 2.
    c.execute("UPDATE audit SET seq = seq + 100 WHERE seq >= 3", [])
        .unwrap();
    c.execute("UPDATE audit SET seq = seq - 99 WHERE seq >= 103", [])
        .unwrap();
    let prev: String = c
        .query_row("SELECT hash FROM audit WHERE seq = 2", [], |r| r.get(0))
        .unwrap();
    let forged = record(99);
    let hash = entry_hash(3, &forged, &prev);
    c.execute(
        "INSERT INTO audit VALUES (3, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            forged.at.nanos(),
            forged.actor,
            forged.role,
            forged.scope,
            forged.action,
            forged.target,
            forged.result,
            prev,
            hash
        ],
    )
    .unwrap();
    // Entry 3 is well-formed; entry 4 (the old 3) no longer chains to it.
    assert!(matches!(
        verify(dir.path()).unwrap(),
        Verdict::Broken { seq: 4, .. }
    ));
}
