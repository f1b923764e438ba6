//! Bulletins (安全通报): issue, list, one, statistics, the four steps, attachments.
//!
//! Scope: a caller sees the bulletins with a copy in its region subtree (a department caller:
//! its department's copy), and of each only those copies. Steps act on a copy in the
//! caller's scope: by default the caller's own (its region, its department); the issuer's
//! review names the recipient.

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use onewall_model::id::BulletinId;
use onewall_model::supervise::{Recipient, StepKind};
use onewall_supervise::bulletin::{BulletinView, Copy};
use onewall_supervise::bulletins::{BulletinQuery, NewBulletin, Upload};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{SupScope, SuperviseService, actor, parse_json, service};
use crate::access::{AuditDetail, Caller};
use crate::edge::read_body;
use crate::params::Params;
use crate::{ApiError, ApiState};

/// The largest body of an issue, sign, answer or review.
pub const MAX_BODY_BYTES: usize = 256 << 10;

/// Bulletins a list answers at most (and by default).
pub const MAX_LIST: usize = 500;

/// A copy as the API shows it: the crate's copy with what is due next and whether it is done.
fn copy_json(view: &BulletinView, c: &Copy) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        let due = c
            .due(&view.bulletin)
            .map(|(kind, at)| json!({"kind": kind, "at": at}));
        if let Some(due) = due {
            m.insert("due".into(), due);
        }
        m.insert("done".into(), json!(c.is_done(view.bulletin.kind)));
    }
    v
}

/// `view` with only the copies `scope` holds.
fn view_json(view: &BulletinView, scope: &SupScope) -> Value {
    let copies: Vec<Value> = view
        .copies
        .iter()
        .filter(|c| scope.holds(&c.recipient))
        .map(|c| copy_json(view, c))
        .collect();
    json!({"bulletin": view.bulletin, "copies": copies, "issued_here": view.issued_here})
}

/// Does `scope` see `view` (a copy in it)?
fn visible(view: &BulletinView, scope: &SupScope) -> bool {
    view.copies.iter().any(|c| scope.holds(&c.recipient))
}

fn parse_id(id: &str) -> Result<BulletinId, ApiError> {
    id.parse::<BulletinId>()
        .map_err(|_| ApiError::not_found(format!("bulletin {id} not found")))
}

/// Bulletin `id` if the caller sees it (else 404, as for one that does not exist).
async fn visible_bulletin(
    svc: &SuperviseService,
    scope: &SupScope,
    id: &str,
) -> Result<BulletinView, ApiError> {
    let bid = parse_id(id)?;
    match svc.sup.bulletin(bid).await? {
        Some(v) if visible(&v, scope) => Ok(v),
        _ => Err(ApiError::not_found(format!("bulletin {id} not found"))),
    }
}

/// `POST /api/v1/bulletins`.
#[utoipa::path(post, path = "/api/v1/bulletins",
    request_body(content = String, content_type = "application/json", description = "{\"title\",\"level\":\"red|orange|yellow|blue\",\"kind\":\"notice|rectification\",\"body\",\"cves\":[],\"indicators\":[],\"incidents\":[],\"to\":{\"regions\":[],\"departments\":[]},\"deadline\",\"sign_deadline\"?,\"rectify_deadline\"?}"),
    responses((status = 201, description = "the bulletin with its copies"),
              (status = 400, description = "what is wrong (a recipient that is no child region, a deadline in the past ...)"),
              (status = 403, description = "a role that may not issue bulletins, or a recipient outside the caller's region")))]
pub async fn issue(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    body: Body,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let bytes = read_body(body, MAX_BODY_BYTES, "bulletin").await?;
    let new: NewBulletin = parse_json(&bytes, "bulletin")?;
    if scope.department.is_some() {
        return Err(ApiError::new(
            onewall_model::ErrorCode::Forbidden,
            "a department's token may not issue bulletins; the region's team issues them",
        ));
    }
    for r in &new.to.regions {
        if !scope.holds_region(*r) || *r == c.grant.region {
            return Err(ApiError::new(
                onewall_model::ErrorCode::Forbidden,
                format!(
                    "to.regions: {r} is not below the caller's region {}",
                    c.grant.region
                ),
            ));
        }
    }
    for r in &new.to.recipients {
        if !scope.holds_region(r.region) {
            return Err(ApiError::new(
                onewall_model::ErrorCode::Forbidden,
                format!("to.recipients: {r} is outside the caller's region"),
            ));
        }
    }
    let view = svc.sup.issue(&actor(&c), new).await?;
    let detail = format!(
        "bulletin {} to {} recipient(s)",
        view.bulletin.id,
        view.copies.len()
    );
    let mut resp = (StatusCode::CREATED, Json(view_json(&view, &scope))).into_response();
    resp.extensions_mut().insert(AuditDetail(detail));
    Ok(resp)
}

