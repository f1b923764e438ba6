//! What every call of the web API passes before the access guard, and what every answer of
//! the node carries.
//!
//! - [`writes`]: a write (any method but GET, HEAD, OPTIONS) authenticated by the console's
//!   session cookie must come from this site — its `Origin` (else its `Referer`), when it has
//!   one, names the host the request was sent to — and a body it carries must be JSON
//!   (`Content-Type: application/json`). Any write that gives a `Content-Type` must give a JSON one (the hunt's upload,
//!   `POST /api/v1/hunt`, may give `application/octet-stream`; the asset import any type; a drill
//!   plan, `POST /api/v1/drills`, YAML); the login
//!   checks `Origin`/`Referer` when given, and takes at most [`OPEN_MAX_BODY_BYTES`]. A refusal
//!   is 403 (`csrf`), 415 (`unsupported_media_type`) or 413, before anything is read.
//! - [`security_headers`]: `Cache-Control: no-store`, `X-Content-Type-Options: nosniff`,
//!   `X-Frame-Options: DENY`, `Referrer-Policy: same-origin` and a Content-Security-Policy
//!   that lets a console load only its own scripts, styles and data (no inline script, no
//!   framing).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiError;
use crate::ErrorCode;
use crate::access::{Credential, credential};

/// The largest body an endpoint open without a credential takes (the login).
pub const OPEN_MAX_BODY_BYTES: usize = 16 * 1024;

/// The Content-Security-Policy of every answer.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The API's endpoints whose body is a file's bytes (`application/octet-stream`).
const FILE_WRITES: [&str; 2] = ["/api/v1/hunt", "/api/v1/assets/import"];

/// The asset import, which takes a file of any content type.
const ASSET_IMPORT: &str = "/api/v1/assets/import";

/// The drill plan, which takes its scenario as YAML as well as JSON.
const DRILL_PLAN: &str = "/api/v1/drills";

/// The API's open endpoints that take a body.
const OPEN_WRITES: [&str; 1] = ["/api/v1/login"];

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// `host[:port]` of an `Origin` or `Referer` value (`scheme://host[:port][/...]`).
fn authority_of(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    rest.get(..end).filter(|a| !a.is_empty())
}

