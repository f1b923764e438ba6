//! Login and logout for the console, and the admin's endpoints: users, tokens, the audit log.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use onewall_model::{RegionCode, Timestamp};
use onewall_store::audit::{AuditEntry, AuditRecord};
use onewall_store::auth::{NewToken, NewUser, Role, SESSION_SECS, TokenInfo, UserInfo};
use serde::Deserialize;
use serde_json::json;

use crate::access::{Caller, SESSION_COOKIE, blocking, record, session_cookie};
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

/// Check a password and set the session cookie (HttpOnly, SameSite=Strict, and Secure over
/// TLS or when configured).
#[utoipa::path(post, path = "/api/v1/login", request_body = Login, security(()),
    responses((status = 200, description = "logged in; the session cookie is set"),
              (status = 400, description = "malformed body"),
              (status = 401, description = "wrong name or password")))]
pub async fn login(
    State(s): State<ApiState>,
    policy: Option<Extension<CookiePolicy>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let secure = secure_cookie(policy, &uri, &headers);
    let login: Login = json_body(&body)?;
    let auth = s.access.auth.clone();
    let name = login.name.clone();
    let outcome = blocking(move || auth.login(&login.name, &login.password)).await?;
    let (status, reply) = match outcome {
        Some((session, grant)) => {
            let cookie = session_cookie_header(&session, SESSION_SECS, secure);
            let resp = (
                StatusCode::OK,
                [(header::SET_COOKIE, cookie)],
                Json(json!({ "user": grant.subject, "role": grant.role, "region": grant.region })),
            )
                .into_response();
            (StatusCode::OK, resp)
        }
        None => {
            let e = ApiError::new("unauthenticated", "wrong user name or password");
            (StatusCode::UNAUTHORIZED, e.into_response())
        }
    };
    record(
        &s.access.audit,
        AuditRecord {
            at: Timestamp::now(),
            actor: name,
            role: String::new(),
            scope: String::new(),
            action: "POST /api/v1/login".into(),
            target: "/api/v1/login".into(),
            result: status.as_u16(),
        },
    )
    .await;
    Ok(reply)
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

/// The role and region asked for, checked against what the admin may hand out: a region
/// inside the admin's own subtree.
fn role_and_region(
    s: &ApiState,
    c: &Caller,
    role: &str,
    region: Option<&str>,
) -> Result<(Role, RegionCode), ApiError> {
    let role: Role = role
        .parse()
        .map_err(|e: String| ApiError::invalid(format!("role: {e}")))?;
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
    Ok((role, region))
}

/// Users within the admin's region subtree.
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, description = "users")))]
pub async fn list_users(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let auth = s.access.auth.clone();
    let users: Vec<UserInfo> = blocking(move || auth.users()).await?;
    let items: Vec<_> = users
        .into_iter()
        .filter(|u| c.sees(&s.regions, u.region))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// Create a user (admin).
#[utoipa::path(post, path = "/api/v1/users", request_body = CreateUser,
    responses((status = 201, description = "created"), (status = 400, description = "invalid"),
              (status = 409, description = "name taken")))]
pub async fn create_user(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let u: CreateUser = json_body(&body)?;
    let (role, region) = role_and_region(&s, &c, &u.role, u.region.as_deref())?;
    let auth = s.access.auth.clone();
    let info = blocking(move || {
        auth.add_user(NewUser {
            name: u.name,
            password: u.password,
            role,
            region,
            department: u.department,
            pii: u.pii,
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

/// Tokens within the admin's region subtree (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", responses((status = 200, description = "tokens")))]
pub async fn list_tokens(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let auth = s.access.auth.clone();
    let tokens: Vec<TokenInfo> = blocking(move || auth.tokens()).await?;
    let items: Vec<_> = tokens
        .into_iter()
        .filter(|t| c.sees(&s.regions, t.region))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// Create a token (admin); the answer carries the secret, shown this once.
#[utoipa::path(post, path = "/api/v1/tokens", request_body = CreateToken,
    responses((status = 201, description = "created; `token` is the secret"),
              (status = 400, description = "invalid")))]
pub async fn create_token(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let t: CreateToken = json_body(&body)?;
    let (role, region) = role_and_region(&s, &c, &t.role, t.region.as_deref())?;
    let auth = s.access.auth.clone();
    let (secret, info) = blocking(move || {
        auth.create_token(NewToken {
            name: t.name,
            role,
            region,
            department: t.department,
            pii: t.pii,
            ttl_secs: t.ttl_secs,
        })
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": secret, "info": info })),
    )
        .into_response())
}

/// Revoke a token (admin).
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
        .any(|t| t.id == id && c.sees(&s.regions, t.region));
    if !visible {
        return Err(ApiError::not_found(format!("token {id} not found")));
    }
    let auth = s.access.auth.clone();
    let gone = id.clone();
    blocking(move || auth.revoke_token(&gone)).await?;
    Ok(Json(json!({ "revoked": id })))
}

/// The audit log, oldest first: `after` (a sequence number), `limit` (at most 1000).
#[utoipa::path(get, path = "/api/v1/audit",
    params(("after" = Option<u64>, Query, description = "entries after this sequence number"),
           ("limit" = Option<usize>, Query, description = "at most this many (1000)")),
    responses((status = 200, description = "entries")))]
pub async fn list_audit(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let p = Params::parse(raw.as_deref(), &["after", "limit"])?;
    let after = p.parsed::<u64>("after")?.unwrap_or(0);
    let limit = match p.limit()? {
        0 => 100,
        n => n.min(1000),
    };
    let audit = s.access.audit.clone();
    let items: Vec<AuditEntry> = blocking(move || audit.entries(after, limit)).await?;
    // An admin sees the calls of callers inside its subtree; anonymous calls only at the top.
    let top = s.regions.parent(c.grant.region).is_none();
    let items: Vec<AuditEntry> = items
        .into_iter()
        .filter(|e| match e.record.scope.parse::<RegionCode>() {
            Ok(scope) => c.sees(&s.regions, scope),
            Err(_) => top,
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}