/// `GET /api/v1/bulletins`.
#[utoipa::path(get, path = "/api/v1/bulletins",
    params(("box" = Option<String>, Query, description = "issued (by this node) or received (from the parent); both when absent"),
           ("open" = Option<bool>, Query, description = "true: only bulletins with a copy not done"),
           ("region" = Option<String>, Query, description = "only copies of this region's subtree (within the caller's)"),
           ("limit" = Option<usize>, Query, description = "at most this many, newest first (500)")),
    responses((status = 200, description = "{\"items\":[{\"bulletin\",\"copies\":[...],\"issued_here\"}]}"),
              (status = 400, description = "an unknown parameter or value")))]
pub async fn list(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let p = Params::parse(raw.as_deref(), &["box", "open", "region", "limit"])?;
    let scope = SupScope::of(&s.regions, &c, p.region()?)?;
    let issued_here = match p.one("box")? {
        None => None,
        Some("issued") => Some(true),
        Some("received") => Some(false),
        Some(o) => {
            return Err(ApiError::invalid(format!(
                "box: {o:?} is not issued or received"
            )));
        }
    };
    let open_only = p.parsed::<bool>("open")?.unwrap_or(false);
    let limit = match p.limit()? {
        0 => MAX_LIST,
        n => n.min(MAX_LIST),
    };
    let q = BulletinQuery {
        issued_here,
        regions: scope.regions.clone(),
        department: scope.department.clone(),
        open_only,
        limit,
    };
    let items: Vec<Value> = svc
        .sup
        .bulletins(&q)
        .await?
        .iter()
        .filter(|v| visible(v, &scope))
        .map(|v| view_json(v, &scope))
        .collect();
    Ok(Json(json!({"items": items})).into_response())
}

/// `GET /api/v1/bulletins/stats`.
#[utoipa::path(get, path = "/api/v1/bulletins/stats",
    params(("from" = Option<String>, Query, description = "issued at or after (RFC 3339)"),
           ("to" = Option<String>, Query, description = "issued before (RFC 3339)"),
           ("region" = Option<String>, Query, description = "recipients of this region's subtree (within the caller's)")),
    responses((status = 200, description = "{\"items\":[{\"recipient\",\"name\",\"bulletins\",\"signed\",\"signed_on_time\",\"answered\",\"answered_on_time\",\"rectifications\",\"rectified_on_time\",\"accepted\",\"returned\",\"overdue\"}]}"),
              (status = 400, description = "a time that does not parse")))]
pub async fn stats(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let p = Params::parse(raw.as_deref(), &["from", "to", "region"])?;
    let scope = SupScope::of(&s.regions, &c, p.region()?)?;
    let q = BulletinQuery {
        issued_here: None,
        regions: scope.regions.clone(),
        department: scope.department.clone(),
        open_only: false,
        limit: 0,
    };
    let items: Vec<_> = svc
        .sup
        .bulletin_stats(&q, p.time("from")?, p.time("to")?)
        .await?
        .into_iter()
        .filter(|r| r.recipient.as_ref().is_none_or(|r| scope.holds(r)))
        .collect();
    Ok(Json(json!({"items": items})).into_response())
}

/// `GET /api/v1/bulletins/{id}`.
#[utoipa::path(get, path = "/api/v1/bulletins/{id}",
    params(("id" = String, Path, description = "the bulletin's id")),
    responses((status = 200, description = "the bulletin with the copies in the caller's scope"),
              (status = 404, description = "no such bulletin in the caller's scope")))]
pub async fn get(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let view = visible_bulletin(&svc, &scope, &id).await?;
    Ok(Json(view_json(&view, &scope)).into_response())
}

