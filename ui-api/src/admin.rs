//! Login and logout for the console, and the admin's endpoints: users, tokens, the audit log.

use axum::Json;
use axum::body::Bytes;
use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use onewall_model::{RegionCode, Timestamp};
use onewall_store::audit::{AuditEntry, AuditRecord, Verdict};
use onewall_store::auth::{NewToken, NewUser, Role, SESSION_SECS, TokenInfo, UserInfo};
use serde::Deserialize;
use serde_json::json;

use crate::ErrorCode;
use crate::access::{
    AuditDetail, Caller, SESSION_COOKIE, blocking, record, record_or_fail, record_unauthenticated,
    session_cookie,
};
use crate::login_limit::LoginKey;
use crate::params::Params;
use crate::{ApiError, ApiState};

/// Parse a JSON request body, naming what was wrong.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("request body: {e}")))
}

/// `POST /api/v1/login` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub name: String,
    pub password: String,
}

/// How the console's session cookie is set; the binary adds it to the router as an extension
/// (`[http] secure_cookies`).
#[derive(Debug, Clone, Copy, Default)]
pub struct CookiePolicy {
    /// Always mark the cookie `Secure` (a node behind a reverse proxy that terminates TLS).
    pub secure: bool,
}

/// Should the session cookie be `Secure`? When configured, when the request came over TLS
/// (an `https` URI), or when a proxy says it did (`X-Forwarded-Proto: https`, or
/// `Forwarded: proto=https`). A client can only make its own cookie stricter this way.
fn secure_cookie(policy: Option<Extension<CookiePolicy>>, uri: &Uri, headers: &HeaderMap) -> bool {
    let configured = policy.is_some_and(|Extension(p)| p.secure);
    let forwarded = |name: header::HeaderName, pred: fn(&str) -> bool| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(pred)
    };
    configured
        || uri.scheme_str() == Some("https")
        || forwarded(header::HeaderName::from_static("x-forwarded-proto"), |v| {
            v.split(',')
                .next()
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
        })
        || forwarded(header::FORWARDED, |v| {
            v.split([';', ','])
                .any(|kv| kv.trim().eq_ignore_ascii_case("proto=https"))
        })
}

/// The `Set-Cookie` value for `session` (empty and expired to clear it).
fn session_cookie_header(session: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    )
}

/// The longest user name a login may give (as [`onewall_store::auth`] allows).
const MAX_NAME_CHARS: usize = 128;
/// The longest password a login may give.
const MAX_PASSWORD_CHARS: usize = 1024;

/// A refusal with `Retry-After` (whole seconds, at least 1).
fn retry_later(e: ApiError, after: std::time::Duration) -> Response {
    let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
    let mut resp = e.into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    resp
}

/// Check a password and set the session cookie (HttpOnly, SameSite=Strict, and Secure over
/// TLS or when configured). Failed logins are counted per user name and per client address;
/// past `[auth] login_max_failures_per_user` (or `_per_address`) the name (or address) is
/// locked out and answered 429 with `Retry-After`, for a time that doubles with each further
/// failure. At most `[auth] login_concurrent_checks` passwords are checked at once; a login
/// that waits longer than `login_queue_secs` for its turn is answered 503.
#[utoipa::path(post, path = "/api/v1/login", request_body = Login, security(()),
    responses((status = 200, description = "logged in; the session cookie is set"),
              (status = 400, description = "malformed body"),
              (status = 401, description = "wrong name or password"),
              (status = 429, description = "too many failed logins for this name or address; see Retry-After"),
              (status = 503, description = "too many logins at once; see Retry-After")))]
