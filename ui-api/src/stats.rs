//! The statistics endpoints the console draws from:
//!
//! - `GET /api/v1/stats/histogram?kind=events|alerts|incidents&interval=1m|5m|15m|1h|6h|1d`
//! - `GET /api/v1/stats/top?kind=...&field=F&limit=N`
//! - `GET /api/v1/stats/overview`
//!
//! Common parameters: `from`, `to` (RFC 3339; the last 24 hours by default, widened to whole
//! minutes), `region`, `severity` (minimum; alerts and incidents), `rule_id`, `source` (an
//! event source's key), repeated `filter=FIELD:VALUE` and `q` (events).
//!
//! Scope is the lists': the caller's region subtree (`region` narrows it), and for a caller
//! limited to a department, events of that department and the alerts and incidents its
//! lists show (counted here from the records, as the lists filter them). Answers are masked
//! for a caller without `pii` like every answer ([`crate::view`]); a text search of such a
//! caller is matched under its view, as the event list does. Every call is audited by the
//! access guard.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::{Extension, RawQuery, State};
use onewall_model::{Alert, Event, Incident, RegionCode, Severity, Timestamp};
use onewall_store::stats::{
    Histogram, StatsKind, StatsQuery, Tally, Top, TopField, alert_values, incident_values,
};
use onewall_store::{EventQuery, stats_generic};
use serde_json::{Value, json};

use crate::access::Caller;
use crate::params::Params;
use crate::sla::SlaPolicy;
use crate::view::{ViewSearch, under_view};
use crate::{ApiError, ApiState, query};

pub mod overview;

/// What the overview needs from the node's configuration (a router extension; defaults when
/// absent).
#[derive(Debug, Clone)]
pub struct OverviewSettings {
    /// The SLA policy (`[sla]`), for the clocks.
    pub sla: SlaPolicy,
    /// Hours without events after which a source is listed as silent.
    pub silent_hours: i64,
}

impl Default for OverviewSettings {
    fn default() -> Self {
        OverviewSettings {
            sla: SlaPolicy::default(),
            silent_hours: 24,
        }
    }
}

/// The intervals a histogram may use, by name, in seconds.
pub const INTERVALS: [(&str, i64); 6] = [
    ("1m", 60),
    ("5m", 300),
    ("15m", 900),
    ("1h", 3600),
    ("6h", 21_600),
    ("1d", 86_400),
];

/// Parameters every statistic takes.
const COMMON: [&str; 9] = [
    "kind", "from", "to", "region", "severity", "rule_id", "source", "filter", "q",
];

/// The most values `top` answers.
pub const MAX_TOP: usize = 100;

const MINUTE: i64 = 60 * Timestamp::NANOS_PER_SEC;

/// The range of `p`: `from` and `to`, the last 24 hours by default, widened to whole minutes.
fn range(p: &Params) -> Result<(Timestamp, Timestamp), ApiError> {
    let to = p.time("to")?.unwrap_or_else(Timestamp::now);
    let from = p.time("from")?.unwrap_or(to.add_secs(-86_400));
    if from >= to {
        return Err(ApiError::invalid(format!(
            "from ({from}) is not before to ({to})"
        )));
    }
    let from = Timestamp(from.0.div_euclid(MINUTE) * MINUTE);
    let to = Timestamp((to.0 + MINUTE - 1).div_euclid(MINUTE) * MINUTE);
    Ok((from, to))
}

/// A statistics query: the store's, and the caller's view of event text when it is masked.
pub(crate) struct Scoped {
    pub q: StatsQuery,
    /// A text search under a masked view: events must be read and kept by it.
    view: Option<ViewSearch>,
}

/// The statistics query of `p` for `kind` in the caller's scope.
pub(crate) fn scoped(
    s: &ApiState,
    c: &Caller,
    p: &Params,
    kind: StatsKind,
) -> Result<Scoped, ApiError> {
    let (from, to) = range(p)?;
    let events_only = ["source", "filter", "q"];
    let records_only = ["severity", "rule_id"];
    let refused = match kind {
        StatsKind::Events => records_only.iter().find(|n| p.all(n).next().is_some()),
        _ => events_only.iter().find(|n| p.all(n).next().is_some()),
    };
    if let Some(name) = refused {
        return Err(ApiError::invalid(format!(
            "{name}: does not apply to {}",
            kind.as_str()
        )));
    }
    let mut q = StatsQuery::new(kind, from, to);
    q.regions = c.regions(&s.regions, p.region()?)?;
    q.min_severity = p.parsed::<Severity>("severity")?;
    q.rule_id = p.one("rule_id")?.map(str::to_owned);
    q.source = p.one("source")?.map(str::to_owned);
    let mut view = None;
    if kind == StatsKind::Events {
        // The event list's reading of `q` and `filter` (and the caller's department), and
        // its refusal of personal data in them for a caller without `pii`.
        let mut eq: EventQuery = query::events(s, c, p)?;
        view = under_view(c, &s.access.mask, &mut eq)?;
        q.text = eq.text;
        q.department = c.grant.department.clone();
        let dept_filter = crate::access::DEPARTMENT_FIELD;
        eq.filters
            .retain(|(k, v)| !(k == dept_filter && Some(v) == c.grant.department.as_ref()));
        q.filters = eq.filters;
    }
    Ok(Scoped { q, view })
}

