//! A 重保 period across three real nodes: the province 410000 declares a period over its two
//! cities with 2-hour zero reports; both cities receive it; Kaifeng's node stops; Zhengzhou
//! sends its slot report, Kaifeng's is flagged at the province once the grace time has
//! passed (one alert, rule `onewall-period-report-missing`), and the 复盘 lists it as missing.
//! Meanwhile an incident of Zhengzhou at the province is held to the period's SLA factor.
//!
//! The period uses the real 2-hour cadence; it is declared as begun 2 hours less 20 seconds
//! ago, so its first slot falls due 20 seconds into the test and the 1-minute grace ends a
//! minute later (periods may start in the past: a 重保 declared after it began).

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Node, eventually};
use serde_json::{Value, json};

const ZZ: &str = "410100";
const KF: &str = "410200";

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn token_for(node: &Node, region: &str) -> String {
    let body = json!({"name": format!("uplink-{region}"), "role": "collector", "region": region});
    let (status, reply) = node.post("/api/v1/tokens", body.to_string().as_bytes());
    assert_eq!(status, 201, "{reply}");
    reply["token"].as_str().unwrap().to_owned()
}

fn city(dir: &Path, province: &Node, name: &str, region: &str) -> Node {
    let token = token_for(province, region);
    let extra = format!(
        "[federation]\nparent_url = \"{}\"\ntoken = \"{token}\"\npush_interval_ms = 200\n\
         heartbeat_s = 1\nretry_min_ms = 200\nretry_max_ms = 1000\n\
         [supervise]\ncheck_secs = 1\n",
        province.http
    );
    common::start_with(
        dir,
        &format!("{name}.toml"),
        &common::node_config(&dir.join(name), name, region, &extra),
    )
}

