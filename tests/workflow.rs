//! The incident workflow and PII masking end to end on the real binary: roles, lifecycle,
//! reasons, grade override, link and unlink, every change on the timeline with who and when;
//! personal data masked for callers without `pii` while the stored event stays whole.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::time::Duration;

use common::{Node, eventually};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

fn token(node: &Node, role: &str, pii: bool) -> (String, String) {
    let body = json!({"name": role, "role": role, "region": "410100", "pii": pii});
    let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    (
        reply["token"].as_str().unwrap().to_owned(),
        reply["info"]["id"].as_str().unwrap().to_owned(),
    )
}

fn post(node: &Node, t: &str, path: &str, body: Value) -> (u16, Value) {
    let b = body.to_string();
    node.call_as(Some(t), "POST", path, Some(b.as_bytes()))
}

#[test]
fn workflow_and_masking() {
    let dir = tempfile::tempdir().unwrap();
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules/response");
    let cfg = dir.path().join("onewall.toml");
    std::fs::write(
        &cfg,
        common::config(
            &dir.path().join("data"),
            &format!("[rules]\ndirs = [\"{}\"]\n", rules.display()),
        ),
    )
    .unwrap();
    let node = Node::start(&cfg);
    let message = "owmarker login by 11010519491231002X phone 13812345678 card 4111111111111111 mail zhang.san@example.com";
    let (status, _) = node.post(
        "/api/v1/ingest",
        json!({"message": message, "host": {"name": "wf-host"}})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(status, 200);
    let incident = eventually(WAIT, || {
        let v = node.get("/api/v1/incidents");
        v["items"].as_array()?.first().cloned()
    })
    .expect("an incident");
    let id = incident["id"].as_str().unwrap().to_owned();
    let alert = incident["alert_ids"][0].as_str().unwrap().to_owned();
    let event = node.get(&format!("/api/v1/alerts/{alert}"))["event_ids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let (analyst, analyst_id) = token(&node, "analyst", false);
    let (responder, responder_id) = token(&node, "responder", true);
    let (viewer, _) = token(&node, "viewer", false);
    let inc = |p: &str| format!("/api/v1/incidents/{id}{p}");

    // Masking: the analyst without pii sees masks, the responder with pii and the stored
    // event (read by the admin) the whole text.
    let (s, masked) = node.call_as(
        Some(&analyst),
        "GET",
        &format!("/api/v1/events/{event}"),
        None,
    );
    assert_eq!(s, 200);
    let raw = masked["raw"].as_str().unwrap();
    for (whole, mask) in [
        ("11010519491231002X", "110105********002X"),
        ("13812345678", "138****5678"),
        ("4111111111111111", "411111******1111"),
        ("zhang.san@example.com", "z***@example.com"),
    ] {
        assert!(!raw.contains(whole) && raw.contains(mask), "{raw}");
        assert!(masked["fields"]["message"].as_str().unwrap().contains(mask));
    }
    let (_, listed) = node.call_as(Some(&viewer), "GET", "/api/v1/events", None);
    assert!(
        listed["items"][0]["raw"]
            .as_str()
            .unwrap()
            .contains("138****5678")
    );
    let (_, whole) = node.call_as(
        Some(&responder),
        "GET",
        &format!("/api/v1/events/{event}"),
        None,
    );
    assert_eq!(whole["fields"]["message"], message);
    assert!(whole["raw"].as_str().unwrap().contains(message));
    assert_eq!(
        node.get(&format!("/api/v1/events/{event}"))["fields"]["message"],
        message
    );

    // The lifecycle, with roles.
    assert_eq!(
        post(&node, &viewer, &inc("/comment"), json!({"text": "x"})).0,
        403
    );
    assert_eq!(
        post(&node, &analyst, &inc("/acknowledge"), json!({})).0,
        200
    );
    assert_eq!(
        post(&node, &analyst, &inc("/acknowledge"), json!({})).0,
        409
    );
    let (s, b) = post(&node, &analyst, &inc("/comment"), json!({"text": "  "}));
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        post(
            &node,
            &analyst,
            &inc("/comment"),
            json!({"text": "looking"})
        )
        .0,
        200
    );
    let (s, b) = post(
        &node,
        &analyst,
        &inc("/status"),
        json!({"status": "false_positive"}),
    );
    assert_eq!(s, 400);
    assert!(
        b["error"]["message"].as_str().unwrap().contains("reason"),
        "{b}"
    );
    let (s, b) = post(&node, &analyst, &inc("/status"), json!({"status": "done"}));
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        post(
            &node,
            &analyst,
            &inc("/status"),
            json!({"status": "investigating"})
        )
        .0,
        200
    );
    assert_eq!(
        post(&node, &analyst, &inc("/assign"), json!({"team": "t"})).0,
        403
    );
    assert_eq!(
        post(
            &node,
            &analyst,
            &inc("/grade"),
            json!({"grade": "I", "reason": "r"})
        )
        .0,
        403
    );
    let (s, b) = post(
        &node,
        &responder,
        &inc("/assign"),
        json!({"assignee": "li.lei", "team": "郑州值班"}),
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (b["assignee"].as_str(), b["team"].as_str()),
        (Some("li.lei"), Some("郑州值班"))
    );
    assert_eq!(
        post(&node, &responder, &inc("/grade"), json!({"grade": "Ⅰ"})).0,
        400
    );
    let (s, b) = post(
        &node,
        &responder,
        &inc("/grade"),
        json!({"grade": "Ⅰ", "reason": "关键信息基础设施"}),
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["severity"], "critical");

    // Unlink and link.
    let (s, b) = node.call_as(
        Some(&analyst),
        "DELETE",
        &inc(&format!("/alerts/{alert}")),
        None,
    );
    assert_eq!(s, 200, "{b}");
    assert!(b["alert_ids"].as_array().unwrap().is_empty());
    assert_eq!(
        node.call_as(
            Some(&analyst),
            "DELETE",
            &inc(&format!("/alerts/{alert}")),
            None
        )
        .0,
        404
    );
    assert_eq!(
        post(&node, &analyst, &inc("/alerts"), json!({"alert_id": alert})).0,
        200
    );
    assert_eq!(
        post(&node, &analyst, &inc("/alerts"), json!({"alert_id": alert})).0,
        409
    );

    let (s, b) = post(
        &node,
        &responder,
        &inc("/status"),
        json!({"status": "false_positive", "reason": "scanner of our own"}),
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        post(
            &node,
            &responder,
            &inc("/status"),
            json!({"status": "closed"})
        )
        .0,
        409
    );

    // Every change on the timeline, with who.
    let timeline = node.get(&inc(""))["timeline"].as_array().unwrap().clone();
    let ours: Vec<(String, String)> = timeline
        .iter()
        .filter(|e| e["actor"] != "correlator")
        .map(|e| {
            assert!(e["at"].as_str().unwrap().ends_with('Z'), "{e}");
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let a = analyst_id.clone();
    let r = responder_id.clone();
    let want: Vec<(String, String)> = [
        ("status_changed", &a),
        ("comment", &a),
        ("status_changed", &a),
        ("assigned", &r),
        ("grade_overridden", &r),
        ("alert_removed", &a),
        ("alert_added", &a),
        ("status_changed", &r),
        ("status_reason", &r),
    ]
    .iter()
    .map(|(k, who)| (k.to_string(), who.to_string()))
    .collect();
    assert_eq!(ours, want, "{timeline:?}");
    node.stop();
}

/// `POST /api/v1/login` (and logout) with `headers`: the status and the Set-Cookie value.
fn login_cookie(node: &Node, path: &str, body: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.post(&node.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send(body.as_bytes()).unwrap();
    let cookie = resp
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (resp.status().as_u16(), cookie)
}

/// The session cookie is HttpOnly and SameSite=Strict always, and Secure when the request
/// came over TLS by a proxy's word or when `[http] secure_cookies = true`.
#[test]
fn session_cookie_attributes() {
    let login = r#"{"name":"zhang","password":"long enough 1"}"#;
    for secure_cookies in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("onewall.toml");
        let text = common::config(&dir.path().join("data"), "").replace(
            "[http]\n",
            &format!("[http]\nsecure_cookies = {secure_cookies}\n"),
        );
        std::fs::write(&cfg, text).unwrap();
        let node = Node::start(&cfg);
        let user = json!({"name": "zhang", "password": "long enough 1", "role": "viewer", "region": "410100"});
        let (s, b) = node.post("/api/v1/users", user.to_string().as_bytes());
        assert_eq!(s, 201, "{b}");
        for (headers, over_tls) in [
            (vec![], false),
            (vec![("X-Forwarded-Proto", "https")], true),
            (vec![("X-Forwarded-Proto", "http")], false),
            (vec![("Forwarded", "for=10.0.0.1;proto=https")], true),
        ] {
            let (s, cookie) = login_cookie(&node, "/api/v1/login", login, &headers);
            assert_eq!(s, 200, "{cookie}");
            let attrs: Vec<&str> = cookie.split(';').map(str::trim).collect();
            assert!(
                attrs[0].starts_with("onewall_session=") && attrs[0].len() > 20,
                "{cookie}"
            );
            for want in ["HttpOnly", "SameSite=Strict", "Path=/"] {
                assert!(attrs.contains(&want), "{want} missing: {cookie}");
            }
            assert!(attrs.iter().any(|a| a.starts_with("Max-Age=")), "{cookie}");
            assert_eq!(
                attrs.contains(&"Secure"),
                secure_cookies || over_tls,
                "secure_cookies = {secure_cookies}, headers {headers:?}: {cookie}"
            );
            // The session works, and logging out clears the cookie with the same attributes.
            let session = attrs[0].to_owned();
            let mut h = headers.clone();
            h.push(("Cookie", &session));
            let (s, cleared) = login_cookie(&node, "/api/v1/logout", "", &h);
            assert_eq!(s, 200, "{cleared}");
            assert!(cleared.contains("Max-Age=0"), "{cleared}");
            assert_eq!(
                cleared.contains("Secure"),
                secure_cookies || over_tls,
                "{cleared}"
            );
        }
        // A wrong password sets no cookie.
        let (s, cookie) = login_cookie(
            &node,
            "/api/v1/login",
            r#"{"name":"zhang","password":"nope"}"#,
            &[],
        );
        assert_eq!(s, 401);
        assert!(cookie.is_empty(), "{cookie}");
        node.stop();
    }
}
