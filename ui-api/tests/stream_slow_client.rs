//! The live stream with a client that does not read: the node queues a few chunks for it and
//! no more (the bus's publish never waits on it); once the ring has moved past what it was
//! sent, it gets `event: gap` with the oldest id held, then what is held. At shutdown its
//! stream ends.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use onewall_api::login_limit::LoginLimiter;
use onewall_api::mask::MaskPolicy;
use onewall_api::stream::{StreamConfig, StreamHub};
use onewall_api::{Access, ApiState, NodeInfo, RulesView, router};
use onewall_model::bus::{AlertOrigin, NodeEvent, NodeEvents};
use onewall_model::{Alert, AlertId, RegionCode, RegionTree, RuleRef, Severity, Timestamp};
use onewall_store::Store;
use onewall_store::audit::AuditLog;
use onewall_store::auth::{AuthStore, NewToken, Role};
use onewall_store::sqlite::SqliteStore;
use tower::ServiceExt;

fn alert(n: usize) -> Alert {
    Alert {
        target: None,
        intel: None,
        anomaly: None,
        id: AlertId::new(Timestamp::now()),
        time: Timestamp::now(),
        created: Timestamp::now(),
        rule: RuleRef {
            id: format!("rule-{n}"),
            title: format!("alert number {n}"),
            level: Severity::High,
            status: None,
            tags: Vec::new(),
        },
        severity: Severity::High,
        event_ids: Vec::new(),
        entities: Vec::new(),
        region: "410100".parse().unwrap(),
        matched: Vec::new(),
        drill: None,
    }
}

/// The ids and event names of the frames in `text`.
fn frames(text: &str) -> Vec<(u64, String)> {
    text.split("\n\n")
        .filter_map(|f| {
            let mut id = None;
            let mut event = None;
            for line in f.lines() {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = v.parse().ok();
                }
                if let Some(v) = line.strip_prefix("event: ") {
                    event = Some(v.to_owned());
                }
            }
            Some((id?, event?))
        })
        .collect()
}

#[tokio::test]
async fn a_client_that_does_not_read_falls_behind_to_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let auth = Arc::new(AuthStore::open(dir.path()).unwrap());
    let (token, _) = auth
        .create_token(NewToken {
            name: "t".into(),
            role: Role::Viewer,
            region: RegionCode::HENAN,
            department: None,
            pii: true,
            ttl_secs: None,
        })
        .unwrap();
    let state = ApiState {
        store,
        metrics: Arc::new(String::new),
        rules: Arc::new(RulesView::default()),
        regions: Arc::new(RegionTree::builtin()),
        node: Arc::new(NodeInfo {
            name: "t".into(),
            region: RegionCode::HENAN,
            version: "0",
        }),
        access: Access {
            auth,
            audit: Arc::new(AuditLog::open(dir.path()).unwrap()),
            metrics_open: true,
            mask: MaskPolicy::default(),
            login: Arc::new(LoginLimiter::default()),
        },
    };
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let config = StreamConfig {
        buffer: 8,
        ..StreamConfig::default()
    };
    let hub = StreamHub::new(&config, shutdown);
    let bus = NodeEvents::new();
    bus.subscribe(Arc::new(hub.clone()));
    let app = router(state).layer(axum::Extension(hub));
    let resp = app
        .oneshot(
            Request::get("/api/v1/stream")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();

    // One alert at a time, further apart than a woken client waits, each its own chunk, while
    // the client reads nothing: every publish returns at once.
    let publish = |from: usize, n: usize| {
        let bus = bus.clone();
        async move {
            let took = std::time::Instant::now();
            bus.publish(NodeEvent::AlertsStored {
                alerts: (from..from + n).map(alert).collect(),
                origin: AlertOrigin::Detection,
            })
            .await;
            assert!(took.elapsed() < Duration::from_millis(100));
        }
    };
    for n in 0..10 {
        publish(n, 1).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    // Then far more than the ring holds.
    publish(10, 30).await;

    let mut text = String::new();
    let read = async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                text.push_str(&String::from_utf8_lossy(&data));
            }
            let got = frames(&text);
            if got.iter().filter(|(_, e)| e == "alert").count() >= 8
                && got.iter().any(|(_, e)| e == "gap")
                && got.last().is_some_and(|(_, e)| e == "alert")
                && got.iter().rev().take_while(|(_, e)| e == "alert").count() == 8
            {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .unwrap_or_else(|_| panic!("no gap and held messages: {text}"));
    let got = frames(&text);
    let gap = got.iter().position(|(_, e)| e == "gap").unwrap();
    let before: Vec<u64> = got[..gap].iter().map(|(id, _)| *id).collect();
    let after: Vec<u64> = got[gap + 1..].iter().map(|(id, _)| *id).collect();
    // What was queued for it: a few of the first alerts, in order, no more than the queue.
    assert!(!before.is_empty() && before.len() <= 6, "{text}");
    let first = before[0];
    assert_eq!(
        before,
        (first..first + before.len() as u64).collect::<Vec<_>>()
    );
    // Then the gap from the oldest held, and the 8 held (the last of the 40 alerts).
    let held: Vec<u64> = (first + 32..first + 40).collect();
    assert_eq!(after, held, "{text}");
    assert!(
        text.contains(&format!("data: {{\"from\":{}}}", first + 32)),
        "{text}"
    );
    assert!(text.contains("alert number 39"));

    // At shutdown the stream ends.
    stop.send(true).unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = body.frame().await {}
    })
    .await;
    assert!(end.is_ok(), "the stream did not end at shutdown");
}
