//! Threat intelligence endpoints. The binary implements [`IntelHub`] (its feeds, the set of
//! indicators in use, the local indicators, the sightings and the receipts) and adds it to
//! the router as an extension ([`IntelService`]); this module does HTTP, roles, limits and
//! region scoping.
//!
//! - `POST /api/v1/intel/bundles` (admin): the body is a STIX 2.1 bundle (read only after the
//!   caller is authenticated; 413 past `[intel] bundle_max_mib`, 400 with the reason when it
//!   is not a bundle: the indicators in use are kept). Answers the import receipt: `id`,
//!   indicators `read`, `new`, `rejected` (each with its reason) and `retro`, the link to the
//!   retro-hunt's receipt that follows under the same id.
//! - `GET /api/v1/intel/receipts/{id}`: that receipt, with the retro-hunt's part once it ran.
//! - `GET /api/v1/intel/indicators`: a page of the indicators in use; `kind`, `feed`, `tlp`,
//!   `value` (exact) or `prefix`, `expired=true` to include expired ones, `limit`, `cursor`.
//! - `POST /api/v1/intel/indicators` (analyst, responder, admin): a local indicator
//!   (`value`, `kind`, `reason`, `expires`, `confidence`, `tlp`, `severity`, `description`);
//!   its author is the caller. `DELETE /api/v1/intel/indicators/{id}` removes one.
//! - `GET /api/v1/intel/feeds`: each feed's status (last pull, last success, indicators, the
//!   last error and when).
//! - `GET /api/v1/intel/sightings`: per indicator and region, how often it was seen (alerts
//!   and folded sightings), first and last; only the caller's regions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onewall_model::{IndicatorKind, RegionCode, Severity, Timestamp, Tlp};
use serde::{Deserialize, Serialize};

use crate::access::{AuditDetail, Caller};
use crate::edge::read_body;
use crate::params::Params;
use crate::{ApiError, ApiState, ErrorCode};

/// A boxed future answering an [`ApiError`] on failure.
pub type IntelFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send + 'a>>;

/// Indicators a page holds at most (and by default).
pub const MAX_PAGE: usize = 1_000;

/// The largest body of a local indicator.
pub const MAX_INDICATOR_BYTES: usize = 64 << 10;

/// What `GET /api/v1/intel/indicators` asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndicatorQuery {
    pub kind: Option<IndicatorKind>,
    pub feed: Option<String>,
    pub tlp: Option<Tlp>,
    /// The value exactly (normalised as the kind normalises it).
    pub value: Option<String>,
    /// Values starting with this.
    pub prefix: Option<String>,
    /// Include indicators past their lifetime.
    pub expired: bool,
    /// Skip this many (the cursor).
    pub offset: usize,
    pub limit: usize,
}

/// A local indicator, as posted.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIndicator {
    pub value: String,
    /// `ip`, `cidr`, `domain`, `domain-tree`, `url`, `md5`, `sha1`, `sha256`, `sm3`, `email`.
    #[schema(value_type = String)]
    pub kind: IndicatorKind,
    /// Why it is added (an incident, a report ...).
    pub reason: String,
    /// RFC 3339; after it the indicator no longer matches. Absent: it matches until deleted.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub expires: Option<Timestamp>,
    #[serde(default)]
    pub confidence: Option<u8>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub tlp: Option<Tlp>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub description: Option<String>,
}

/// How often one indicator was seen in one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sighting {
    pub value: String,
    #[serde(rename = "type")]
    pub kind: IndicatorKind,
    pub feed: String,
    pub region: RegionCode,
    /// Events that held it (alerts raised and sightings folded into them).
    pub count: u64,
    /// Of those, how many were folded into an earlier alert.
    pub folded: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

/// What the node's threat intelligence does for the API.
pub trait IntelHub: Send + Sync + std::fmt::Debug {
    /// Import a STIX 2.1 bundle (the body as sent) by `by`: the receipt (JSON object with an
    /// `id`), or 400 with the reason when it is not a bundle (nothing changes then).
    fn import_bundle(&self, body: Bytes, by: String) -> IntelFuture<'_, serde_json::Value>;
    /// An import's receipt (with its retro-hunt's part once it ran).
    fn receipt(&self, id: String) -> IntelFuture<'_, Option<serde_json::Value>>;
    /// A page of indicators: `{"items": [...], "next_cursor": ...}`.
    fn indicators(&self, q: IndicatorQuery) -> IntelFuture<'_, serde_json::Value>;
    /// Add a local indicator by `author`; answers it (with its `id`).
    fn add_local(&self, new: NewIndicator, author: String) -> IntelFuture<'_, serde_json::Value>;
    /// Remove the local indicator `id`; false when there is none.
    fn delete_local(&self, id: String, by: String) -> IntelFuture<'_, bool>;
    /// Each feed's status.
    fn feeds(&self) -> IntelFuture<'_, Vec<serde_json::Value>>;
    /// Every sighting kept (the handler keeps the caller's regions).
    fn sightings(&self) -> IntelFuture<'_, Vec<Sighting>>;
}

