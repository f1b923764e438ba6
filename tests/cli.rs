//! The rule-author tools of the real binary: `rules check`, `rules test`, `replay`.

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

fn repo(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(p)
        .display()
        .to_string()
}

const RULE: &str = "title: Invoice printed
id: 7d4c3a2e-0000-4000-8000-000000000002
level: low
logsource:
  product: test
detection:
  sel:
    message|contains: invoice
  condition: sel
";

#[test]
fn builtin_pack_passes_its_own_samples() {
    let out = onewall(&[
        "rules",
        "test",
        &repo("rules/packs/builtin"),
        "--samples",
        &repo("testdata/rules/builtin"),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    // Every rule file in the pack is tested and passes.
    let rules = std::fs::read_dir(repo("rules/packs/builtin"))
        .expect("the built-in pack folder")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "yml"))
        })
        .count();
    assert!(rules >= 5, "the built-in pack has {rules} rule files");
    assert!(
        stdout.contains(&format!(
            "tested {rules} rules: {rules} passed, 0 failed, 0 without samples, 0 did not compile"
        )),
        "{stdout}"
    );
}

#[test]
fn rules_test_runs_a_correlations_event_streams() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for f in ["flow_probe.yml", "flow_port_scan.yml"] {
        std::fs::copy(repo(&format!("rules/packs/builtin/{f}")), d.join(f)).unwrap();
    }
    let probe = |port: u32, offset: u32| {
        format!(
            "{{\"offset_s\": {offset}, \"fields\": {{\"event.category\": \"network\", \
             \"event.action\": \"netflow_flow\", \"network.transport\": \"tcp\", \
             \"network.tcp_flags_names\": \"syn\", \"source.ip\": \"198.51.100.7\", \
             \"destination.ip\": \"10.0.0.5\", \"destination.port\": {port}}}}}\n"
        )
    };
    // Five ports probed: too few for a port scan, so the "match" stream fails; the nomatch
    // stream (one probe) passes.
    std::fs::write(
        d.join("flow_port_scan.match.ndjson"),
        (0..5).map(|i| probe(1000 + i, i)).collect::<String>(),
    )
    .unwrap();
    std::fs::write(d.join("flow_port_scan.nomatch.ndjson"), probe(22, 0)).unwrap();
    let out = onewall(&["rules", "test", &d.display().to_string()]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("flow_port_scan.match.ndjson: the correlation was not raised"),
        "{stdout}"
    );
    // Twenty-five ports within a minute make it pass.
    std::fs::write(
        d.join("flow_port_scan.match.ndjson"),
        (0..25).map(|i| probe(1000 + i, i)).collect::<String>(),
    )
    .unwrap();
    let out = onewall(&["rules", "test", &d.display().to_string()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("ok   "), "{stdout}");
    assert!(stdout.contains("flow_port_scan.yml"), "{stdout}");
}

#[test]
fn rules_test_reports_wrong_samples_and_broken_rules() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("invoice.yml"), RULE).unwrap();
    // NDJSON: the second event should fire and does not.
    std::fs::write(
        d.join("invoice.match.json"),
        "{\"message\":\"invoice 1\"}\n{\"message\":\"receipt 2\"}\n",
    )
    .unwrap();
    std::fs::write(d.join("invoice.nomatch.json"), r#"[{"message":"order 3"}]"#).unwrap();
    std::fs::write(
        d.join("broken.yml"),
        "title: x\ndetection:\n  sel:\n    a: b\n",
    )
    .unwrap();
    std::fs::write(d.join("lonely.yml"), RULE.replace("0002", "0003")).unwrap();
    let out = onewall(&["rules", "test", &d.display().to_string()]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("invoice.match.json event 2: did not fire"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL") && stdout.contains("broken.yml"),
        "{stdout}"
    );
    assert!(
        stdout.contains("SKIP") && stdout.contains("lonely.yml: no sample events"),
        "{stdout}"
    );
    assert!(
        stdout.contains("tested 3 rules: 0 passed, 1 failed, 1 without samples, 1 did not compile"),
        "{stdout}"
    );
}

#[test]
fn rules_check_lists_failures_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.yml"), RULE).unwrap();
    std::fs::write(dir.path().join("bad.yml"), "title: [unclosed\n").unwrap();
    let out = onewall(&["rules", "check", &dir.path().display().to_string()]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("bad.yml"), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("compiled 1 of 2 rules"),
        "{stdout}"
    );
}

