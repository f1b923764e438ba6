//! The asset listings: systems, hosts, findings, exposure and the overview's summary, each
//! under the caller's scope, paged by an offset cursor.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use onewall_assets::book::{HostFilter, HostView, SystemRef};
use onewall_assets::finding::FindingStatus;
use onewall_model::{Exposure, Severity, Timestamp};
use serde_json::{Value, json};

use super::{AssetsService, MAX_PAGE, Scope, service, with_book};
use crate::access::Caller;
use crate::params::Params;
use crate::{ApiError, ApiState};

/// `offset` and `limit` of a listing.
fn paging(p: &Params) -> Result<(usize, usize), ApiError> {
    let offset = match p.one("cursor")? {
        None => 0,
        Some(c) => c.parse::<usize>().map_err(|_| {
            ApiError::invalid(format!("cursor: {c:?} is not a cursor of this list"))
        })?,
    };
    let limit = match p.limit()? {
        0 => MAX_PAGE,
        n => n.min(MAX_PAGE),
    };
    Ok((offset, limit))
}

/// A page of `items` from `offset`.
fn page(items: Vec<Value>, offset: usize, limit: usize) -> Value {
    let total = items.len();
    let items: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    let next = (offset + items.len() < total).then(|| (offset + items.len()).to_string());
    json!({ "items": items, "next_cursor": next })
}

fn bool_param(p: &Params, name: &str) -> Result<Option<bool>, ApiError> {
    match p.one(name)? {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(o) => Err(ApiError::invalid(format!(
            "{name}: {o:?} is not true or false"
        ))),
    }
}

fn contains(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(needle)
}

/// Per system id: hosts, open findings and overdue ones, at `now`.
fn counts_by_system(
    book: &onewall_assets::AssetBook,
    node: onewall_model::RegionCode,
    now: Timestamp,
) -> HashMap<String, (usize, usize, usize)> {
    let mut by: HashMap<String, (usize, usize, usize)> = HashMap::new();
    for h in book.host_views(&HostFilter::default(), node, now) {
        if let Some(s) = &h.system {
            let e = by.entry(s.id.clone()).or_default();
            e.0 += 1;
            e.1 += h.open_findings.len();
            e.2 += h.overdue;
        }
    }
    by
}

/// `GET /api/v1/assets/systems`.
#[utoipa::path(get, path = "/api/v1/assets/systems",
    params(("q" = Option<String>, Query, description = "text in the name, department, 运维单位, filing number or tags"),
           ("region" = Option<String>, Query, description = "GB/T 2260 code within the caller's subtree"),
           ("department" = Option<String>, Query, description = "this department"),
           ("level" = Option<u8>, Query, description = "等保 level 1–5 (0: none filed)"),
           ("cii" = Option<bool>, Query, description = "CII systems only (or none)"),
           ("exposure" = Option<String>, Query, description = "internet or internal"),
           ("limit" = Option<usize>, Query, description = "at most this many (1000)"),
           ("cursor" = Option<String>, Query, description = "from next_cursor")),
    responses((status = 200, description = "a page of systems with host_count, open_findings, overdue"),
              (status = 400, description = "invalid query")))]
