//! The console served by the real binary from the files embedded at build time: a browser's
//! `GET /` goes to `/ui/`, any other client keeps the Elasticsearch-compatible answer;
//! `/ui/<route>` is `index.html` (history-mode routing), hashed assets are cached for good and
//! gzipped when accepted, unknown assets are 404, every answer carries the console's security
//! headers, and none needs a credential. A binary built without `console/dist/` answers 503
//! saying how to build it.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

use common::Node;

const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

fn dist() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("console/dist")
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A GET without a credential and without following redirects.
fn get(node: &Node, path: &str, headers: &[(&str, &str)]) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut req = agent.get(&node.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.call().unwrap();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let mut body = Vec::new();
    resp.body_mut().as_reader().read_to_end(&mut body).unwrap();
    Answer {
        status: resp.status().as_u16(),
        headers,
        body,
    }
}

fn assert_console_headers(a: &Answer, what: &str) {
    assert_eq!(a.header("content-security-policy"), Some(CSP), "{what}");
    assert_eq!(
        a.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(a.header("referrer-policy"), Some("no-referrer"), "{what}");
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn the_console_is_served_from_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("onewall.toml");
    std::fs::write(&file, common::config(&dir.path().join("data"), "")).unwrap();
    let node = Node::start(&file);

    // A browser asking for / goes to the console; other clients get the
    // Elasticsearch-compatible document, as before.
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let a = get(&node, "/", &[("Accept", browser)]);
    assert_eq!((a.status, a.header("location")), (302, Some("/ui/")));
    for accept in [None, Some("application/json"), Some("*/*")] {
        let headers: Vec<(&str, &str)> = accept.map(|v| ("Accept", v)).into_iter().collect();
        let a = get(&node, "/", &headers);
        assert_eq!(a.status, 200, "Accept {accept:?}");
        let doc: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(doc["tagline"], "You Know, for Search", "{doc}");
    }
    let a = get(&node, "/ui", &[]);
    assert_eq!((a.status, a.header("location")), (302, Some("/ui/")));

    if !dist().join("index.html").is_file() {
        // Built without the console: it says so and how to build it.
        let a = get(&node, "/ui/", &[]);
        assert_eq!(a.status, 503);
        let text = String::from_utf8_lossy(&a.body);
        assert!(text.contains("npm ci && npm run build"), "{text}");
        assert_console_headers(&a, "/ui/ not built");
        node.stop();
        return;
    }

    // index.html for /ui/ and for every console route (history mode), never cached.
    let index = std::fs::read(dist().join("index.html")).unwrap();
    for path in ["/ui/", "/ui/incidents/x", "/ui/wall", "/ui/admin/users?x=1"] {
        let a = get(&node, path, &[]);
        assert_eq!(a.status, 200, "{path}");
        assert_eq!(a.body, index, "{path}");
        assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(a.header("cache-control"), Some("no-cache"), "{path}");
        assert_console_headers(&a, path);
    }

    // Revalidation: the same index answers 304 without a body.
    let etag = get(&node, "/ui/", &[]).header("etag").unwrap().to_owned();
    let a = get(&node, "/ui/incidents", &[("If-None-Match", &etag)]);
    assert_eq!(a.status, 304);
    assert!(a.body.is_empty());
    let a = get(&node, "/ui/", &[("If-None-Match", "\"0-00000000\"")]);
    assert_eq!(a.status, 200);

    // A hashed script: gzip when accepted (the same bytes once unpacked), plain otherwise;
    // cached for good.
    let script = std::fs::read_dir(dist().join("assets"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "js"))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .unwrap();
    let name = script.file_name().unwrap().to_string_lossy().into_owned();
    let bytes = std::fs::read(&script).unwrap();
    let path = format!("/ui/assets/{name}");
    let packed = get(&node, &path, &[("Accept-Encoding", "gzip, deflate, br")]);
    assert_eq!(packed.status, 200);
    assert_eq!(packed.header("content-encoding"), Some("gzip"));
    assert_eq!(packed.header("vary"), Some("Accept-Encoding"));
    assert!(packed.body.len() < bytes.len());
    assert_eq!(gunzip(&packed.body), bytes);
    let plain = get(&node, &path, &[]);
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.body, bytes);
    for a in [&packed, &plain] {
        assert_eq!(
            a.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(
            a.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert_console_headers(a, &path);
    }

    // An unknown asset is 404 (not index.html: a stale page must not run HTML as script).
    let a = get(&node, "/ui/assets/none-such-0000.js", &[]);
    assert_eq!(a.status, 404);
    assert_console_headers(&a, "unknown asset");
    // The API is unchanged: still a credential, still its own headers.
    let a = get(&node, "/api/v1/alerts", &[]);
    assert_eq!(a.status, 401);
    node.stop();
}
