//! The console's live stream (`GET /api/v1/stream`) against the real binary: alerts from
//! syslog lines arrive within 2 s, only in the caller's region subtree, masked for a caller
//! without `pii`; an incident acknowledged through the API arrives as a change; a reconnect
//! with `Last-Event-ID` gets exactly what it missed, and an id older than the node holds gets
//! `event: gap`; keepalive comments; bearer and cookie; 401 without a credential; a revoked
//! token's stream ends; SIGTERM with clients connected stops the node promptly.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Node;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);
const MOBILE: &str = "13812345678";

/// One server-sent event (or a comment line, as `event: ":"`).
#[derive(Debug, Clone, PartialEq)]
struct Sse {
    id: Option<u64>,
    event: String,
    data: String,
}

impl Sse {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }
}

/// An open stream: its status, headers, and the events as they arrive.
struct Stream {
    status: u16,
    head: String,
    events: mpsc::Receiver<Sse>,
    socket: TcpStream,
}

impl Stream {
    /// Open the stream with extra request headers (a credential, `Last-Event-ID`).
    fn open(node: &Node, path: &str, headers: &[(&str, &str)]) -> Stream {
        let addr = node.http.trim_start_matches("http://").to_owned();
        let mut socket = TcpStream::connect(&addr).unwrap();
        let mut req =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        socket.write_all(req.as_bytes()).unwrap();
        let mut reader = BufReader::new(socket.try_clone().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || read_events(reader, chunked, &tx));
        Stream {
            status,
            head,
            events,
            socket,
        }
    }

    fn bearer(node: &Node, token: &str, extra: &[(&str, &str)]) -> Stream {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("Authorization", auth.as_str())];
        headers.extend_from_slice(extra);
        Stream::open(node, "/api/v1/stream", &headers)
    }

    /// The next event (comments too) within `timeout`.
    fn next(&self, timeout: Duration) -> Option<Sse> {
        self.events.recv_timeout(timeout).ok()
    }

    /// Events until one satisfies `want` (returned last), within `timeout`.
    fn until(&self, timeout: Duration, want: impl Fn(&Sse) -> bool) -> Vec<Sse> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(e) => {
                    let done = want(&e);
                    seen.push(e);
                    if done {
                        return seen;
                    }
                }
                Err(_) => panic!("no awaited event within {timeout:?}; seen: {seen:#?}"),
            }
        }
    }

    /// Everything received within `d` (comments too).
    fn drain_for(&self, d: Duration) -> Vec<Sse> {
        let deadline = Instant::now() + d;
        let mut got = Vec::new();
        while let Some(e) = self.next(deadline.saturating_duration_since(Instant::now())) {
            got.push(e);
        }
        got
    }

    /// Whether the stream ends (after what is still queued) within `timeout`.
    fn ended(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return true,
                Err(mpsc::RecvTimeoutError::Timeout) => return false,
            }
        }
    }

    fn close(self) {
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }
}

/// Decode the (chunked) body and parse its events, sending each to `tx`.
fn read_events(mut reader: BufReader<TcpStream>, chunked: bool, tx: &mpsc::Sender<Sse>) {
    let mut text = String::new();
    let mut pending = Sse {
        id: None,
        event: String::new(),
        data: String::new(),
    };
    loop {
        let piece = if chunked {
            let mut size = String::new();
            if reader.read_line(&mut size).unwrap_or(0) == 0 {
                return;
            }
            let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
                return;
            };
            if n == 0 {
                return;
            }
            let mut buf = vec![0; n + 2];
            if reader.read_exact(&mut buf).is_err() {
                return;
            }
            buf.truncate(n);
            buf
        } else {
            let mut buf = vec![0; 4096];
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    buf.truncate(n);
                    buf
                }
            }
        };
        text.push_str(&String::from_utf8_lossy(&piece));
        while let Some(end) = text.find('\n') {
            let line: String = text.drain(..=end).collect();
            let line = line.trim_end_matches('\n');
            if line.is_empty() {
                if !pending.event.is_empty() || !pending.data.is_empty() {
                    let done = std::mem::replace(
                        &mut pending,
                        Sse {
                            id: None,
                            event: String::new(),
                            data: String::new(),
                        },
                    );
                    if tx.send(done).is_err() {
                        return;
                    }
                }
            } else if let Some(c) = line.strip_prefix(':') {
                let comment = Sse {
                    id: None,
                    event: ":".into(),
                    data: c.trim().to_owned(),
                };
                if tx.send(comment).is_err() {
                    return;
                }
            } else if let Some((k, v)) = line.split_once(": ") {
                match k {
                    "id" => pending.id = v.parse().ok(),
                    "event" => pending.event = v.to_owned(),
                    "data" => pending.data.push_str(v),
                    _ => {}
                }
            }
        }
    }
}

