//! Who is calling and what they may do: authentication (bearer tokens and the console's
//! session cookie), the role each endpoint needs, the caller's region subtree, and the audit
//! record of every call.
//!
//! The guard runs on every routed endpoint except the open ones (`/healthz`, `/metrics` unless
//! restricted, `/api/v1/openapi.json`, `/api/v1/login`). A call without a valid credential gets
//! 401; a role that may not use the endpoint gets 403; a record outside the caller's region
//! subtree answers 404 exactly as a record that does not exist.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use onewall_model::{Alert, Event, Incident, RegionCode, RegionTree, Timestamp};
use onewall_store::Store;
use onewall_store::audit::{AuditLog, AuditRecord};
use onewall_store::auth::{AuthStore, Grant, Role};

use crate::ErrorCode;
use crate::login_limit::LoginLimiter;
use crate::mask::MaskPolicy;
use crate::{ApiError, ApiState};

/// The console's session cookie.
pub const SESSION_COOKIE: &str = "onewall_session";

/// Access control settings and stores.
#[derive(Debug, Clone)]
pub struct Access {
    pub auth: Arc<AuthStore>,
    pub audit: Arc<AuditLog>,
    /// `/metrics` answers without a credential (otherwise it needs a reading role).
    pub metrics_open: bool,
    /// What is masked for callers without the `pii` permission.
    pub mask: MaskPolicy,
    /// Login lockouts, the bound on concurrent password checks, and the audit budget of
    /// unauthenticated calls.
    pub login: Arc<LoginLimiter>,
}

/// The authenticated caller of a request (set by the guard; handlers extract it).
#[derive(Debug, Clone)]
pub struct Caller {
    pub grant: Grant,
}

/// An audit record of `grant`'s call: who, with which role and scope, did `action` on
/// `target`, answered `result`.
fn record_of(grant: &Grant, action: String, target: String, result: u16) -> AuditRecord {
    AuditRecord {
        at: Timestamp::now(),
        actor: grant.subject.clone(),
        role: grant.role.as_str().to_owned(),
        scope: grant.region.to_string(),
        action,
        target,
        result,
        client: String::new(),
        detail: String::new(),
    }
}

impl Caller {
    /// The audit record of this caller's `action` on `target`, answered `result`.
    pub(crate) fn audit_record(&self, action: &str, target: String, result: u16) -> AuditRecord {
        record_of(&self.grant, action.to_owned(), target, result)
    }

    /// The name on timelines and in the audit log.
    pub fn name(&self) -> &str {
        &self.grant.subject
    }

    /// May the caller see a record of `region`? The top of the tree also sees regions the
    /// tree does not know (records from misconfigured senders belong to someone).
    pub fn sees(&self, tree: &RegionTree, region: RegionCode) -> bool {
        let root = self.grant.region;
        tree.is_within(region, root)
            || (tree.contains(root) && tree.parent(root).is_none() && !tree.contains(region))
    }

    /// Regions a list query is limited to: the subtree of `requested` (which must lie inside
    /// the caller's subtree) or of the caller's root. Empty means every region, for a caller
    /// at the top of the tree who asked for no region.
    pub fn regions(
        &self,
        tree: &RegionTree,
        requested: Option<RegionCode>,
    ) -> Result<Vec<RegionCode>, ApiError> {
        let root = self.grant.region;
        let base = match requested {
            Some(code) => {
                if !tree.contains(code) || !self.sees(tree, code) {
                    // The same answer as for a code nobody knows.
                    return Err(ApiError::invalid(format!(
                        "region: {code} is not a known region"
                    )));
                }
                code
            }
            None if tree.contains(root) && tree.parent(root).is_none() => return Ok(Vec::new()),
            None => root,
        };
        let mut codes: Vec<RegionCode> = tree
            .iter()
            .map(|r| r.code)
            .filter(|c| tree.is_within(*c, base))
            .collect();
        if codes.is_empty() {
            // A root the tree does not know: only its own code.
            codes.push(base);
        }
        Ok(codes)
    }