pub async fn systems(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<AssetsService>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let hub = service(svc)?;
    let known = [
        "q",
        "region",
        "department",
        "level",
        "cii",
        "exposure",
        "limit",
        "cursor",
    ];
    let p = Params::parse(raw.as_deref(), &known)?;
    let scope = Scope::of(&s, &c, p.region()?)?;
    let (offset, limit) = paging(&p)?;
    let q = p.one("q")?.map(str::to_lowercase);
    let department = p.one("department")?.map(str::to_owned);
    let level = p.parsed::<u8>("level")?;
    let cii = bool_param(&p, "cii")?;
    let exposure = match p.one("exposure")? {
        None => None,
        Some(e) => Some(Exposure::parse(e).ok_or_else(|| {
            ApiError::invalid(format!("exposure: {e:?} is not internet or internal"))
        })?),
    };
    let items = with_book(hub, move |hub, book| {
        let counts = counts_by_system(book, hub.node_region(), Timestamp::now());
        book.registry()
            .systems()
            .filter(|sys| scope.holds_system(sys))
            .filter(|sys| department.as_ref().is_none_or(|d| *d == sys.department))
            .filter(|sys| level.is_none_or(|l| sys.level.unwrap_or(0) == l))
            .filter(|sys| cii.is_none_or(|x| sys.cii == x))
            .filter(|sys| exposure.is_none_or(|x| sys.exposure == x))
            .filter(|sys| {
                q.as_deref().is_none_or(|q| {
                    contains(&sys.name, q)
                        || contains(&sys.department, q)
                        || contains(&sys.ops_unit, q)
                        || sys.filing.as_deref().is_some_and(|f| contains(f, q))
                        || sys.tags.iter().any(|t| contains(t, q))
                })
            })
            .map(|sys| {
                let (hosts, open, overdue) = counts.get(&sys.id).copied().unwrap_or_default();
                let mut v = crate::json_of(sys);
                v["host_count"] = json!(hosts);
                v["open_findings"] = json!(open);
                v["overdue"] = json!(overdue);
                v
            })
            .collect::<Vec<Value>>()
    })
    .await?;
    Ok(Json(page(items, offset, limit)))
}

/// `GET /api/v1/assets/systems/{id}`.
#[utoipa::path(get, path = "/api/v1/assets/systems/{id}",
    params(("id" = String, Path, description = "the system's id")),
    responses((status = 200, description = "the system with its hosts"),
              (status = 404, description = "no such system in the caller's scope")))]
pub async fn get_system(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<AssetsService>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let hub = service(svc)?;
    let scope = Scope::of(&s, &c, None)?;
    let wanted = id.clone();
    let found = with_book(hub, move |hub, book| {
        let sys = book
            .registry()
            .get(&wanted)
            .filter(|x| scope.holds_system(x))?;
        let hosts: Vec<HostView> = book
            .host_views(&HostFilter::default(), hub.node_region(), Timestamp::now())
            .into_iter()
            .filter(|h| h.system.as_ref().is_some_and(|r| r.id == sys.id))
            .collect();
        let mut v = crate::json_of(sys);
        v["hosts"] = crate::json_of(&hosts);
        Some(v)
    })
    .await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("system {id} not found")))
}

/// The host filter of the caller's scope.
fn host_filter(scope: &Scope) -> HostFilter {
    HostFilter {
        regions: (!scope.regions.is_empty()).then(|| scope.regions.clone()),
        departments: scope.department.clone().map(|d| vec![d]),
        text: None,
        vulnerable: false,
    }
}

/// `GET /api/v1/assets/hosts`.
#[utoipa::path(get, path = "/api/v1/assets/hosts",
    params(("q" = Option<String>, Query, description = "text in the address, names, system or a port's product"),
           ("system" = Option<String>, Query, description = "hosts of this system id"),
           ("region" = Option<String>, Query, description = "GB/T 2260 code within the caller's subtree"),
           ("department" = Option<String>, Query, description = "hosts of this department's systems"),
           ("vulnerable" = Option<bool>, Query, description = "only hosts with open findings"),
           ("limit" = Option<usize>, Query, description = "at most this many (1000)"),
           ("cursor" = Option<String>, Query, description = "from next_cursor")),
    responses((status = 200, description = "a page of hosts: system, open ports, open findings"),
              (status = 400, description = "invalid query")))]
