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