/// The recipient of a step: the one named (in the caller's scope), or the caller's own copy.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignBody {
    #[serde(default)]
    recipient: Option<Recipient>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerBody {
    #[serde(default)]
    recipient: Option<Recipient>,
    affected: bool,
    #[serde(default)]
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBody {
    name: String,
    #[serde(default)]
    media_type: String,
    content_base64: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RectifyBody {
    #[serde(default)]
    recipient: Option<Recipient>,
    text: String,
    #[serde(default)]
    attachments: Vec<FileBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    recipient: Recipient,
    accepted: bool,
    #[serde(default)]
    reason: String,
}

/// The copy a recipient's step acts on: the one named, which must be in the caller's scope,
/// or (none named) the caller's own on this node: the node's region and the caller's
/// department.
fn own_copy(
    svc: &SuperviseService,
    c: &Caller,
    scope: &SupScope,
    named: Option<Recipient>,
) -> Result<Recipient, ApiError> {
    let r = named.unwrap_or_else(|| Recipient {
        region: svc.sup.node().region,
        department: c.grant.department.clone(),
    });
    if !scope.holds(&r) {
        return Err(ApiError::new(
            onewall_model::ErrorCode::Forbidden,
            format!("recipient {r}: not the caller's copy (outside its region or department)"),
        ));
    }
    Ok(r)
}

/// Take `kind` on bulletin `id` and answer the bulletin as it is after the step.
async fn step(
    svc: &SuperviseService,
    c: &Caller,
    scope: &SupScope,
    id: &str,
    recipient: Recipient,
    kind: StepKind,
    uploads: Vec<Upload>,
) -> Result<Response, ApiError> {
    let bid = visible_bulletin(svc, scope, id).await?.bulletin.id;
    let name = kind.name();
    let view = svc
        .sup
        .take_step(&actor(c), bid, Some(recipient.clone()), kind, uploads)
        .await?;
    let mut resp = Json(view_json(&view, scope)).into_response();
    resp.extensions_mut()
        .insert(AuditDetail(format!("bulletin {bid} {name} {recipient}")));
    Ok(resp)
}

/// `POST /api/v1/bulletins/{id}/sign`.
#[utoipa::path(post, path = "/api/v1/bulletins/{id}/sign",
    params(("id" = String, Path, description = "the bulletin's id")),
    request_body(content = String, content_type = "application/json", description = "{\"recipient\":{\"region\",\"department\"}} or empty: the caller's own copy"),
    responses((status = 200, description = "the bulletin after the step"),
              (status = 403, description = "not the caller's copy"),
              (status = 404, description = "no such bulletin in the caller's scope"),
              (status = 409, description = "the copy's state does not allow it (signed already ...)")))]
pub async fn sign(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let bytes = read_body(body, MAX_BODY_BYTES, "sign").await?;
    let b: SignBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        SignBody::default()
    } else {
        parse_json(&bytes, "sign")?
    };
    let r = own_copy(&svc, &c, &scope, b.recipient)?;
    step(&svc, &c, &scope, &id, r, StepKind::Sign, Vec::new()).await
}

/// `POST /api/v1/bulletins/{id}/answer`.
#[utoipa::path(post, path = "/api/v1/bulletins/{id}/answer",
    params(("id" = String, Path, description = "the bulletin's id")),
    request_body(content = String, content_type = "application/json", description = "{\"affected\":bool,\"text\",\"recipient\"?}"),
    responses((status = 200, description = "the bulletin after the step"),
              (status = 400, description = "not an answer"),
              (status = 403, description = "not the caller's copy"),
              (status = 404, description = "no such bulletin in the caller's scope"),
              (status = 409, description = "the copy's state does not allow it (not signed ...)")))]
pub async fn answer(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let bytes = read_body(body, MAX_BODY_BYTES, "answer").await?;
    let b: AnswerBody = parse_json(&bytes, "answer")?;
    let r = own_copy(&svc, &c, &scope, b.recipient)?;
    let kind = StepKind::Answer {
        affected: b.affected,
        text: b.text,
    };
    step(&svc, &c, &scope, &id, r, kind, Vec::new()).await
}

/// The largest rectify body: the files' limit in base64 (4/3) and room for the text.
fn rectify_limit(svc: &SuperviseService) -> usize {
    let files = (svc.sup.settings().config.step_max_mib as usize) << 20;
    files / 3 * 4 + (1 << 20)
}