pub async fn hosts(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<AssetsService>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let hub = service(svc)?;
    let known = [
        "q",
        "system",
        "region",
        "department",
        "vulnerable",
        "limit",
        "cursor",
    ];
    let p = Params::parse(raw.as_deref(), &known)?;
    let scope = Scope::of(&s, &c, p.region()?)?;
    let (offset, limit) = paging(&p)?;
    let mut filter = host_filter(&scope);
    filter.text = p.one("q")?.map(str::to_owned);
    filter.vulnerable = bool_param(&p, "vulnerable")?.unwrap_or(false);
    let system = p.one("system")?.map(str::to_owned);
    let department = p.one("department")?.map(str::to_owned);
    let items = with_book(hub, move |hub, book| {
        let node = hub.node_region();
        book.host_views(&filter, node, Timestamp::now())
            .into_iter()
            .filter(|h| {
                system
                    .as_ref()
                    .is_none_or(|id| h.system.as_ref().is_some_and(|r| r.id == *id))
            })
            .filter(|h| {
                department
                    .as_ref()
                    .is_none_or(|d| h.system.as_ref().is_some_and(|r| r.department == *d))
            })
            .map(|h| crate::json_of(&h))
            .collect::<Vec<Value>>()
    })
    .await?;
    Ok(Json(page(items, offset, limit)))
}

/// `GET /api/v1/assets/hosts/{key}`.
#[utoipa::path(get, path = "/api/v1/assets/hosts/{key}",
    params(("key" = String, Path, description = "the host's address, else its name")),
    responses((status = 200, description = "the host with every finding (any status)"),
              (status = 404, description = "no such host in the caller's scope")))]
pub async fn get_host(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<AssetsService>>,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let hub = service(svc)?;
    let scope = Scope::of(&s, &c, None)?;
    let wanted = key.clone();
    let found = with_book(hub, move |hub, book| {
        let node = hub.node_region();
        if !scope.holds_host(book, &wanted, node) {
            return None;
        }
        let view = book
            .host_views(&HostFilter::default(), node, Timestamp::now())
            .into_iter()
            .find(|h| h.key == wanted)?;
        let findings: Vec<_> = book.findings_of(&wanted).collect();
        let mut v = crate::json_of(&view);
        v["findings"] = crate::json_of(&findings);
        Some(v)
    })
    .await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("host {key} not found")))
}

/// `GET /api/v1/assets/findings`.
#[utoipa::path(get, path = "/api/v1/assets/findings",
    params(("status" = Option<String>, Query, description = "open, fixing, fixed, risk_accepted"),
           ("severity" = Option<String>, Query, description = "this severity"),
           ("host" = Option<String>, Query, description = "the host's key"),
           ("cve" = Option<String>, Query, description = "a CVE id"),
           ("system" = Option<String>, Query, description = "findings on this system's hosts"),
           ("overdue" = Option<bool>, Query, description = "only findings past their deadline"),
           ("limit" = Option<usize>, Query, description = "at most this many (1000)"),
           ("cursor" = Option<String>, Query, description = "from next_cursor")),
    responses((status = 200, description = "a page of findings with overdue and system"),
              (status = 400, description = "invalid query")))]
pub async fn findings(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<AssetsService>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let hub = service(svc)?;
    let known = [
        "status", "severity", "host", "cve", "system", "overdue", "limit", "cursor",
    ];
    let p = Params::parse(raw.as_deref(), &known)?;
    let scope = Scope::of(&s, &c, None)?;
    let (offset, limit) = paging(&p)?;
    let status = match p.one("status")? {
        None => None,
        Some(x) => Some(FindingStatus::parse(x).ok_or_else(|| {
            ApiError::invalid(format!(
                "status: {x:?} is not open, fixing, fixed or risk_accepted"
            ))
        })?),
    };
    let severity = p.parsed::<Severity>("severity")?;
    let host = p.one("host")?.map(str::to_owned);
    let cve = p.one("cve")?.map(str::to_ascii_uppercase);
    let system = p.one("system")?.map(str::to_owned);
    let overdue = bool_param(&p, "overdue")?;
    let items = with_book(hub, move |hub, book| {
        let now = Timestamp::now();
        let node = hub.node_region();
        book.findings()
            .filter(|f| status.is_none_or(|s| f.status == s))
            .filter(|f| severity.is_none_or(|s| f.severity == s))
            .filter(|f| host.as_ref().is_none_or(|h| f.host == *h))
            .filter(|f| cve.as_ref().is_none_or(|c| f.cves.contains(c)))
            .filter(|f| overdue.is_none_or(|o| f.is_overdue(now) == o))
            .filter_map(|f| {
                let sys = book.system_of(&f.host);
                let held = match sys {
                    Some(x) => scope.holds_system(x),
                    None => scope.department.is_none() && scope.holds_region(node),
                };
                let wanted = system
                    .as_ref()
                    .is_none_or(|id| sys.is_some_and(|x| x.id == *id));
                (held && wanted).then(|| {
                    let mut v = crate::json_of(f);
                    v["overdue"] = json!(f.is_overdue(now));
                    v["system"] = crate::json_of(&sys.map(SystemRef::from));
                    v
                })
            })
            .collect::<Vec<Value>>()
    })
    .await?;
    Ok(Json(page(items, offset, limit)))
}