    /// The masking to apply to this caller's answers (none with the `pii` permission).
    pub fn masking<'a>(&self, policy: &'a MaskPolicy) -> Option<&'a MaskPolicy> {
        (!self.grant.sees_pii()).then_some(policy)
    }
}

/// The event field that carries a record's department: the sending source's configured
/// `department` (`[syslog]`, `[http]`, `[flow]`), or the sender's own `organization.name`.
pub const DEPARTMENT_FIELD: &str = "organization.name";

/// The department of an event, if it has one.
pub fn department_of(e: &Event) -> Option<String> {
    e.fields
        .get(DEPARTMENT_FIELD)
        .and_then(|v| v.to_text())
        .map(|t| t.into_owned())
}

impl Caller {
    /// May the caller see this event, department-wise? (Region is [`Caller::sees`].)
    pub fn event_in_department(&self, e: &Event) -> bool {
        match &self.grant.department {
            None => true,
            Some(d) => department_of(e).as_deref() == Some(d.as_str()),
        }
    }

    /// May the caller see this alert, department-wise? An alert belongs to a department
    /// when every event it was raised on does; an alert with no stored event (an SLA breach)
    /// belongs to none. Callers without a department see every alert.
    pub async fn alert_in_department(
        &self,
        store: &dyn Store,
        a: &Alert,
    ) -> Result<bool, ApiError> {
        if self.grant.department.is_none() {
            return Ok(true);
        }
        if a.event_ids.is_empty() {
            return Ok(false);
        }
        for id in &a.event_ids {
            match store.get_event(*id).await? {
                Some(e) if self.event_in_department(&e) => {}
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    /// May the caller see this incident, department-wise? An incident belongs to a
    /// department when every alert linked to it does (and so every event behind them).
    pub async fn incident_in_department(
        &self,
        store: &dyn Store,
        i: &Incident,
    ) -> Result<bool, ApiError> {
        if self.grant.department.is_none() {
            return Ok(true);
        }
        if i.alert_ids.is_empty() {
            return Ok(false);
        }
        for id in &i.alert_ids {
            match store.get_alert(*id).await? {
                Some(a) if self.alert_in_department(store, &a).await? => {}
                _ => return Ok(false),
            }
        }
        Ok(true)
    }
}

/// What an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing: open.
    Open,
    /// Any valid credential.
    Authenticated,
    /// A role that reads security data.
    Read,
    /// A role that works incidents (comment, acknowledge, status, link).
    Work,
    /// A role that directs incidents (assign, grade).
    Direct,
    /// The admin role.
    Admin,
    /// A role that delivers data to this node (collector, admin): a child's daily report.
    Deliver,
}

/// The need of `method path` (`path` as routed, with `{id}` placeholders). Endpoints not
/// listed need a reading role to GET and the admin role for anything else.
pub fn need_for(method: &Method, path: &str, metrics_open: bool) -> Need {
    match path {
        "/healthz" | "/api/v1/openapi.json" | "/api/v1/login" => Need::Open,
        "/metrics" if metrics_open => Need::Open,
        "/metrics" => Need::Read,
        "/api/v1/logout" | "/api/v1/whoami" => Need::Authenticated,
        "/api/v1/incidents/{id}/comment"
        | "/api/v1/incidents/{id}/acknowledge"
        | "/api/v1/incidents/{id}/status"
        | "/api/v1/incidents/{id}/alerts"
        | "/api/v1/incidents/{id}/alerts/{alert_id}"
        | "/api/v1/hunt" => Need::Work,
        "/api/v1/incidents/{id}/assign" | "/api/v1/incidents/{id}/grade" => Need::Direct,
        // Local indicators: added and removed by those who work incidents.
        "/api/v1/intel/indicators" | "/api/v1/intel/indicators/{id}" if method != Method::GET => {
            Need::Work
        }
        // Scan results and the registry are imported, and findings worked, by those who
        // work incidents; removing a system is the admin's.
        "/api/v1/assets/import" | "/api/v1/assets/findings/{id}" => Need::Work,
        "/api/v1/reports" if method == Method::POST => Need::Deliver,
        // Supervision: recipients sign, answer and rectify, duty is kept and lessons are
        // recorded by those who work incidents; bulletins are issued and reviewed, periods
        // declared and drills planned by those who direct them.
        "/api/v1/bulletins/{id}/sign"
        | "/api/v1/bulletins/{id}/answer"
        | "/api/v1/bulletins/{id}/rectify"
        | "/api/v1/periods/{id}/lessons"
        | "/api/v1/duty/shifts"
        | "/api/v1/duty/shifts/{id}"
        | "/api/v1/duty/handovers"
        | "/api/v1/duty/handovers/{id}/sign"
            if method != Method::GET =>
        {
            Need::Work
        }
        "/api/v1/bulletins"
        | "/api/v1/bulletins/{id}/review"
        | "/api/v1/periods"
        | "/api/v1/periods/{id}/cancel"
        | "/api/v1/drills"
        | "/api/v1/drills/{id}/start"
            if method != Method::GET =>
        {
            Need::Direct
        }
        p if p.starts_with("/api/v1/users")
            || p.starts_with("/api/v1/tokens")
            || p.starts_with("/api/v1/audit")
            || p == "/api/v1/rules/reload" =>
        {
            Need::Admin
        }
        _ if method == Method::GET || method == Method::HEAD => Need::Read,
        _ => Need::Admin,
    }
}

fn allowed(role: Role, need: Need) -> bool {
    match need {
        Need::Open | Need::Authenticated => true,
        Need::Read => role.can_read(),
        Need::Work => role.can_work_incidents(),
        Need::Direct => role.can_direct_incidents(),
        Need::Admin => role.is_admin(),
        Need::Deliver => role == Role::Collector || role.is_admin(),
    }
}

/// The credential a request shows: `Authorization: Bearer TOKEN`, else the session cookie.
pub(crate) enum Credential {
    Token(String),
    Session(String),
}

pub(crate) fn credential(headers: &HeaderMap) -> Option<Credential> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some((scheme, rest)) = v.trim().split_once(' ')
        && scheme.eq_ignore_ascii_case("bearer")
    {
        return Some(Credential::Token(rest.trim().to_owned()));
    }
    session_cookie(headers).map(Credential::Session)
}

pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == SESSION_COOKIE && !v.is_empty()).then(|| v.to_owned())
        })
}