/// The interval of `p`.
fn interval(p: &Params) -> Result<(&'static str, i64), ApiError> {
    let given = p.one("interval")?.unwrap_or("1h");
    INTERVALS
        .iter()
        .find(|(name, _)| *name == given)
        .copied()
        .ok_or_else(|| {
            let names: Vec<&str> = INTERVALS.iter().map(|(n, _)| *n).collect();
            ApiError::invalid(format!(
                "interval: {given:?} is not one of {}",
                names.join(", ")
            ))
        })
}

fn kind(p: &Params) -> Result<StatsKind, ApiError> {
    p.one("kind")?
        .unwrap_or("events")
        .parse::<StatsKind>()
        .map_err(|e| ApiError::invalid(format!("kind: {e}")))
}

/// Records counted by the API itself: a department caller's alerts and incidents (each as
/// its list decides), or events under a masked text search.
enum Held {
    Events(Vec<Event>),
    Alerts(Vec<Alert>),
    Incidents(Vec<Incident>),
}

/// The records of `sc` when the store cannot count them for this caller, else `None`.
async fn held(s: &ApiState, c: &Caller, sc: &Scoped) -> Result<Option<Held>, ApiError> {
    let store = &*s.store;
    match sc.q.kind {
        StatsKind::Events => match &sc.view {
            None => Ok(None),
            Some(view) => {
                let events = stats_generic::events(store, &sc.q).await?;
                Ok(Some(Held::Events(
                    events.into_iter().filter(|e| view.keeps(e)).collect(),
                )))
            }
        },
        _ if c.grant.department.is_none() => Ok(None),
        StatsKind::Alerts => {
            let mut kept = Vec::new();
            for a in stats_generic::alerts(store, &sc.q).await? {
                if c.alert_in_department(store, &a).await? {
                    kept.push(a);
                }
            }
            Ok(Some(Held::Alerts(kept)))
        }
        StatsKind::Incidents => {
            let mut kept = Vec::new();
            for i in stats_generic::incidents(store, &sc.q).await? {
                if c.incident_in_department(store, &i).await? {
                    kept.push(i);
                }
            }
            Ok(Some(Held::Incidents(kept)))
        }
    }
}

/// Counts over time of `sc` in the caller's scope.
pub(crate) async fn histogram_of(
    s: &ApiState,
    c: &Caller,
    sc: &Scoped,
    interval_secs: i64,
) -> Result<Histogram, ApiError> {
    let mut h = Histogram::empty(sc.q.from, sc.q.to, interval_secs)
        .map_err(|e| ApiError::invalid(e.to_string().replace("invalid query: ", "")))?;
    match held(s, c, sc).await? {
        None => h = s.store.stats_histogram(sc.q.clone(), interval_secs).await?,
        Some(Held::Events(v)) => v.iter().for_each(|e| h.add(e.time.0, 1)),
        Some(Held::Alerts(v)) => v.iter().for_each(|a| h.add(a.time.0, 1)),
        Some(Held::Incidents(v)) => v.iter().for_each(|i| h.add(i.first_seen.0, 1)),
    }
    Ok(h)
}

/// The top values of `field` in `sc`, in the caller's scope.
pub(crate) async fn top_of(
    s: &ApiState,
    c: &Caller,
    sc: &Scoped,
    field: TopField,
    limit: usize,
) -> Result<Top, ApiError> {
    let mut t = Tally::default();
    match held(s, c, sc).await? {
        None => return Ok(s.store.stats_top(sc.q.clone(), field, limit).await?),
        Some(Held::Events(v)) => {
            for e in &v {
                t.add(
                    onewall_store::stats::event_value(e, field)
                        .into_iter()
                        .collect(),
                );
            }
        }
        Some(Held::Alerts(v)) => {
            for a in &v {
                if field == TopField::Rule {
                    t.titles.insert(a.rule.id.clone(), a.rule.title.clone());
                }
                t.add(alert_values(a, field));
            }
        }
        Some(Held::Incidents(v)) => v.iter().for_each(|i| t.add(incident_values(i, field))),
    }
    Ok(t.top(limit))
}

/// The items of a top list as JSON: `value`, `count`, and `title` (rules) or `name`
/// (regions).
pub(crate) fn items_json(s: &ApiState, field: TopField, top: &Top) -> Vec<Value> {
    top.items
        .iter()
        .map(|i| {
            let mut v = json!({ "value": i.value, "count": i.count });
            if field == TopField::Rule {
                v["title"] = json!(i.title.clone().unwrap_or_default());
            }
            if field == TopField::Region {
                let name = i
                    .value
                    .parse::<RegionCode>()
                    .ok()
                    .and_then(|r| s.regions.get(r))
                    .map(|r| r.name.clone())
                    .unwrap_or_default();
                v["name"] = json!(name);
            }
            v
        })
        .collect()
}