/// The exposure report cut to `scope`: unknown hosts only for callers without a
/// department, silent hosts of the scope's systems.
fn scoped_exposure(
    mut r: onewall_model::asset::ExposureReport,
    scope: &Scope,
    book: &onewall_assets::AssetBook,
) -> onewall_model::asset::ExposureReport {
    if scope.department.is_some() {
        r.unknown.clear();
    } else {
        r.unknown.retain(|h| scope.holds_region(h.region));
    }
    r.silent.retain(|h| match book.system_of(&h.address) {
        Some(sys) => scope.holds_system(sys),
        None => scope.department.is_none() && scope.holds_region(h.region),
    });
    r
}

/// `GET /api/v1/assets/exposure`.
#[utoipa::path(get, path = "/api/v1/assets/exposure",
    responses((status = 200, description = "unknown hosts (seen, not registered) and silent hosts (registered, quiet), in the caller's scope")))]
pub async fn exposure(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<AssetsService>>,
) -> Result<Json<Value>, ApiError> {
    let hub = service(svc)?;
    let scope = Scope::of(&s, &c, None)?;
    let r = tokio::task::spawn_blocking(move || {
        let r = hub.exposure(Timestamp::now());
        let book = hub.book();
        scoped_exposure(r, &scope, &book)
    })
    .await
    .map_err(|e| ApiError::new(crate::ErrorCode::Internal, format!("exposure task: {e}")))?;
    Ok(Json(crate::json_of(&r)))
}

/// `GET /api/v1/assets/summary`.
#[utoipa::path(get, path = "/api/v1/assets/summary",
    responses((status = 200, description = "systems, by_level (none, 1–5), cii, internet, hosts, open_findings (by severity, informational … critical), overdue, unknown, silent; in the caller's scope")))]
pub async fn summary(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<AssetsService>>,
) -> Result<Json<Value>, ApiError> {
    let hub = service(svc)?;
    let scope = Scope::of(&s, &c, None)?;
    let v = tokio::task::spawn_blocking(move || {
        let now = Timestamp::now();
        let exposure = hub.exposure(now);
        let book = hub.book();
        let node = hub.node_region();
        let exposure = scoped_exposure(exposure, &scope, &book);
        let mut by_level = [0u64; 6];
        let (mut systems, mut cii, mut internet) = (0u64, 0u64, 0u64);
        for sys in book.registry().systems().filter(|x| scope.holds_system(x)) {
            systems += 1;
            by_level[usize::from(sys.level.unwrap_or(0).min(5))] += 1;
            cii += u64::from(sys.cii);
            internet += u64::from(sys.exposure == Exposure::Internet);
        }
        let (mut hosts, mut overdue) = (0u64, 0u64);
        let mut open = [0u64; 5];
        for h in book.host_views(&host_filter(&scope), node, now) {
            hosts += 1;
            overdue += h.overdue as u64;
            for f in &h.open_findings {
                let i = Severity::ALL
                    .iter()
                    .position(|s| *s == f.severity)
                    .unwrap_or(0);
                open[i] += 1;
            }
        }
        json!({
            "systems": systems, "by_level": by_level, "cii": cii, "internet": internet,
            "hosts": hosts, "open_findings": open, "overdue": overdue,
            "unknown": exposure.unknown.len(), "silent": exposure.silent.len(),
        })
    })
    .await
    .map_err(|e| ApiError::new(crate::ErrorCode::Internal, format!("summary task: {e}")))?;
    Ok(Json(v))
}