/// Run a blocking auth or audit call on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, onewall_store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("blocking task failed: {e}")))?
        .map_err(ApiError::from)
}

/// The grant behind a credential, `None` when it is not valid.
pub(crate) async fn resolve(
    auth: &Arc<AuthStore>,
    cred: Credential,
) -> Result<Option<Grant>, ApiError> {
    let auth = auth.clone();
    blocking(move || match cred {
        Credential::Token(t) => auth.check_token(&t),
        Credential::Session(s) => auth.check_session(&s),
    })
    .await
}

/// Append one audit record; a failure is logged (the answer has already been made).
pub(crate) async fn record(audit: &Arc<AuditLog>, rec: AuditRecord) {
    let audit = audit.clone();
    if let Err(e) = blocking(move || audit.append(rec)).await {
        tracing::error!(error = %e, "audit record could not be written");
    }
}

/// Append one audit record of the call answered `resp`; when it cannot be written the call
/// fails instead (500): nothing is answered that the log does not hold.
pub(crate) async fn record_or_fail(
    audit: &Arc<AuditLog>,
    rec: AuditRecord,
    resp: Response,
) -> Response {
    let audit = audit.clone();
    match blocking(move || audit.append(rec)).await {
        Ok(_) => resp,
        Err(e) => {
            metrics::counter!("onewall_api_audit_failures_total").increment(1);
            ApiError::new(
                ErrorCode::Internal,
                format!("the audit record could not be written: {e}"),
            )
            .into_response()
        }
    }
}

