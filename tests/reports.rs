//! Daily reports to the parent, end to end on two real nodes over loopback: the province
//! (410000) expects Zhengzhou (410100) and Kaifeng (410200); Zhengzhou's node sends its report
//! through its outbox with a collector token the province issued; Kaifeng never reports. After
//! the deadline the province lists Zhengzhou as received (its 零报告 text), Kaifeng as
//! missing, and a missing-report alert for Kaifeng sets off the province's playbook.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;
#[path = "../playbooks/tests/peers/mod.rs"]
mod pbpeers;

use std::time::Duration;

use common::{Node, eventually};
use pbpeers::{WEBHOOK_SECRET, webhooks};
use serde_json::{Value, json};

/// Seconds from now to the report time, and the grace after it.
const LEAD: i64 = 25;
const GRACE: u64 = 8;

#[test]
fn the_parent_gets_the_childs_report_and_flags_the_child_that_sent_none() {
    let dir = tempfile::tempdir().unwrap();
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(LEAD);
    let day = format!("{:04}-{:02}-{:02}", at.year(), at.month() as u8, at.day());
    let report_time = format!(
        "time = \"{:02}:{:02}:{:02}\"\ntimezone = \"+00:00\"\n",
        at.hour(),
        at.minute(),
        at.second()
    );

    // The province, with a playbook on the missing-report alert.
    let hooks = webhooks(&dir.path().join("hooks"));
    let books = dir.path().join("books");
    std::fs::create_dir_all(&books).unwrap();
    std::fs::write(
        books.join("missing.yml"),
        format!(
            "id: missing-report\ntriggers: [alert_created]\nwhen: {{ rule: [onewall-report-missing] }}\nactions:\n  - webhook: {{ url: \"http://127.0.0.1:{}/generic\", secret: \"{}\" }}\n",
            hooks.port, WEBHOOK_SECRET
        ),
    )
    .unwrap();
    let parent_cfg = dir.path().join("parent.toml");
    let text = common::config(
        &dir.path().join("parent"),
        &format!(
            "[playbooks]\ndir = \"{}\"\n[playbooks.report]\n{report_time}expect_from = [\"410100\", \"410200\"]\ngrace_secs = {GRACE}\n",
            books.display()
        ),
    )
    .replace("region = \"410100\"\n", "region = \"410000\"\n");
    std::fs::write(&parent_cfg, text).unwrap();
    let parent = Node::start(&parent_cfg);
    let issue = |role: &str, region: &str| -> String {
        let body = json!({"name": format!("{role}-{region}"), "role": role, "region": region});
        let (s, b) = parent.post("/api/v1/tokens", body.to_string().as_bytes());
        assert_eq!(s, 201, "{b}");
        b["token"].as_str().unwrap().to_owned()
    };
    let zz_collector = issue("collector", "410100");

    // Before the report time both children are pending.
    let before = parent.get(&format!("/api/v1/reports?day={day}"));
    let states: Vec<(&str, &str)> = before["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["region"].as_str().unwrap(), i["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [("410100", "pending"), ("410200", "pending")],
        "{before}"
    );

    // Zhengzhou's node reports to the province.
    let child_cfg = dir.path().join("child.toml");
    std::fs::write(
        &child_cfg,
        common::config(
            &dir.path().join("child"),
            &format!(
                "[playbooks]\nbackoff_secs = 1\nbackoff_max_secs = 1\n[playbooks.report]\n{report_time}parent_url = \"{}\"\nparent_token = \"{zz_collector}\"\n",
                parent.http
            ),
        ),
    )
    .unwrap();
    let child = Node::start(&child_cfg);

    let wait = Duration::from_secs(LEAD as u64 + 30);
    let got = eventually(wait, || {
        let r = parent.get(&format!("/api/v1/reports?day={day}"));
        let zz = r["items"]
            .as_array()?
            .iter()
            .find(|i| i["region"] == "410100" && i["state"] == "received")?
            .clone();
        Some(zz)
    })
    .unwrap_or_else(|| {
        panic!(
            "no report from 410100; child:\n{}\nparent:\n{}",
            child.stderr(),
            parent.stderr()
        )
    });
    let text = got["text"].as_str().unwrap();
    assert!(text.contains("零报告"), "{got}");
    assert_eq!(got["report"]["region"], "410100", "{got}");
    assert_eq!(got["report"]["date"], day.as_str(), "{got}");
    assert_eq!(got["expected"], true);
    // The child's delivery log: the report went out through the outbox, once.
    let log = child.get("/api/v1/deliveries?playbook=report_to_parent");
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{log}");
    assert_eq!(items[0]["state"], "done", "{log}");
    assert_eq!(items[0]["action"], "report", "{log}");

    // After the deadline Kaifeng is missing, and one alert says so.
    let missing = eventually(Duration::from_secs(GRACE + 20), || {
        let r = parent.get(&format!("/api/v1/reports?day={day}"));
        let kf = r["items"]
            .as_array()?
            .iter()
            .find(|i| i["region"] == "410200")?;
        (kf["state"] == "missing").then(|| r.clone())
    })
    .unwrap_or_else(|| panic!("410200 never flagged; parent:\n{}", parent.stderr()));
    let zz = missing["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["region"] == "410100")
        .unwrap();
    assert_eq!(zz["state"], "received", "{missing}");
    let alerts = eventually(Duration::from_secs(15), || {
        let a = parent.get("/api/v1/alerts?rule_id=onewall-report-missing");
        (!a["items"].as_array()?.is_empty()).then_some(a)
    })
    .unwrap_or_else(|| panic!("no missing-report alert; parent:\n{}", parent.stderr()));
    let items = alerts["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{alerts}");
    assert_eq!(items[0]["region"], "410200");
    let title = items[0]["rule"]["title"].as_str().unwrap();
    assert!(
        title.contains("child 410200 did not send its daily report"),
        "{title}"
    );
    // The province's playbook acted on it.
    let hook = eventually(Duration::from_secs(15), || {
        hooks.files("json").into_iter().find_map(|p| {
            let v: Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
            v["body"]
                .as_str()?
                .contains("onewall-report-missing")
                .then_some(v)
        })
    })
    .unwrap_or_else(|| {
        panic!(
            "no webhook for the missing report; parent:\n{}",
            parent.stderr()
        )
    });
    assert_eq!(hook["verified"], true, "{hook}");
    assert!(hook["body"].as_str().unwrap().contains("410200"));
    // Checked again and again, still one alert.
    std::thread::sleep(Duration::from_secs(6));
    let again = parent.get("/api/v1/alerts?rule_id=onewall-report-missing");
    assert_eq!(again["items"].as_array().unwrap().len(), 1, "{again}");

    // Delivering again replaces the day's report (idempotent); scope and role hold.
    let report = json!({"node": "zz", "report": got["report"], "text": text});
    let (s, b) = parent.call_as(
        Some(&zz_collector),
        "POST",
        "/api/v1/reports",
        Some(report.to_string().as_bytes()),
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["replaced"], true, "{b}");
    let mut kf_report = report.clone();
    kf_report["report"]["region"] = json!("410200");
    let (s, b) = parent.call_as(
        Some(&zz_collector),
        "POST",
        "/api/v1/reports",
        Some(kf_report.to_string().as_bytes()),
    );
    assert_eq!(s, 403, "a Zhengzhou token reporting for Kaifeng: {b}");
    let viewer = issue("viewer", "410100");
    let (s, b) = parent.call_as(
        Some(&viewer),
        "POST",
        "/api/v1/reports",
        Some(report.to_string().as_bytes()),
    );
    assert_eq!(s, 403, "{b}");
    // A Zhengzhou viewer sees only Zhengzhou's line; a collector cannot read the list.
    let (s, b) = parent.call_as(
        Some(&viewer),
        "GET",
        &format!("/api/v1/reports?day={day}"),
        None,
    );
    assert_eq!(s, 200, "{b}");
    let regions: Vec<&str> = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["region"].as_str().unwrap())
        .collect();
    assert_eq!(regions, ["410100"], "{b}");
    let (s, _) = parent.call_as(
        Some(&zz_collector),
        "GET",
        &format!("/api/v1/reports?day={day}"),
        None,
    );
    assert_eq!(s, 403);
    // Malformed deliveries say what is wrong.
    for (body, want) in [
        (json!({"text": "x"}), "report: missing"),
        (
            json!({"report": {"region": "410100", "date": "28/11/2026"}, "text": "x"}),
            "report.date",
        ),
        (
            json!({"report": {"region": "410100", "date": day}, "text": ""}),
            "text: missing",
        ),
    ] {
        let (s, b) = parent.call_as(
            Some(&zz_collector),
            "POST",
            "/api/v1/reports",
            Some(body.to_string().as_bytes()),
        );
        assert_eq!(s, 400, "{b}");
        assert!(b.to_string().contains(want), "{want}: {b}");
    }
    child.stop();
    parent.stop();
}