/// `POST /api/v1/bulletins/{id}/rectify`.
#[utoipa::path(post, path = "/api/v1/bulletins/{id}/rectify",
    params(("id" = String, Path, description = "the bulletin's id")),
    request_body(content = String, content_type = "application/json", description = "{\"text\",\"attachments\":[{\"name\",\"media_type\",\"content_base64\"}],\"recipient\"?}"),
    responses((status = 200, description = "the bulletin after the step"),
              (status = 400, description = "not a rectification, or a file that is not base64"),
              (status = 403, description = "not the caller's copy"),
              (status = 404, description = "no such bulletin in the caller's scope"),
              (status = 409, description = "the copy's state does not allow it (not affected, accepted already ...)"),
              (status = 413, description = "a file, or all of them, larger than [supervise] attachment_max_mib / step_max_mib")))]
pub async fn rectify(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    use base64::Engine as _;
    let svc = service(svc)?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let bytes = read_body(body, rectify_limit(&svc), "rectify").await?;
    let b: RectifyBody = parse_json(&bytes, "rectify")?;
    let r = own_copy(&svc, &c, &scope, b.recipient)?;
    let mut uploads = Vec::with_capacity(b.attachments.len());
    for (i, f) in b.attachments.into_iter().enumerate() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(f.content_base64.trim())
            .map_err(|e| {
                ApiError::invalid(format!(
                    "attachments[{i}].content_base64 ({}): not base64: {e}",
                    f.name
                ))
            })?;
        let media_type = if f.media_type.is_empty() {
            "application/octet-stream".to_owned()
        } else {
            f.media_type
        };
        uploads.push(Upload {
            name: f.name,
            media_type,
            bytes,
        });
    }
    let kind = StepKind::Rectify {
        text: b.text,
        attachments: Vec::new(),
    };
    step(&svc, &c, &scope, &id, r, kind, uploads).await
}

/// `POST /api/v1/bulletins/{id}/review`.
#[utoipa::path(post, path = "/api/v1/bulletins/{id}/review",
    params(("id" = String, Path, description = "the bulletin's id")),
    request_body(content = String, content_type = "application/json", description = "{\"recipient\":{\"region\",\"department\"?},\"accepted\":bool,\"reason\"}"),
    responses((status = 200, description = "the bulletin after the review"),
              (status = 400, description = "not a review, or returned without a reason"),
              (status = 403, description = "a recipient outside the caller's scope, or a bulletin not issued here"),
              (status = 404, description = "no such bulletin in the caller's scope"),
              (status = 409, description = "nothing submitted to review")))]
pub async fn review(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let bytes = read_body(body, MAX_BODY_BYTES, "review").await?;
    let b: ReviewBody = parse_json(&bytes, "review")?;
    if !scope.holds(&b.recipient) {
        return Err(ApiError::new(
            onewall_model::ErrorCode::Forbidden,
            format!("recipient {}: outside the caller's scope", b.recipient),
        ));
    }
    let kind = StepKind::Review {
        accepted: b.accepted,
        reason: b.reason,
    };
    step(&svc, &c, &scope, &id, b.recipient, kind, Vec::new()).await
}

/// `GET /api/v1/bulletins/{id}/attachments/{sha256}`.
#[utoipa::path(get, path = "/api/v1/bulletins/{id}/attachments/{sha256}",
    params(("id" = String, Path, description = "the bulletin's id"),
           ("sha256" = String, Path, description = "the file's SHA-256, lower-case hex")),
    responses((status = 200, description = "the file's bytes, in its media type, as an attachment"),
              (status = 404, description = "no such bulletin in the caller's scope, or no such file of it")))]
pub async fn attachment(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    svc: Option<Extension<SuperviseService>>,
    Path((id, sha256)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let svc = service(svc)?;
    let scope = SupScope::of(&s.regions, &c, None)?;
    let view = visible_bulletin(&svc, &scope, &id).await?;
    // Only a file of a copy the caller sees.
    let named = view
        .copies
        .iter()
        .filter(|c| scope.holds(&c.recipient))
        .flat_map(|c| &c.steps)
        .any(|st| match &st.kind {
            StepKind::Rectify { attachments, .. } => attachments.iter().any(|a| a.sha256 == sha256),
            _ => false,
        });
    let found = match named {
        true => svc.sup.attachment(view.bulletin.id, &sha256).await?,
        false => None,
    };
    let Some((a, bytes)) = found else {
        return Err(ApiError::not_found(format!(
            "attachment {sha256} of bulletin {id} not found"
        )));
    };
    // The name as uploaded, kept to safe characters for the header.
    let file: String = a
        .name
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ".-_".contains(ch) {
                ch
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, a.media_type.clone()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