fn start(dir: &std::path::Path, extra: &str) -> Node {
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules/response");
    let config = common::config(
        &dir.join("data"),
        &format!("[rules]\ndirs = [\"{}\"]\n{extra}", rules.display()),
    )
    .replace("region = \"410100\"", "region = \"410000\"")
    .replace("[http]\n", "[http]\nregion = \"410300\"\n")
    .replace(
        "[syslog]\n",
        "[syslog]\nregion = \"410100\"\ndepartment = \"网信办\"\n",
    );
    let file = dir.join("onewall.toml");
    std::fs::write(&file, config).unwrap();
    Node::start(&file)
}

fn make_token(node: &Node, name: &str, role: &str, region: &str, pii: bool) -> String {
    dept_token(node, name, role, region, pii, None)
}

fn dept_token(
    node: &Node,
    name: &str,
    role: &str,
    region: &str,
    pii: bool,
    department: Option<&str>,
) -> String {
    let mut body = json!({"name": name, "role": role, "region": region, "pii": pii});
    if let Some(d) = department {
        body["department"] = json!(d);
    }
    let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    reply["token"].as_str().unwrap().to_owned()
}

/// A syslog line from the real `logger` (stamped 410100 by the node's `[syslog]`).
fn syslog_line(node: &Node, message: &str) {
    common::logger_udp(node, "app", &[], "user.notice", message);
}

/// A line through HTTP ingest (stamped 410300 by the node's `[http]`).
fn http_line(node: &Node, message: &str) {
    let (status, body) = node.post(
        "/api/v1/ingest",
        json!({ "message": message }).to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
}

fn alert_with(marker: &str) -> impl Fn(&Sse) -> bool + '_ {
    move |e: &Sse| e.event == "alert" && e.data.contains(marker)
}

