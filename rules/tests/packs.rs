//! Rule packs (manifest, enable/disable, pipelines) and per-region overlays.

mod common;

use std::path::PathBuf;

use onewall_model::{Alert, Event, RegionCode, RegionTree, Severity, Timestamp};
use onewall_rules::pack::{Manifest, Overlay, Pack, PackError, RuleSet, RuleSetConfig};
use onewall_rules::{Engine, RuleSource};
use serde_json::json;

const WHOAMI: &str = "7d0c9a51-1b7e-4c55-9d0e-3f6a2b1c0001";
const USER_CREATED: &str = "7d0c9a51-1b7e-4c55-9d0e-3f6a2b1c0002";
const ZHENGZHOU: &str = "410100";
const KAIFENG: &str = "410200";

fn packs() -> PathBuf {
    common::testdata().join("packs")
}

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-28T10:00:00Z").expect("time")
}

/// A Sysmon process creation of `whoami /all` on `host`, as NXLog sends it, in `region`.
fn whoami(host: &str, region: &str) -> Event {
    let mut e = common::event(
        &json!({"log.format": "windows", "EventID": 1, "event.code": "1",
                "winlog.channel": "Microsoft-Windows-Sysmon/Operational",
                "Image": r"C:\Windows\System32\whoami.exe", "CommandLine": "whoami /all",
                "host.name": host}),
        Some("{}"),
    );
    e.region = region.parse().expect("region");
    e
}

fn user_created(region: &str) -> Event {
    let mut e = common::event(
        &json!({"log.format": "windows", "EventID": 4720, "event.code": "4720",
                "winlog.channel": "Security", "TargetUserName": "bob", "host.name": "DC1"}),
        Some("{}"),
    );
    e.region = region.parse().expect("region");
    e
}

fn alerts(set: &RuleSet, events: &[Event], at: Timestamp) -> Vec<Alert> {
    let mut out = Vec::new();
    set.match_batch(events, at, &mut out);
    out
}

#[test]
fn a_pack_loads_its_rules_through_its_pipelines_and_leaves_out_what_it_disables() {
    let pack = Pack::load(&packs().join("windows-demo")).expect("pack");
    assert_eq!(pack.manifest.name, "windows-demo");
    assert_eq!(pack.manifest.version.as_deref(), Some("1.0"));
    assert_eq!(pack.disabled, 1, "the deprecated rule");
    // The macOS rule: no pipeline of the pack routes it.
    assert_eq!(pack.report.errors.len(), 1, "{:?}", pack.report.errors);
    let err = &pack.report.errors[0];
    assert!(err.path.ends_with("macos_rule.yml"), "{err}");
    assert!(err.reason.contains("product=macos"), "{err}");

    let cfg = RuleSetConfig {
        packs: vec![packs().join("windows-demo")],
        ..RuleSetConfig::default()
    };
    let (set, report) = RuleSet::load(&cfg, &RegionTree::builtin(), now()).expect("set");
    assert_eq!(report.load.compiled, 2);
    assert_eq!(report.load.total, 3);
    assert_eq!(report.packs[0].disabled, 1);
    let ids: Vec<&str> = set.engine().rules().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [USER_CREATED, WHOAMI], "file name order");
    let fired = alerts(
        &set,
        &[whoami("WS1", KAIFENG), user_created(KAIFENG)],
        now(),
    );
    let fired: Vec<&str> = fired.iter().map(|a| a.rule.id.as_str()).collect();
    assert_eq!(fired, [WHOAMI, USER_CREATED]);
}

