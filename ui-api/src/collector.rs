//! How the HTTP collectors (`/api/v1/ingest`, the Elasticsearch `_bulk` endpoints, Splunk HEC)
//! authenticate, in front of the ingest router.
//!
//! Two kinds of credential are accepted, side by side, so no shipper breaks:
//! - the per-collector tokens of `[http]` (`ingest_tokens`, `bulk_tokens`, `hec_tokens`),
//!   checked by the collectors themselves exactly as before;
//! - an API token with the `collector` (or `admin`) role, shown the way the shipper shows a
//!   token: `Authorization: Bearer`, `ApiKey` or `Splunk TOKEN`, or as the password of `Basic`.
//!   The gate checks it against the auth store and lets the request through; an API token of
//!   another role is refused with 403.
//!
//! A collector with no per-collector tokens stays open, as before, unless
//! `auth.collectors_require_token` is set: then it needs a collector-role API token.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use onewall_store::auth::{AuthStore, TOKEN_PREFIX};

use crate::ApiError;
use crate::ErrorCode;
use crate::access::blocking;

/// The gate's settings.
#[derive(Debug, Clone)]
pub struct CollectorGate {
    pub auth: Arc<AuthStore>,
    /// Collectors without per-collector tokens need a collector-role API token.
    pub require_token: bool,
    /// The per-collector tokens configured, as the collectors check them.
    pub ingest_tokens: Vec<String>,
    pub bulk_tokens: Vec<String>,
    pub hec_tokens: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Collector {
    Ingest,
    Bulk,
    Hec,
}

fn collector_of(path: &str) -> Option<Collector> {
    if path == "/api/v1/ingest" {
        Some(Collector::Ingest)
    } else if path.ends_with("/_bulk") {
        Some(Collector::Bulk)
    } else if path.starts_with("/services/collector") {
        Some(Collector::Hec)
    } else {
        None
    }
}

impl CollectorGate {
    fn configured(&self, c: Collector) -> &[String] {
        match c {
            Collector::Ingest => &self.ingest_tokens,
            Collector::Bulk => &self.bulk_tokens,
            Collector::Hec => &self.hec_tokens,
        }
    }
}

/// The secret a request shows, whatever the scheme.
fn shown_secret(req: &Request) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, cred) = value.trim().split_once(' ')?;
    let cred = cred.trim();
    if ["bearer", "apikey", "splunk"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
    {
        Some(cred.to_owned())
    } else if scheme.eq_ignore_ascii_case("basic") {
        let pair = base64_decode(cred)?;
        let pair = String::from_utf8(pair).ok()?;
        pair.split_once(':').map(|(_, p)| p.to_owned())
    } else {
        None
    }
}

/// The gate, as middleware over the ingest router.
pub async fn gate(State(g): State<CollectorGate>, mut req: Request, next: Next) -> Response {
    let Some(collector) = collector_of(req.uri().path()) else {
        return next.run(req).await;
    };
    let secret = shown_secret(&req).filter(|s| s.starts_with(TOKEN_PREFIX));
    if let Some(secret) = secret {
        let auth = g.auth.clone();
        match blocking(move || auth.check_token(&secret)).await {
            Err(e) => return e.into_response(),
            Ok(Some(grant)) if grant.role.can_ingest() => {
                // Let the collector's own check pass: hand it one of its tokens, or none.
                let headers = req.headers_mut();
                headers.remove(header::AUTHORIZATION);
                if let Some(t) = g.configured(collector).first() {
                    let scheme = if collector == Collector::Hec {
                        "Splunk"
                    } else {
                        "Bearer"
                    };
                    if let Ok(v) = HeaderValue::from_str(&format!("{scheme} {t}")) {
                        headers.insert(header::AUTHORIZATION, v);
                    }
                }
                return next.run(req).await;
            }
            Ok(Some(grant)) => {
                return ApiError::new(
                    ErrorCode::Forbidden,
                    format!("the {} role may not send events", grant.role),
                )
                .into_response();
            }
            Ok(None) => {}
        }
    }
    if g.require_token && g.configured(collector).is_empty() {
        return ApiError::new(
            ErrorCode::Unauthenticated,
            "this collector needs a token: Authorization: Bearer TOKEN (a collector-role API token)",
        )
        .into_response();
    }
    next.run(req).await
}

/// Standard or URL-safe base64, with or without padding; `None` when it is not base64.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_basic() {
        assert_eq!(collector_of("/api/v1/ingest"), Some(Collector::Ingest));
        assert_eq!(collector_of("/filebeat-8/_bulk"), Some(Collector::Bulk));
        assert_eq!(
            collector_of("/services/collector/event"),
            Some(Collector::Hec)
        );
        assert_eq!(collector_of("/"), None);
        assert_eq!(base64_decode("dTpwYXNz").unwrap(), b"u:pass");
    }
}
