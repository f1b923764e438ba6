//! Masking is one policy over every answer, against the real binary: a viewer without `pii`
//! gets no oracle on masked digits through search (birth dates inside a resident identity
//! number, the hidden middle of a mobile), search terms that are personal data are refused
//! and kept masked in the audit log, and every field that can carry personal data — raw text,
//! fields (floats too), parse errors, incident group keys, assignee and team, timeline,
//! dispatch notes, child reports, delivery targets and errors — is masked in lists, details
//! and exports for a viewer without `pii` and shown whole to one with it.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Node, eventually};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);
const ID: &str = "11010519491231002X";
const MOBILE: &str = "13812345678";
const REFUSED: &str = "search terms that look like personal data need the pii permission";

fn rules_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules/response")
}

fn make_token(node: &Node, name: &str, role: &str, region: &str, pii: bool) -> String {
    let body = json!({"name": name, "role": role, "region": region, "pii": pii});
    let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    reply["token"].as_str().unwrap().to_owned()
}

/// A raw GET: status and body text.
fn raw_get(node: &Node, token: &str, path: &str) -> (u16, String) {
    let (status, _, body) = common::raw_get(node, token, path);
    (status, body)
}

fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {body}"))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every date of 1949 from 20 February on (315 days) and 16 of 1950: 331 birth dates, the
/// true one (31 December 1949) among them.
fn birth_dates() -> Vec<String> {
    let days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut out = Vec::new();
    for (m, n) in days.iter().enumerate() {
        for d in 1..=*n {
            if (m, d) >= (1, 20) {
                out.push(format!("1949{:02}{d:02}", m + 1));
            }
        }
    }
    out.extend((1..=16).map(|d| format!("195001{d:02}")));
    out
}