pub async fn login(
    State(s): State<ApiState>,
    policy: Option<Extension<CookiePolicy>>,
    uri: Uri,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let secure = secure_cookie(policy, &uri, &headers);
    let login: Login = json_body(&body)?;
    if login.name.trim().is_empty() || login.name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid(format!(
            "name: expected 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    if login.password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(ApiError::invalid(format!(
            "password: at most {MAX_PASSWORD_CHARS} characters"
        )));
    }
    let peer = peer.map(|Extension(ConnectInfo(a))| a);
    let ip = peer.map(|a| a.ip());
    let client = peer.map(|a| a.to_string()).unwrap_or_default();
    let name = login.name.clone();
    let rec = |result: StatusCode, action: &str, detail: String| AuditRecord {
        at: Timestamp::now(),
        actor: name.clone(),
        role: String::new(),
        scope: String::new(),
        action: action.into(),
        target: "/api/v1/login".into(),
        result: result.as_u16(),
        client: client.clone(),
        detail,
    };
    let limiter = s.access.login.clone();
    if let Err(locked) = limiter.check(&name, ip, Instant::now()) {
        metrics::counter!("onewall_api_login_refused_total", "reason" => "locked").increment(1);
        let resp = retry_later(
            ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "too many failed logins for this {}; try again later",
                    locked.key.kind()
                ),
            ),
            locked.retry_after,
        );
        let detail = format!("{} locked out", locked.key.kind());
        record_unauthenticated(&s.access, rec(resp.status(), "POST /api/v1/login", detail)).await;
        return Ok(resp);
    }
    let Some(slot) = limiter.check_slot().await else {
        metrics::counter!("onewall_api_login_refused_total", "reason" => "busy").increment(1);
        let resp = retry_later(
            ApiError::new(
                ErrorCode::Unavailable,
                "too many logins at once; try again shortly",
            ),
            std::time::Duration::from_secs(1),
        );
        record_unauthenticated(
            &s.access,
            rec(resp.status(), "POST /api/v1/login", String::new()),
        )
        .await;
        return Ok(resp);
    };
    let auth = s.access.auth.clone();
    let outcome = blocking(move || {
        // The check slot is held until the password check is done, even if the caller leaves.
        let _slot = slot;
        auth.login(&login.name, &login.password)
    })
    .await?;
    match outcome {
        Some((session, grant)) => {
            limiter.succeeded(&name);
            let cookie = session_cookie_header(&session, SESSION_SECS, secure);
            let resp = (
                StatusCode::OK,
                [(header::SET_COOKIE, cookie)],
                Json(json!({ "user": grant.subject, "role": grant.role, "region": grant.region })),
            )
                .into_response();
            let mut r = rec(StatusCode::OK, "POST /api/v1/login", String::new());
            r.role = grant.role.as_str().to_owned();
            r.scope = grant.region.to_string();
            Ok(record_or_fail(&s.access.audit, r, resp).await)
        }
        None => {
            metrics::counter!("onewall_api_login_failures_total").increment(1);
            let e = ApiError::new(ErrorCode::Unauthenticated, "wrong user name or password");
            let resp = e.into_response();
            let started = limiter.failed(&name, ip, Instant::now());
            record_unauthenticated(
                &s.access,
                rec(resp.status(), "POST /api/v1/login", String::new()),
            )
            .await;
            // Each lockout is recorded once, when it starts, outside the budget.
            for locked in started {
                metrics::counter!("onewall_api_login_lockouts_total").increment(1);
                let what = match &locked.key {
                    LoginKey::User(u) => format!("user {u}"),
                    LoginKey::Address(a) => format!("address {a}"),
                };
                let mut r = rec(
                    StatusCode::TOO_MANY_REQUESTS,
                    "login lockout",
                    format!("{what} locked out for {} s", locked.retry_after.as_secs()),
                );
                r.target = what;
                record(&s.access.audit, r).await;
            }
            Ok(resp)
        }
    }
}

/// End the console session.
#[utoipa::path(post, path = "/api/v1/logout", responses((status = 200, description = "logged out")))]
pub async fn logout(
    State(s): State<ApiState>,
    policy: Option<Extension<CookiePolicy>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let secure = secure_cookie(policy, &uri, &headers);
    if let Some(session) = session_cookie(&headers) {
        let auth = s.access.auth.clone();
        blocking(move || auth.end_session(&session)).await?;
    }
    let clear = session_cookie_header("", 0, secure);
    Ok((
        [(header::SET_COOKIE, clear)],
        Json(json!({ "logged_out": true })),
    )
        .into_response())
}

/// Who the caller is: subject, role, region subtree, department, pii permission.
#[utoipa::path(get, path = "/api/v1/whoami", responses((status = 200, description = "the caller's grant")))]
pub async fn whoami(Extension(c): Extension<Caller>) -> Json<serde_json::Value> {
    Json(json!(c.grant))
}

/// `POST /api/v1/users` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub name: String,
    pub password: String,
    /// viewer, analyst, responder, admin or collector.
    pub role: String,
    /// GB/T 2260 code of the user's region subtree; the admin's own region when absent.
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    /// May see personal data unmasked.
    #[serde(default)]
    pub pii: bool,
}

/// `POST /api/v1/tokens` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    pub role: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub pii: bool,
    /// Seconds the token is valid for; never expires when absent.
    #[serde(default)]
    pub ttl_secs: Option<i64>,
}

/// What a new user or token is granted, checked against what the admin may hand out.
struct Granted {
    role: Role,
    region: RegionCode,
    department: Option<String>,
    pii: bool,
}