/// `GET /api/v1/stats/histogram`: counts over time, every interval of the range present.
#[utoipa::path(get, path = "/api/v1/stats/histogram",
    params(("kind" = Option<String>, Query, description = "events (default), alerts or incidents"),
           ("interval" = Option<String>, Query, description = "1m, 5m, 15m, 1h (default), 6h or 1d; at most 1500 intervals"),
           ("from" = Option<String>, Query, description = "RFC 3339 (default: 24 hours before to)"),
           ("to" = Option<String>, Query, description = "RFC 3339 (default: now)"),
           ("region" = Option<String>, Query, description = "GB/T 2260 code within the caller's subtree"),
           ("severity" = Option<String>, Query, description = "at least this severe (alerts, incidents)"),
           ("rule_id" = Option<String>, Query, description = "alerts of this rule, incidents holding it"),
           ("source" = Option<String>, Query, description = "events of this source key"),
           ("filter" = Option<Vec<String>>, Query, description = "FIELD:VALUE, repeatable (events)"),
           ("q" = Option<String>, Query, description = "text in the raw event (events)")),
    responses((status = 200, description = "{kind, interval, from, to, total, buckets: [{time, count}]}"),
              (status = 400, description = "invalid query")))]
pub async fn histogram(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(raw.as_deref(), &query::with(&COMMON, &["interval"]))?;
    let kind = kind(&p)?;
    let (name, secs) = interval(&p)?;
    let sc = scoped(&s, &c, &p, kind)?;
    let h = histogram_of(&s, &c, &sc, secs).await?;
    let buckets: Vec<Value> = h
        .buckets
        .iter()
        .enumerate()
        .map(|(i, n)| json!({ "time": h.time(i), "count": n }))
        .collect();
    Ok(Json(json!({
        "kind": kind.as_str(),
        "interval": name,
        "from": sc.q.from,
        "to": sc.q.to,
        "total": h.total(),
        "buckets": buckets,
    })))
}

/// `GET /api/v1/stats/top`: the most frequent values of a field, distinct values and the
/// count of the rest.
#[utoipa::path(get, path = "/api/v1/stats/top",
    params(("kind" = Option<String>, Query, description = "events (default), alerts or incidents"),
           ("field" = String, Query, description = "source.ip, destination.ip, host.name, user.name, rule, tactic, region, severity or source"),
           ("limit" = Option<usize>, Query, description = "values answered (10; at most 100)"),
           ("from" = Option<String>, Query, description = "RFC 3339 (default: 24 hours before to)"),
           ("to" = Option<String>, Query, description = "RFC 3339 (default: now)"),
           ("region" = Option<String>, Query, description = "GB/T 2260 code within the caller's subtree"),
           ("severity" = Option<String>, Query, description = "at least this severe (alerts, incidents)"),
           ("rule_id" = Option<String>, Query, description = "alerts of this rule, incidents holding it"),
           ("source" = Option<String>, Query, description = "events of this source key"),
           ("filter" = Option<Vec<String>>, Query, description = "FIELD:VALUE, repeatable (events)"),
           ("q" = Option<String>, Query, description = "text in the raw event (events)")),
    responses((status = 200, description = "{kind, field, from, to, distinct, other, items: [{value, count}]}"),
              (status = 400, description = "invalid query")))]
pub async fn top(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(raw.as_deref(), &query::with(&COMMON, &["field", "limit"]))?;
    let kind = kind(&p)?;
    let field = p
        .one("field")?
        .ok_or_else(|| ApiError::invalid("field: required (source.ip, user.name, rule, ...)"))?
        .parse::<TopField>()
        .map_err(|e| ApiError::invalid(format!("field: {e}")))?;
    if !field.applies_to(kind) {
        return Err(ApiError::invalid(format!(
            "field: {} does not apply to {}",
            field.as_str(),
            kind.as_str()
        )));
    }
    let limit = match p.limit()? {
        0 => 10,
        n if n > MAX_TOP => {
            return Err(ApiError::invalid(format!(
                "limit: at most {MAX_TOP}, got {n}"
            )));
        }
        n => n,
    };
    let sc = scoped(&s, &c, &p, kind)?;
    let t = top_of(&s, &c, &sc, field, limit).await?;
    Ok(Json(json!({
        "kind": kind.as_str(),
        "field": field.as_str(),
        "from": sc.q.from,
        "to": sc.q.to,
        "distinct": t.distinct,
        "other": t.other,
        "items": items_json(&s, field, &t),
    })))
}

pub use overview::overview;

/// Counts by name, every name of `names` present.
fn by_name(names: &[&str], counts: HashMap<String, u64>) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = names.iter().map(|n| ((*n).to_owned(), 0)).collect();
    for (k, n) in counts {
        *out.entry(k).or_default() += n;
    }
    out
}