#[test]
fn enable_and_disable_select_by_id_tag_level_status_and_product() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = packs().join("windows-demo/rules");
    std::fs::create_dir(dir.path().join("rules")).expect("mkdir");
    for f in std::fs::read_dir(&src).expect("rules") {
        let f = f.expect("entry").path();
        std::fs::copy(
            &f,
            dir.path().join("rules").join(f.file_name().expect("name")),
        )
        .expect("copy");
    }
    let load = |manifest: &str| {
        std::fs::write(dir.path().join("pack.yml"), manifest).expect("write");
        let pack = Pack::load(dir.path()).expect("pack");
        let (engine, _) = onewall_rules::Engine::compile(pack.sources);
        let mut ids: Vec<String> = engine.rules().iter().map(|r| r.id.clone()).collect();
        ids.sort();
        (ids, pack.disabled)
    };
    // No pipelines: every rule loads as written (the macOS one too).
    let (ids, disabled) = load("name: t\n");
    assert_eq!((ids.len(), disabled), (4, 0));
    let (ids, _) = load("name: t\nenable: {levels: [low]}\n");
    assert_eq!(ids, [USER_CREATED]);
    let (ids, _) = load("name: t\nenable: {tags: ['attack.t1136*']}\n");
    assert_eq!(ids, [USER_CREATED]);
    let (ids, _) = load("name: t\ndisable: {products: [windows]}\n");
    assert_eq!(ids, ["7d0c9a51-1b7e-4c55-9d0e-3f6a2b1c0004"]);
    let (ids, _) = load(&format!(
        "name: t\ndisable: {{products: [windows]}}\nenable: {{ids: [{WHOAMI}]}}\n"
    ));
    assert_eq!(ids, [WHOAMI, "7d0c9a51-1b7e-4c55-9d0e-3f6a2b1c0004"]);
    let (ids, disabled) = load(&format!(
        "name: t\ndisable: {{ids: [{WHOAMI}], statuses: [deprecated, stable]}}\n"
    ));
    assert_eq!(ids, ["7d0c9a51-1b7e-4c55-9d0e-3f6a2b1c0004"]);
    assert_eq!(disabled, 3);
}