#[test]
fn search_under_the_masked_view_gives_no_oracle_and_the_audit_keeps_no_term() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(
        &dir.path().join("data"),
        &format!("[rules]\ndirs = [\"{}\"]\n", rules_dir().display()),
    );
    let file = dir.path().join("onewall.toml");
    std::fs::write(&file, config).unwrap();
    let node = Node::start(&file);
    let message = format!("owmarker resident {ID} mobile {MOBILE} from 10.1.2.3 port 443");
    let (status, body) = node.post(
        "/api/v1/ingest",
        json!({"message": message}).to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    let event = eventually(WAIT, || {
        let v = node.get("/api/v1/events?q=owmarker");
        ids(&v).first().cloned()
    })
    .unwrap_or_else(|| panic!("no event; stderr:\n{}", node.stderr()));

    let viewer = make_token(&node, "viewer", "viewer", "410100", false);
    let insider = make_token(&node, "insider", "viewer", "410100", true);
    let search = |token: &str, path: &str| -> (u16, String) {
        let (s, body) = raw_get(&node, token, path);
        let v: Value = serde_json::from_str(&body).unwrap();
        let answer = if s == 200 {
            format!("{:?}", ids(&v))
        } else {
            v["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        (s, answer)
    };

    // The oracle exists: with pii, the true birth date (alone or after the region) finds
    // the event and a wrong one does not.
    for q in ["19491231", "11010519491231", "1234567", "81234"] {
        let (s, got) = search(&insider, &format!("/api/v1/events?q={q}"));
        assert_eq!((s, got), (200, format!("{:?}", [&event])), "pii q={q}");
    }
    let (_, got) = search(&insider, "/api/v1/events?q=19491230");
    assert_eq!(got, "[]");

    // Without pii: 331 birth-date probes in three forms (alone, after the visible region,
    // before the visible sequence): within a form every probe is answered exactly as every
    // other, the true date included, and none finds the event.
    let dates = birth_dates();
    assert_eq!(dates.len(), 331);
    assert!(dates.contains(&"19491231".to_owned()));
    type Form = fn(&str) -> String;
    let forms: [(&str, Form); 3] = [
        ("date", |d| d.to_owned()),
        ("region+date", |d| format!("110105{d}")),
        ("date+sequence", |d| format!("{d}002X")),
    ];
    for (name, form) in forms {
        let answers: BTreeSet<(u16, String)> = dates
            .iter()
            .map(|d| search(&viewer, &format!("/api/v1/events?q={}", form(d))))
            .collect();
        assert_eq!(
            answers.len(),
            1,
            "{name} probes answer differently: {answers:?}"
        );
        assert!(
            !answers.iter().any(|(_, a)| a.contains(&event)),
            "{answers:?}"
        );
    }
    // Phone fragments: the hidden middle, with and without the visible digits around it.
    type Probe = fn(&str) -> String;
    let probes: [Probe; 4] = [
        |g| format!("138{g}"),
        |g| format!("8{g}5"),
        |g| format!("{g}5678"),
        |g| format!("38{g}56"),
    ];
    for probe in probes {
        let answers: BTreeSet<(u16, String)> = (0..100)
            .map(|n| {
                let q = probe(&format!("12{n:02}"));
                search(&viewer, &format!("/api/v1/events?q={q}"))
            })
            .collect();
        assert_eq!(
            answers.into_iter().collect::<Vec<_>>(),
            vec![(200, "[]".to_owned())],
            "phone probes like {}",
            probe("1234")
        );
    }
    // What the viewer sees still matches: the masked form, visible words, the address.
    for q in ["138****5678", "110105********002X", "resident", "10.1.2.3"] {
        let (s, got) = search(&viewer, &format!("/api/v1/events?q={q}"));
        assert_eq!((s, got), (200, format!("{:?}", [&event])), "viewer q={q}");
    }
    // Whole personal data as a term, however written, and in a filter or an export: refused.
    for path in [
        format!("/api/v1/events?q={ID}"),
        format!("/api/v1/events?q={MOBILE}"),
        "/api/v1/events?q=138-1234-5678".to_owned(),
        "/api/v1/events?q=138%201234%205678".to_owned(),
        "/api/v1/events?q=%EF%BC%91%EF%BC%93%EF%BC%98%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96%EF%BC%97%EF%BC%98".to_owned(),
        format!("/api/v1/events?filter=message:{}", message.replace(' ', "%20")),
        format!("/api/v1/export/events?q={ID}"),
        format!("/api/v1/export/events?filter=message:{MOBILE}"),
    ] {
        let (s, got) = search(&viewer, &path);
        assert_eq!(s, 400, "{path}: {got}");
        assert!(got.contains(REFUSED), "{path}: {got}");
    }
    // The export answers a probe as the list does.
    for q in ["19491231", "19491230"] {
        let (s, body) = raw_get(&node, &viewer, &format!("/api/v1/export/events?q={q}"));
        assert_eq!((s, body.as_str()), (200, ""), "export q={q}");
    }
    let (s, body) = raw_get(&node, &viewer, "/api/v1/export/events?q=resident");
    assert_eq!(s, 200);
    assert!(
        body.contains(&event) && body.contains("138****5678"),
        "{body}"
    );
    assert!(!body.contains(MOBILE), "{body}");

    // The audit log holds every probe, and no term that is personal data unmasked.
    let audit = || {
        let mut all = Vec::new();
        loop {
            let after = all.last().map_or(0, |e: &Value| e["seq"].as_u64().unwrap());
            let page = node.get(&format!("/api/v1/audit?limit=1000&after={after}"));
            let items = page["items"].as_array().unwrap().clone();
            // Each of these reads is audited too: a short page is the end.
            let last = items.len() < 1000;
            all.extend(items);
            if last {
                return all;
            }
        }
    };
    let entries = eventually(WAIT, || {
        let all = audit();
        let exports = all.iter().filter(|e| e["action"] == "export").count();
        (exports >= 3).then_some(all)
    })
    .expect("the exports are audited");
    assert!(entries.len() > 3 * 331, "{}", entries.len());
    let text = serde_json::to_string(&entries).unwrap();
    for whole in [ID, MOBILE, "1234-5678", "1234%2D5678", "1234+5678"] {
        assert!(!text.contains(whole), "the audit log holds {whole}");
    }
    assert!(text.contains("q=110105********002X"), "{text}");
    assert!(text.contains("q=138****5678"), "{text}");
    node.stop();
}

/// The unmasked forms the seeded records carry; none may reach a viewer without pii.
const WHOLE: [&str; 7] = [
    MOBILE,
    "13912345678",
    "13712345678",
    "138-1234-5678",
    "4111 1111 1111 1111",
    "1.3812345678E10",
    "13812345678.0",
];

/// `body` (an answer's text) shows no personal data whole without pii, and shows it with.
fn check(failures: &mut Vec<String>, what: &str, body: &str, pii: bool) {
    if pii {
        if !WHOLE[..3].iter().any(|w| body.contains(w)) {
            failures.push(format!("{what} (pii): no mobile shown: {body}"));
        }
        return;
    }
    for w in WHOLE {
        if body.contains(w) {
            failures.push(format!("{what}: {w} shown unmasked: {body}"));
        }
    }
    if !body.contains("****5678") {
        failures.push(format!("{what}: no masked mobile: {body}"));
    }
}

#[test]
fn every_field_of_every_answer_is_masked_without_pii() {
    let dir = tempfile::tempdir().unwrap();
    let books = dir.path().join("playbooks");
    std::fs::create_dir_all(&books).unwrap();
    // Nothing listens on port 9: the webhook fails, and its target and error stay in the log.
    std::fs::write(
        books.join("page.yml"),
        "id: page\ntriggers: [incident_created]\nactions:\n  - webhook: { url: \"http://127.0.0.1:9/page/13812345678\" }\n",
    )
    .unwrap();
    let config = common::config(
        &dir.path().join("data"),
        &format!(
            "[rules]\ndirs = [\"{}\"]\n[federation]\nchildren = [\"410100\"]\n\
             [playbooks]\ndir = \"{}\"\n[playbooks.report]\nexpect_from = [\"410100\"]\n",
            rules_dir().display(),
            books.display()
        ),
    )
    .replacen("region = \"410100\"", "region = \"410000\"", 1)
    // The HTTP senders are in Zhengzhou, so the incident concerns the child it is dispatched to.
    .replacen(
        "[http]\nlisten = \"127.0.0.1:0\"",
        "[http]\nlisten = \"127.0.0.1:0\"\nregion = \"410100\"",
        1,
    );
    let file = dir.path().join("onewall.toml");
    std::fs::write(&file, config).unwrap();
    let node = Node::start(&file);

    // An event over HTTP: the mobile grouped, a card in fours, the user's name a mobile and
    // the phone a JSON float.
    let body = r#"{"message":"owmarker call 138-1234-5678 card 4111 1111 1111 1111","user":{"name":"13812345678","phone":1.3812345678E10}}"#;
    let (status, reply) = node.post("/api/v1/ingest", body.as_bytes());
    assert_eq!(status, 200, "{reply}");
    // A syslog record without a timestamp: the parse error quotes the mobile after `<13>`.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(
        b"<13>13812345678 owmarker broken record",
        format!("127.0.0.1:{}", node.udp_port()),
    )
    .unwrap();
    let (http_event, syslog_event) = eventually(WAIT, || {
        let v = node.get("/api/v1/events?q=owmarker");
        let items = v["items"].as_array()?;
        let with = |k: &str| {
            items
                .iter()
                .find(|e| e["raw"].as_str().is_some_and(|r| r.contains(k)))
                .map(|e| e["id"].as_str().unwrap().to_owned())
        };
        Some((with("card")?, with("broken")?))
    })
    .unwrap_or_else(|| panic!("events missing; stderr:\n{}", node.stderr()));
    let syslog = node.get(&format!("/api/v1/events/{syslog_event}"));
    assert!(
        syslog["parse_error"].as_str().unwrap().contains(MOBILE),
        "{syslog}"
    );
    // The incident whose group key holds the user's name.
    let incident = eventually(WAIT, || {
        let v = node.get("/api/v1/incidents");
        v["items"]
            .as_array()?
            .iter()
            .find(|i| i["group_key"].as_str().is_some_and(|k| k.contains(MOBILE)))
            .map(|i| i["id"].as_str().unwrap().to_owned())
    })
    .unwrap_or_else(|| {
        panic!(
            "no incident keyed by the user: {}",
            node.get("/api/v1/incidents")
        )
    });

    // Workflow and federation put personal data on the incident; a child report and the
    // failed webhook hold some too.
    let post = |path: &str, body: Value, want: u16| {
        let (s, reply) = node.post(path, body.to_string().as_bytes());
        assert_eq!(s, want, "{path}: {reply}");
    };
    let inc = format!("/api/v1/incidents/{incident}");
    post(
        &format!("{inc}/assign"),
        json!({"assignee": "张三 13812345678", "team": "值班 13912345678"}),
        200,
    );
    post(
        &format!("{inc}/comment"),
        json!({"text": "回电 13812345678"}),
        200,
    );
    post(
        &format!("{inc}/dispatch"),
        json!({"region": "410100", "note": "联系 13712345678 / 13812345678", "team": "zz 13812345678"}),
        201,
    );
    post(
        "/api/v1/reports",
        json!({"node": "zz", "report": {"region": "410100", "date": "2026-11-28"},
               "text": "值班电话 13812345678"}),
        200,
    );
    eventually(WAIT, || {
        let v = node.get("/api/v1/deliveries?playbook=page");
        let d = v["items"].as_array()?.first()?.clone();
        d["last_error"].is_string().then_some(())
    })
    .unwrap_or_else(|| panic!("no failed delivery: {}", node.get("/api/v1/deliveries")));

    let viewer = make_token(&node, "viewer", "viewer", "410000", false);
    let insider = make_token(&node, "insider", "viewer", "410000", true);
    let mut failures = Vec::new();
    for (token, pii) in [(&viewer, false), (&insider, true)] {
        for path in [
            "/api/v1/events".to_owned(),
            format!("/api/v1/events/{http_event}"),
            format!("/api/v1/events/{syslog_event}"),
            "/api/v1/export/events".to_owned(),
            "/api/v1/export/events?format=csv".to_owned(),
            "/api/v1/alerts".to_owned(),
            "/api/v1/export/alerts?format=csv".to_owned(),
            "/api/v1/incidents".to_owned(),
            inc.clone(),
            "/api/v1/export/incidents".to_owned(),
            "/api/v1/export/incidents?format=csv".to_owned(),
            "/api/v1/deliveries".to_owned(),
            "/api/v1/reports?day=2026-11-28".to_owned(),
        ] {
            let (s, body) = raw_get(&node, token, &path);
            if s != 200 {
                failures.push(format!("{path}: {s} {body}"));
                continue;
            }
            check(&mut failures, &path, &body, pii);
        }
        // The listed fields one by one.
        let (_, e) = raw_get(&node, token, &format!("/api/v1/events/{syslog_event}"));
        let e: Value = serde_json::from_str(&e).unwrap();
        check(
            &mut failures,
            "parse_error",
            &e["parse_error"].to_string(),
            pii,
        );
        let (_, e) = raw_get(&node, token, &format!("/api/v1/events/{http_event}"));
        let e: Value = serde_json::from_str(&e).unwrap();
        let phone = e["fields"]["user.phone"].to_string();
        if pii != (phone != "\"138****5678\"") {
            failures.push(format!("user.phone (pii {pii}): {phone}"));
        }
        let (_, i) = raw_get(&node, token, &inc);
        let i: Value = serde_json::from_str(&i).unwrap();
        for (field, v) in [
            ("group_key", &i["group_key"]),
            ("assignee", &i["assignee"]),
            ("team", &i["team"]),
            ("timeline", &i["timeline"]),
            ("dispatch note", &i["dispatches"][0]["note"]),
            ("dispatch team", &i["dispatches"][0]["team"]),
        ] {
            check(&mut failures, field, &v.to_string(), pii);
        }
        let (_, d) = raw_get(&node, token, "/api/v1/deliveries?playbook=page");
        let d: Value = serde_json::from_str(&d).unwrap();
        check(
            &mut failures,
            "delivery target",
            &d["items"][0]["target"].to_string(),
            pii,
        );
        if !pii && d["items"][0]["last_error"].to_string().contains(MOBILE) {
            failures.push(format!("delivery error: {d}"));
        }
        let (_, r) = raw_get(&node, token, "/api/v1/reports?day=2026-11-28");
        let r: Value = serde_json::from_str(&r).unwrap();
        check(
            &mut failures,
            "report text",
            &r["items"][0]["text"].to_string(),
            pii,
        );
    }
    // Ids, times and cursors are the same for both.
    let (_, a) = raw_get(&node, &viewer, "/api/v1/events?limit=1");
    let (_, b) = raw_get(&node, &insider, "/api/v1/events?limit=1");
    let (a, b): (Value, Value) = (
        serde_json::from_str(&a).unwrap(),
        serde_json::from_str(&b).unwrap(),
    );
    for key in ["id", "time", "received", "region"] {
        assert_eq!(a["items"][0][key], b["items"][0][key], "{key}");
    }
    assert_eq!(a["next_cursor"], b["next_cursor"]);
    assert!(a["next_cursor"].is_string(), "{a}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    node.stop();
}