/// The hub and the bundle size limit, as a router extension.
#[derive(Debug, Clone)]
pub struct IntelService {
    pub hub: Arc<dyn IntelHub>,
    /// The largest bundle taken, in bytes.
    pub max_bundle_bytes: usize,
}

fn service(s: Option<Extension<IntelService>>) -> Result<IntelService, ApiError> {
    s.map(|Extension(s)| s).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unavailable,
            "threat intelligence is not running on this node",
        )
    })
}

/// `POST /api/v1/intel/bundles`.
#[utoipa::path(post, path = "/api/v1/intel/bundles",
    request_body(content = String, content_type = "application/json", description = "a STIX 2.1 bundle"),
    responses((status = 200, description = "the import receipt: id, read, new, rejected (with reasons), retro (the retro-hunt receipt's link)"),
              (status = 400, description = "not a STIX 2.1 bundle (the reason); nothing imported"),
              (status = 403, description = "not an admin"),
              (status = 413, description = "larger than [intel] bundle_max_mib")))]
pub async fn import_bundle(
    Extension(c): Extension<Caller>,
    svc: Option<Extension<IntelService>>,
    body: Body,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let bytes = read_body(body, svc.max_bundle_bytes, "bundle").await?;
    if bytes.is_empty() {
        return Err(ApiError::invalid(
            "bundle body: empty; send a STIX 2.1 bundle",
        ));
    }
    let receipt = svc.hub.import_bundle(bytes, c.name().to_owned()).await?;
    let detail = format!(
        "receipt {} read {} new {} rejected {}",
        receipt["id"].as_str().unwrap_or(""),
        receipt["read"],
        receipt["new"],
        receipt["rejected"].as_array().map_or(0, Vec::len)
    );
    let mut resp = Json(receipt).into_response();
    resp.extensions_mut().insert(AuditDetail(detail));
    Ok(resp)
}

/// `GET /api/v1/intel/receipts/{id}`.
#[utoipa::path(get, path = "/api/v1/intel/receipts/{id}",
    params(("id" = String, Path, description = "the import's id")),
    responses((status = 200, description = "the import receipt and, once it ran, its retro-hunt's"),
              (status = 404, description = "no such receipt")))]
pub async fn receipt(
    svc: Option<Extension<IntelService>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let svc = service(svc)?;
    match svc.hub.receipt(id.clone()).await? {
        Some(r) => Ok(Json(r)),
        None => Err(ApiError::not_found(format!(
            "receipt {id}: no such receipt"
        ))),
    }
}

/// Read the query of `GET /api/v1/intel/indicators`.
fn indicator_query(raw: Option<&str>) -> Result<IndicatorQuery, ApiError> {
    let p = Params::parse(
        raw,
        &[
            "kind", "feed", "tlp", "value", "prefix", "expired", "limit", "cursor",
        ],
    )?;
    let kind = match p.one("kind")? {
        None => None,
        Some(k) => Some(IndicatorKind::parse(k).ok_or_else(|| {
            let known: Vec<&str> = IndicatorKind::ALL.iter().map(|k| k.as_str()).collect();
            ApiError::invalid(format!("kind: {k:?} is not one of {}", known.join(", ")))
        })?),
    };
    let tlp = match p.one("tlp")? {
        None => None,
        Some(t) => Some(Tlp::parse(t).ok_or_else(|| {
            ApiError::invalid(format!(
                "tlp: {t:?} is not CLEAR, GREEN, AMBER, AMBER+STRICT or RED"
            ))
        })?),
    };
    let expired = match p.one("expired")? {
        None | Some("false") => false,
        Some("true") => true,
        Some(o) => {
            return Err(ApiError::invalid(format!(
                "expired: {o:?} is not true or false"
            )));
        }
    };
    let offset = match p.one("cursor")? {
        None => 0,
        Some(c) => c.parse::<usize>().map_err(|_| {
            ApiError::invalid(format!("cursor: {c:?} is not a cursor of this list"))
        })?,
    };
    if p.one("value")?.is_some() && p.one("prefix")?.is_some() {
        return Err(ApiError::invalid("value and prefix: give one of them"));
    }
    Ok(IndicatorQuery {
        kind,
        feed: p.one("feed")?.map(str::to_owned),
        tlp,
        value: p.one("value")?.map(str::to_owned),
        prefix: p.one("prefix")?.map(str::to_owned),
        expired,
        offset,
        // 0 (absent): the default page, 1000; never more than that.
        limit: match p.limit()? {
            0 => MAX_PAGE,
            n => n.min(MAX_PAGE),
        },
    })
}

/// `GET /api/v1/intel/indicators`.
#[utoipa::path(get, path = "/api/v1/intel/indicators",
    params(("kind" = Option<String>, Query, description = "ip, cidr, domain, domain-tree, url, md5, sha1, sha256, sm3, email"),
           ("feed" = Option<String>, Query, description = "a feed's name, or local"),
           ("tlp" = Option<String>, Query, description = "CLEAR, GREEN, AMBER, AMBER+STRICT, RED"),
           ("value" = Option<String>, Query, description = "this value exactly"),
           ("prefix" = Option<String>, Query, description = "values starting so"),
           ("expired" = Option<bool>, Query, description = "include expired indicators"),
           ("limit" = Option<usize>, Query, description = "at most this many (1000)"),
           ("cursor" = Option<String>, Query, description = "from next_cursor")),
    responses((status = 200, description = "a page of indicators"), (status = 400, description = "invalid query")))]
