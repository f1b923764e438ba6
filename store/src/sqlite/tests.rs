//! The writer's incident cache: updates that start from the cached copy see every earlier
//! change, and anything else that writes the incident makes the next update read it again.

use onewall_model::{RegionCode, Severity, Timestamp};

use super::SqliteStore;
use crate::conformance::incident;
use crate::{Store, StoreError};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(dir.path()).expect("open the store");
    (dir, store)
}

fn region() -> RegionCode {
    RegionCode::new(410100).expect("region code")
}

#[tokio::test]
async fn updates_in_a_row_each_see_the_last() {
    let (_dir, store) = store();
    let inc = incident(
        Timestamp(1_700_000_000_000_000_000),
        Severity::High,
        region(),
    );
    store
        .upsert_incidents(vec![inc.clone()])
        .await
        .expect("upsert");
    for n in 1..=3i64 {
        let updated = store
            .update_incident(
                inc.id,
                Box::new(move |i| {
                    i.rule_ids.push(format!("r{n}"));
                    i.updated = Timestamp(i.updated.0 + 1);
                    Ok(())
                }),
            )
            .await
            .expect("update");
        assert_eq!(updated.rule_ids.len(), inc.rule_ids.len() + n as usize);
    }
    let stored = store
        .get_incident(inc.id)
        .await
        .expect("get")
        .expect("stored");
    let tail: Vec<&str> = stored
        .rule_ids
        .iter()
        .rev()
        .take(3)
        .map(String::as_str)
        .collect();
    assert_eq!(tail, ["r3", "r2", "r1"]);
}

#[tokio::test]
async fn an_upsert_or_a_refused_change_is_not_served_from_the_cache() {
    let (_dir, store) = store();
    let inc = incident(
        Timestamp(1_700_000_000_000_000_000),
        Severity::High,
        region(),
    );
    store
        .upsert_incidents(vec![inc.clone()])
        .await
        .expect("upsert");
    store
        .update_incident(
            inc.id,
            Box::new(|i| {
                i.title = "cached".into();
                Ok(())
            }),
        )
        .await
        .expect("update");
    // Replaced whole, with the same `updated`: the next update starts from this one.
    let mut replaced = inc.clone();
    replaced.title = "replaced".into();
    store
        .upsert_incidents(vec![replaced])
        .await
        .expect("upsert again");
    let seen = store
        .update_incident(inc.id, Box::new(|_| Ok(())))
        .await
        .expect("update");
    assert_eq!(seen.title, "replaced");
    // A change that fails after editing its copy leaves the stored incident as it was.
    let refused = store
        .update_incident(
            inc.id,
            Box::new(|i| {
                i.title = "half done".into();
                Err(StoreError::Conflict("refused".into()))
            }),
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    let seen = store
        .update_incident(inc.id, Box::new(|_| Ok(())))
        .await
        .expect("update");
    assert_eq!(seen.title, "replaced");
}

/// The stored body of incident `id` and its rows in `incident_alerts`, read behind the store.
fn stored_layout(dir: &std::path::Path, id: onewall_model::IncidentId) -> (String, i64) {
    let conn = rusqlite::Connection::open(dir.join(super::DB_FILE)).expect("open");
    let key = id.to_bytes().to_vec();
    let body: String = conn
        .query_row("SELECT body FROM incidents WHERE id = ?1", [&key], |r| {
            r.get(0)
        })
        .expect("body");
    let rows: i64 = conn
        .query_row(
            "SELECT count(*) FROM incident_alerts WHERE incident = ?1",
            [&key],
            |r| r.get(0),
        )
        .expect("rows");
    (body, rows)
}

#[tokio::test]
async fn evidence_grows_by_rows_and_an_older_body_with_its_ids_still_reads() {
    use onewall_model::AlertId;
    let (dir, store) = store();
    let inc = incident(
        Timestamp(1_700_000_000_000_000_000),
        Severity::High,
        region(),
    );
    store
        .upsert_incidents(vec![inc.clone()])
        .await
        .expect("upsert");
    let mut want = inc.alert_ids.clone();
    for round in 0..3u128 {
        let ids: Vec<AlertId> = (0..1000u128)
            .map(|n| AlertId::from_u128(round * 1000 + n + 1))
            .collect();
        want.extend(&ids);
        store
            .update_incident(
                inc.id,
                Box::new(move |i| {
                    i.alert_ids.extend(ids);
                    Ok(())
                }),
            )
            .await
            .expect("update");
    }
    let got = store
        .get_incident(inc.id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(got.alert_ids, want);
    let (body, rows) = stored_layout(dir.path(), inc.id);
    assert_eq!(rows, 3001);
    assert!(body.contains(r#""alert_ids":[]"#), "{body}");
    let listed = store
        .search_incidents(crate::IncidentQuery::default())
        .await
        .expect("search");
    assert_eq!(listed.items[0].alert_ids, want);

    // An alert unlinked from the middle: the rows are written again, in order.
    let gone = want.remove(10);
    let updated = store
        .update_incident(
            inc.id,
            Box::new(move |i| {
                i.alert_ids.retain(|a| *a != gone);
                Ok(())
            }),
        )
        .await
        .expect("unlink");
    assert_eq!(updated.alert_ids, want);
    let got = store
        .get_incident(inc.id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(got.alert_ids, want);
    assert_eq!(stored_layout(dir.path(), inc.id).1, 3000);
    drop(store);

    // A body written before the table (its ids inline, no rows) reads whole, and its first
    // update moves the ids into rows.
    let mut old = incident(
        Timestamp(1_700_000_100_000_000_000),
        Severity::Low,
        region(),
    );
    old.alert_ids = (0..5u128).map(|n| AlertId::from_u128(9000 + n)).collect();
    {
        let conn = rusqlite::Connection::open(dir.path().join(super::DB_FILE)).expect("open");
        conn.execute(
            "INSERT INTO incidents
                (id, status, severity, region, group_key, first_seen, last_seen, updated, body)
             VALUES (?1, 'new', 1, ?2, 'g', 0, 0, ?3, ?4)",
            rusqlite::params![
                &old.id.to_bytes()[..],
                old.region.get(),
                old.updated.0,
                serde_json::to_string(&old).expect("json"),
            ],
        )
        .expect("insert an old-layout incident");
    }
    let store = SqliteStore::open(dir.path()).expect("reopen");
    let got = store
        .get_incident(old.id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(got.alert_ids, old.alert_ids);
    let extra = AlertId::from_u128(9999);
    let updated = store
        .update_incident(
            old.id,
            Box::new(move |i| {
                i.alert_ids.push(extra);
                Ok(())
            }),
        )
        .await
        .expect("update the old incident");
    let mut all = old.alert_ids.clone();
    all.push(extra);
    assert_eq!(updated.alert_ids, all);
    let (body, rows) = stored_layout(dir.path(), old.id);
    assert_eq!(rows, 6);
    assert!(body.contains(r#""alert_ids":[]"#), "{body}");
    drop(store);
    let store = SqliteStore::open(dir.path()).expect("reopen");
    let got = store
        .get_incident(old.id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(got.alert_ids, all);
}
