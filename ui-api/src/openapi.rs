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
        crate::openapi::serve,
        crate::list_events,
        crate::get_event,
        crate::list_alerts,
        crate::get_alert,
        crate::list_incidents,
        crate::get_incident,
        crate::stream::stream,
        crate::list_rules,
        crate::reload_rules,
        crate::hunt::hunt,
        crate::list_regions,
        crate::stats::histogram,
        crate::stats::top,
        crate::stats::overview::overview,
        crate::deliveries::list,
        crate::export::export,
        crate::reports::list,
        crate::reports::submit,
        crate::admin::login,
        crate::admin::logout,
        crate::admin::whoami,
        crate::admin::list_users,
        crate::admin::create_user,
        crate::admin::list_tokens,
        crate::admin::create_token,
        crate::admin::revoke_token,
        crate::admin::list_audit,
        crate::admin::verify_audit,
        crate::workflow::assign,
        crate::workflow::acknowledge,
        crate::workflow::comment,
        crate::workflow::set_status,
        crate::workflow::override_grade,
        crate::workflow::link_alert,
        crate::workflow::unlink_alert,
        crate::federation::push,
        crate::federation::dispatch,
        crate::federation::children,
        crate::federation::status,
        crate::intel::import_bundle,
        crate::intel::receipt,
        crate::intel::list_indicators,
        crate::intel::add_indicator,
        crate::intel::delete_indicator,
        crate::intel::feeds,
        crate::intel::sightings,
        crate::anomaly::detectors,
        crate::anomaly::detector,
        crate::anomaly::alerts,
        crate::supervise::bulletins::issue,
        crate::supervise::bulletins::list,
        crate::supervise::bulletins::stats,
        crate::supervise::bulletins::get,
        crate::supervise::bulletins::sign,
        crate::supervise::bulletins::answer,
        crate::supervise::bulletins::rectify,
        crate::supervise::bulletins::review,
        crate::supervise::bulletins::attachment,
        crate::supervise::periods::declare,
        crate::supervise::periods::list,
        crate::supervise::periods::get,
        crate::supervise::periods::cancel,
        crate::supervise::periods::add_lesson,
        crate::supervise::periods::lessons,
        crate::supervise::periods::slots,
        crate::supervise::periods::review,
        crate::supervise::duty::add_shift,
        crate::supervise::duty::shifts,
        crate::supervise::duty::remove_shift,
        crate::supervise::duty::now,
        crate::supervise::duty::hand_over,
        crate::supervise::duty::handovers,
        crate::supervise::duty::take_over,
        crate::supervise::reports::periodic,
        crate::supervise::reports::kept,
        crate::supervise::drills::plan,
        crate::supervise::drills::list,
        crate::supervise::drills::get,
        crate::supervise::drills::start,
        crate::supervise::drills::report,
        crate::assets::import,
        crate::assets::list::systems,
        crate::assets::list::get_system,
        crate::assets::delete_system,
        crate::assets::list::hosts,
        crate::assets::list::get_host,
        crate::assets::list::findings,
        crate::assets::set_status,
        crate::assets::list::exposure,
        crate::assets::list::summary,
        crate::assets::export,
        crate::assets::rollup,
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
#[utoipa::path(get, path = "/api/v1/openapi.json", security(()),
    responses((status = 200, description = "this document")))]
pub async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document()).into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use regex::Regex;

    /// Every `.route(PATH, METHOD(handler)...)` of the router in `lib.rs`, as `METHOD PATH`.
    fn routed() -> BTreeSet<String> {
        let source = include_str!("lib.rs");
        let route =
            Regex::new(r#"\.route\(\s*"([^"]+)",\s*((?:[\w:]+\([\w:]*\)\s*\.?\s*)+),?\s*\)"#)
                .unwrap();
        let method = Regex::new(r"(?:^|\.|::)\s*(get|post|put|delete|patch)\(").unwrap();
        let mut out = BTreeSet::new();
        for c in route.captures_iter(source) {
            for m in method.captures_iter(&c[2]) {
                out.insert(format!("{} {}", &m[1], &c[1]));
            }
        }
        out
    }

    #[test]
    fn every_route_of_the_router_is_in_the_document() {
        let doc: serde_json::Value = serde_json::from_str(super::document()).unwrap();
        let routes = routed();
        // The scan read every `.route(` call (a route it cannot read fails here, not silently).
        let paths: BTreeSet<&str> = routes
            .iter()
            .filter_map(|r| r.split_once(' '))
            .map(|(_, p)| p)
            .collect();
        let calls = include_str!("lib.rs").matches(".route(").count();
        assert_eq!(paths.len(), calls, "the route scan read {routes:?}");
        assert!(routes.contains("get /api/v1/users") && routes.contains("post /api/v1/users"));
        let missing: Vec<&String> = routes
            .iter()
            .filter(|r| {
                let (method, path) = r.split_once(' ').unwrap();
                doc["paths"][path][method].is_null()
            })
            .collect();
        assert!(
            missing.is_empty(),
            "routes missing from the OpenAPI document: {missing:?}"
        );
    }
}
