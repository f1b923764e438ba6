//! A drill (演练) on a real node: a scenario of three planned actions is planned and started
//! through the API; the node replays them into its pipeline (a JSON event, a syslog line, and
//! an event no rule detects). The two detected actions' alerts are marked with the drill and
//! their action, open incidents of the drill apart from a real incident on the same host and
//! address, are left out of the weekly report (counted as excluded), and the drill report
//! scores each action: detected with its time to detect (and to respond, for the one the test
//! acknowledged), the third missed once the drill is over.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Node, eventually};
use serde_json::{Value, json};

const RULE: &str = "5f1e9a1c-0000-4000-8000-0000000000a6";

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn this_week() -> String {
    let local = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8));
    let (y, w, _) = local.to_iso_week_date();
    format!("{y}-W{w:02}")
}

fn node(dir: &Path) -> Node {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules/response");
    let extra = format!("[rules]\ndirs = [\"{}\"]\n", rules.display());
    common::start_with(dir, "node.toml", &common::config(&dir.join("data"), &extra))
}

fn items(node: &Node, path: &str) -> Vec<Value> {
    node.get(path)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn drill_of(v: &Value) -> Option<&str> {
    v["drill"]["drill"].as_str().or_else(|| v["drill"].as_str())
}

#[test]
fn a_replayed_drill_is_marked_kept_apart_left_out_of_the_report_and_scored() {
    let dir = tempfile::tempdir().unwrap();
    let node = node(dir.path());

    // A real incident first, on the host and address the drill will use too.
    let real = json!({"message": "owmarker real login", "host": {"name": "web-a"}, "source": {"ip": "10.9.0.1"}});
    let (s, b) = node.post("/api/v1/ingest", real.to_string().as_bytes());
    assert_eq!(s, 200, "{b}");
    eventually(Duration::from_secs(30), || {
        (items(&node, "/api/v1/incidents").len() == 1).then_some(())
    })
    .unwrap_or_else(|| panic!("the real incident never came\n{}", node.stderr()));

    let now = time::OffsetDateTime::now_utc();
    let line = format!(
        "<38>1 {} web-d sshd 4242 - - owmarker drill probe from 10.9.0.7",
        rfc3339(now)
    );
    let window = 25;
    let scenario = json!({
        "name": "2026 护网演练 第一轮",
        "regions": ["410100"],
        "start": rfc3339(now - time::Duration::seconds(5)),
        "end": rfc3339(now + time::Duration::seconds(window)),
        "mode": "scenario",
        "actions": [
            {"id": "login", "name": "口令登录", "at_secs": 0, "technique": "T1078",
             "expect": {"rules": [RULE]},
             "events": [{"message": "owmarker drill login", "host": {"name": "web-a"}, "source": {"ip": "10.9.0.1"}}]},
            {"id": "quiet", "name": "静默外传", "at_secs": 1,
             "events": [{"message": "copying files quietly", "host": {"name": "web-q"}}]},
            {"id": "probe", "name": "探测", "at_secs": 2, "expect": {"rules": [RULE]},
             "events": [line]},
        ],
    });
    let started_at = Instant::now();
    let (s, d) = node.post("/api/v1/drills", scenario.to_string().as_bytes());
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["state"], "planned", "{d}");
    let id = d["id"].as_str().unwrap().to_owned();
    let listed = items(&node, "/api/v1/drills");
    assert!(listed.iter().any(|x| x["id"] == id.as_str()), "{listed:?}");
    // A scenario with a mistake is refused, naming it.
    let (s, b) = node.post(
        "/api/v1/drills",
        br#"{"name":"x","regions":["410100"],"start":"2026-12-07T10:00:00Z","end":"2026-12-07T09:00:00Z","actions":[]}"#,
    );
    assert_eq!(s, 400, "{b}");

    let (s, d) = node.post(&format!("/api/v1/drills/{id}/start"), b"");
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["state"], "running", "{d}");
    let (s, b) = node.post(&format!("/api/v1/drills/{id}/start"), b"");
    assert_eq!(s, 409, "started once only: {b}");

    // The two detected actions' alerts come marked with the drill and their action.
    let marked = eventually(Duration::from_secs(30), || {
        let a: Vec<Value> = items(&node, "/api/v1/alerts?limit=100")
            .into_iter()
            .filter(|a| drill_of(a) == Some(id.as_str()))
            .collect();
        (a.len() == 2).then_some(a)
    })
    .unwrap_or_else(|| {
        panic!(
            "the drill's alerts never came: {:#?}\n{}",
            items(&node, "/api/v1/alerts?limit=100"),
            node.stderr()
        )
    });
    let mut actions: Vec<String> = Vec::new();
    for a in &marked {
        let one = node.get(&format!("/api/v1/alerts/{}", a["id"].as_str().unwrap()));
        assert_eq!(one["drill"]["drill"], id.as_str(), "{one:#}");
        actions.push(one["drill"]["action"].as_str().unwrap().to_owned());
    }
    actions.sort();
    assert_eq!(actions, ["login", "probe"]);
    let all_alerts = items(&node, "/api/v1/alerts?limit=100");
    assert_eq!(
        all_alerts.len(),
        3,
        "one real, two of the drill: {all_alerts:#?}"
    );

    // Their incidents are the drill's, apart from the real one on the same host and address.
    let incs = eventually(Duration::from_secs(30), || {
        let v = items(&node, "/api/v1/incidents");
        (v.len() == 3).then_some(v)
    })
    .unwrap_or_else(|| panic!("{:#?}", items(&node, "/api/v1/incidents")));
    let real_incs: Vec<&Value> = incs.iter().filter(|i| i["drill"].is_null()).collect();
    let drill_incs: Vec<&Value> = incs.iter().filter(|i| i["drill"] == id.as_str()).collect();
    assert_eq!((real_incs.len(), drill_incs.len()), (1, 2), "{incs:#?}");
    let real_alert = all_alerts.iter().find(|a| a["drill"].is_null()).unwrap();
    assert_eq!(
        real_incs[0]["alert_ids"],
        json!([real_alert["id"]]),
        "the real incident holds only the real alert"
    );
    // The drill's login incident is acknowledged: the action's response.
    let login_alert = marked
        .iter()
        .find(|a| a["drill"]["action"] == "login")
        .unwrap();
    let login_inc = drill_incs
        .iter()
        .find(|i| {
            i["alert_ids"]
                .as_array()
                .unwrap()
                .contains(&login_alert["id"])
        })
        .unwrap();
    let (s, b) = node.post(
        &format!(
            "/api/v1/incidents/{}/acknowledge",
            login_inc["id"].as_str().unwrap()
        ),
        b"{}",
    );
    assert_eq!(s, 200, "{b}");

    // The weekly report leaves the drill out and says so.
    let r = node.get(&format!(
        "/api/v1/reports/periodic?kind=weekly&label={}",
        this_week()
    ));
    assert_eq!(r["incidents"], 1, "{r:#}");
    assert_eq!(r["alerts"], 1, "{r:#}");
    assert_eq!(r["drill_alerts_excluded"], 2, "{r:#}");
    assert_eq!(r["drill_incidents_excluded"], 2, "{r:#}");
    assert_eq!(r["top_attackers"][0]["key"], "10.9.0.1");
    assert_eq!(
        r["top_attackers"][0]["count"], 1,
        "the drill's alert is not counted"
    );

    // While the drill runs, the silent action is not yet missed.
    let report = node.get(&format!("/api/v1/drills/{id}/report"));
    let quiet = |r: &Value| -> Value {
        r["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["action"] == "quiet")
            .cloned()
            .unwrap()
    };
    if started_at.elapsed() < Duration::from_secs(window as u64 - 5) {
        assert_eq!(quiet(&report)["missed"], false, "{report:#}");
    }
    // Once it is over, the report scores each action.
    let wait = Duration::from_secs(window as u64 + 1).saturating_sub(started_at.elapsed());
    std::thread::sleep(wait);
    let report = node.get(&format!("/api/v1/drills/{id}/report"));
    let action = |name: &str| -> Value {
        report["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["action"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no action {name} in {report:#}"))
    };
    for name in ["login", "probe"] {
        let a = action(name);
        assert_eq!(a["missed"], false, "{a:#}");
        assert_eq!(a["alerts"], 1, "{a:#}");
        assert_eq!(a["expected_matched"], true, "{a:#}");
        let secs = a["detect_secs"].as_i64().expect("detected");
        assert!((0..30).contains(&secs), "{a:#}");
    }
    assert!(
        action("login")["respond_secs"].as_i64().is_some(),
        "{report:#}"
    );
    assert!(action("probe")["respond_secs"].is_null(), "{report:#}");
    let q = action("quiet");
    assert_eq!(q["missed"], true, "{q:#}");
    assert_eq!(q["alerts"], 0);
    assert!(q["detected"].is_null());
    assert_eq!(report["detected"], 2);
    assert_eq!(report["missed"], 1);
    assert_eq!(report["score"], 66.7);
    let d = node.get(&format!("/api/v1/drills/{id}"));
    assert_eq!(d["state"], "ended", "{d}");

    // The drill report as a .docx opens with python-docx and names the missed action.
    let mut resp = common::agent()
        .get(&node.url(&format!("/api/v1/drills/{id}/report?format=docx")))
        .header(
            "Authorization",
            &format!("Bearer {}", node.token.as_deref().unwrap()),
        )
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let bytes = resp.body_mut().read_to_vec().unwrap();
    let file = dir.path().join("drill.docx");
    std::fs::write(&file, &bytes).unwrap();
    let python = if Path::new("/usr/bin/python3").is_file() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let out = Command::new(python)
        .args([
            "-c",
            "import docx,sys; d=docx.Document(sys.argv[1]); print('\\n'.join(c.text for t in d.tables for r in t.rows for c in r.cells))",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cells = String::from_utf8(out.stdout).unwrap();
    assert!(cells.contains("静默外传"), "{cells}");
}