fn alerts_of(node: &Node, rule: &str) -> Vec<Value> {
    node.get(&format!("/api/v1/alerts?rule_id={rule}"))["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_city_that_stops_reporting_is_flagged_and_listed_in_the_review() {
    let dir = tempfile::tempdir().unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules/response");
    // Every grade has one minute to be acknowledged; the period divides it by 4.
    let province_extra = format!(
        "[rules]\ndirs = [\"{}\"]\n[federation]\nchildren = [\"{ZZ}\", \"{KF}\"]\n\
         [sla]\ngrade_1_minutes = 1\ngrade_2_minutes = 1\ngrade_3_minutes = 1\n\
         grade_4_minutes = 1\ncii_minutes = 1\ncheck_secs = 1\n[supervise]\ncheck_secs = 1\n",
        rules.display()
    );
    let province = common::start_with(
        dir.path(),
        "province.toml",
        &common::node_config(&dir.path().join("p"), "henan", "410000", &province_extra)
            .replace("[http]\n", &format!("[http]\nregion = \"{ZZ}\"\n")),
    );
    let zz = city(dir.path(), &province, "zhengzhou", ZZ);
    let kf = city(dir.path(), &province, "kaifeng", KF);

    let now = time::OffsetDateTime::now_utc();
    let new = json!({
        "name": "两会重保",
        "regions": [ZZ, KF],
        "start": rfc3339(now - time::Duration::minutes(120) + time::Duration::seconds(20)),
        "end": rfc3339(now + time::Duration::hours(2)),
        "sla_factor": 4.0,
        "report_every_mins": 120,
        "grace_mins": 1,
    });
    let (status, period) = province.post("/api/v1/periods", new.to_string().as_bytes());
    assert_eq!(status, 201, "{period}");
    assert_eq!(period["active"], true, "{period}");
    let id = period["id"].as_str().unwrap().to_owned();
    let slot = now + time::Duration::seconds(20);

    // Both cities hold the period within seconds, and show it as active.
    for c in [&zz, &kf] {
        eventually(Duration::from_secs(20), || {
            let p = c.get("/api/v1/periods?active=true");
            p["items"]
                .as_array()?
                .iter()
                .find(|p| p["id"] == id.as_str())?;
            Some(())
        })
        .unwrap_or_else(|| panic!("a city never got the period:\n{}", c.stderr()));
    }
    // A city may not end the province's period.
    let (status, reply) = zz.post(&format!("/api/v1/periods/{id}/cancel"), b"");
    assert!(status == 403 || status == 409, "{status} {reply}");

    // The SLA factor: an incident of Zhengzhou (the province's HTTP intake is stamped 410100)
    // breaches after 15 seconds, not the minute of its grade.
    let (status, reply) = province.post(
        "/api/v1/ingest",
        br#"{"message":"owmarker zz login","host":{"name":"zz-web"}}"#,
    );
    assert_eq!(status, 200, "{reply}");

    // Kaifeng's node stops before its first slot.
    drop(kf);
    let zz_lesson = json!({"text": "值班电话应提前核验"});
    let (status, lesson) = zz.post(
        &format!("/api/v1/periods/{id}/lessons"),
        zz_lesson.to_string().as_bytes(),
    );
    assert_eq!(status, 201, "{lesson}");

    let breach = eventually(Duration::from_secs(45), || {
        alerts_of(&province, "onewall-sla-breach")
            .into_iter()
            .next()
    })
    .unwrap_or_else(|| panic!("no SLA breach: {}", province.stderr()));
    let incident = breach["matched"][0]["value"].as_str().unwrap();
    let inc = province.get(&format!("/api/v1/incidents/{incident}"));
    let created = time::OffsetDateTime::parse(
        inc["created"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let due = time::OffsetDateTime::parse(
        breach["matched"][1]["value"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let clock = (due - created).whole_seconds();
    assert_eq!(clock, 15, "the 1-minute clock divided by 4: {breach}");

    // Zhengzhou's report of the slot arrives; Kaifeng's is flagged once the minute of grace
    // is over, and not before.
    let flagged = eventually(Duration::from_secs(120), || {
        alerts_of(&province, "onewall-period-report-missing")
            .into_iter()
            .next()
    })
    .unwrap_or_else(|| panic!("Kaifeng never flagged: {}", province.stderr()));
    let flagged_at = time::OffsetDateTime::now_utc();
    assert!(
        flagged_at >= slot + time::Duration::seconds(60),
        "flagged before the grace time ended: {flagged}"
    );
    assert!(
        flagged_at <= slot + time::Duration::seconds(75),
        "flagged {}s after the slot",
        (flagged_at - slot).whole_seconds()
    );
    assert_eq!(flagged["region"], KF, "{flagged}");
    // Raised once, however often the check runs.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        alerts_of(&province, "onewall-period-report-missing").len(),
        1
    );

    let slots = province.get(&format!("/api/v1/periods/{id}/slots"));
    let items = slots["items"].as_array().unwrap();
    let of = |region: &str| {
        items
            .iter()
            .find(|s| s["region"] == region)
            .unwrap_or_else(|| panic!("{slots}"))
    };
    assert_eq!(of(ZZ)["missing"], false, "{slots}");
    assert!(of(ZZ)["received"].is_string(), "{slots}");
    assert_eq!(of(ZZ)["report"]["region"], ZZ, "{slots}");
    assert_eq!(of(KF)["missing"], true, "{slots}");

    // The 复盘 lists Kaifeng's missing report, Zhengzhou's lesson and the incident.
    let review = province.get(&format!("/api/v1/periods/{id}/review?format=json"));
    let missing: Vec<&Value> = review["slots"]
        .as_array()
        .unwrap_or_else(|| panic!("{review}"))
        .iter()
        .filter(|s| s["missing"] == true)
        .collect();
    assert_eq!(missing.len(), 1, "{review}");
    assert_eq!(missing[0]["region"], KF, "{review}");
    let lessons = review["lessons"].as_array().unwrap();
    assert!(
        lessons
            .iter()
            .any(|l| l["text"] == "值班电话应提前核验" && l["region"] == ZZ),
        "{review}"
    );
    // The city sees the period but not Kaifeng's slots.
    let city_slots = zz.get(&format!("/api/v1/periods/{id}/slots"));
    assert!(!city_slots.to_string().contains(KF), "{city_slots}");
    let started = Instant::now();
    zz.stop();
    province.stop();
    assert!(started.elapsed() < Duration::from_secs(60));
}
