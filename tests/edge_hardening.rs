//! The HTTP and TCP edge of a running node under attack: bodies read only after the caller
//! is known, caps and timeouts on connections, cross-site writes, and bounded query cost.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Node, eventually};
use serde_json::{Value, json};

/// A node whose config has `extra` lines at the top of `[http]`, `[syslog]`, and `tail` at the
/// end.
fn node_with(dir: &Path, http: &str, syslog: &str, tail: &str) -> Node {
    let cfg = dir.join("onewall.toml");
    let text = common::config(&dir.join("data"), tail)
        .replace("[http]\n", &format!("[http]\n{http}"))
        .replace("[syslog]\n", &format!("[syslog]\n{syslog}"));
    std::fs::write(&cfg, text).unwrap();
    Node::start(&cfg)
}

fn http_addr(node: &Node) -> SocketAddr {
    node.http.trim_start_matches("http://").parse().unwrap()
}

/// Send `head` and `body` on a new connection; what the node answers within `wait` (the
/// status line and headers, as text), or `None` when it answers nothing in time.
fn answer_of(addr: SocketAddr, head: &str, body: &[u8], wait: Duration) -> Option<String> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    // The node may close the connection before it has all of it: that is the point.
    let _ = s.write_all(body);
    s.set_read_timeout(Some(wait)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    (!got.is_empty()).then(|| String::from_utf8_lossy(&got).into_owned())
}

fn huge_post(addr: SocketAddr, path: &str, extra: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{extra}\
         Content-Length: {length}\r\n\r\n"
    )
}

/// Issue 15, defect 3: an anonymous push (and an ingest without its token, and a login) with
/// a huge declared body is refused at once, without the node waiting for the body.
#[test]
fn anonymous_bodies_are_refused_before_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let node = node_with(
        dir.path(),
        "ingest_tokens = [\"s3cret-ingest\"]\nhec_tokens = [\"s3cret-hec\"]\n",
        "",
        "",
    );
    let addr = http_addr(&node);
    let some = vec![b' '; 4096];
    for (path, extra, length, want) in [
        ("/api/v1/federation/push", "", 64 << 20, "401"),
        (
            "/api/v1/federation/push",
            "Authorization: Bearer ow_not_a_token\r\n",
            64 << 20,
            "401",
        ),
        ("/api/v1/incidents/x/dispatch", "", 64 << 20, "401"),
        ("/api/v1/ingest", "", 8 << 20, "401"),
        (
            "/api/v1/ingest",
            "Authorization: Bearer wrong\r\n",
            8 << 20,
            "401",
        ),
        ("/services/collector/event", "", 8 << 20, "401"),
        (
            "/services/collector/raw",
            "Authorization: Splunk nope\r\n",
            8 << 20,
            "403",
        ),
        ("/api/v1/login", "", 1 << 20, "413"),
    ] {
        let started = Instant::now();
        let answer = answer_of(
            addr,
            &huge_post(addr, path, extra, length),
            &some,
            Duration::from_secs(5),
        );
        let answer = answer.unwrap_or_else(|| {
            panic!("{path}: no answer within 5 s (the node waits for the body)")
        });
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {want}")),
            "{path} {extra:?}: {answer}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{path}: {:?}",
            started.elapsed()
        );
    }
    // With the token, the same endpoint takes a body as before.
    let (s, b) = node.call_as(
        Some("s3cret-ingest"),
        "POST",
        "/api/v1/ingest",
        Some(br#"{"message":"edge ingest ok"}"#),
    );
    assert_eq!(s, 200, "{b}");
    node.stop();
}

/// Issue 15, defect 13: more idle connections from one address than its cap are refused (429)
/// and counted, while another address still gets `/healthz` at once.
#[test]
fn http_connections_are_capped_per_peer() {
    let dir = tempfile::tempdir().unwrap();
    let node = node_with(
        dir.path(),
        "max_connections_per_peer = 4\nheader_timeout_secs = 30\n",
        "",
        "",
    );
    let addr = http_addr(&node);
    let idle: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(addr).unwrap()).collect();
    // The fifth from the same address is answered 429 and closed.
    let refused = answer_of(addr, "", b"", Duration::from_secs(5)).expect("an answer");
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    // Another address (127.0.0.2 reaches the node's 127.0.0.1 on Linux) is served at once.
    let other = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    other
        .bind(&"127.0.0.2:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    let started = Instant::now();
    other.connect(&addr.into()).unwrap();
    let mut other: TcpStream = other.into();
    other
        .write_all(
            format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    other
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 64];
    let n = other.read(&mut buf).unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "/healthz took {:?}",
        started.elapsed()
    );
    drop(idle);
    let counted = eventually(Duration::from_secs(10), || {
        node.metric(r#"onewall_http_connections_refused_total{reason="per_peer"}"#)
            .filter(|n| *n >= 1.0)
    });
    assert!(counted.is_some(), "{}", node.metrics());
    node.stop();
}

