use onewall_model::{
    Alert, AlertId, Entity, EntityKind, Incident, IncidentId, IncidentStatus, RuleRef, Severity,
    Timestamp,
};

use super::*;

fn tree() -> RegionTree {
    RegionTree::builtin()
}

fn alert(region: &str, severity: Severity, rule: &str, tags: &[&str]) -> Alert {
    Alert {
        target: None,
        intel: None,
        anomaly: None,
        id: AlertId::from_u128(7),
        time: Timestamp::from_secs(1_700_000_000),
        created: Timestamp::from_secs(1_700_000_000),
        rule: RuleRef {
            id: rule.into(),
            title: "SSH 暴力破解".into(),
            level: severity,
            status: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
        },
        severity,
        event_ids: vec![],
        entities: vec![Entity::new(EntityKind::SourceIp, "10.0.0.9")],
        region: region.parse().unwrap(),
        matched: vec![],
        drill: None,
    }
}

fn incident(region: &str, severity: Severity) -> Incident {
    let t = Timestamp::from_secs(1_700_000_000);
    Incident {
        targets: Vec::new(),
        id: IncidentId::from_u128(9),
        title: "SSH 暴力破解 on web01".into(),
        status: IncidentStatus::New,
        severity,
        group_key: "g".into(),
        region: region.parse().unwrap(),
        regions: vec![region.parse().unwrap()],
        assignee: None,
        team: None,
        entities: vec![],
        alert_ids: vec![AlertId::from_u128(7)],
        rule_ids: vec!["ssh-brute".into()],
        first_seen: t,
        last_seen: t,
        created: t,
        updated: t,
        parent: None,
        children: vec![],
        classification: Default::default(),
        timeline: vec![],
        drill: None,
    }
}

const FULL: &str = r#"
id: zz-critical
name: 郑州 严重事件
triggers: [incident_created, incident_changed]
when:
  grade: [I, "Ⅱ"]
  region: ["410100"]
  tags: [attack.credential_access]
  rule: [ssh-brute]
throttle: { key: "{{incident.id}}", seconds: 600 }
actions:
  - email:
      to: [soc@example.org]
      subject: "【{{incident.grade}}级】{{incident.title}}"
  - webhook: { url: "http://127.0.0.1:1/robot/send?access_token=x", format: dingtalk, secret: SEC1 }
  - escalate: {}
  - assign: { team: 郑州应急组 }
"#;

#[test]
fn a_full_playbook_loads_and_matches_its_conditions() {
    let p = parse(FULL, "full.yml", &tree()).unwrap().unwrap();
    assert_eq!(p.id, "zz-critical");
    assert_eq!(p.actions.len(), 4);
    assert_eq!(
        p.actions.iter().map(Action::kind).collect::<Vec<_>>(),
        ["email", "webhook", "escalate", "assign"]
    );
    let a = alert(
        "410102",
        Severity::High,
        "ssh-brute",
        &["attack.Credential_Access"],
    );
    let alerts = [a.clone()];
    let mut t = tree();
    t.add(onewall_model::Region {
        code: "410102".parse().unwrap(),
        parent: Some("410100".parse().unwrap()),
        level: onewall_model::RegionLevel::County,
        name: "中原区".into(),
        name_en: None,
    })
    .unwrap();
    let inc = incident("410102", Severity::High);
    let s = Subject::Incident {
        incident: &inc,
        alerts: &alerts,
        created: true,
    };
    assert!(p.matches(&s, &t), "a county of Zhengzhou is within 410100");
    // Each condition on its own turns it off.
    let other_city = incident("410200", Severity::High);
    assert!(!p.matches(
        &Subject::Incident {
            incident: &other_city,
            alerts: &alerts,
            created: true
        },
        &t
    ));
    let medium = incident("410100", Severity::Medium);
    assert!(!p.matches(
        &Subject::Incident {
            incident: &medium,
            alerts: &alerts,
            created: true
        },
        &t
    ));
    let untagged = [alert(
        "410100",
        Severity::High,
        "ssh-brute",
        &["attack.t1110"],
    )];
    assert!(!p.matches(
        &Subject::Incident {
            incident: &inc,
            alerts: &untagged,
            created: false
        },
        &t
    ));
    let mut other_rule = incident("410100", Severity::Critical);
    other_rule.rule_ids = vec!["web-scan".into()];
    assert!(!p.matches(
        &Subject::Incident {
            incident: &other_rule,
            alerts: &alerts,
            created: true
        },
        &t
    ));
    // Alerts are not its trigger.
    assert!(!p.matches(&Subject::Alert(&a), &t));
    // The template renders Chinese.
    let Action::Email(e) = &p.actions[0] else {
        panic!()
    };
    let vars = s.vars("node-zz", "410100".parse().unwrap(), &t);
    assert_eq!(e.subject.render(&vars), "【Ⅱ级】SSH 暴力破解 on web01");
    assert!(e.body.render(&vars).contains("地区: 410102 中原区"));
}