#[test]
fn bad_manifests_are_refused_with_the_reason() {
    let e = Manifest::parse("name: t\nenabel: {}\n").expect_err("typo");
    assert!(e.contains("unknown key 'enabel'"), "{e}");
    let e = Manifest::parse(&format!(
        "name: t\nenable: {{ids: [{WHOAMI}]}}\ndisable: {{ids: [{WHOAMI}]}}\n"
    ))
    .expect_err("both");
    assert!(e.contains("both"), "{e}");
    let e = Manifest::parse("version: 1\n").expect_err("name");
    assert!(e.contains("missing 'name'"), "{e}");
    let dir = tempfile::tempdir().expect("tmp");
    let err = Pack::load(dir.path()).expect_err("no manifest");
    assert!(err.to_string().contains("pack.yml"), "{err}");
    std::fs::write(
        dir.path().join("pack.yml"),
        "name: t\npipelines: [linux, nope]\n",
    )
    .expect("write");
    let err = Pack::load(dir.path()).expect_err("unknown pipeline");
    assert!(matches!(err, PackError::Pipeline { .. }), "{err}");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn overlays_disable_relevel_and_except_per_region() {
    let cfg = RuleSetConfig {
        packs: vec![packs().join("windows-demo")],
        overlays: vec![packs().join("overlays/410100.yml")],
        ..RuleSetConfig::default()
    };
    let (set, report) = RuleSet::load(&cfg, &RegionTree::builtin(), now()).expect("set");
    // The expired exception is reported, naming its author and date.
    let expired: Vec<&String> = report
        .notes
        .iter()
        .filter(|n| n.contains("expired"))
        .collect();
    assert_eq!(expired.len(), 1, "{:?}", report.notes);
    assert!(expired[0].contains("wang.wu") && expired[0].contains("2020-01-31"));

    // Zhengzhou: user creation disabled there, whoami raised to high.
    let zz = alerts(
        &set,
        &[user_created(ZHENGZHOU), whoami("WS1", ZHENGZHOU)],
        now(),
    );
    assert_eq!(zz.len(), 1);
    assert_eq!(zz[0].rule.id, WHOAMI);
    assert_eq!(zz[0].severity, Severity::High);
    assert_eq!(zz[0].rule.level, Severity::Medium);
    // Kaifeng: the overlay does not apply.
    let kf = alerts(
        &set,
        &[user_created(KAIFENG), whoami("WS1", KAIFENG)],
        now(),
    );
    assert_eq!(kf.len(), 2);
    assert_eq!(kf[1].severity, Severity::Medium);
    // The province is above the overlay's region: not affected either.
    let ha = alerts(&set, &[user_created("410000")], now());
    assert_eq!(ha.len(), 1);

    // The scanner's exception applies in Zhengzhou until the end of 2099-12-31.
    assert!(alerts(&set, &[whoami("WS-SCAN", ZHENGZHOU)], now()).is_empty());
    assert_eq!(alerts(&set, &[whoami("WS-SCAN", KAIFENG)], now()).len(), 1);
    let last_day = Timestamp::parse_rfc3339("2099-12-31T23:59:59Z").expect("t");
    assert!(alerts(&set, &[whoami("WS-SCAN", ZHENGZHOU)], last_day).is_empty());
    let after = Timestamp::parse_rfc3339("2100-01-01T00:00:00Z").expect("t");
    assert_eq!(
        alerts(&set, &[whoami("WS-SCAN", ZHENGZHOU)], after).len(),
        1
    );
    // The expired exception no longer applies.
    assert_eq!(alerts(&set, &[whoami("WS-OLD", ZHENGZHOU)], now()).len(), 1);
}

#[test]
fn bad_overlays_name_the_entry_and_the_missing_key() {
    let text = "region: \"410100\"\nexceptions:\n  - rule: x\n    reason: r\n    expires: 2027-01-01\n    match: {a: b}\n";
    let e = Overlay::parse("o.yml", text).expect_err("no author");
    assert!(e.contains("exceptions[1]") && e.contains("author"), "{e}");
    let e = Overlay::parse("o.yml", "region: \"410100\"\nexceptions:\n  - {rule: x, author: a, reason: r, expires: soon, match: {a: b}}\n")
        .expect_err("date");
    assert!(e.contains("soon"), "{e}");
    let e = Overlay::parse("o.yml", "region: \"41\"\n").expect_err("region");
    assert!(e.contains("region"), "{e}");
    // A region the tree does not know fails the whole load (a reload keeps the old rules).
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("o.yml");
    std::fs::write(&path, "region: \"990100\"\n").expect("write");
    let cfg = RuleSetConfig {
        overlays: vec![path],
        ..RuleSetConfig::default()
    };
    let err = RuleSet::load(&cfg, &RegionTree::builtin(), now()).expect_err("unknown region");
    assert!(err.to_string().contains("990100"), "{err}");
    let _ = RegionCode::HENAN;
}

#[test]
fn a_packs_transformed_documents_compile_as_their_written_text_does() {
    let mut pack = Pack::load(&packs().join("windows-demo")).expect("pack");
    // The pack's pipelines changed the rules: their text is the file's until written.
    let as_read = pack.sources.clone();
    let written: Vec<RuleSource> = pack
        .sources
        .iter_mut()
        .map(|s| {
            assert!(s.write_text().is_empty());
            // A source made from the text alone: parsed again by the compiler.
            RuleSource::new(s.path.clone(), s.text.clone())
        })
        .collect();
    assert_ne!(
        as_read, pack.sources,
        "the written text differs from the file's"
    );
    let (from_docs, r1) = Engine::compile(as_read);
    let (from_text, r2) = Engine::compile(written);
    assert_eq!(r1.to_string(), r2.to_string());
    assert_eq!(from_docs.rules(), from_text.rules());
    assert_eq!(from_docs.index_stats(), from_text.index_stats());
    let events = [whoami("WS1", KAIFENG), user_created(KAIFENG)];
    for e in &events {
        assert_eq!(from_docs.matching_rules(e), from_text.matching_rules(e));
    }
    assert_eq!(from_docs.matching_rules(&events[0]), [WHOAMI]);
}
