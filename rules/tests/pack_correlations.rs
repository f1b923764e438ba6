//! Correlation documents in packs: loaded with the pack's rules, selected by its manifest,
//! adjusted by overlays, and reported when a rule they count is not loaded.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use onewall_model::{AlertId, RegionCode, RegionTree, RuleRef, Severity, Timestamp};
use onewall_rules::pack::{RuleSet, RuleSetConfig};

const PROBE: &str = "title: probe
id: 11111111-0000-4000-8000-000000000001
name: probe
status: test
level: informational
logsource: {product: test}
detection: {sel: {event.action: probe}, condition: sel}
";

const SCAN: &str = "title: scan
id: 11111111-0000-4000-8000-0000000000c1
status: test
level: medium
tags: [attack.discovery]
correlation:
  type: value_count
  rules: [probe]
  group-by: [source.ip]
  timespan: 1m
  condition: {field: destination.port, gte: 20}
";

fn pack(dir: &Path, manifest_extra: &str) {
    std::fs::write(
        dir.join("pack.yml"),
        format!("name: corr\nversion: \"1\"\n{manifest_extra}"),
    )
    .unwrap();
    std::fs::write(dir.join("probe.yml"), PROBE).unwrap();
    std::fs::write(dir.join("scan.yml"), SCAN).unwrap();
}

fn load(
    dir: &Path,
    overlays: Vec<std::path::PathBuf>,
) -> (RuleSet, onewall_rules::pack::RuleSetReport) {
    let cfg = RuleSetConfig {
        packs: vec![dir.to_owned()],
        overlays,
        ..Default::default()
    };
    RuleSet::load(&cfg, &RegionTree::builtin(), Timestamp::now()).unwrap()
}

#[test]
fn a_pack_loads_its_correlations_and_counts_them() {
    let tmp = tempfile::tempdir().unwrap();
    pack(tmp.path(), "");
    let (set, report) = load(tmp.path(), vec![]);
    assert!(report.load.errors.is_empty(), "{:?}", report.load.errors);
    assert_eq!(set.engine().len(), 1);
    assert_eq!(set.correlations().len(), 1);
    assert_eq!(report.correlations, 1);
    assert_eq!((report.load.compiled, report.load.total), (2, 2));
    let info = set.correlations()[0].info();
    assert_eq!(info.rules[0].id, "11111111-0000-4000-8000-000000000001");
}

#[test]
fn the_manifest_selects_correlations_and_a_disabled_reference_is_an_error_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    // By level: the correlation (medium) goes, the probe stays.
    pack(tmp.path(), "disable: {levels: [medium]}\n");
    let (set, report) = load(tmp.path(), vec![]);
    assert!(set.correlations().is_empty());
    assert_eq!(report.packs[0].disabled, 1);
    assert!(report.correlation_errors.is_empty());

    // By id, the probe: the correlation cannot run, and the error says why.
    pack(
        tmp.path(),
        "disable: {ids: [11111111-0000-4000-8000-000000000001]}\n",
    );
    let (set, report) = load(tmp.path(), vec![]);
    assert!(set.correlations().is_empty());
    assert_eq!(report.correlation_errors.len(), 1);
    let e = report.correlation_errors[0].to_string();
    assert!(e.contains("11111111-0000-4000-8000-0000000000c1"), "{e}");
    assert!(e.contains("refers to rule 'probe'"), "{e}");
    assert!(e.contains("the manifest of pack 'corr' disables it"), "{e}");
    assert!(report.load.errors.iter().any(|x| x.to_string() == e));

    // By tag.
    pack(tmp.path(), "enable: {tags: [attack.discovery]}\n");
    let (set, report) = load(tmp.path(), vec![]);
    assert_eq!(report.packs[0].disabled, 1, "the probe has no tag");
    assert_eq!(report.correlation_errors.len(), 1);
    assert!(set.correlations().is_empty());
}

#[test]
fn overlays_disable_and_relevel_correlation_alerts_per_region() {
    let tmp = tempfile::tempdir().unwrap();
    pack(tmp.path(), "");
    let overlay = tmp.path().join("zhengzhou.yml");
    std::fs::write(
        &overlay,
        "region: \"410100\"\nrules:\n  - id: 11111111-0000-4000-8000-0000000000c1\n    level: critical\n",
    )
    .unwrap();
    let kaifeng = tmp.path().join("kaifeng.yml");
    std::fs::write(
        &kaifeng,
        "region: \"410200\"\nrules:\n  - id: 11111111-0000-4000-8000-0000000000c1\n    disable: true\n",
    )
    .unwrap();
    let (set, report) = load(tmp.path(), vec![overlay, kaifeng]);
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    let alert = |region: &str| onewall_model::Alert {
        target: None,
        intel: None,
        anomaly: None,
        id: AlertId::new(Timestamp::now()),
        time: Timestamp::now(),
        created: Timestamp::now(),
        rule: RuleRef {
            id: "11111111-0000-4000-8000-0000000000c1".into(),
            title: "scan".into(),
            level: Severity::Medium,
            status: None,
            tags: vec![],
        },
        severity: Severity::Medium,
        event_ids: vec![],
        entities: vec![],
        region: region.parse::<RegionCode>().unwrap(),
        matched: vec![],
        drill: None,
    };
    let mut alerts = vec![alert("410100"), alert("410200"), alert("410300")];
    set.apply_overlays(&mut alerts);
    let got: Vec<(String, Severity)> = alerts
        .iter()
        .map(|a| (a.region.to_string(), a.severity))
        .collect();
    assert_eq!(
        got,
        [
            ("410100".to_string(), Severity::Critical),
            ("410300".to_string(), Severity::Medium)
        ]
    );
}