/// Issue 15, defect 13: a connection that sends no request head (nothing at all, or half a
/// head) is closed after `http.header_timeout_secs`, and counted.
#[test]
fn http_connections_without_a_head_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let node = node_with(dir.path(), "header_timeout_secs = 1\n", "", "");
    let addr = http_addr(&node);
    for sent in ["", "GET /healthz HTTP/1.1\r\nHost: x\r\n"] {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(sent.as_bytes()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
        let started = Instant::now();
        let mut buf = [0u8; 1024];
        // Closed (perhaps after a 408): reading ends, well before the read timeout.
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("{sent:?}: still open after {:?}: {e}", started.elapsed()),
            }
        }
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(500) && took < Duration::from_secs(4),
            "{sent:?}: closed after {took:?}"
        );
    }
    let counted = node.metric(r#"onewall_http_connections_refused_total{reason="header_timeout"}"#);
    assert!(counted.is_some_and(|n| n >= 2.0), "{}", node.metrics());
    // A normal call still works.
    let (s, _) = node.get_status("/healthz");
    assert_eq!(s, 200);
    node.stop();
}

/// Is the connection closed by the node (read gives EOF or a reset) within `wait`?
fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

/// Issue 15, defect 13: a syslog sender trickling a byte at a time without ever completing a
/// frame is dropped after `syslog.frame_timeout_secs`, one address gets at most
/// `syslog.max_connections_per_peer` connections, and a normal sender still gets through.
#[test]
fn syslog_tcp_slow_senders_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let node = node_with(
        dir.path(),
        "",
        "frame_timeout_secs = 1\nmax_connections_per_peer = 2\n",
        "",
    );
    let tcp: SocketAddr = node.tcp.clone().unwrap().parse().unwrap();
    let mut slow = TcpStream::connect(tcp).unwrap();
    let mut normal = TcpStream::connect(tcp).unwrap();
    // A third connection from the same address is closed at once.
    let mut third = TcpStream::connect(tcp).unwrap();
    assert!(
        closed_within(&mut third, Duration::from_secs(5)),
        "third connection kept"
    );

    let started = Instant::now();
    let frame = b"<13>Oct 11 22:14:15 web01 app: owmarker trickled frame";
    let mut dropped = None;
    for (i, byte) in frame.iter().cycle().take(60).enumerate() {
        // One byte every 200 ms: any byte used to reset the idle timer.
        if slow.write_all(&[*byte]).is_err() {
            dropped = Some(started.elapsed());
            break;
        }
        if i % 2 == 0 {
            normal
                .write_all(
                    format!("<13>Oct 11 22:14:15 web01 app: owmarker normal {i}\n").as_bytes(),
                )
                .unwrap();
        }
        if closed_within(&mut slow, Duration::from_millis(200)) {
            dropped = Some(started.elapsed());
            break;
        }
    }
    let dropped = dropped.expect("the trickling sender was never dropped");
    assert!(
        dropped >= Duration::from_millis(800) && dropped < Duration::from_secs(5),
        "dropped after {dropped:?}"
    );
    // The normal sender, sending whole frames all along, is still connected and stored.
    normal
        .write_all(b"<13>Oct 11 22:14:15 web01 app: owmarker normal last\n")
        .unwrap();
    drop(normal);
    let stored = eventually(Duration::from_secs(15), || {
        let v = node.get("/api/v1/events?q=owmarker%20normal%20last");
        (!v["items"].as_array()?.is_empty()).then_some(())
    });
    assert!(
        stored.is_some(),
        "the normal sender's events were not stored"
    );
    for reason in ["per_peer", "timeout"] {
        let n = node.metric(&format!(
            "onewall_ingest_tcp_connections_refused_total{{reason=\"{reason}\"}}"
        ));
        assert!(n.is_some_and(|n| n >= 1.0), "{reason}: {}", node.metrics());
    }
    node.stop();
}

