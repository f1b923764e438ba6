//! The API described as OpenAPI 3, generated from the handlers' annotations (utoipa) and
//! served at `GET /api/v1/openapi.json`.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "onewall",
        description = "onewall (一道墙) security operations API. Every endpoint but /healthz, \
            /metrics, this document and login needs a bearer token or the console's session \
            cookie; records outside the caller's region subtree answer 404."
    ),
    paths(
        crate::healthz,
        crate::metrics,
        crate::list_events,
        crate::get_event,
        crate::list_alerts,
        crate::get_alert,
        crate::list_incidents,
        crate::get_incident,
        crate::list_rules,
        crate::list_regions,
        crate::admin::login,
        crate::admin::logout,
        crate::admin::whoami,
        crate::admin::list_users,
        crate::admin::create_user,
        crate::admin::list_tokens,
        crate::admin::create_token,
        crate::admin::revoke_token,
        crate::admin::list_audit,
        crate::workflow::assign,
        crate::workflow::acknowledge,
        crate::workflow::comment,
        crate::workflow::set_status,
        crate::workflow::override_grade,
        crate::workflow::link_alert,
        crate::workflow::unlink_alert,
    ),
    modifiers(&Security),
    security(("bearer" = []), ("session" = []))
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::access::SESSION_COOKIE,
            ))),
        );
    }
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
});

/// The OpenAPI document as JSON.
pub fn document() -> &'static str {
    &DOCUMENT
}

/// `GET /api/v1/openapi.json`.
pub async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document()).into_response()
}
