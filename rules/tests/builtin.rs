//! The built-in pack: every rule compiles, ships a match and a nomatch sample, fires on its
//! match sample and on nothing else, and no rule fires on any nomatch sample.

mod common;

use std::collections::BTreeMap;
use std::fs;

use onewall_model::{EntityKind, Severity, Timestamp};
use onewall_rules::Engine;

/// `(rule file stem, rule id, sample kind, event)` for every sample of the pack.
fn samples(engine: &Engine) -> Vec<(String, String, &'static str, onewall_model::Event)> {
    let mut out = Vec::new();
    for rule in engine.rules() {
        let stem = stem(&rule.path);
        for kind in ["match", "nomatch"] {
            let path = common::testdata().join(format!("builtin/{stem}/{kind}.json"));
            let text =
                fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let fields: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(fields.is_object(), "{}: not an object", path.display());
            out.push((
                stem.clone(),
                rule.id.clone(),
                kind,
                common::event(&fields, None),
            ));
        }
    }
    out
}

fn stem(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.trim_end_matches(".yml")
        .trim_end_matches(".yaml")
        .to_owned()
}

#[test]
fn builtin_pack_compiles_cleanly_with_full_metadata() {
    let (engine, report) = Engine::builtin();
    assert!(report.is_clean(), "{:?}", report.errors);
    assert_eq!(report.total, engine.len());
    assert!(engine.len() >= 5);
    for rule in engine.rules() {
        assert_eq!(rule.id.len(), 36, "{}: id is not a uuid", rule.path);
        assert!(rule.status.is_some(), "{}: no status", rule.path);
        assert!(rule.description.is_some(), "{}: no description", rule.path);
        assert_eq!(rule.author.as_deref(), Some("onewall"), "{}", rule.path);
        assert!(
            rule.tags.iter().any(|t| t.starts_with("attack.t")),
            "{}: no ATT&CK technique tag",
            rule.path
        );
        assert!(
            rule.tags
                .iter()
                .any(|t| t.starts_with("attack.") && !t.starts_with("attack.t")),
            "{}: no ATT&CK tactic tag",
            rule.path
        );
        // Linux log rules, and flow rules (NetFlow/IPFIX/sFlow records).
        assert!(
            matches!(
                rule.logsource.product.as_deref(),
                Some("linux") | Some("netflow")
            ),
            "{}: product {:?}",
            rule.path,
            rule.logsource.product
        );
        assert!(!rule.falsepositives.is_empty(), "{}", rule.path);
    }
}

#[test]
fn every_builtin_rule_has_both_samples() {
    let (engine, _) = Engine::builtin();
    for rule in engine.rules() {
        let dir = common::testdata().join("builtin").join(stem(&rule.path));
        for kind in ["match.json", "nomatch.json"] {
            assert!(
                dir.join(kind).is_file(),
                "{}: missing {}",
                rule.path,
                dir.join(kind).display()
            );
        }
    }
    // And no sample folder is left over from a removed rule (correlations have theirs too:
    // event streams, checked in `correlate/tests/builtin_pack.rs`).
    let stems: Vec<String> = onewall_rules::builtin_sources()
        .iter()
        .map(|s| stem(&s.path))
        .collect();
    for entry in fs::read_dir(common::testdata().join("builtin")).expect("samples dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(stems.contains(&name), "samples for unknown rule {name}");
    }
}

#[test]
fn each_rule_fires_on_its_match_sample_only() {
    let (engine, _) = Engine::builtin();
    let mut fired_on: BTreeMap<String, usize> = BTreeMap::new();
    let all = samples(&engine);
    for (stem, id, kind, event) in &all {
        let hits = engine.matching_rules(event);
        for h in &hits {
            *fired_on.entry(h.to_string()).or_default() += 1;
        }
        match *kind {
            "match" => assert_eq!(hits, vec![id.as_str()], "{stem}/match.json"),
            _ => assert!(hits.is_empty(), "{stem}/nomatch.json fired {hits:?}"),
        }
    }
    for (id, n) in fired_on {
        assert!(n < all.len(), "rule {id} fires on every sample");
    }
}

#[test]
fn alerts_carry_rule_event_and_entities() {
    let (engine, _) = Engine::builtin();
    let all = samples(&engine);
    let events: Vec<_> = all.iter().map(|s| s.3.clone()).collect();
    let now = Timestamp::from_secs(1_764_400_000);
    let mut alerts = Vec::new();
    engine.match_batch(&events, now, &mut alerts);
    let matches = all.iter().filter(|s| s.2 == "match").count();
    assert_eq!(alerts.len(), matches);
    let (_, id, _, ev) = all
        .iter()
        .find(|s| s.0 == "ssh_auth_failure" && s.2 == "match")
        .expect("ssh sample");
    let a = alerts.iter().find(|a| &a.rule.id == id).expect("ssh alert");
    assert_eq!(a.rule.title, "SSH authentication failure");
    assert_eq!(a.severity, Severity::Medium);
    assert_eq!(a.rule.level, Severity::Medium);
    assert_eq!(a.created, now);
    assert_eq!(a.time, ev.time);
    assert_eq!(a.event_ids, vec![ev.id]);
    assert_eq!(a.region, ev.region);
    // Derived from the event and the rule (a replay makes the same alert), timed by the event's
    // intake.
    assert_eq!(a.id, onewall_model::AlertId::for_rule_match(ev.id, id));
    assert_eq!(a.id.timestamp(), ev.id.timestamp());
    assert!(a.rule.tags.contains(&"attack.t1110.001".to_string()));
    assert_eq!(a.entity(EntityKind::Host), Some("web01"));
    assert!(
        a.matched
            .iter()
            .any(|m| m.field == "message" && m.value.starts_with("Failed password")),
        "{:?}",
        a.matched
    );
    assert!(
        a.matched
            .iter()
            .any(|m| m.field == "process.name" && m.value == "sshd")
    );
}

#[test]
fn pam_tagged_sshd_lines_count_as_failures() {
    // Older systems tag PAM's lines "sshd(pam_unix)".
    let (engine, _) = Engine::builtin();
    let ev = common::event(
        &serde_json::json!({
            "process.name": "sshd(pam_unix)",
            "message": "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4  user=root"
        }),
        None,
    );
    let hits = engine.matching_rules(&ev);
    assert_eq!(hits, vec!["34896525-6108-4668-8672-0f36242d6574"]);
}