#[test]
fn alerts_arrive_in_scope_masked_and_incident_changes_follow() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), "");
    let admin = node.token.clone().unwrap();
    let viewer = make_token(&node, "zz-viewer", "viewer", "410100", false);
    let insider = make_token(&node, "zz-insider", "viewer", "410100", true);

    // No credential: 401, as every other read.
    let anonymous = Stream::open(&node, "/api/v1/stream", &[]);
    assert_eq!(anonymous.status, 401, "{}", anonymous.head);
    // A malformed Last-Event-ID is a 400 that says why.
    let bad = Stream::bearer(&node, &viewer, &[("Last-Event-ID", "soon")]);
    assert_eq!(bad.status, 400, "{}", bad.head);

    // Syslog events are 网信办's (the source's department); HTTP ones have none.
    let ours = dept_token(&node, "wxb", "viewer", "410000", true, Some("网信办"));
    let theirs = dept_token(&node, "gaj", "viewer", "410000", true, Some("公安局"));
    let all = Stream::bearer(&node, &admin, &[]);
    let masked = Stream::bearer(&node, &viewer, &[]);
    let whole = Stream::bearer(&node, &insider, &[]);
    let department = Stream::bearer(&node, &ours, &[]);
    let other_department = Stream::bearer(&node, &theirs, &[]);
    for s in [&all, &masked, &whole, &department, &other_department] {
        assert_eq!(s.status, 200, "{}", s.head);
        let head = s.head.to_ascii_lowercase();
        assert!(head.contains("content-type: text/event-stream"), "{head}");
        assert!(head.contains("cache-control: no-store"), "{head}");
    }

    // A Zhengzhou syslog line: its alert is on the stream within 2 s, whole for the caller
    // with pii, masked for the one without.
    let sent = Instant::now();
    syslog_line(&node, &format!("owmarker zz-one login {MOBILE}"));
    let got = whole.until(WAIT, alert_with("zz-one"));
    let took = sent.elapsed();
    assert!(took < Duration::from_secs(2), "the alert took {took:?}");
    let alert = got.last().unwrap().json();
    assert_eq!(alert["region"], "410100", "{alert}");
    assert!(got.last().unwrap().data.contains(MOBILE));
    let id = alert["id"].as_str().unwrap();
    // The alert as GET /api/v1/alerts/{id} answers it.
    let (status, body) = node.call_as(Some(&insider), "GET", &format!("/api/v1/alerts/{id}"), None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(alert, body);
    let seen = masked.until(WAIT, alert_with("zz-one"));
    let masked_alert = seen.last().unwrap();
    assert!(!masked_alert.data.contains(MOBILE), "{}", masked_alert.data);
    assert!(
        masked_alert.data.contains("138****5678"),
        "{}",
        masked_alert.data
    );
    let (_, body) = node.call_as(Some(&viewer), "GET", &format!("/api/v1/alerts/{id}"), None);
    assert_eq!(masked_alert.json(), body);

    // A Luoyang (410300) alert reaches the province's admin, not the Zhengzhou viewers: they
    // get the next Zhengzhou alert with nothing of 410300 before it.
    http_line(&node, "owmarker ly-one login");
    all.until(WAIT, alert_with("ly-one"));
    syslog_line(&node, "owmarker zz-two login");
    for s in [&masked, &whole] {
        let got = s.until(WAIT, alert_with("zz-two"));
        for e in &got {
            assert!(
                !e.data.contains("ly-one"),
                "410300 reached a 410100 viewer: {e:?}"
            );
            assert!(!e.data.contains("\"410300\""), "{e:?}");
        }
    }

    // The incident of the first alert, acknowledged through the API, arrives as a change
    // with the actor.
    // (A change carries the alert count, not the ids: the incident is found by its region
    // and rule, then checked to hold the alert.)
    let rule = alert["rule"]["id"].as_str().unwrap().to_owned();
    let opened = all.until(WAIT, |e| {
        let v = e.json();
        e.event == "incident"
            && v["incident"]["region"] == "410100"
            && v["incident"]["rule_ids"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r == rule.as_str()))
    });
    let incident = opened.last().unwrap().json();
    let (status, whole_incident) = node.call_as(
        Some(&admin),
        "GET",
        &format!(
            "/api/v1/incidents/{}",
            incident["incident"]["id"].as_str().unwrap()
        ),
        None,
    );
    assert_eq!(status, 200, "{whole_incident}");
    assert!(
        whole_incident["alert_ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == id),
        "{whole_incident}"
    );
    assert!(
        ["opened", "changed"].contains(&incident["change"].as_str().unwrap()),
        "{incident}"
    );
    let incident_id = incident["incident"]["id"].as_str().unwrap().to_owned();
    let analyst = make_token(&node, "zz-analyst", "analyst", "410100", true);
    let (status, body) = node.call_as(
        Some(&analyst),
        "POST",
        &format!("/api/v1/incidents/{incident_id}/acknowledge"),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let changed = whole.until(WAIT, |e| {
        let v = e.json();
        e.event == "incident"
            && v["change"] == "changed"
            && v["incident"]["id"] == incident_id.as_str()
            && v["incident"]["status"] == "acknowledged"
    });
    let v = changed.last().unwrap().json();
    // The actor is the analyst's token, as on the incident's timeline; the change carries
    // the newest timeline entry and the counts, not the growing lists.
    assert_eq!(v["actor"], v["incident"]["last_change"]["actor"], "{v}");
    assert_eq!(
        v["incident"]["last_change"]["kind"], "status_changed",
        "{v}"
    );
    assert!(v["incident"].get("timeline").is_none(), "{v}");
    assert!(v["incident"].get("alert_ids").is_none(), "{v}");
    assert!(v["incident"]["alert_count"].as_u64().unwrap() >= 1, "{v}");
    assert!(v["actor"].as_str().unwrap().starts_with("tok_"), "{v}");
    assert!(changed.last().unwrap().id.is_some());

    // The session cookie works as well as a bearer token.
    let user =
        json!({"name": "li", "password": "long enough 1", "role": "viewer", "region": "410100"});
    let (s, b) = node.post("/api/v1/users", user.to_string().as_bytes());
    assert_eq!(s, 201, "{b}");
    let cookie = login(&node, "li", "long enough 1");
    let by_cookie = Stream::open(&node, "/api/v1/stream", &[("Cookie", &cookie)]);
    assert_eq!(by_cookie.status, 200, "{}", by_cookie.head);
    syslog_line(&node, "owmarker zz-three login");
    by_cookie.until(WAIT, alert_with("zz-three"));

    // Department scope: 网信办 gets the syslog alerts and incidents, not the HTTP alert;
    // another department gets nothing.
    let got = department.until(WAIT, alert_with("zz-three"));
    assert!(got.iter().any(|e| e.event == "incident"), "{got:#?}");
    for e in &got {
        assert!(
            !e.data.contains("ly-one"),
            "a record of no department: {e:?}"
        );
    }
    let nothing = messages(&other_department.drain_for(Duration::from_secs(1)));
    assert!(nothing.is_empty(), "{nothing:#?}");

    // One audit record per connection.
    let audit = node.get("/api/v1/audit?limit=1000");
    let streams: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "GET /api/v1/stream")
        .collect();
    assert_eq!(streams.len(), 8, "{streams:#?}");

    // SIGTERM with clients connected: the streams end and the node stops promptly.
    let stopping = Instant::now();
    node.stop();
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "stopping took {:?}",
        stopping.elapsed()
    );
    for s in [whole, all, masked, by_cookie, department, other_department] {
        assert!(s.ended(Duration::from_secs(5)), "a stream stayed open");
    }
    drop((anonymous, bad));
}

