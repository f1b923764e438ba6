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
        client: String::new(),
        detail: String::new(),
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
        "INSERT INTO audit (seq, at, actor, role, scope, action, target, result, prev, hash)
         VALUES (3, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
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

#[test]
fn a_huge_actor_or_target_is_cut_to_what_the_log_keeps() {
    let (dir, log) = log_of(0);
    let mut r = record(1);
    r.actor = "名".repeat(2 << 20);
    r.target = format!("/api/v1/login?{}", "x".repeat(2 << 20));
    r.client = "203.0.113.9:51000".into();
    let e = log.append(r).unwrap();
    assert_eq!(e.record.actor.chars().count(), MAX_ACTOR_CHARS + 1);
    assert!(e.record.actor.ends_with('…'));
    assert_eq!(e.record.target.chars().count(), MAX_TARGET_CHARS + 1);
    drop(log);
    let size = std::fs::metadata(dir.path().join(AUDIT_FILE))
        .unwrap()
        .len()
        + std::fs::metadata(dir.path().join(format!("{AUDIT_FILE}-wal")))
            .map(|m| m.len())
            .unwrap_or(0);
    assert!(
        size < 256 << 10,
        "the log grew to {size} bytes for one entry"
    );
    assert_eq!(verify(dir.path()).unwrap(), Verdict::Intact { entries: 1 });
}

#[test]
fn a_log_written_before_client_and_detail_existed_is_migrated_and_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    // The table as older versions made it, with two entries chained the old way.
    {
        let c = Connection::open(dir.path().join(AUDIT_FILE)).unwrap();
        c.execute_batch(
            "CREATE TABLE audit (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL,
             role TEXT NOT NULL, scope TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
             result INTEGER NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);",
        )
        .unwrap();
        let mut prev = GENESIS.to_owned();
        for seq in 1..=2u64 {
            let r = record(seq);
            let hash = entry_hash(seq, &r, &prev);
            c.execute(
                "INSERT INTO audit VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    seq as i64,
                    r.at.nanos(),
                    r.actor,
                    r.role,
                    r.scope,
                    r.action,
                    r.target,
                    r.result,
                    prev,
                    hash
                ],
            )
            .unwrap();
            prev = hash;
        }
        std::fs::write(dir.path().join(HEAD_FILE), format!("2 {prev}\n")).unwrap();
    }
    let log = AuditLog::open(dir.path()).unwrap();
    let mut r = record(3);
    r.client = "198.51.100.7:40000".into();
    r.detail = "role=viewer region=410100".into();
    log.append(r).unwrap();
    let all = log.entries(0, 10).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].record.client, "");
    assert_eq!(all[2].record.client, "198.51.100.7:40000");
    assert_eq!(all[2].record.detail, "role=viewer region=410100");
    assert_eq!(verify(dir.path()).unwrap(), Verdict::Intact { entries: 3 });
    drop(log);
    // Editing the new fields breaks the chain like any other field.
    tamper(dir.path())
        .execute("UPDATE audit SET client = '10.0.0.1:1' WHERE seq = 3", [])
        .unwrap();
    assert!(matches!(
        verify(dir.path()).unwrap(),
        Verdict::Broken { seq: 3, .. }
    ));
}
