//! Supervision endpoints (监管): bulletins (安全通报) and their steps, 重保 periods, duty
//! shifts and handovers, periodic reports, drills. The binary opens the node's
//! [`Supervision`] and adds it as an extension ([`SuperviseService`], with what reports need
//! from the node); this module does HTTP, roles, limits, region and department scope, and
//! leaves the lifecycle to the `supervise` crate.
//!
//! - bulletins ([`bulletins`]): `POST|GET /api/v1/bulletins`, `GET /api/v1/bulletins/stats`,
//!   `GET /api/v1/bulletins/{id}`, `POST /api/v1/bulletins/{id}/{sign,answer,rectify,review}`,
//!   `GET /api/v1/bulletins/{id}/attachments/{sha256}`
//! - periods ([`periods`]): `POST|GET /api/v1/periods`, `GET /api/v1/periods/{id}`,
//!   `POST /api/v1/periods/{id}/cancel`, `POST|GET /api/v1/periods/{id}/lessons`,
//!   `GET /api/v1/periods/{id}/slots`, `GET /api/v1/periods/{id}/review`
//! - duty ([`duty`]): `POST|GET /api/v1/duty/shifts`, `DELETE /api/v1/duty/shifts/{id}`,
//!   `GET /api/v1/duty/now`, `POST|GET /api/v1/duty/handovers`,
//!   `POST /api/v1/duty/handovers/{id}/sign`
//! - reports ([`reports`]): `GET /api/v1/reports/periodic`, `GET /api/v1/reports/periodic/kept`
//! - drills ([`drills`]): `POST|GET /api/v1/drills`, `GET /api/v1/drills/{id}`,
//!   `POST /api/v1/drills/{id}/start`, `GET /api/v1/drills/{id}/report`

use std::sync::Arc;

use axum::extract::Extension;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use onewall_model::supervise::Recipient;
use onewall_model::{ErrorCode, RegionCode, RegionTree};
use onewall_supervise::doc::Doc;
use onewall_supervise::report::ReportSources;
use onewall_supervise::{Actor, SuperviseError, Supervision};

use crate::ApiError;
use crate::access::Caller;

pub mod bulletins;
pub mod drills;
pub mod duty;
pub mod periods;
pub mod reports;

/// The API's extension serving supervision.
#[derive(Clone)]
pub struct SuperviseService {
    pub sup: Arc<Supervision>,
    /// What periodic reports need from the node (daily reports received, `[sla]`, assets,
    /// sources).
    pub sources: Arc<dyn ReportSources>,
}

impl std::fmt::Debug for SuperviseService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SuperviseService").finish_non_exhaustive()
    }
}

/// The service, or 404 naming why when the node keeps no supervision.
pub fn service(svc: Option<Extension<SuperviseService>>) -> Result<SuperviseService, ApiError> {
    svc.map(|Extension(s)| s).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            "supervision is off on this node ([supervise] enabled = false)",
        )
    })
}

/// The actor a caller acts as.
pub fn actor(c: &Caller) -> Actor {
    Actor {
        name: c.name().to_owned(),
        role: c.grant.role.as_str().to_owned(),
        scope: c.grant.region,
        department: c.grant.department.clone(),
        client: String::new(),
    }
}

impl From<SuperviseError> for ApiError {
    fn from(e: SuperviseError) -> Self {
        let code = match &e {
            SuperviseError::Invalid(_) => ErrorCode::InvalidArgument,
            SuperviseError::Forbidden(_) => ErrorCode::Forbidden,
            SuperviseError::NotFound(_) => ErrorCode::NotFound,
            SuperviseError::Conflict(_) => ErrorCode::Conflict,
            SuperviseError::TooLarge(_) => ErrorCode::PayloadTooLarge,
            SuperviseError::Internal(_) => ErrorCode::Internal,
        };
        ApiError::new(code, e.to_string())
    }
}

/// What the contract's stubs answer until their helper fills them in.
#[allow(dead_code)]
pub(crate) fn not_yet() -> ApiError {
    ApiError::new(ErrorCode::Unavailable, "not built yet")
}

/// What a caller may see of supervision: its region subtree (empty: every region) and, for a
/// department caller, only that department's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupScope {
    /// The regions (empty: all).
    pub regions: Vec<RegionCode>,
    /// The department (none: every department and the regions' own records).
    pub department: Option<String>,
    /// The caller's root region.
    pub root: RegionCode,
}

impl SupScope {
    /// The scope of `c` (narrowed to `requested` when given, which must lie in its subtree).
    pub fn of(
        tree: &RegionTree,
        c: &Caller,
        requested: Option<RegionCode>,
    ) -> Result<SupScope, ApiError> {
        Ok(SupScope {
            regions: c.regions(tree, requested)?,
            department: c.grant.department.clone(),
            root: c.grant.region,
        })
    }

    /// Does the scope hold `region`?
    pub fn holds_region(&self, region: RegionCode) -> bool {
        self.regions.is_empty() || self.regions.contains(&region)
    }

    /// Does the scope hold a recipient's copy (its region, and its department for a
    /// department caller)?
    pub fn holds(&self, r: &Recipient) -> bool {
        self.holds_region(r.region)
            && self
                .department
                .as_deref()
                .is_none_or(|d| r.department.as_deref() == Some(d))
    }

    /// Does a record about `regions` concern the caller: one of them in its subtree, or its
    /// own region inside one of them (a city sees the province's period covering it)?
    pub fn touches(&self, tree: &RegionTree, regions: &[RegionCode]) -> bool {
        regions
            .iter()
            .any(|r| self.holds_region(*r) || tree.is_within(self.root, *r))
    }
}

/// A report answered as `format` (`json`: `json` itself, `html`, `docx`), named `file`
/// (without extension) when downloaded.
pub(crate) fn document(
    format: Option<&str>,
    json: serde_json::Value,
    doc: impl FnOnce() -> Doc,
    file: &str,
) -> Result<Response, ApiError> {
    match format.unwrap_or("json") {
        "json" => Ok(axum::Json(json).into_response()),
        "html" => Ok((
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            onewall_supervise::doc::html(&doc()),
        )
            .into_response()),
        "docx" => {
            let bytes = onewall_supervise::doc::docx(&doc())?;
            Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                            .to_owned(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{file}.docx\""),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
        other => Err(ApiError::invalid(format!(
            "format: {other:?} is not json, html or docx"
        ))),
    }
}

/// A JSON body, or a 400 naming what in it is wrong.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::invalid(format!("{what} body: {e}")))
}