/// Log in as `name`; the session cookie (`name=value`).
fn login(node: &Node, name: &str, password: &str) -> String {
    let resp = common::agent()
        .post(&node.url("/api/v1/login"))
        .header("Content-Type", "application/json")
        .send(json!({"name": name, "password": password}).to_string())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Messages (alerts and incident changes) of `events`, by id.
fn messages(events: &[Sse]) -> Vec<(u64, String)> {
    events
        .iter()
        .filter(|e| e.event == "alert" || e.event == "incident")
        .map(|e| (e.id.unwrap(), e.data.clone()))
        .collect()
}

#[test]
fn reconnect_replays_what_was_missed_and_a_gap_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), "[stream]\nbuffer = 6\nkeepalive_secs = 1\n");
    let admin = node.token.clone().unwrap();
    let reference = Stream::bearer(&node, &admin, &[]);
    assert_eq!(reference.status, 200, "{}", reference.head);
    // An idle stream gets keepalive comments.
    let idle = reference.until(Duration::from_secs(5), |e| e.event == ":");
    assert_eq!(idle.last().unwrap().data, "keepalive");

    // A token revoked while its stream is open: the stream ends at the next keepalive.
    let body = json!({"name": "revoked", "role": "viewer", "region": "410100"});
    let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    let revoked = Stream::bearer(&node, reply["token"].as_str().unwrap(), &[]);
    assert_eq!(revoked.status, 200, "{}", revoked.head);
    let id = reply["info"]["id"].as_str().unwrap();
    let (status, reply) = node.call_as(
        Some(&admin),
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        None,
    );
    assert!(status < 300, "{status} {reply}");
    assert!(
        revoked.ended(Duration::from_secs(5)),
        "a revoked token's stream stayed open"
    );

    let client = Stream::bearer(&node, &admin, &[]);
    syslog_line(&node, "owmarker rc-one login");
    let first = client.until(WAIT, alert_with("rc-one"));
    let last_seen = first.last().unwrap().id.unwrap();
    client.close();
    let mut heard = reference.until(WAIT, alert_with("rc-one"));

    // Missed while away: two more lines (their alerts and incident changes).
    syslog_line(&node, "owmarker rc-two login");
    heard.extend(reference.until(WAIT, alert_with("rc-two")));
    http_line(&node, "owmarker rc-three login");
    heard.extend(reference.until(WAIT, alert_with("rc-three")));
    // Let the incident changes of the last line arrive too.
    heard.extend(reference.drain_for(Duration::from_secs(2)));
    let missed: Vec<_> = messages(&heard)
        .into_iter()
        .filter(|(id, _)| *id > last_seen)
        .collect();
    assert!(missed.len() >= 2 && missed.len() <= 6, "{missed:#?}");
    let newest = missed.last().unwrap().0;

    // Reconnecting with Last-Event-ID (the header, then the query) replays exactly them.
    let header = last_seen.to_string();
    for back in [
        Stream::bearer(&node, &admin, &[("Last-Event-ID", &header)]),
        Stream::open(
            &node,
            &format!("/api/v1/stream?last_event_id={last_seen}"),
            &[("Authorization", &format!("Bearer {admin}"))],
        ),
    ] {
        let replayed = back.until(WAIT, |e| e.id == Some(newest));
        assert_eq!(messages(&replayed), missed);
        assert!(!replayed.iter().any(|e| e.event == "gap"), "{replayed:#?}");
    }

    // More than the node holds (6 messages) goes by: the old id gets a gap from the oldest
    // held, then the held messages.
    for n in 0..4 {
        syslog_line(&node, &format!("owmarker rc-more-{n} login"));
        heard.extend(reference.until(WAIT, alert_with(&format!("rc-more-{n}"))));
    }
    heard.extend(reference.drain_for(Duration::from_secs(2)));
    let all = messages(&heard);
    let newest = all.last().unwrap().0;
    let held: Vec<_> = all
        .iter()
        .filter(|(id, _)| *id + 6 > newest)
        .cloned()
        .collect();
    assert_eq!(held.len(), 6, "{all:#?}");
    let late = Stream::bearer(&node, &admin, &[("Last-Event-ID", &header)]);
    let got = late.until(WAIT, |e| e.id == Some(newest));
    assert_eq!(got[0].event, "gap", "{got:#?}");
    assert_eq!(got[0].json(), json!({"from": held[0].0}));
    assert_eq!(messages(&got), held);
    // An id from before this node started (or any it never gave) is a gap too.
    let stranger = Stream::bearer(&node, &admin, &[("Last-Event-ID", "1")]);
    let got = stranger.next(WAIT).unwrap();
    assert_eq!(got.event, "gap", "{got:?}");
    node.stop();
}
