//! End to end, against defects found by attacking a running node: a record of 200,000 keys,
//! senders naming their own department, records stamped before the retention window, and
//! Chinese text search over records that arrived in GBK.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use common::{Node, eventually};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

fn events_with(node: &Node, query: &str) -> Vec<Value> {
    let v = node.get(&format!("/api/v1/events?{query}&limit=100"));
    v["items"].as_array().expect("items array").clone()
}

fn one_event(node: &Node, query: &str) -> Value {
    let found = eventually(WAIT, || {
        let e = events_with(node, query);
        (!e.is_empty()).then_some(e)
    })
    .unwrap_or_else(|| panic!("no event for {query}; stderr:\n{}", node.stderr()));
    assert_eq!(found.len(), 1, "{query}: {found:?}");
    found[0].clone()
}

fn start(dir: &std::path::Path, extra: &str, edit: impl Fn(String) -> String) -> Node {
    let cfg = dir.join("onewall.toml");
    std::fs::write(&cfg, edit(common::config(&dir.join("data"), extra))).unwrap();
    Node::start(&cfg)
}

/// A JSON object of 200,000 keys (3.5 MB) sent to the open HTTP ingest: the event gets the
/// configured most fields and says how many keys it left out; the raw text keeps them all.
#[test]
fn a_record_of_200k_keys_is_capped_and_keeps_its_raw_text() {
    const KEYS: usize = 200_000;
    const CAP: usize = 1000;
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), "", |c| {
        c.replace(
            "[store]\n",
            &format!("[pipeline]\nmax_fields_per_event = {CAP}\n[store]\n"),
        )
    });
    let mut body = String::from("{\"message\":\"marker-wide\"");
    for k in 0..KEYS {
        body.push_str(&format!(",\"k{k:06}\":\"value\""));
    }
    body.push('}');
    assert!(body.len() > 3_000_000);

    let sent = Instant::now();
    let (status, reply) = node.call_as(None, "POST", "/api/v1/ingest", Some(body.as_bytes()));
    assert_eq!(status, 200, "{reply}");
    let e = one_event(&node, "q=marker-wide");
    eprintln!(
        "200k-key record: accepted and searchable in {:?}",
        sent.elapsed()
    );
    let id = e["id"].as_str().unwrap().to_owned();
    let read = Instant::now();
    let e = node.get(&format!("/api/v1/events/{id}"));
    eprintln!("200k-key record: read back in {:?}", read.elapsed());

    let fields = e["fields"].as_object().unwrap();
    assert_eq!(fields.len(), CAP + 1, "the cap and the marker");
    assert_eq!(
        fields["event.fields_truncated"],
        (KEYS + 1 - CAP) as u64,
        "keys left out"
    );
    let raw = e["raw"].as_str().unwrap();
    assert_eq!(raw.len(), body.len(), "raw holds every key");
    assert!(raw.contains("\"k199999\":\"value\""));
    let counted = node.metric("onewall_ingest_fields_truncated_total");
    assert_eq!(counted, Some((KEYS + 1 - CAP) as f64));
    node.stop();
}

/// A listener's department is the record's, whatever the record says; the sender's own value
/// is kept under another name. Every listener kind that reads a sender's keys.
#[test]
fn the_listener_department_wins_over_the_senders() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), "", |c| {
        c.replace("[syslog]\n", "[syslog]\ndepartment = \"public-security\"\n")
            .replace("[http]\n", "[http]\ndepartment = \"public-security\"\n")
    });
    let tcp = node.tcp.clone().unwrap();
    let udp = node.udp.clone().unwrap();

    // TCP: a JSON line; UDP: a FortiGate key=value body.
    let mut s = TcpStream::connect(&tcp).unwrap();
    s.write_all(b"{\"organization\":{\"name\":\"finance\"},\"message\":\"dept-tcp\"}\n")
        .unwrap();
    drop(s);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.send_to(
        b"<189>Mar 15 11:58:00 fw01 date=2026-03-15 devname=fw01 logid=0000000013 type=traffic organization.name=finance msg=dept-udp",
        &udp,
    )
    .unwrap();
    let open = |path: &str, body: &[u8]| {
        let (status, r) = node.call_as(None, "POST", path, Some(body));
        assert_eq!(status, 200, "{path}: {r}");
    };
    open(
        "/api/v1/ingest",
        br#"{"organization":{"name":"finance"},"message":"dept-http"}"#,
    );
    open(
        "/_bulk",
        b"{\"create\":{\"_index\":\"x\"}}\n{\"organization.name\":\"finance\",\"message\":\"dept-bulk\"}\n",
    );
    // HEC: in the event itself, and in the envelope's indexed fields.
    open(
        "/services/collector/event",
        br#"{"event":{"message":"dept-hecobj","organization":{"name":"finance"}}}{"event":"dept-hectext","fields":{"organization":{"name":"finance"}}}"#,
    );

    for marker in [
        "dept-tcp",
        "dept-udp",
        "dept-http",
        "dept-bulk",
        "dept-hecobj",
        "dept-hectext",
    ] {
        let e = one_event(&node, &format!("q={marker}"));
        assert_eq!(
            e["fields"]["organization.name"], "public-security",
            "{marker}: {e}"
        );
        assert_eq!(
            e["fields"]["onewall.sent.organization.name"], "finance",
            "{marker}: {e}"
        );
    }
    // Only the listener's department is visible to a department's filter.
    let v = node.get("/api/v1/events?filter=organization.name:finance&limit=100");
    assert_eq!(v["items"].as_array().unwrap().len(), 0, "{v}");
    node.stop();
}

