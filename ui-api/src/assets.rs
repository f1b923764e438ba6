//! Asset endpoints: the registry of systems and hosts (安全责任清单), scanner and baseline
//! findings and their lifecycle, seen-but-unregistered and silent hosts, and the roll-up of
//! children. The binary implements [`AssetsHub`] (its one asset book, its persistence, the
//! seen-host table, the federation's roll-ups) and adds it as an extension
//! ([`AssetsService`]); this module does HTTP, roles, limits, region and department scope.
//!
//! - `POST /api/v1/assets/import?name=&mode=merge|replace`: the body is a file (registry CSV
//!   or .xlsx, Nmap XML, Greenbone XML, findings CSV, XCCDF/ARF, lynis report), its format
//!   detected from the content; read only after the caller is authenticated. Registry rows
//!   outside the caller's regions (or department) are refused like bad rows.
//! - `GET /api/v1/assets/systems`, `GET|DELETE /api/v1/assets/systems/{id}`
//! - `GET /api/v1/assets/hosts`, `GET /api/v1/assets/hosts/{key}`
//! - `GET /api/v1/assets/findings`, `PATCH /api/v1/assets/findings/{id}`
//! - `GET /api/v1/assets/exposure`, `GET /api/v1/assets/summary`,
//!   `GET /api/v1/assets/export?format=csv|xlsx`, `GET /api/v1/assets/rollup`
//!
//! Scope: a caller sees systems of its region subtree, and with a department only that
//! department's systems, their hosts and findings; hosts no system claims (and unknown hosts)
//! count as the node's region and no department, so only callers without one see them.
//! Contacts are masked in the JSON answers by the answer masking, and in exports here.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, MutexGuard};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use onewall_assets::book::AssetBook;
use onewall_assets::error::Refusal;
use onewall_assets::finding::{Finding, StatusChange};
use onewall_assets::registry::{Registry, RegistryMode, System};
use onewall_model::asset::{AssetRollup, ExposureReport};
use onewall_model::{RegionCode, Timestamp};
use serde::Serialize;

use crate::access::{AuditDetail, Caller};
use crate::edge::read_body;
use crate::params::Params;
use crate::{ApiError, ApiState, ErrorCode};

pub mod list;

pub use list::{exposure, findings, get_host, get_system, hosts, summary, systems};

/// A boxed future answering an [`ApiError`] on failure.
pub type AssetsFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send + 'a>>;

/// The largest file `POST /api/v1/assets/import` takes.
pub const MAX_IMPORT_BYTES: usize = 64 << 20;

/// The largest body of `PATCH /api/v1/assets/findings/{id}`.
pub const MAX_CHANGE_BYTES: usize = 16 << 10;

/// Items a page holds at most (and by default).
pub const MAX_PAGE: usize = 1_000;

/// What a caller may see and change: its region subtree (empty: every region) and its
/// department.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The regions (empty: all).
    pub regions: Vec<RegionCode>,
    /// The department (none: all).
    pub department: Option<String>,
}

impl Scope {
    /// The scope of `c` (optionally narrowed to `requested`).
    pub fn of(s: &ApiState, c: &Caller, requested: Option<RegionCode>) -> Result<Scope, ApiError> {
        Ok(Scope {
            regions: c.regions(&s.regions, requested)?,
            department: c.grant.department.clone(),
        })
    }

    /// Does the scope hold a region?
    pub fn holds_region(&self, region: RegionCode) -> bool {
        self.regions.is_empty() || self.regions.contains(&region)
    }

    /// Does the scope hold a system of `region` used by `department`?
    pub fn holds(&self, region: RegionCode, department: &str) -> bool {
        self.holds_region(region) && self.department.as_deref().is_none_or(|d| d == department)
    }

    /// Does the scope hold a system?
    pub fn holds_system(&self, s: &System) -> bool {
        self.holds(s.region, &s.department)
    }

    /// Does the scope hold a host (through its system; else the node's region and no
    /// department)?
    pub fn holds_host(&self, book: &AssetBook, key: &str, node: RegionCode) -> bool {
        match book.system_of(key) {
            Some(s) => self.holds_system(s),
            None => self.department.is_none() && self.holds_region(node),
        }
    }
}

/// What an import asks.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The file's name, when given (breaks ties between formats only).
    pub name: Option<String>,
    pub mode: RegistryMode,
    pub bytes: Bytes,
    /// Registry rows outside it are refused.
    pub scope: Scope,
    /// Who imports (for the findings' history and the log).
    pub by: String,
}

/// What a registry import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegistryCounts {
    /// Data rows read.
    pub rows: usize,
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub removed: usize,
}

/// What a scan import did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanCounts {
    pub scanner: String,
    pub at: Timestamp,
    pub hosts: usize,
    pub ports: usize,
    pub new: usize,
    pub again: usize,
    pub reopened: usize,
    pub fixed: usize,
}