/// Check a grant asked for against the admin's own: a role the admin holds or one below it,
/// a region inside the admin's subtree (the admin's own when absent), the admin's department
/// when it is limited to one (that department when absent), and `pii` only from an admin that
/// has it. A grant never exceeds its granter's.
fn grantable(
    s: &ApiState,
    c: &Caller,
    role: &str,
    region: Option<&str>,
    department: Option<String>,
    pii: bool,
) -> Result<Granted, ApiError> {
    let role: Role = role
        .parse()
        .map_err(|e: String| ApiError::invalid(format!("role: {e}")))?;
    if !c.grant.role.may_grant(role) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("role: a {} may not grant the {role} role", c.grant.role),
        ));
    }
    let region = match region {
        None => c.grant.region,
        Some(r) => r
            .parse::<RegionCode>()
            .map_err(|e| ApiError::invalid(format!("region: {e}")))?,
    };
    if !s.regions.contains(region) || !c.sees(&s.regions, region) {
        return Err(ApiError::invalid(format!(
            "region: {region} is not a known region"
        )));
    }
    let department = match (&c.grant.department, department) {
        (None, asked) => asked,
        (Some(own), None) => Some(own.clone()),
        (Some(own), Some(asked)) if asked == *own => Some(asked),
        (Some(own), Some(asked)) => {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("department: an admin of department {own:?} may not grant {asked:?}"),
            ));
        }
    };
    if pii && !c.grant.pii {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "pii: an admin without the pii permission may not grant it",
        ));
    }
    Ok(Granted {
        role,
        region,
        department,
        pii,
    })
}

/// May the admin manage (list, revoke) a user or token of `region` and `department`? Inside
/// its region subtree, and of its own department when it is limited to one.
fn manages(s: &ApiState, c: &Caller, region: RegionCode, department: Option<&str>) -> bool {
    c.sees(&s.regions, region)
        && c.grant
            .department
            .as_deref()
            .is_none_or(|own| department == Some(own))
}

/// What a grant is, for the audit log.
fn grant_detail(role: Role, region: RegionCode, department: Option<&str>, pii: bool) -> String {
    format!(
        "role={role} region={region} department={} pii={pii}",
        department.unwrap_or("-")
    )
}

/// Users within the admin's region subtree (and department, when it is limited to one).
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, description = "users")))]
pub async fn list_users(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let auth = s.access.auth.clone();
    let users: Vec<UserInfo> = blocking(move || auth.users()).await?;
    let items: Vec<_> = users
        .into_iter()
        .filter(|u| manages(&s, &c, u.region, u.department.as_deref()))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// Create a user (admin), granted no more than the admin holds.
#[utoipa::path(post, path = "/api/v1/users", request_body = CreateUser,
    responses((status = 201, description = "created"), (status = 400, description = "invalid"),
              (status = 403, description = "more than the admin holds"),
              (status = 409, description = "name taken")))]
pub async fn create_user(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let u: CreateUser = json_body(&body)?;
    let g = grantable(&s, &c, &u.role, u.region.as_deref(), u.department, u.pii)?;
    let auth = s.access.auth.clone();
    let info = blocking(move || {
        auth.add_user(NewUser {
            name: u.name,
            password: u.password,
            role: g.role,
            region: g.region,
            department: g.department,
            pii: g.pii,
        })
    })
    .await?;
    let detail = format!(
        "user {} {}",
        info.name,
        grant_detail(info.role, info.region, info.department.as_deref(), info.pii)
    );
    let mut resp = (StatusCode::CREATED, Json(info)).into_response();
    resp.extensions_mut().insert(AuditDetail(detail));
    Ok(resp)
}

/// Tokens within the admin's region subtree and department (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", responses((status = 200, description = "tokens")))]
pub async fn list_tokens(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let auth = s.access.auth.clone();
    let tokens: Vec<TokenInfo> = blocking(move || auth.tokens()).await?;
    let items: Vec<_> = tokens
        .into_iter()
        .filter(|t| manages(&s, &c, t.region, t.department.as_deref()))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// Create a token (admin), granted no more than the admin holds; the answer carries the
/// secret, shown this once.
#[utoipa::path(post, path = "/api/v1/tokens", request_body = CreateToken,
    responses((status = 201, description = "created; `token` is the secret"),
              (status = 400, description = "invalid"),
              (status = 403, description = "more than the admin holds")))]
pub async fn create_token(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let t: CreateToken = json_body(&body)?;
    let g = grantable(&s, &c, &t.role, t.region.as_deref(), t.department, t.pii)?;
    let auth = s.access.auth.clone();
    let (secret, info) = blocking(move || {
        auth.create_token(NewToken {
            name: t.name,
            role: g.role,
            region: g.region,
            department: g.department,
            pii: g.pii,
            ttl_secs: t.ttl_secs,
        })
    })
    .await?;
    let detail = format!(
        "token {} name={} {} expires={}",
        info.id,
        info.name,
        grant_detail(info.role, info.region, info.department.as_deref(), info.pii),
        info.expires
            .map_or("never".to_owned(), |e| e.secs().to_string())
    );
    let mut resp = (
        StatusCode::CREATED,
        Json(json!({ "token": secret, "info": info })),
    )
        .into_response();
    resp.extensions_mut().insert(AuditDetail(detail));
    Ok(resp)
}