#[test]
fn level_conditions_on_alerts() {
    let p = parse(
        "id: a\ntriggers: [alert_created]\nwhen: { min_level: high }\nactions: [{webhook: {url: 'http://h/x'}}]\n",
        "a.yml",
        &tree(),
    )
    .unwrap()
    .unwrap();
    assert!(p.matches(
        &Subject::Alert(&alert("410100", Severity::Critical, "r", &[])),
        &tree()
    ));
    assert!(!p.matches(
        &Subject::Alert(&alert("410100", Severity::Medium, "r", &[])),
        &tree()
    ));
    let p = parse(
        "id: a\ntriggers: [alert_created]\nwhen: { level: [low] }\nactions: [{webhook: {url: 'http://h/x'}}]\n",
        "a.yml",
        &tree(),
    )
    .unwrap()
    .unwrap();
    assert!(p.matches(
        &Subject::Alert(&alert("410100", Severity::Low, "r", &[])),
        &tree()
    ));
    assert!(!p.matches(
        &Subject::Alert(&alert("410100", Severity::High, "r", &[])),
        &tree()
    ));
}

#[test]
fn every_mistake_in_a_file_is_named() {
    let text = r#"
id: "bad id"
triggers: [alert_created]
when: { grade: [V], region: ["419999"] }
actions:
  - email: { to: [not-an-address], subject: "{{incident.title}}" }
  - webhook: { url: "ftp://x", text: "{{oops" }
  - webhook: { url: "https://qyapi.example/send", format: wecom }
  - assign: { team: t }
"#;
    let e = parse(text, "bad.yml", &tree()).unwrap_err().to_string();
    for want in [
        "bad.yml: ",
        "id: \"bad id\" must be",
        "when.grade: \"V\" is not one of I, II, III, IV",
        "when.region: 419999 is not a known region",
        "actions[0].email: \"not-an-address\" is not an email address",
        "actions[0].email.subject: {{incident.title}} is not a variable of alert_created subjects",
        "actions[1].webhook.url: \"ftp://x\" is not an http(s) URL",
        "actions[1].webhook.text: unclosed",
        "actions[2].webhook.url: a wecom robot URL carries its key",
        "actions[3].assign: only incident triggers can assign a team",
    ] {
        assert!(e.contains(want), "missing {want:?} in {e}");
    }
    let e = parse(
        "id: x\ntriggers: [sometimes]\nactions: []\n",
        "y.yml",
        &tree(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("y.yml: triggers"), "{e}");
    assert!(e.contains("unknown variant `sometimes`"), "{e}");
    let e = parse(
        "id: r\ntriggers: [daily_report]\nwhen: { level: [high] }\nactions: [{escalate: {}}]\n",
        "r.yml",
        &tree(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("daily_report playbooks take only region (and, for reports, kind) conditions"),
        "{e}"
    );
}

#[test]
fn a_directory_loads_good_files_and_reports_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yml"), FULL).unwrap();
    std::fs::write(dir.path().join("b.yaml"), FULL).unwrap();
    std::fs::write(dir.path().join("c.yml"), "id: [").unwrap();
    std::fs::write(
        dir.path().join("d.yml"),
        "id: off\nenabled: false\ntriggers: [alert_created]\nactions: [{escalate: {}}]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a playbook").unwrap();
    let loaded = load_dir(dir.path(), &tree()).unwrap();
    assert_eq!(loaded.playbooks.len(), 1);
    assert_eq!(loaded.disabled, 1);
    assert_eq!(loaded.errors.len(), 2, "{:?}", loaded.errors);
    let text: Vec<String> = loaded.errors.iter().map(|e| e.to_string()).collect();
    assert!(
        text[0].contains("b.yaml: id: \"zz-critical\" is already used"),
        "{text:?}"
    );
    assert!(text[1].contains("c.yml: "), "{text:?}");
    assert!(load_dir(&dir.path().join("missing"), &tree()).is_err());
}

#[test]
fn an_incident_graded_by_policy_matches_on_its_own_grade() {
    let p = parse(
        "id: g\ntriggers: [incident_created]\nwhen: { grade: [I] }\nactions: [{escalate: {}}]\n",
        "g.yml",
        &tree(),
    )
    .unwrap()
    .unwrap();
    let mut inc = incident("410100", Severity::Medium);
    let s = |inc: &Incident| {
        p.matches(
            &Subject::Incident {
                incident: inc,
                alerts: &[],
                created: true,
            },
            &tree(),
        )
    };
    assert!(!s(&inc), "medium reads as grade III");
    inc.classification.grade = Some(onewall_model::Grade::I);
    assert!(s(&inc), "the policy's grade wins");
}

#[test]
fn the_example_playbooks_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/playbooks");
    let loaded = load_dir(&dir, &tree()).unwrap();
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    assert_eq!(loaded.playbooks.len(), 4);
}

#[test]
fn status_conditions_hold_for_incidents_in_those_statuses_only() {
    let p = parse(
        "id: s\ntriggers: [incident_changed, alert_created]\nwhen: { status: [resolved, closed] }\nactions: [{webhook: {url: 'http://h/x'}}]\n",
        "s.yml",
        &tree(),
    )
    .unwrap()
    .unwrap();
    let mut inc = incident("410100", Severity::High);
    let changed = |i: &Incident| {
        p.matches(
            &Subject::Incident {
                incident: i,
                alerts: &[],
                created: false,
            },
            &tree(),
        )
    };
    assert!(!changed(&inc), "a new incident is not resolved");
    inc.status = IncidentStatus::Resolved;
    assert!(changed(&inc));
    inc.status = IncidentStatus::Closed;
    assert!(changed(&inc));
    assert!(!p.matches(
        &Subject::Alert(&alert("410100", Severity::High, "r", &[])),
        &tree()
    ));
    let e = parse(
        "id: s\ntriggers: [incident_changed]\nwhen: { status: [done] }\nactions: [{webhook: {url: 'http://h/x'}}]\n",
        "s.yml",
        &tree(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("when.status: "), "{e}");
}
