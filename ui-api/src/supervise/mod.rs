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
use onewall_model::ErrorCode;
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
pub(crate) fn not_yet() -> ApiError {
    ApiError::new(ErrorCode::Unavailable, "not built yet")
}
