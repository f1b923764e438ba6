//! The shipped processing pipelines on their own: routing, errors, user pipelines, rewriting
//! without changing what matches, and SigmaHQ's folders compiling through them. The same
//! pipelines on lines parsed by onewall's own parsers are end-to-end tests, in the root
//! crate's `tests/rules_on_logs.rs`.

mod common;

use onewall_model::Event;
use onewall_rules::pipeline::{Pipeline, PipelineSet, shipped_names};
use onewall_rules::{Engine, Placeholders, RuleSource};
use serde_json::{Value, json};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus");

fn all_pipelines() -> PipelineSet {
    PipelineSet::shipped(&shipped_names())
        .expect("shipped pipelines")
        .require_routing(true)
}

#[test]
fn a_rule_no_pipeline_routes_is_reported_and_skipped() {
    let rule = "title: mac thing\nid: 1c1c1c1c-0000-4000-8000-000000000002\n\
        logsource: {product: macos, category: process_creation}\n\
        detection:\n  selection: {Image|endswith: /osascript}\n  condition: selection\n";
    let (engine, report) = Engine::compile_with_pipelines(
        [RuleSource::new("mac.yml", rule)],
        &Placeholders::new(),
        &all_pipelines(),
    );
    assert_eq!(engine.len(), 0);
    assert_eq!((report.total, report.errors.len()), (1, 1));
    let reason = &report.errors[0].reason;
    assert!(
        reason.contains("no pipeline") && reason.contains("product=macos"),
        "{reason}"
    );
    // Without require_routing the rule loads as written.
    let set = PipelineSet::shipped(&shipped_names()).expect("shipped");
    let (engine, report) = Engine::compile_with_pipelines(
        [RuleSource::new("mac.yml", rule)],
        &Placeholders::new(),
        &set,
    );
    assert!(report.is_clean() && engine.len() == 1);
}

#[test]
fn pipeline_errors_name_the_pipeline_and_the_problem() {
    let bad = "name: p\ntransformations:\n  - type: drop_everything\n";
    let e = Pipeline::from_yaml("p.yml", bad).expect_err("unknown type");
    assert!(e.to_string().contains("drop_everything"), "{e}");
    let bad = "name: p\ntransformations:\n  - type: replace_string\n    regex: '('\n";
    let e = Pipeline::from_yaml("p.yml", bad).expect_err("bad regex");
    assert!(e.to_string().contains("bad regex"), "{e}");
    let e = PipelineSet::shipped(&["windows-nope"]).expect_err("unknown name");
    assert!(e.to_string().contains("windows-nope"), "{e}");
}

#[test]
fn user_pipelines_map_prefix_replace_and_chain_by_priority() {
    let first = r"
name: first
priority: 1
transformations:
  - id: lower
    type: replace_string
    regex: 'EVIL'
    replacement: 'evil'
  - id: prefix
    type: field_name_prefix_mapping
    mapping: {'proc_': 'process.'}
";
    let second = r"
name: second
priority: 2
transformations:
  - type: add_condition
    conditions: {event.kind: process}
    rule_conditions: [{type: processing_item_applied, processing_item_id: prefix}]
  - type: change_logsource
    product: custom
";
    let set = PipelineSet::new(vec![
        Pipeline::from_yaml("b", second).expect("second"),
        Pipeline::from_yaml("a", first).expect("first"),
    ]);
    assert_eq!(set.names(), ["first", "second"]);
    let rule = "title: t\nid: 1c1c1c1c-0000-4000-8000-000000000003\nlogsource: {product: x}\n\
        detection:\n  sel: {proc_name|cased: EVIL.exe}\n  condition: sel\n";
    let (engine, report) = Engine::compile_with_pipelines(
        [RuleSource::new("t.yml", rule)],
        &Placeholders::new(),
        &set,
    );
    assert!(report.is_clean(), "{:?}", report.errors);
    assert_eq!(
        engine.rules()[0].logsource.product.as_deref(),
        Some("custom")
    );
    let ev = |v: Value| common::event(&v, None);
    let id = "1c1c1c1c-0000-4000-8000-000000000003";
    assert_eq!(
        engine.matching_rules(&ev(
            json!({"process.name": "evil.exe", "event.kind": "process"})
        )),
        [id]
    );
    assert!(
        engine
            .matching_rules(&ev(json!({"process.name": "evil.exe"})))
            .is_empty()
    );
    assert!(
        engine
            .matching_rules(&ev(
                json!({"process.name": "EVIL.exe", "event.kind": "process"})
            ))
            .is_empty()
    );
}