/// The answer of `POST /api/v1/assets/import`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportAnswer {
    /// The format detected (`registry_xlsx`, `nmap`, ...).
    pub format: String,
    /// `registry` or `scan`.
    pub kind: &'static str,
    pub registry: Option<RegistryCounts>,
    pub scan: Option<ScanCounts>,
    /// Rows refused (registry imports load the rest).
    pub refused: Vec<Refusal>,
}

/// A child's latest roll-up as the parent keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChildRollupView {
    pub node: String,
    pub via: RegionCode,
    pub received: Timestamp,
    pub rollup: AssetRollup,
}

/// What the node's assets do for the API.
pub trait AssetsHub: Send + Sync + std::fmt::Debug {
    /// The node's region (hosts no system claims count as its).
    fn node_region(&self) -> RegionCode;
    /// The book, locked (never held across an `.await`).
    fn book(&self) -> MutexGuard<'_, AssetBook>;
    /// Unknown and silent hosts at `now` (all regions; the handler scopes them).
    fn exposure(&self, now: Timestamp) -> ExposureReport;
    /// Import a file: detect, parse, apply, persist. 400 naming the row or element when a
    /// scanner file is broken (nothing applied).
    fn import(&self, req: ImportRequest) -> AssetsFuture<'_, ImportAnswer>;
    /// Change a finding's status (persisted); 409 with the reason when not allowed.
    fn set_status(&self, id: String, change: StatusChange, by: String)
    -> AssetsFuture<'_, Finding>;
    /// Remove a system (persisted); false when there is none.
    fn delete_system(&self, id: String, by: String) -> AssetsFuture<'_, bool>;
    /// This node's roll-up now, and the children's latest (all rows; the handler scopes).
    fn rollup(&self) -> AssetsFuture<'_, (AssetRollup, Vec<ChildRollupView>)>;
}

/// The hub as a router extension.
#[derive(Debug, Clone)]
pub struct AssetsService {
    pub hub: Arc<dyn AssetsHub>,
}

pub(crate) fn service(s: Option<Extension<AssetsService>>) -> Result<Arc<dyn AssetsHub>, ApiError> {
    s.map(|Extension(s)| s.hub).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unavailable,
            "assets are not kept on this node ([assets] enabled = false)",
        )
    })
}

/// The error of an asset operation, as the API answers it.
pub fn api_error(e: &onewall_assets::AssetError) -> ApiError {
    ApiError::new(e.code(), e.to_string())
}

/// Run `f` with the book on the blocking pool (listing 100 k hosts is not for the runtime).
pub(crate) async fn with_book<T: Send + 'static>(
    hub: Arc<dyn AssetsHub>,
    f: impl FnOnce(&dyn AssetsHub, &AssetBook) -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || {
        let book = hub.book();
        f(&*hub, &book)
    })
    .await
    .map_err(|e| ApiError::new(ErrorCode::Internal, format!("asset listing task: {e}")))
}

/// `POST /api/v1/assets/import`.
#[utoipa::path(post, path = "/api/v1/assets/import",
    params(("name" = Option<String>, Query, description = "the file's name (breaks ties between formats)"),
           ("mode" = Option<String>, Query, description = "merge (default) or replace: a registry file that is the whole registry")),
    request_body(content = String, content_type = "application/octet-stream", description = "the file: registry CSV (UTF-8 or GBK) or .xlsx, Nmap XML, Greenbone XML, findings CSV, XCCDF/ARF results, lynis report"),
    responses((status = 200, description = "format, kind, registry or scan counts, refused rows (row and column, reason)"),
              (status = 400, description = "an unknown format, or a broken scanner file (the row or element named); nothing imported"),
              (status = 403, description = "a role that may not import"),
              (status = 413, description = "larger than 64 MiB")))]
pub async fn import(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<AssetsService>>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let hub = service(svc)?;
    let p = Params::parse(raw.as_deref(), &["name", "mode"])?;
    let mode = match p.one("mode")? {
        None | Some("merge") => RegistryMode::Merge,
        Some("replace") => RegistryMode::Replace,
        Some(o) => {
            return Err(ApiError::invalid(format!(
                "mode: {o:?} is not merge or replace"
            )));
        }
    };
    let name = p.one("name")?.map(str::to_owned);
    let scope = Scope::of(&s, &c, None)?;
    let bytes = read_body(body, MAX_IMPORT_BYTES, "import").await?;
    if bytes.is_empty() {
        return Err(ApiError::invalid("import body: empty; send the file"));
    }
    let answer = hub
        .import(ImportRequest {
            name,
            mode,
            bytes,
            scope,
            by: c.name().to_owned(),
        })
        .await?;
    let detail = format!(
        "{} {}: refused {}",
        answer.kind,
        answer.format,
        answer.refused.len()
    );
    let mut resp = Json(answer).into_response();
    resp.extensions_mut().insert(AuditDetail(detail));
    Ok(resp)
}