/// Append the record of a call that showed no valid credential, within the budget of such
/// rows (`[auth] audit_unauthenticated_per_minute`); past it the call is only counted, and the
/// next row written says how many were left out. A failed write is logged: the call was
/// refused anyway.
pub(crate) async fn record_unauthenticated(access: &Access, rec: AuditRecord) {
    let Some(left_out) = access.login.unauthenticated_row(Instant::now()) else {
        return;
    };
    if left_out > 0 {
        let summary = AuditRecord {
            at: rec.at,
            actor: "anonymous".into(),
            role: String::new(),
            scope: String::new(),
            action: "audit budget".into(),
            target: "calls without a valid credential".into(),
            result: 429,
            client: String::new(),
            detail: format!("{left_out} such calls were not recorded (over the budget)"),
        };
        record(&access.audit, summary).await;
    }
    record(&access.audit, rec).await;
}

/// The caller's address: the TCP peer, when the server provides it.
pub(crate) fn client_of(extensions: &axum::http::Extensions) -> Option<SocketAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| *a)
}

/// What a handler adds to the audit record of its call (e.g. what a new token grants); set as
/// a response extension, read by the guard.
#[derive(Debug, Clone)]
pub(crate) struct AuditDetail(pub String);

/// The guard: authenticate, check the role, run the handler, audit the call.
pub async fn guard(State(s): State<ApiState>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let routed = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let need = need_for(&method, &routed, s.access.metrics_open);
    if need == Need::Open {
        return next.run(req).await;
    }
    let target = crate::view::audit_target(req.uri(), &s.access.mask);
    let action = format!("{method} {routed}");
    let client = client_of(req.extensions())
        .map(|a| a.to_string())
        .unwrap_or_default();
    let grant = match credential(req.headers()) {
        None => None,
        Some(c) => match resolve(&s.access.auth, c).await {
            Ok(g) => g,
            Err(e) => return e.into_response(),
        },
    };
    let Some(grant) = grant else {
        let resp = ApiError::new(
            ErrorCode::Unauthenticated,
            "authentication required: send Authorization: Bearer TOKEN or log in",
        )
        .into_response();
        record_unauthenticated(
            &s.access,
            AuditRecord {
                at: Timestamp::now(),
                actor: "anonymous".into(),
                role: String::new(),
                scope: String::new(),
                action,
                target,
                result: resp.status().as_u16(),
                client,
                detail: String::new(),
            },
        )
        .await;
        return resp;
    };
    let mut rec = AuditRecord {
        client,
        ..record_of(&grant, action, target, 0)
    };
    // The answer of a caller who may not see personal data is masked on its way out.
    let mask = (!grant.sees_pii()).then(|| crate::view::MaskAnswer(s.access.mask.clone()));
    let mut resp = if allowed(grant.role, need) {
        req.extensions_mut().insert(Caller { grant });
        next.run(req).await
    } else {
        ApiError::new(
            ErrorCode::Forbidden,
            format!("the {} role may not use this endpoint", grant.role),
        )
        .into_response()
    };
    if let Some(m) = mask {
        resp.extensions_mut().insert(m);
    }
    rec.result = resp.status().as_u16();
    if let Some(AuditDetail(d)) = resp.extensions().get::<AuditDetail>() {
        rec.detail = d.clone();
    }
    record_or_fail(&s.access.audit, rec, resp).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(need_for(&get, "/healthz", false), Need::Open);
        assert_eq!(need_for(&get, "/metrics", true), Need::Open);
        assert_eq!(need_for(&get, "/metrics", false), Need::Read);
        assert_eq!(need_for(&get, "/api/v1/events", true), Need::Read);
        assert_eq!(need_for(&post, "/api/v1/rules/reload", true), Need::Admin);
        assert_eq!(need_for(&post, "/api/v1/something/new", true), Need::Admin);
        assert_eq!(
            need_for(&post, "/api/v1/incidents/{id}/grade", true),
            Need::Direct
        );
        assert_eq!(
            need_for(&post, "/api/v1/intel/indicators", true),
            Need::Work
        );
        assert_eq!(need_for(&post, "/api/v1/intel/bundles", true), Need::Admin);
        assert!(!allowed(Role::Collector, Need::Read));
        assert!(!allowed(Role::Viewer, Need::Work));
        assert!(!allowed(Role::Analyst, Need::Direct));
        assert!(allowed(Role::Responder, Need::Direct));
        assert!(!allowed(Role::Responder, Need::Admin));
    }
}