/// Re-writing a rule must not change what it means: every SigmaHQ Windows rule, run through a
/// pipeline that forces the rewrite without changing anything, matches exactly as before.
#[test]
fn rewritten_rules_match_exactly_as_the_originals() {
    let dir = format!("{CORPUS}/sigmahq/rules/windows");
    let (sources, _) = onewall_rules::read_rule_dir(std::path::Path::new(&dir)).expect("dir");
    let noop = "name: noop\ntransformations:\n  - type: replace_string\n    regex: '\\A\\z'\n    replacement: ''\n";
    let set = PipelineSet::new(vec![Pipeline::from_yaml("noop", noop).expect("noop")]);
    let (plain, plain_report) = Engine::compile(sources.clone());
    let (rewritten, report) = Engine::compile_with_pipelines(sources, &Placeholders::new(), &set);
    assert_eq!(plain_report.compiled, report.compiled);
    assert_eq!(plain_report.total, report.total);
    assert!(plain.len() > 2000);
    let events: Vec<Event> = common::windows::corpus_events()
        .into_iter()
        .chain(common::windows::generated_events(400))
        .map(|v| common::event(&v, None))
        .collect();
    let mut hits = 0;
    for e in &events {
        let a = plain.matching_rules(e);
        assert_eq!(a, rewritten.matching_rules(e));
        hits += a.len();
    }
    assert!(hits > 0);
}

/// Every SigmaHQ rule folder through the shipped pipelines: the Windows, Linux, web and
/// network rules are routed and still compile; the report lists what no pipeline routes.
#[test]
fn sigmahq_rules_compile_through_the_shipped_pipelines() {
    let dir = format!("{CORPUS}/sigmahq/rules");
    let (sources, _) = onewall_rules::read_rule_dir(std::path::Path::new(&dir)).expect("dir");
    let start = std::time::Instant::now();
    let (plain, plain_report) = Engine::compile(sources.clone());
    let plain_time = start.elapsed();
    let start = std::time::Instant::now();
    let (piped, report) =
        Engine::compile_with_pipelines(sources, &Placeholders::new(), &all_pipelines());
    let piped_time = start.elapsed();
    let unrouted: Vec<_> = report
        .errors
        .iter()
        .filter(|e| e.reason.starts_with("no pipeline"))
        .collect();
    let other = report.errors.len() - unrouted.len();
    println!(
        "plain: {} of {} in {plain_time:?}; through pipelines: {} compiled, {} not routed, {other} other errors, in {piped_time:?}",
        plain.len(),
        plain_report.total,
        piped.len(),
        unrouted.len()
    );
    // Everything the pipelines route compiles as well as it does unrouted.
    let others: Vec<String> = report
        .errors
        .iter()
        .filter(|e| !e.reason.starts_with("no pipeline"))
        .map(|e| e.to_string())
        .collect();
    assert_eq!(other, plain_report.errors.len(), "{others:#?}");
    let count = |prefix: &str| {
        piped
            .rules()
            .iter()
            .filter(|r| r.path.starts_with(&format!("{dir}/{prefix}")))
            .count()
    };
    let plain_count = |prefix: &str| {
        plain
            .rules()
            .iter()
            .filter(|r| r.path.starts_with(&format!("{dir}/{prefix}")))
            .count()
    };
    for folder in [
        "windows",
        "web/webserver_generic",
        "network/firewall",
        "network/dns",
    ] {
        assert_eq!(count(folder), plain_count(folder), "{folder}");
    }
    assert!(count("linux/builtin") > 0);
}