/// A line stamped a year back, with retention at 186 days, is stored at its receive time with
/// its own time and the skew kept, and the retention pass of the next start keeps it.
#[test]
fn a_record_stamped_before_retention_survives_the_retention_pass() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let extra = "[pipeline]\nmax_future_skew_secs = 3600\n";
    let with_retention = |c: String| c.replace("[store]\n", "[store]\nretention_days = 186\n");
    let node = start(dir.path(), extra, with_retention);
    let now = time::OffsetDateTime::now_utc();
    let year_ago = now - time::Duration::days(365);
    let ahead = now + time::Duration::days(30);
    let rfc3339 = |t: time::OffsetDateTime| {
        t.replace_nanosecond(0)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let mut s = TcpStream::connect(node.tcp.clone().unwrap()).unwrap();
    for (when, marker) in [(year_ago, "skew-old"), (ahead, "skew-ahead")] {
        let line = format!("<134>1 {} host01 app - - - {marker} line\n", rfc3339(when));
        s.write_all(line.as_bytes()).unwrap();
    }
    drop(s);
    let check = |e: &Value, claimed: time::OffsetDateTime, skew: i64| {
        assert_eq!(e["time"], e["received"], "stored at its receive time: {e}");
        assert_eq!(e["fields"]["onewall.claimed_time"], rfc3339(claimed), "{e}");
        let got = e["fields"]["event.clock_skew_seconds"].as_i64().unwrap();
        assert!((got - skew).abs() < 120, "skew {got}, about {skew}: {e}");
    };
    let old = one_event(&node, "q=skew-old");
    check(&old, year_ago, 365 * 86_400);
    check(&one_event(&node, "q=skew-ahead"), ahead, -30 * 86_400);
    assert_eq!(
        node.metric("onewall_ingest_clock_skew_total{direction=\"past\"}"),
        Some(1.0)
    );
    assert_eq!(
        node.metric("onewall_ingest_clock_skew_total{direction=\"future\"}"),
        Some(1.0)
    );
    assert!(
        node.stderr().contains("a sender's clock is off"),
        "{}",
        node.stderr()
    );
    node.stop();

    // An event really in an old day, written to the store directly: the retention pass of the
    // next start drops its day, which shows the pass ran.
    let control = {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            use onewall_store::Store;
            let store = onewall_store::SqliteStore::open(&data).unwrap();
            let t = onewall_model::Timestamp::now().add_secs(-300 * 86_400);
            let e = onewall_model::Event::new(
                t,
                onewall_model::RegionCode::new(410100).unwrap(),
                onewall_model::Source::new("test", None),
                b"retention-control",
            );
            store.write_events(vec![e.clone()]).await.unwrap();
            e.id
        })
    };
    let node = start(dir.path(), extra, with_retention);
    let dropped = eventually(WAIT, || {
        node.stderr()
            .contains("retention dropped old event days")
            .then_some(())
    });
    assert!(
        dropped.is_some(),
        "no retention pass; stderr:\n{}",
        node.stderr()
    );
    let (status, _) = node.get_status(&format!("/api/v1/events/{control}"));
    assert_eq!(status, 404, "the control event's day is dropped");
    let after = one_event(&node, "q=skew-old");
    assert_eq!(after["id"], old["id"]);
    check(&after, year_ago, 365 * 86_400);
    node.stop();
}

/// The corpus's Sangfor lines re-encoded in GBK, sent over TCP: text search finds their
/// Chinese words as it finds them in UTF-8 records.
#[test]
fn chinese_text_search_finds_gbk_records() {
    let corpus = std::fs::read("../shared/corpus/formats/sangfor-gbk-reencoded-synthetic.log")
        .expect("the shared corpus beside the repository");
    let lines: Vec<&[u8]> = corpus
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
        .collect();
    assert!(lines.len() >= 10);
    assert!(std::str::from_utf8(&corpus).is_err(), "the file is GBK");
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), "", |c| c);
    let mut s = TcpStream::connect(node.tcp.clone().unwrap()).unwrap();
    for l in &lines {
        s.write_all(l).unwrap();
        s.write_all(b"\n").unwrap();
    }
    s.write_all(
        "<23>May 25 11:11:57 localhost fwlog: 日志类型:WAF应用防护日志, utf8-line\n".as_bytes(),
    )
    .unwrap();
    drop(s);
    let all = eventually(WAIT, || {
        let e = events_with(&node, "from=2000-01-01T00:00:00Z");
        (e.len() > lines.len()).then_some(e)
    })
    .unwrap_or_else(|| panic!("not stored; stderr:\n{}", node.stderr()));
    let gbk_waf = lines
        .iter()
        .filter(|l| {
            let (text, _, _) = encoding_rs::GB18030.decode(l);
            text.contains("日志类型:WAF应用防护日志")
        })
        .count();
    assert!(gbk_waf > 0);
    let q = |text: &str| {
        let enc: String = text.bytes().map(|b| format!("%{b:02X}")).collect();
        events_with(&node, &format!("q={enc}"))
    };
    let found = q("日志类型:WAF应用防护日志");
    assert_eq!(
        found.len(),
        gbk_waf + 1,
        "GBK lines and the UTF-8 one: {found:?}"
    );
    let with_type = lines
        .iter()
        .filter(|l| encoding_rs::GB18030.decode(l).0.contains("日志类型"))
        .count();
    assert_eq!(q("日志类型").len(), with_type + 1);
    assert_eq!(all.len(), lines.len() + 1, "every line stored");
    node.stop();
}