/// The site that sent the request: its `Origin`, else its `Referer` (`None`: neither).
fn sender(headers: &HeaderMap) -> Option<String> {
    [header::ORIGIN, header::REFERER]
        .iter()
        .find_map(|h| headers.get(h))
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Is `sent_from` (an `Origin` or `Referer`) the host the request was sent to?
fn same_site(sent_from: &str, headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match (authority_of(sent_from), host) {
        (Some(a), Some(h)) => a.eq_ignore_ascii_case(h.trim()),
        _ => false,
    }
}

/// A media type without its parameters, lower-cased (`Application/JSON; charset=utf-8` →
/// `application/json`).
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_json(content_type: &str) -> bool {
    let essence = essence(content_type);
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A YAML media type (`application/yaml`, its older `application/x-yaml`, `text/yaml`): none is
/// one a cross-site form may send without the browser asking first.
fn is_yaml(content_type: &str) -> bool {
    let essence = essence(content_type);
    matches!(
        essence.as_str(),
        "application/yaml" | "application/x-yaml" | "text/yaml"
    )
}

fn is_octet_stream(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/octet-stream")
}

/// Does the request carry a body (a length above 0, or a chunked one)?
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0)
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// The checks of a write, before the guard and before any body is read (see the module).
pub fn check_write(method: &Method, path: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    if !is_write(method) {
        return Ok(());
    }
    let cookie = matches!(credential(headers), Some(Credential::Session(_)));
    let open = OPEN_WRITES.contains(&path);
    if cookie || open {
        match sender(headers) {
            Some(from) if !same_site(&from, headers) => {
                return Err(ApiError::new(
                    ErrorCode::Csrf,
                    format!(
                        "cross-site request refused: {from:?} is not this site; the console's \
                         writes come from its own pages"
                    ),
                ));
            }
            // Browsers name the sender of every cross-site write; a client that names none
            // is not a browser page.
            Some(_) | None => {}
        }
    }
    match headers.get(header::CONTENT_TYPE) {
        Some(ct) => {
            let ct = String::from_utf8_lossy(ct.as_bytes());
            if FILE_WRITES.contains(&path) && is_octet_stream(&ct) {
                // A file upload: its bytes are the body.
            } else if path == ASSET_IMPORT {
                // An asset file, whatever its sender calls it (text/csv, application/xml,
                // the spreadsheet type): the format is read from the content.
            } else if path == DRILL_PLAN && is_yaml(&ct) {
                // A drill's scenario, as written.
            } else if !is_json(&ct) {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    format!("content-type: {ct:?} is not accepted; send application/json"),
                ));
            }
        }
        None if cookie && has_body(headers) => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "content-type: missing; send application/json",
            ));
        }
        None => {}
    }
    if open && declared_length(headers).is_some_and(|n| n > OPEN_MAX_BODY_BYTES as u64) {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("request body: larger than {OPEN_MAX_BODY_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Middleware over the API router: [`check_write`], then the rest.
pub async fn writes(mut req: Request, next: Next) -> Response {
    if let Err(e) = check_write(req.method(), req.uri().path(), req.headers()) {
        return e.into_response();
    }
    if is_write(req.method()) && OPEN_WRITES.contains(&req.uri().path()) {
        // A body without a declared length is cut at the same bound while it is read.
        let body = std::mem::take(req.body_mut());
        *req.body_mut() =
            axum::body::Body::new(http_body_util::Limited::new(body, OPEN_MAX_BODY_BYTES));
    }
    next.run(req).await
}

/// Add the security headers to an answer (see the module); a header the handler set stays.
pub async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    ] {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    resp
}

/// Read a request body of at most `limit` bytes (a handler calls it after the caller was
/// authenticated); 413 naming the limit when it is larger, 400 when it cannot be read.
pub(crate) async fn read_body(
    body: axum::body::Body,
    limit: usize,
    what: &str,
) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("{what} body: larger than {limit} bytes"),
            )
        } else {
            ApiError::invalid(format!("{what} body: {e}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap_or(header::ACCEPT),
                HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
            );
        }
        h
    }

    #[test]
    fn authorities() {
        assert_eq!(
            authority_of("http://127.0.0.1:8080"),
            Some("127.0.0.1:8080")
        );
        assert_eq!(authority_of("https://soc.example/x?y"), Some("soc.example"));
        assert_eq!(authority_of("null"), None);
    }

    #[test]
    fn a_drill_plan_takes_yaml_from_this_site_and_nothing_else_does() {
        let post = Method::POST;
        let code = |path: &str, origin: &str, ct: &str| {
            let h = headers(&[
                ("host", "soc:8080"),
                ("cookie", "onewall_session=abc"),
                ("content-length", "10"),
                ("origin", origin),
                ("content-type", ct),
            ]);
            check_write(&post, path, &h).map_err(|e| e.code.as_str())
        };
        let here = "http://soc:8080";
        assert_eq!(code("/api/v1/drills", here, "application/yaml"), Ok(()));
        assert_eq!(
            code("/api/v1/drills", here, "text/yaml; charset=utf-8"),
            Ok(())
        );
        assert_eq!(code("/api/v1/drills", here, "application/json"), Ok(()));
        assert_eq!(
            code("/api/v1/drills", "http://evil", "application/yaml"),
            Err("csrf")
        );
        assert_eq!(
            code("/api/v1/drills", here, "text/plain"),
            Err("unsupported_media_type")
        );
        assert_eq!(
            code("/api/v1/bulletins", here, "application/yaml"),
            Err("unsupported_media_type")
        );
    }

    #[test]
    fn only_the_hunt_takes_a_file_and_still_from_this_site() {
        let post = Method::POST;
        let h = |origin: &str| {
            headers(&[
                ("host", "soc:8080"),
                ("cookie", "onewall_session=abc"),
                ("content-length", "10"),
                ("origin", origin),
                ("content-type", "application/octet-stream"),
            ])
        };
        let code = |path: &str, origin: &str| {
            check_write(&post, path, &h(origin)).map_err(|e| e.code.as_str())
        };
        assert_eq!(code("/api/v1/hunt", "http://soc:8080"), Ok(()));
        assert_eq!(code("/api/v1/hunt", "http://evil"), Err("csrf"));
        assert_eq!(
            code("/api/v1/incidents/{id}/comment", "http://soc:8080"),
            Err("unsupported_media_type")
        );
    }

    #[test]
    fn cookie_writes_need_this_site_and_json() {
        let post = Method::POST;
        let path = "/api/v1/incidents/{id}/comment";
        let site = [
            ("host", "soc:8080"),
            ("cookie", "onewall_session=abc"),
            ("content-length", "10"),
        ];
        let with = |extra: &[(&str, &str)]| {
            let mut all = site.to_vec();
            all.extend_from_slice(extra);
            check_write(&post, path, &headers(&all)).map_err(|e| e.code.as_str())
        };
        assert_eq!(
            with(&[
                ("origin", "http://soc:8080"),
                ("content-type", "application/json")
            ]),
            Ok(())
        );
        assert_eq!(
            with(&[
                ("origin", "http://evil"),
                ("content-type", "application/json")
            ]),
            Err("csrf")
        );
        assert_eq!(with(&[("content-type", "application/json")]), Ok(()));
        assert_eq!(
            with(&[
                ("referer", "http://soc:8080/console"),
                ("content-type", "application/json")
            ]),
            Ok(())
        );
        assert_eq!(
            with(&[
                ("origin", "http://soc:8080"),
                ("content-type", "text/plain")
            ]),
            Err("unsupported_media_type")
        );
        assert_eq!(
            with(&[("origin", "http://soc:8080")]),
            Err("unsupported_media_type")
        );
        // Reads are not checked; bearer writes need no Origin.
        assert_eq!(
            check_write(&Method::GET, path, &headers(&site)).map_err(|e| e.code.as_str()),
            Ok(())
        );
        let bearer = headers(&[("authorization", "Bearer ow_x"), ("content-length", "3")]);
        assert_eq!(
            check_write(&post, path, &bearer).map_err(|e| e.code.as_str()),
            Ok(())
        );
    }
}