fn apply(set: &PipelineSet, rule: &str) -> Result<String, String> {
    let serde_norway::Value::Mapping(mut doc) = serde_norway::from_str(rule).expect("yaml") else {
        panic!("not a map");
    };
    set.apply(&mut doc)?;
    Ok(serde_norway::to_string(&doc).expect("yaml"))
}

const PROCESS_RULE: &str = "title: t\nid: 1c1c1c1c-0000-4000-8000-000000000003\n\
    logsource: {product: windows, category: process_creation}\n\
    detection:\n  sel: {Image|endswith: '\\x.exe', IntegrityLevel: [High, Medium]}\n  condition: sel\n";

#[test]
fn security_auditing_is_an_alternative_to_sysmon_for_process_creation() {
    let set = PipelineSet::shipped(&["windows-sysmon", "windows-audit", "windows-logsource"])
        .expect("shipped");
    let out = apply(&set, PROCESS_RULE).expect("mapped");
    // The Sysmon version as written, the 4688 one with its names, label SIDs and channel.
    for want in [
        "Image|endswith",
        "NewProcessName|endswith",
        "MandatoryLabel",
        "S-1-16-12288",
        "S-1-16-8192",
        "4688",
        "Security",
        "Microsoft-Windows-Sysmon/Operational",
    ] {
        assert!(out.contains(want), "{want} missing:\n{out}");
    }
    // A field 4688 has no counterpart for: only the Sysmon version is left.
    let hashes = PROCESS_RULE.replace("IntegrityLevel: [High, Medium]", "Hashes|contains: AB12");
    let out = apply(&set, &hashes).expect("sysmon version");
    assert!(!out.contains("4688") && out.contains("Sysmon"), "{out}");
    // Security auditing alone refuses it, saying why.
    let audit = PipelineSet::shipped(&["windows-audit", "windows-logsource"]).expect("shipped");
    let e = apply(&audit, &hashes).expect_err("refused");
    assert!(e.contains("Hashes") && e.contains("4688"), "{e}");
}

#[test]
fn the_three_windows_shapes_compile_to_one_version() {
    let base = ["windows-sysmon", "windows-logsource"];
    let one = PipelineSet::shipped(&[&base[..], &["windows-nxlog"]].concat()).expect("one");
    let three = PipelineSet::shipped(
        &[
            &base[..],
            &["windows-winlogbeat", "windows-nxlog", "windows-evtx"],
        ]
        .concat(),
    )
    .expect("three");
    let a = apply(&one, PROCESS_RULE).expect("one");
    assert_eq!(a, apply(&three, PROCESS_RULE).expect("three"));
    assert!(!a.contains("v1_") && a.contains("event.code"), "{a}");
}

#[test]
fn two_fields_mapped_to_one_name_in_a_map_are_both_required() {
    let rule = "title: t\nid: 1c1c1c1c-0000-4000-8000-000000000004\n\
        logsource: {category: webserver}\n\
        detection:\n  sel:\n    cs-uri-stem|contains: /admin/\n    cs-uri-query|contains: cmd=\n  condition: sel\n";
    let set = PipelineSet::shipped(&["webserver"]).expect("webserver");
    let (engine, report) = Engine::compile_with_pipelines(
        [RuleSource::new("w.yml", rule)],
        &Placeholders::new(),
        &set,
    );
    assert!(report.is_clean(), "{:?}", report.errors);
    let hit = |url: &str| {
        let e = common::event(
            &json!({"log.format": "http_access", "url.original": url}),
            None,
        );
        engine.matching_rules(&e).len()
    };
    assert_eq!(hit("/admin/run?cmd=id"), 1);
    assert_eq!(hit("/admin/run?x=1"), 0);
    assert_eq!(hit("/index?cmd=id"), 0);
}
