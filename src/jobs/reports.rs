//! The missing-report check of a parent node: after each day's deadline (the report time plus
//! `grace`), every expected child without a daily report raises one alert at the parent, in
//! the child's region, stored and published on the node event bus like any alert, so the
//! playbooks act on it and the federation uplink carries it to the grandparent. The
//! endpoints that receive and list the reports are the API's (`onewall_api::reports`); both
//! read the same [`ReportDesk`].

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use onewall_api::reports::ReportDesk;
use onewall_model::bus::{AlertOrigin, NodeEvent, NodeEvents};
use onewall_model::{Alert, AlertId, RegionCode, RegionTree, Timestamp};
use onewall_store::Store;
use serde_json::json;
use tokio::sync::watch;

/// The rule id of the alert a missing child report raises.
pub const MISSING_RULE_ID: &str = "onewall-report-missing";

/// Run a report-book call on the blocking pool.
async fn blocking<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> Result<T, onewall_playbooks::PlaybookError> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .with_context(|| format!("report book: {what}: blocking task failed"))?
        .with_context(|| format!("report book: {what}"))
}

/// Flag every expected child whose report of the latest day past its deadline did not
/// arrive: one alert per child and day, stored; returned for the bus. Days whose deadline
/// passed before this node began expecting reports are not flagged.
pub async fn check_missing(
    desk: &ReportDesk,
    store: &dyn Store,
    tree: &RegionTree,
    now: Timestamp,
) -> anyhow::Result<Vec<Alert>> {
    let book = desk.book.clone();
    let since = blocking("watching since", move || book.watching_since(now)).await?;
    let due = desk.schedule.last_due(now.add_secs(-desk.grace_secs()));
    let deadline = due.add_secs(desk.grace_secs());
    if deadline < since || desk.expected.is_empty() {
        return Ok(Vec::new());
    }
    let day = desk.schedule.date_of(due);
    let book = desk.book.clone();
    let d2 = day.clone();
    let received = blocking("reports of the day", move || book.day(&d2)).await?;
    let mut raised = Vec::new();
    for child in &desk.expected {
        if received.iter().any(|r| r.region == *child) {
            continue;
        }
        let book = desk.book.clone();
        let (c2, d2) = (*child, day.clone());
        if blocking("flagged", move || book.is_flagged(c2, &d2)).await? {
            continue;
        }
        let alert = missing_alert(tree, *child, &day, deadline, now)?;
        store
            .write_alerts(vec![alert.clone()])
            .await
            .context("writing the missing-report alert")?;
        let book = desk.book.clone();
        let d2 = day.clone();
        blocking("flag", move || book.flag(c2, &d2, now)).await?;
        tracing::warn!(region = %child, day, "child daily report missing: alert raised");
        raised.push(alert);
    }
    Ok(raised)
}

/// The alert a missing report raises (through serde, as the SLA alert, so fields other
/// crates add to `Alert` with defaults need no change here).
fn missing_alert(
    tree: &RegionTree,
    child: RegionCode,
    day: &str,
    deadline: Timestamp,
    now: Timestamp,
) -> anyhow::Result<Alert> {
    let name = tree.get(child).map(|r| r.name.clone()).unwrap_or_default();
    let code = child.to_string();
    let v = json!({
        "id": AlertId::derive(deadline, b"alert/report/v1", &[code.as_bytes(), day.as_bytes()]),
        "time": now,
        "created": now,
        "rule": {
            "id": MISSING_RULE_ID,
            "title": format!("下级 {name}({code}) 未报送 {day} 日报 — child {code} did not send its daily report"),
            "level": "high",
            "tags": ["onewall.report"],
        },
        "severity": "high",
        "event_ids": [],
        "entities": [],
        "region": child,
        "matched": [
            {"field": "report.region", "value": code},
            {"field": "report.day", "value": day},
            {"field": "report.deadline", "value": deadline.to_rfc3339()},
        ],
    });
    serde_json::from_value(v).context("building the missing-report alert")
}

/// Check for missing reports every `every` until shutdown, publishing the raised alerts on
/// `bus` (origin [`AlertOrigin::MissingReport`]).
pub async fn run(
    desk: ReportDesk,
    store: Arc<dyn Store>,
    tree: Arc<RegionTree>,
    every: Duration,
    bus: NodeEvents,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match check_missing(&desk, &*store, &tree, Timestamp::now()).await {
            Ok(raised) if !raised.is_empty() => {
                bus.publish(NodeEvent::AlertsStored {
                    alerts: raised,
                    origin: AlertOrigin::MissingReport,
                })
                .await
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "missing-report check failed; will retry")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}
