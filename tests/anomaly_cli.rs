//! `onewall rules test` and `rules check` on anomaly detectors: a detector's event streams
//! (`x.match.ndjson`/`x.nomatch.ndjson`, with `repeat`/`every_s` and absolute `time`) run
//! through a fresh state of the folder's detectors; a passing detector counts among the
//! tested documents, a failing one says which stream and why; a broken stream line names its
//! mistake.

#![allow(clippy::unwrap_used)] // tests fail loudly on unexpected input

use std::path::Path;
use std::process::{Command, Output};

fn onewall(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onewall"))
        .args(args)
        .output()
        .expect("run onewall")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const DETECTOR: &str = "title: User logged in from a network new for them
id: anomaly-cli-new-network
status: test
level: medium
logsource: {product: test}
detection:
  selection:
    event.action: login
  condition: selection
anomaly:
  kind: first_seen
  group-by: [user.name]
  field: source.ip
  transform: net24
  learning: 1d
";

const RULE: &str = "title: plain rule
id: 5e0c5e0c-0000-4000-8000-000000000001
status: test
level: low
logsource: {product: test}
detection:
  sel:
    message|contains: plain
  condition: sel
";

/// Two days of hourly logins of `user` from 10.1.2.3, then one from `last` on the third day.
fn stream(user: &str, last: &str) -> String {
    let fields = |ip: &str| serde_json::json!({"event": {"action": "login"}, "user": {"name": user}, "source": {"ip": ip}});
    format!(
        "{}\n{}\n",
        serde_json::json!({"time": "2026-03-02T01:00:00Z", "repeat": 48, "every_s": 3600,
            "fields": fields("10.1.2.3")}),
        serde_json::json!({"time": "2026-03-04T09:30:00+08:00", "fields": fields(last)}),
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn rules_test_runs_a_detectors_event_streams() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "new_net.yml", DETECTOR);
    write(
        d,
        "new_net.match.ndjson",
        &stream("zhangsan", "203.0.113.7"),
    );
    write(
        d,
        "new_net.nomatch.ndjson",
        &stream("zhangsan", "10.1.2.99"),
    );
    write(d, "plain.yml", RULE);
    write(d, "plain.match.json", r#"{"message": "a plain one"}"#);
    write(d, "plain.nomatch.json", r#"{"message": "other"}"#);
    let out = onewall(&["rules", "test", &d.display().to_string()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("ok   "), "{stdout}");
    assert!(
        stdout.contains("tested 2 rules: 2 passed, 0 failed, 0 without samples, 0 did not compile"),
        "{stdout}"
    );

    // The nomatch stream made to alert, and the match stream made quiet: both fail.
    write(d, "new_net.match.ndjson", &stream("zhangsan", "10.1.2.77"));
    write(
        d,
        "new_net.nomatch.ndjson",
        &stream("zhangsan", "198.51.100.8"),
    );
    let out = onewall(&["rules", "test", &d.display().to_string()]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("new_net.match.ndjson: the detector raised no alert"),
        "{stdout}"
    );
    assert!(
        stdout.contains("new_net.nomatch.ndjson: the detector raised 1 alert(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("tested 2 rules: 1 passed, 1 failed, 0 without samples, 0 did not compile"),
        "{stdout}"
    );

    // `rules check` lists the detector beside the rules.
    let out = onewall(&["rules", "check", &d.display().to_string()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("detector anomaly-cli-new-network (first_seen): 'User logged in from a network new for them'"),
        "{stdout}"
    );
}

#[test]
fn a_broken_detector_or_stream_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "new_net.yml", DETECTOR);
    write(
        d,
        "new_net.match.ndjson",
        "{\"offset_s\": 0, \"repeat\": 0, \"fields\": {\"event\": {\"action\": \"login\"}}}\n",
    );
    let out = onewall(&["rules", "test", &d.display().to_string()]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("new_net.match.ndjson line 1: repeat: 0"),
        "{all}"
    );

    write(
        d,
        "new_net.match.ndjson",
        "{\"offset_s\": 0, \"time\": \"2026-03-02T01:00:00Z\", \"fields\": {}}\n",
    );
    let out = onewall(&["rules", "test", &d.display().to_string()]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("give one of offset_s"), "{all}");

    // A detector of an unknown kind does not load: it counts as not compiled.
    write(
        d,
        "new_net.yml",
        &DETECTOR.replace("first_seen", "sixth_sense"),
    );
    let out = onewall(&["rules", "test", &d.display().to_string()]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("FAIL "), "{stdout}");
    assert!(stdout.contains("1 did not compile"), "{stdout}");
}
