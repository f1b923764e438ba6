//! The router over a real embedded store: pagination, filters and error mapping.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use onewall_api::login_limit::LoginLimiter;
use onewall_api::mask::MaskPolicy;
use onewall_api::{Access, ApiState, NodeInfo, RulesView, router};
use onewall_model::{Event, RegionCode, RegionTree, Source, Timestamp};
use onewall_store::Store;
use onewall_store::audit::AuditLog;
use onewall_store::auth::{AuthStore, NewToken, Role};
use onewall_store::sqlite::SqliteStore;
use serde_json::Value;
use tower::ServiceExt;

/// The app and a province admin token, sent on every `get`.
async fn app(dir: &std::path::Path) -> (App, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir).unwrap());
    let auth = Arc::new(AuthStore::open(dir).unwrap());
    let (token, _) = auth
        .create_token(NewToken {
            name: "test".into(),
            role: Role::Admin,
            region: RegionCode::HENAN,
            department: None,
            pii: true,
            ttl_secs: None,
        })
        .unwrap();
    let state = ApiState {
        store: store.clone(),
        metrics: Arc::new(|| "onewall_test_total 1\n".to_owned()),
        rules: Arc::new(RulesView::default()),
        regions: Arc::new(RegionTree::builtin()),
        node: Arc::new(NodeInfo {
            name: "t".into(),
            region: RegionCode::HENAN,
            version: "0",
        }),
        access: Access {
            auth,
            audit: Arc::new(AuditLog::open(dir).unwrap()),
            metrics_open: true,
            mask: MaskPolicy::default(),
            login: Arc::new(LoginLimiter::default()),
        },
    };
    (
        App {
            router: router(state),
            token,
        },
        store,
    )
}

struct App {
    router: axum::Router,
    token: String,
}

async fn get(app: &App, uri: &str) -> (StatusCode, Value) {
    let resp = app
        .router
        .clone()
        .oneshot(
            Request::get(uri)
                .header("authorization", format!("Bearer {}", app.token))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn event(i: i64, region: &str) -> Event {
    let t = Timestamp::parse_rfc3339("2026-11-27T10:00:00Z")
        .unwrap()
        .add_secs(i * 60);
    let raw = format!("event number {i}");
    let mut e = Event::new(
        t,
        region.parse().unwrap(),
        Source::new("http", None),
        raw.as_bytes(),
    );
    e.fields
        .insert("host.name", if i % 2 == 0 { "even" } else { "odd" });
    e.fields.insert("seq", i);
    e
}

#[tokio::test]
async fn events_page_through_with_cursors_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let (app, store) = app(dir.path()).await;
    // 250 events over about four hours, in two regions.
    let events: Vec<Event> = (0..250)
        .map(|i| event(i, if i % 5 == 0 { "410200" } else { "410100" }))
        .collect();
    store.write_events(events).await.unwrap();

    let mut seen = Vec::new();
    let mut uri = "/api/v1/events?limit=100".to_owned();
    loop {
        let (status, page) = get(&app, &uri).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for e in page["items"].as_array().unwrap() {
            seen.push(e["fields"]["seq"].as_i64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("/api/v1/events?limit=100&cursor={c}"),
            None => break,
        }
    }
    let expected: Vec<i64> = (0..250).rev().collect();
    assert_eq!(seen, expected, "newest first, no gaps, no duplicates");

    let (_, odd) = get(&app, "/api/v1/events?filter=host.name:odd&limit=1000").await;
    assert_eq!(odd["items"].as_array().unwrap().len(), 125);
    let (_, one) = get(&app, "/api/v1/events?filter=seq:7").await;
    assert_eq!(one["items"][0]["raw"], "event number 7");
    let (_, text) = get(&app, "/api/v1/events?q=number%2012").await;
    let found: Vec<_> = text["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["raw"].clone())
        .collect();
    assert_eq!(found.len(), 11, "12 and 120..129: {found:?}");
    let (_, kaifeng) = get(&app, "/api/v1/events?region=410200&limit=1000").await;
    assert_eq!(kaifeng["items"].as_array().unwrap().len(), 50);
    let (_, window) = get(
        &app,
        "/api/v1/events?from=2026-11-27T10:00:00Z&to=2026-11-27T10:10:00Z&limit=1000",
    )
    .await;
    assert_eq!(
        window["items"].as_array().unwrap().len(),
        10,
        "to is exclusive"
    );
}

#[tokio::test]
async fn credentials_are_required_and_calls_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = app(dir.path()).await;
    let resp = app
        .router
        .clone()
        .oneshot(Request::get("/api/v1/events").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = get(&app, "/api/v1/events").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = get(&app, "/api/v1/audit").await;
    assert_eq!(status, StatusCode::OK);
    let items = body["items"].as_array().unwrap();
    let actions: Vec<_> = items
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["result"].as_u64().unwrap()))
        .collect();
    assert_eq!(actions[0], ("anonymous", 401));
    assert_eq!(actions[1].1, 200);
    assert!(actions[1].0.starts_with("tok_"));
    let (status, doc) = get(&app, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
    assert!(doc["paths"]["/api/v1/incidents/{id}/status"]["post"].is_object());
}

#[tokio::test]
async fn errors_map_to_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = app(dir.path()).await;
    for (uri, status) in [
        (
            "/api/v1/events?from=2026-11-28T00:00:00Z&to=2026-11-27T00:00:00Z",
            400,
        ),
        ("/api/v1/events?limit=abc", 400),
        ("/api/v1/events?q=a&q=b", 400),
        ("/api/v1/alerts?severity=urgent", 400),
        ("/api/v1/alerts/01JDZZZZZZZZZZZZZZZZZZZZZZ", 404),
        ("/api/v1/events/01JDZZZZZZZZZZZZZZZZZZZZZZ", 404),
        ("/api/v1/incidents?open=maybe", 400),
    ] {
        let (got, body) = get(&app, uri).await;
        assert_eq!(got.as_u16(), status, "{uri}: {body}");
        assert!(body["error"]["code"].is_string(), "{uri}: {body}");
    }
    let (status, body) = get(&app, "/api/v1/regions").await;
    assert_eq!(status, StatusCode::OK);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 20, "{body}");
    // Henan's 19 city-level units, the Airport Economy Zone (410173) among them.
    let cities: Vec<&str> = items
        .iter()
        .filter(|r| r["parent"] == "410000" && r["level"] == "city")
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(cities.len(), 19, "{body}");
    assert!(cities.contains(&"410173"), "{body}");
    assert!(cities.contains(&"419001"), "{body}");
}

/// A filter on a field name no store can look up (a control character in it) is the caller's
/// mistake: 400 with the reason, not an internal error.
#[tokio::test]
async fn a_filter_field_with_a_control_character_is_a_bad_request() {
    let dir = tempfile::tempdir().unwrap();
    let (app, store) = app(dir.path()).await;
    store.write_events(vec![event(1, "410102")]).await.unwrap();
    for uri in [
        "/api/v1/events?filter=a%00b:x",
        "/api/v1/events?filter=a%0Ab:x",
        "/api/v1/export/events?filter=a%00b:x",
    ] {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(body["error"]["code"], "invalid_argument", "{uri}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("invalid filter field") && message.contains("control character"),
            "{uri}: {body}"
        );
    }
}