pub async fn list_indicators(
    svc: Option<Extension<IntelService>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let svc = service(svc)?;
    let q = indicator_query(raw.as_deref())?;
    Ok(Json(svc.hub.indicators(q).await?))
}

/// `POST /api/v1/intel/indicators`.
#[utoipa::path(post, path = "/api/v1/intel/indicators", request_body = NewIndicator,
    responses((status = 201, description = "the local indicator, with its id"),
              (status = 400, description = "an invalid value, kind or field (the reason)"),
              (status = 403, description = "a role that does not work incidents")))]
pub async fn add_indicator(
    Extension(c): Extension<Caller>,
    svc: Option<Extension<IntelService>>,
    body: Body,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let bytes = read_body(body, MAX_INDICATOR_BYTES, "indicator").await?;
    let new: NewIndicator = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::invalid(format!("indicator body: {e}")))?;
    if new.reason.trim().is_empty() {
        return Err(ApiError::invalid("reason: say why the indicator is added"));
    }
    if new.confidence.is_some_and(|c| c > 100) {
        return Err(ApiError::invalid("confidence: must be 0 to 100"));
    }
    if new.expires.is_some_and(|e| e <= Timestamp::now()) {
        return Err(ApiError::invalid("expires: must be in the future"));
    }
    let detail = format!("{} {} ({})", new.kind.as_str(), new.value, new.reason);
    let added = svc.hub.add_local(new, c.name().to_owned()).await?;
    let mut resp = (StatusCode::CREATED, Json(added)).into_response();
    resp.extensions_mut().insert(AuditDetail(detail));
    Ok(resp)
}

/// `DELETE /api/v1/intel/indicators/{id}`.
#[utoipa::path(delete, path = "/api/v1/intel/indicators/{id}",
    params(("id" = String, Path, description = "a local indicator's id")),
    responses((status = 204, description = "removed"),
              (status = 404, description = "no local indicator has this id")))]
pub async fn delete_indicator(
    Extension(c): Extension<Caller>,
    svc: Option<Extension<IntelService>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let svc = service(svc)?;
    if svc
        .hub
        .delete_local(id.clone(), c.name().to_owned())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "indicator {id}: no local indicator has this id"
        )))
    }
}

/// `GET /api/v1/intel/feeds`.
#[utoipa::path(get, path = "/api/v1/intel/feeds",
    responses((status = 200, description = "each feed: name, format, source, indicators, last pull, last success, last error")))]
pub async fn feeds(
    svc: Option<Extension<IntelService>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let svc = service(svc)?;
    let items = svc.hub.feeds().await?;
    Ok(Json(serde_json::json!({ "items": items })))
}

/// `GET /api/v1/intel/sightings`.
#[utoipa::path(get, path = "/api/v1/intel/sightings",
    params(("region" = Option<String>, Query, description = "GB/T 2260 code within the caller's subtree"),
           ("value" = Option<String>, Query, description = "one indicator's value")),
    responses((status = 200, description = "per indicator and region: count, folded, first and last seen"),
              (status = 400, description = "invalid query")))]
pub async fn sightings(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<IntelService>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let svc = service(svc)?;
    let p = Params::parse(raw.as_deref(), &["region", "value"])?;
    let regions = c.regions(&s.regions, p.region()?)?;
    let value = p.one("value")?;
    let items: Vec<Sighting> = svc
        .hub
        .sightings()
        .await?
        .into_iter()
        .filter(|x| c.sees(&s.regions, x.region))
        .filter(|x| regions.is_empty() || regions.contains(&x.region))
        .filter(|x| value.is_none_or(|v| v == x.value))
        .collect();
    Ok(Json(serde_json::json!({ "items": items })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_indicator_query_reads_its_filters_and_refuses_mistakes() {
        let q = indicator_query(Some(
            "kind=domain-tree&feed=cti&tlp=amber&prefix=ex&cursor=20",
        ))
        .expect("query");
        assert_eq!(q.kind, Some(IndicatorKind::DomainTree));
        assert_eq!(q.tlp, Some(Tlp::Amber));
        assert_eq!(q.offset, 20);
        assert_eq!(q.prefix.as_deref(), Some("ex"));
        for (raw, says) in [
            ("kind=ipv9", "kind: \"ipv9\" is not one of"),
            ("tlp=purple", "tlp: \"purple\""),
            ("expired=maybe", "expired:"),
            ("cursor=x", "cursor:"),
            ("value=a&prefix=b", "give one of them"),
        ] {
            let e = indicator_query(Some(raw)).expect_err(raw);
            assert!(e.to_string().contains(says), "{raw}: {e}");
        }
    }
}
