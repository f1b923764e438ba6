//! Periodic reports (周报, 月报, 年度安全评价报告): made on demand as JSON, HTML or .docx, and
//! the list of those made on schedule.
//!
//! Scope: the report covers a region of the caller's subtree (default: the node's region when
//! the caller sees it, else the caller's own) and, for a department caller, only its
//! department; a department caller asking for another department is refused.

use axum::Json;
use axum::extract::{Extension, RawQuery, State};
use axum::response::{IntoResponse, Response};
use onewall_model::{ErrorCode, RegionCode, Timestamp};
use onewall_supervise::report::{PeriodicReport, ReportKind, ReportScope, Span};
use serde_json::json;

use super::{SuperviseService, document, service};
use crate::access::Caller;
use crate::params::Params;
use crate::{ApiError, ApiState};

/// The most kept reports one list answers.
pub const KEPT_LIMIT: usize = 200;

/// The file name (without extension) a report downloads as.
pub fn file_name(r: &PeriodicReport) -> String {
    format!(
        "{}-{}-{}",
        r.span.kind.as_str(),
        r.scope.region,
        r.span.label
    )
}

/// The region and department a caller's report covers: the requested ones, checked.
fn caller_scope(
    s: &ApiState,
    svc: &SuperviseService,
    c: &Caller,
    region: Option<RegionCode>,
    department: Option<&str>,
) -> Result<ReportScope, ApiError> {
    // Checks the region lies in the caller's subtree (else the answer for an unknown code).
    c.regions(&s.regions, region)?;
    let node = svc.sup.node().region;
    let region = region.unwrap_or(if c.sees(&s.regions, node) {
        node
    } else {
        c.grant.region
    });
    let department = match (&c.grant.department, department) {
        (Some(own), Some(asked)) if own != asked => {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("department: a token of {own} may read only its own department's reports"),
            ));
        }
        (Some(own), _) => Some(own.clone()),
        (None, asked) => asked.filter(|d| !d.trim().is_empty()).map(str::to_owned),
    };
    Ok(ReportScope::of(&s.regions, region, department))
}

/// `GET /api/v1/reports/periodic`.
#[utoipa::path(get, path = "/api/v1/reports/periodic",
    params(("kind" = Option<String>, Query, description = "weekly (default), monthly or annual"),
           ("label" = Option<String>, Query, description = "2026-W49, 2026-12 or 2026; default: the last complete span"),
           ("region" = Option<String>, Query, description = "a region of the caller's subtree; default: the node's region"),
           ("department" = Option<String>, Query, description = "one department's figures (a department's token: its own)"),
           ("format" = Option<String>, Query, description = "json (default), html or docx")),
    responses((status = 200, description = "the report: PeriodicReport JSON, the HTML page, or the .docx (Content-Disposition: attachment)"),
              (status = 400, description = "an unknown kind, format or region, or a label that is not the kind's"),
              (status = 403, description = "another department than the caller's")))]
pub async fn periodic(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let p = Params::parse(
        raw.as_deref(),
        &["kind", "label", "region", "department", "format"],
    )?;
    let kind = match p.one("kind")? {
        None => ReportKind::Weekly,
        Some(k) => ReportKind::parse(k).ok_or_else(|| {
            ApiError::invalid(format!("kind: {k:?} is not weekly, monthly or annual"))
        })?,
    };
    let format = p.one("format")?;
    if let Some(f) = format.filter(|f| !["json", "html", "docx"].contains(f)) {
        return Err(ApiError::invalid(format!(
            "format: {f:?} is not json, html or docx"
        )));
    }
    let offset = svc.sup.settings().offset;
    let span = match p.one("label")? {
        Some(label) => Span::parse(kind, label, offset)?,
        None => Span::last_complete(kind, Timestamp::now(), offset),
    };
    let region = p.parsed::<RegionCode>("region")?;
    let scope = caller_scope(&s, &svc, &c, region, p.one("department")?)?;
    let report = svc
        .sup
        .periodic_report(&span, &scope, &*svc.sources)
        .await?;
    let json = serde_json::to_value(&report)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("the report: {e}")))?;
    document(format, json, || report.to_doc(), &file_name(&report))
}

/// `GET /api/v1/reports/periodic/kept`.
#[utoipa::path(get, path = "/api/v1/reports/periodic/kept",
    responses((status = 200, description = "{\"items\":[{\"kind\",\"label\",\"region\",\"department\",\"title\",\"generated\",\"path\"}]}: the reports made on schedule in the caller's scope, newest first")))]
pub async fn kept(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    Params::parse(raw.as_deref(), &[])?;
    let regions = c.regions(&s.regions, None)?;
    let reports = svc.sup.kept_reports(&regions, KEPT_LIMIT).await?;
    let items: Vec<serde_json::Value> = reports
        .iter()
        .filter(|r| regions.is_empty() || regions.contains(&r.scope.region))
        .filter(|r| {
            c.grant
                .department
                .as_deref()
                .is_none_or(|d| r.scope.department.as_deref() == Some(d))
        })
        .map(|r| {
            json!({
                "kind": r.span.kind,
                "label": r.span.label,
                "region": r.scope.region,
                "department": r.scope.department,
                "title": r.title(),
                "generated": r.generated,
                "path": download_path(r),
            })
        })
        .collect();
    Ok(Json(json!({"items": items})).into_response())
}

/// Where the API serves `r` as a .docx (path and query).
pub fn download_path(r: &PeriodicReport) -> String {
    let mut q = vec![
        ("kind", r.span.kind.as_str().to_owned()),
        ("label", r.span.label.clone()),
        ("region", r.scope.region.to_string()),
    ];
    if let Some(d) = &r.scope.department {
        q.push(("department", d.clone()));
    }
    q.push(("format", "docx".to_owned()));
    let query = serde_urlencoded::to_string(&q).unwrap_or_default();
    format!("/api/v1/reports/periodic?{query}")
}