/// `PATCH /api/v1/assets/findings/{id}`.
#[utoipa::path(patch, path = "/api/v1/assets/findings/{id}",
    params(("id" = String, Path, description = "the finding's id")),
    request_body(content = String, content_type = "application/json", description = "{\"status\":\"fixing\",\"note\":…}, {\"status\":\"risk_accepted\",\"reason\":…,\"until\":RFC 3339}, {\"status\":\"open\",\"note\":…}"),
    responses((status = 200, description = "the finding"),
              (status = 400, description = "not a status change"),
              (status = 404, description = "no such finding in the caller's scope"),
              (status = 409, description = "the change is not allowed now (the reason)")))]
pub async fn set_status(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<AssetsService>>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let hub = service(svc)?;
    let scope = Scope::of(&s, &c, None)?;
    let bytes = read_body(body, MAX_CHANGE_BYTES, "status change").await?;
    let change: StatusChange = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::invalid(format!("status change body: {e}")))?;
    let visible = {
        let book = hub.book();
        book.finding(&id)
            .is_some_and(|f| scope.holds_host(&book, &f.host, hub.node_region()))
    };
    if !visible {
        return Err(ApiError::not_found(format!("finding {id} not found")));
    }
    let f = hub
        .set_status(id.clone(), change, c.name().to_owned())
        .await?;
    let detail = format!("finding {id} {}", f.status.as_str());
    let mut resp = Json(f).into_response();
    resp.extensions_mut().insert(AuditDetail(detail));
    Ok(resp)
}

/// `DELETE /api/v1/assets/systems/{id}`.
#[utoipa::path(delete, path = "/api/v1/assets/systems/{id}",
    params(("id" = String, Path, description = "the system's id")),
    responses((status = 204, description = "removed"),
              (status = 403, description = "not an admin"),
              (status = 404, description = "no such system in the caller's scope")))]
pub async fn delete_system(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<AssetsService>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let hub = service(svc)?;
    let scope = Scope::of(&s, &c, None)?;
    let visible = hub
        .book()
        .registry()
        .get(&id)
        .is_some_and(|sys| scope.holds_system(sys));
    if visible && hub.delete_system(id.clone(), c.name().to_owned()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("system {id} not found")))
    }
}

/// `GET /api/v1/assets/export`.
#[utoipa::path(get, path = "/api/v1/assets/export",
    params(("format" = Option<String>, Query, description = "csv (default; UTF-8 with BOM) or xlsx")),
    responses((status = 200, description = "the caller's part of the registry, in the columns the import reads"),
              (status = 400, description = "an unknown format")))]
pub async fn export(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<AssetsService>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let hub = service(svc)?;
    let p = Params::parse(raw.as_deref(), &["format"])?;
    let xlsx = match p.one("format")? {
        None | Some("csv") => false,
        Some("xlsx") => true,
        Some(o) => {
            return Err(ApiError::invalid(format!(
                "format: {o:?} is not csv or xlsx"
            )));
        }
    };
    let scope = Scope::of(&s, &c, None)?;
    let mask = c.masking(&s.access.mask).cloned();
    let bytes = with_book(hub, move |_, book| {
        let systems = book
            .registry()
            .systems()
            .filter(|sys| scope.holds_system(sys))
            .map(|sys| {
                let mut sys = sys.clone();
                if let Some(m) = &mask {
                    for contact in &mut sys.contacts {
                        *contact = m.mask_text(contact).into_owned();
                    }
                }
                sys
            });
        let registry = Registry::new(systems);
        if xlsx {
            onewall_assets::export::xlsx(&registry)
        } else {
            onewall_assets::export::csv(&registry)
        }
    })
    .await?;
    let (ct, file) = if xlsx {
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "assets.xlsx",
        )
    } else {
        ("text/csv; charset=utf-8", "assets.csv")
    };
    Ok((
        [
            (header::CONTENT_TYPE, ct.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /api/v1/assets/rollup`.
#[utoipa::path(get, path = "/api/v1/assets/rollup",
    responses((status = 200, description = "own: this node's roll-up; children: each child's latest, rows in the caller's regions")))]
pub async fn rollup(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<AssetsService>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let hub = service(svc)?;
    let scope = Scope::of(&s, &c, None)?;
    let (mut own, mut children) = hub.rollup().await?;
    let keep = |r: &onewall_model::asset::RollupRow| {
        scope.holds_region(r.region)
            && (scope.department.is_none()
                || scope.department.as_deref() == Some(r.department.as_str()))
    };
    own.rows.retain(keep);
    for child in &mut children {
        child.rollup.rows.retain(keep);
    }
    children.retain(|ch| !ch.rollup.rows.is_empty() || scope.holds_region(ch.via));
    Ok(Json(
        serde_json::json!({ "own": own, "children": children }),
    ))
}