/// Revoke a token (admin) within its region subtree and department.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", params(("id" = String, Path, description = "token id")),
    responses((status = 200, description = "revoked"), (status = 404, description = "no such token")))]
pub async fn revoke_token(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let auth = s.access.auth.clone();
    let tokens: Vec<TokenInfo> = blocking(move || auth.tokens()).await?;
    let visible = tokens
        .iter()
        .any(|t| t.id == id && manages(&s, &c, t.region, t.department.as_deref()));
    if !visible {
        return Err(ApiError::not_found(format!("token {id} not found")));
    }
    let auth = s.access.auth.clone();
    let gone = id.clone();
    blocking(move || auth.revoke_token(&gone)).await?;
    Ok(Json(json!({ "revoked": id })))
}

/// The audit log: oldest first after `after` (a sequence number), or newest first with
/// `order=desc` (before `before`, when given); `limit` (at most 1000).
#[utoipa::path(get, path = "/api/v1/audit",
    params(("after" = Option<u64>, Query, description = "entries after this sequence number"),
           ("before" = Option<u64>, Query, description = "with order=desc: entries before this sequence number"),
           ("order" = Option<String>, Query, description = "asc (oldest first, the default) or desc (newest first)"),
           ("limit" = Option<usize>, Query, description = "at most this many (1000)")),
    responses((status = 200, description = "entries")))]
pub async fn list_audit(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let p = Params::parse(raw.as_deref(), &["after", "before", "order", "limit"])?;
    let after = p.parsed::<u64>("after")?.unwrap_or(0);
    let before = p.parsed::<u64>("before")?;
    let newest_first = match p.one("order")? {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "order: {other:?} is neither asc nor desc"
            )));
        }
    };
    if before.is_some() && !newest_first {
        return Err(ApiError::invalid("before: only with order=desc".to_owned()));
    }
    let limit = match p.limit()? {
        0 => 100,
        n => n.min(1000),
    };
    // An admin sees the calls of callers inside its subtree; anonymous calls only at the top.
    // The log is filtered as it is read, so a page holds `limit` entries the caller may see
    // (an admin below the top does not get short pages); at most `AUDIT_SCAN` entries are read
    // per call, and `next` says where to go on when the scan stopped before the page filled.
    let top = s.regions.parent(c.grant.region).is_none();
    let regions = s.regions.clone();
    let visible = move |e: &AuditEntry| match e.record.scope.parse::<RegionCode>() {
        Ok(scope) => c.sees(&regions, scope),
        Err(_) => top,
    };
    let audit = s.access.audit.clone();
    let (items, next) = blocking(move || {
        let mut items: Vec<AuditEntry> = Vec::new();
        let (mut after, mut before, mut scanned) = (after, before, 0);
        loop {
            let batch = if newest_first {
                audit.entries_before(before, 1000)?
            } else {
                audit.entries(after, 1000)?
            };
            let Some(last) = batch.last().map(|e| e.seq) else {
                return Ok((items, None));
            };
            scanned += batch.len();
            for e in batch {
                if items.len() == limit {
                    return Ok((items, None));
                }
                (after, before) = (e.seq, Some(e.seq));
                if visible(&e) {
                    items.push(e);
                }
            }
            if items.len() == limit {
                return Ok((items, None));
            }
            if scanned >= AUDIT_SCAN {
                return Ok((items, Some(last)));
            }
        }
    })
    .await?;
    Ok(Json(json!({ "items": items, "next": next })))
}

/// The most audit entries one call reads while it looks for the caller's.
const AUDIT_SCAN: usize = 50_000;

/// The audit log's chain recomputed now, as `onewall audit verify` does (entries appended
/// meanwhile are left for the next check): `{"state": "intact", "entries": N}` or
/// `{"state": "broken", "seq": N, "reason": "..."}` naming the first bad entry.
#[utoipa::path(get, path = "/api/v1/audit/verify",
    responses((status = 200, description = "the verdict")))]
pub async fn verify_audit(State(s): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    let audit = s.access.audit.clone();
    let verdict = blocking(move || audit.verify()).await?;
    Ok(Json(match verdict {
        Verdict::Intact { entries } => json!({ "state": "intact", "entries": entries }),
        Verdict::Broken { seq, reason } => {
            json!({ "state": "broken", "seq": seq, "reason": reason })
        }
    }))
}
