//! The console, served by the node on its API port from files embedded at build time
//! (`build.rs` reads `console/dist/`).
//!
//! - `GET /` from a browser (`Accept` with `text/html`) → `302 /ui/` ([`front_door`]); any
//!   other `GET /` keeps the Elasticsearch-compatible answer of HTTP ingest.
//! - `/ui/assets/*` → the hashed files, cached for good (`immutable`); an unknown one (a
//!   name with an extension) is 404. `/ui/assets/systems` and the other asset screens are
//!   console routes ([`is_hashed_file`]).
//! - `/ui/` and every other `/ui/<path>` without a file → `index.html` (the console routes
//!   in the browser's history), revalidated on each load (`no-cache`, `ETag`: 304 when
//!   unchanged), so a new build is picked up on reload.
//! - Gzip (made at build time) when the client accepts it; the console's Content-Security-
//!   Policy, `nosniff` and `no-referrer` on every answer. No credential: the files hold no
//!   data, the API calls they make need one.
//! - Without a built console the node still runs and `/ui/` answers 503 saying how to build it.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// One embedded file of the console.
#[derive(Debug)]
struct ConsoleFile {
    /// Its path under `dist/`, with `/`.
    path: &'static str,
    content_type: &'static str,
    /// Its entity tag (length and CRC-32 of the body), for `If-None-Match`.
    etag: &'static str,
    body: &'static [u8],
    /// The body gzipped, when that is smaller.
    gzip: Option<&'static [u8]>,
}

/// The built console's files (empty when it was not built).
const FILES: &[ConsoleFile] = include!(concat!(env!("OUT_DIR"), "/console_files.rs"));

/// The Content-Security-Policy of the console's answers.
pub const CONSOLE_CSP: &str = "default-src 'self'; img-src 'self' data: blob:; \
     style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'self'; form-action 'self'";

/// What a missing build answers.
const NOT_BUILT: &str = "the console was not built into this onewall binary: run \
     `npm ci && npm run build` in console/, then build onewall again (cargo build)\n";

/// Whether this binary carries a built console.
pub fn built() -> bool {
    FILES.iter().any(|f| f.path == "index.html")
}

fn file(path: &str) -> Option<&'static ConsoleFile> {
    FILES.iter().find(|f| f.path == path)
}

/// The console's routes (open: no credential).
pub fn router() -> Router {
    Router::new()
        .route("/ui", get(|| async { to_console() }))
        .route("/ui/", get(|headers: HeaderMap| async move { serve("", &headers) }))
        .route(
            "/ui/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move { serve(&path, &headers) }),
        )
}

/// Middleware over the node's app: a browser asking for `/` goes to the console; other
/// clients get what `/` answers them (the Elasticsearch-compatible document).
pub async fn front_door(req: Request, next: Next) -> Response {
    let browser = matches!(*req.method(), Method::GET | Method::HEAD)
        && req.uri().path() == "/"
        && req
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .any(|v| String::from_utf8_lossy(v.as_bytes()).contains("text/html"));
    if browser {
        return to_console();
    }
    next.run(req).await
}

/// `302 Found` to `/ui/`.
fn to_console() -> Response {
    (StatusCode::FOUND, [(header::LOCATION, "/ui/")]).into_response()
}

/// Does the client take gzip (`Accept-Encoding: gzip`, not with `q=0`)?
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// Whether `path` names one of the build's hashed files (`assets/Page-Hash.js`): under
/// `assets/`, its last segment with an extension. The asset screens' routes
/// (`assets/systems/{id}`, `assets/findings`) have none, so they get `index.html`; an
/// unknown script stays a 404 (a stale page must not run HTML as script).
fn is_hashed_file(path: &str) -> bool {
    path.strip_prefix("assets/")
        .and_then(|rest| rest.rsplit('/').next())
        .is_some_and(|name| name.contains('.'))
}

/// The answer for `/ui/<path>`.
fn serve(path: &str, headers: &HeaderMap) -> Response {
    if !built() {
        return with_headers(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                NOT_BUILT,
            )
                .into_response(),
        );
    }
    let asset = is_hashed_file(path);
    let found = match file(path) {
        Some(f) if !path.is_empty() => Some(f),
        _ if asset => None,
        _ => file("index.html"),
    };
    let Some(f) = found else {
        return with_headers(
            (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("no such console file: /ui/{path}\n"),
            )
                .into_response(),
        );
    };
    let cache = if asset {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let unchanged = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .any(|t| t.trim() == f.etag || t.trim() == "*");
    let mut resp = match f.gzip {
        _ if unchanged => StatusCode::NOT_MODIFIED.into_response(),
        Some(gz) if accepts_gzip(headers) => {
            let mut r = Body::from(gz).into_response();
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        }
        _ => Body::from(f.body).into_response(),
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(f.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::ETAG, HeaderValue::from_static(f.etag));
    if f.gzip.is_some() {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    with_headers(resp)
}

/// The console's security headers (see the module).
fn with_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSOLE_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
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
    fn gzip_when_accepted() {
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "gzip, deflate, br"
        )])));
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "br;q=1, GZIP;q=0.5"
        )])));
        assert!(accepts_gzip(&headers(&[("accept-encoding", "*")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "gzip;q=0")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "br")])));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn the_table_holds_the_build_or_nothing() {
        // Either the console was built (index.html and its hashed assets, each with a type)
        // or the table is empty and /ui/ says how to build it.
        if built() {
            assert!(FILES.iter().any(|f| f.path.starts_with("assets/")));
            assert!(FILES.iter().all(|f| !f.content_type.is_empty()));
            assert!(!FILES.iter().any(|f| f.path.starts_with('.')));
            let index = serve("incidents/x", &HeaderMap::new());
            assert_eq!(index.status(), StatusCode::OK);
        } else {
            let r = serve("", &HeaderMap::new());
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        }
        let r = serve("assets/none-such.js", &HeaderMap::new());
        assert_ne!(r.status(), StatusCode::OK);
    }

    #[test]
    fn the_asset_screens_are_routes_not_files() {
        assert!(is_hashed_file("assets/index-DQeP7tnk.js"));
        assert!(is_hashed_file("assets/none-such.css"));
        assert!(!is_hashed_file("assets/systems"));
        assert!(!is_hashed_file("assets/systems/sys-00ff00ff00ff00ff"));
        assert!(!is_hashed_file("assets/findings"));
        assert!(!is_hashed_file("assets"));
        assert!(!is_hashed_file("incidents/x.y"));
        if built() {
            for route in ["assets/systems", "assets/exposure", "assets/systems/sys-1"] {
                let r = serve(route, &HeaderMap::new());
                assert_eq!(r.status(), StatusCode::OK, "{route}");
                assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache", "{route}");
            }
        }
    }
}