/// A raw call with `headers`; the status, the answer's headers and its JSON body.
fn call(
    node: &Node,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, ureq::http::HeaderMap, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = node.url(path);
    let resp = if method == "GET" {
        let mut r = agent.get(&url);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.call()
    } else {
        let mut r = agent.post(&url);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send(body.unwrap_or("").as_bytes())
    };
    let mut resp = resp.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Issue 15, defect 16: a cookie-authenticated write from another site, or with a body that is
/// not JSON, is refused before the handler; answers carry the security headers.
#[test]
fn cross_site_writes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let node = node_with(dir.path(), "", "", "");
    let user =
        json!({"name": "li", "password": "long enough 1", "role": "analyst", "region": "410100"});
    let (s, b) = node.post("/api/v1/users", user.to_string().as_bytes());
    assert_eq!(s, 201, "{b}");
    let login = r#"{"name":"li","password":"long enough 1"}"#;
    let json_type = ("Content-Type", "application/json");
    let here = node.http.clone();
    // A login from another site is refused; from this one it gives a session.
    let (s, _, b) = call(
        &node,
        "POST",
        "/api/v1/login",
        &[json_type, ("Origin", "http://evil.example")],
        Some(login),
    );
    assert_eq!((s, b["error"]["code"].as_str()), (403, Some("csrf")), "{b}");
    let (s, h, b) = call(
        &node,
        "POST",
        "/api/v1/login",
        &[json_type, ("Origin", &here)],
        Some(login),
    );
    assert_eq!(s, 200, "{b}");
    let cookie = h
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let comment = r#"{"text":"from elsewhere"}"#;
    let path = "/api/v1/incidents/not-an-id/comment";
    for (headers, want, code) in [
        (
            vec![
                ("Cookie", cookie.as_str()),
                ("Content-Type", "text/plain"),
                ("Origin", "http://evil.example"),
            ],
            403,
            "csrf",
        ),
        (
            vec![
                ("Cookie", cookie.as_str()),
                json_type,
                ("Referer", "http://evil.example/page"),
            ],
            403,
            "csrf",
        ),
        (
            vec![
                ("Cookie", cookie.as_str()),
                ("Content-Type", "text/plain"),
                ("Origin", here.as_str()),
            ],
            415,
            "unsupported_media_type",
        ),
        (
            vec![("Cookie", cookie.as_str()), ("Origin", here.as_str())],
            415,
            "unsupported_media_type",
        ),
        // From this site, as JSON: through to the handler, which refuses the id.
        (
            vec![
                ("Cookie", cookie.as_str()),
                json_type,
                ("Origin", here.as_str()),
            ],
            400,
            "invalid_argument",
        ),
    ] {
        let (s, _, b) = call(&node, "POST", path, &headers, Some(comment));
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (want, Some(code)),
            "{headers:?}: {b}"
        );
    }
    // A bearer call needs no Origin, but a body it types must be JSON.
    let bearer = format!("Bearer {}", node.token.clone().unwrap());
    let (s, _, b) = call(
        &node,
        "POST",
        "/api/v1/users",
        &[("Authorization", &bearer), ("Content-Type", "text/plain")],
        Some(&user.to_string()),
    );
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (415, Some("unsupported_media_type")),
        "{b}"
    );
    // Collectors take what shippers send.
    let (s, _, b) = call(
        &node,
        "POST",
        "/api/v1/ingest",
        &[("Content-Type", "text/plain")],
        Some(r#"{"message":"plain shipper"}"#),
    );
    assert_eq!(s, 200, "{b}");
    // Security headers, on open and authenticated answers.
    for (path, headers) in [
        ("/healthz", vec![]),
        ("/api/v1/events", vec![("Authorization", bearer.as_str())]),
    ] {
        let (s, h, b) = call(&node, "GET", path, &headers, None);
        assert_eq!(s, 200, "{b}");
        let get = |k: &str| h.get(k).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(get("x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(get("x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(get("cache-control").as_deref(), Some("no-store"));
        assert!(get("referrer-policy").is_some());
        let csp = get("content-security-policy").unwrap_or_default();
        for want in [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "script-src 'self'",
        ] {
            assert!(csp.contains(want), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
    }
    node.stop();
}

/// Issue 15, defect 17: too many filters answer 400 naming the bound; an export without a
/// limit that cannot be counted within `auth.export_count_ms` answers 400 naming it.
#[test]
fn query_cost_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let node = node_with(dir.path(), "", "", "[auth]\nexport_count_ms = 1\n");
    for (path, n) in [("/api/v1/events", 1000), ("/api/v1/export/events", 33)] {
        let filters: Vec<String> = (0..n).map(|i| format!("filter=host.name:h{i}")).collect();
        let (s, b) = node.get_status(&format!("{path}?{}", filters.join("&")));
        assert_eq!(s, 400, "{path}: {b}");
        let msg = b["error"]["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(&format!("too many filters ({n}); at most 32")),
            "{path}: {msg}"
        );
    }
    let (s, _) = node.get_status("/api/v1/events?filter=host.name:h1&filter=host.name:h2");
    assert_eq!(s, 200);
    // Enough events that counting them takes longer than a millisecond.
    let lines: Vec<String> = (0..3000)
        .map(|i| {
            json!({"message": format!("owmarker count {i}"), "host": {"name": "cnt"}}).to_string()
        })
        .collect();
    let (s, b) = node.post("/api/v1/ingest", lines.join("\n").as_bytes());
    assert_eq!(s, 200, "{b}");
    let stored = eventually(Duration::from_secs(30), || {
        let (s, b) = node.get_status("/api/v1/export/events?limit=3000&q=owmarker");
        let n = b.as_str().map_or(0, |t| t.lines().count());
        (s == 200 && n == 3000).then_some(())
    });
    assert!(stored.is_some(), "the events were not stored");
    let (s, b) = node.get_status("/api/v1/export/events");
    assert_eq!(s, 400, "{b}");
    let msg = b["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("auth.export_count_ms"), "{msg}");
    assert!(msg.contains("limit"), "{msg}");
    node.stop();
}