#[test]
fn replay_hunts_over_syslog_and_ndjson_files() {
    let dir = tempfile::tempdir().unwrap();
    let syslog = dir.path().join("auth.log");
    std::fs::write(
        &syslog,
        "Nov 28 10:00:01 web01 sshd[811]: Failed password for root from 203.0.113.9 port 4000 ssh2\n\
         Nov 28 10:00:02 web01 sshd[811]: Connection closed by 203.0.113.9 port 4000\n\
         not a syslog line at all\n\
         Nov 28 10:00:03 web01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/sh\n",
    )
    .unwrap();
    let ndjson = dir.path().join("app.ndjson");
    std::fs::write(
        &ndjson,
        "{\"message\":\"invoice 9\",\"host\":{\"name\":\"app01\"}}\n",
    )
    .unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("invoice.yml"), RULE).unwrap();

    let out = onewall(&[
        "replay",
        &syslog.display().to_string(),
        &ndjson.display().to_string(),
        "--rules",
        &rules.display().to_string(),
        "--builtin",
        "--output",
        "json",
    ]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let hits: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut found: Vec<(String, u64)> = hits
        .iter()
        .map(|h| {
            let file = h["file"].as_str().unwrap();
            let name = Path::new(file)
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            (
                format!("{name} {}", h["alert"]["rule"]["title"].as_str().unwrap()),
                h["line"].as_u64().unwrap(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("app.ndjson Invoice printed".to_owned(), 1),
            ("auth.log Command run as root with sudo".to_owned(), 4),
            ("auth.log SSH authentication failure".to_owned(), 1),
        ]
    );
    assert!(
        stderr
            .contains("replay: 2 file(s) (json 1, lines 1), 5 events, 1 parse error(s), 3 hit(s)"),
        "{stderr}"
    );

    // The table form.
    let out = onewall(&["replay", &syslog.display().to_string()]);
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("TIME"), "{stdout}");
    assert_eq!(
        stdout.lines().count(),
        3,
        "header and two built-in hits: {stdout}"
    );
}

#[test]
fn rules_check_lists_correlations_and_names_a_missing_reference() {
    let out = onewall(&["rules", "check", &repo("testdata/rules/correlation")]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "correlation 6f1f2a52-2c1e-4a55-9a55-0d6a4b1d2f01 (temporal_ordered): 'SSH brute \
             force followed by a successful login from the same source' counts correlation \
             ssh_failed_login_burst (6f1f2a52-2c1e-4a55-9a55-0d6a4b1d2f02), detection \
             ssh_login_accepted (6f1f2a52-2c1e-4a55-9a55-0d6a4b1d2f04)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("(value_count): 'Port scan'"), "{stdout}");
    // Correlations count in the summary with the detection rules.
    assert!(
        stdout.trim_end().ends_with("compiled 9 of 9 rules"),
        "{stdout}"
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.yml"), RULE).unwrap();
    std::fs::write(
        dir.path().join("scan.yml"),
        "title: lonely\nid: corr-1\ncorrelation:\n  type: event_count\n  rules: [gone]\n  \
         timespan: 1m\n  condition: {gte: 2}\n",
    )
    .unwrap();
    let out = onewall(&["rules", "check", &dir.path().display().to_string()]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("corr-1: correlation 'lonely' refers to rule 'gone'"),
        "{stdout}"
    );
    assert!(
        stdout.trim_end().ends_with("compiled 1 of 2 rules"),
        "{stdout}"
    );
}
