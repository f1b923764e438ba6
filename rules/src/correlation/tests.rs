use super::*;
use crate::Engine;

const SPEC_EXAMPLE: &str = r#"
title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
---
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
---
title: Successful login
name: successful_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4624
    condition: selection
"#;

fn sources(text: &str) -> Vec<RuleSource> {
    vec![RuleSource::new("mr_test.yml", text)]
}

#[test]
fn spec_example_parses_and_resolves_in_dependency_order() {
    let src = sources(SPEC_EXAMPLE);
    let (set, report) = load_correlations(&src);
    assert!(report.is_clean(), "{:?}", report.errors);
    assert_eq!((report.total, report.compiled), (2, 2));
    let (engine, _) = Engine::compile(src);
    let (resolved, errors) = set.resolve(engine.rules());
    assert!(errors.is_empty(), "{errors:?}");
    let ids: Vec<&str> = resolved.iter().map(|c| c.rule.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "a8418a5a-5fc4-46b5-b23b-6c73beb19d41",
            "b180ead8-d58f-40b2-ae54-c8940995b9b6"
        ],
        "the inner correlation comes first"
    );
    let outer = &resolved[1];
    assert_eq!(
        outer.targets[0],
        RuleTarget::Correlation("a8418a5a-5fc4-46b5-b23b-6c73beb19d41".into())
    );
    // `successful_login` has no id: resolved through its name to the engine's derived id.
    match &outer.targets[1] {
        RuleTarget::Detection(id) => assert!(id.starts_with("ow-"), "{id}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(outer.rule.condition, Condition::at_least(2.0));
    assert_eq!(resolved[0].rule.timespan_secs, 600);
}

#[test]
fn aliases_map_group_by_per_rule() {
    let text = r#"
title: internal error then connection
correlation:
    type: temporal
    rules: [internal_error, new_network_connection]
    group-by: [internal_ip, remote_ip]
    timespan: 10s
    aliases:
        internal_ip:
            internal_error: destination.ip
            new_network_connection: source.ip
        remote_ip:
            internal_error: source.ip
            new_network_connection: destination.ip
---
title: internal error
id: ie
name: internal_error
detection: {sel: {http.response.status_code: 500}, condition: sel}
---
title: new connection
id: nc
name: new_network_connection
detection: {sel: {event.type: connection}, condition: sel}
"#;
    let src = sources(text);
    let (set, report) = load_correlations(&src);
    assert!(report.is_clean(), "{:?}", report.errors);
    let (engine, _) = Engine::compile(src);
    let (resolved, errors) = set.resolve(engine.rules());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        resolved[0].group_fields,
        vec![
            vec!["destination.ip".to_string(), "source.ip".into()],
            vec!["source.ip".to_string(), "destination.ip".into()],
        ]
    );
}

#[test]
fn broken_correlations_are_reported_with_their_reason() {
    let cases = [
        ("type: nope", "unknown type 'nope'"),
        (
            "type: event_count\n  rules: [x]\n  timespan: 5m",
            "needs at least one of",
        ),
        (
            "type: event_count\n  rules: [x]\n  timespan: 5x\n  condition: {gte: 1}",
            "timespan '5x'",
        ),
        (
            "type: value_count\n  rules: [x]\n  timespan: 5m\n  condition: {gte: 1}",
            "needs 'field'",
        ),
        (
            "type: value_percentile\n  rules: [x]\n  timespan: 5m\n  condition: {field: b, gte: 1}",
            "needs 'percentile'",
        ),
        (
            "type: event_count\n  rules: [x]\n  timespan: 5m\n  condition: {above: 1}",
            "unknown operator 'above'",
        ),
        (
            "type: event_count\n  timespan: 5m\n  condition: {gte: 1}",
            "at least one rule",
        ),
        (
            "type: event_count\n  rules: [x]\n  timespan: 5m\n  condition: {gte: 1}\n  window: 3",
            "unknown key 'window'",
        ),
    ];
    for (body, want) in cases {
        let text = format!("title: t\nid: c1\ncorrelation:\n  {body}\n");
        let (set, report) = load_correlations(&sources(&text));
        assert!(set.rules.is_empty(), "{body}");
        assert_eq!(report.errors.len(), 1, "{body}");
        let e = report.errors[0].to_string();
        assert!(e.contains(want), "{body}: {e}");
        assert!(e.starts_with("mr_test.yml: c1: "), "{e}");
    }
}

#[test]
fn unknown_references_and_cycles_are_reported() {
    let text = r#"
title: a
id: a
correlation: {type: event_count, rules: [b], timespan: 1m, condition: {gte: 2}}
---
title: b
id: b
correlation: {type: event_count, rules: [a], timespan: 1m, condition: {gte: 2}}
---
title: c
id: c
correlation: {type: event_count, rules: [missing], timespan: 1m, condition: {gte: 2}}
"#;
    let (set, report) = load_correlations(&sources(text));
    assert!(report.is_clean());
    let (resolved, errors) = set.resolve(&[]);
    assert!(resolved.is_empty());
    assert_eq!(errors.len(), 3);
    assert!(errors.iter().any(|e| {
        e.reason
            .contains("correlation 'c' refers to rule 'missing', which is neither")
    }));
    assert!(errors.iter().filter(|e| e.reason.contains("cycle")).count() == 2);
}

#[test]
fn a_reference_to_an_unavailable_rule_says_why() {
    let text = r#"
title: c
id: c
correlation: {type: event_count, rules: [probe], timespan: 1m, condition: {gte: 2}}
"#;
    let (set, _) = load_correlations(&sources(text));
    let why = HashMap::from([(
        "probe".to_string(),
        "the manifest of pack 'flows' disables it".to_string(),
    )]);
    let (resolved, errors) = set.resolve_with(&[], &why);
    assert!(resolved.is_empty());
    assert_eq!(
        errors[0].reason,
        "correlation 'c' refers to rule 'probe', which is not loaded: the manifest of pack \
         'flows' disables it"
    );
}

#[test]
fn listing_names_type_and_references() {
    let text = r#"
title: base
id: base-id
name: base
detection: {sel: {a: b}, condition: sel}
---
title: many
id: many
correlation: {type: event_count, rules: [base], group-by: [host.name], timespan: 5m, condition: {gte: 3}}
"#;
    let (set, _) = load_correlations(&sources(text));
    let (engine, _) = crate::Engine::compile(sources(text));
    let (resolved, errors) = set.resolve(engine.rules());
    assert!(errors.is_empty(), "{errors:?}");
    let info = resolved[0].info();
    assert_eq!(info.kind, CorrelationType::EventCount);
    assert_eq!(info.rules[0].reference, "base");
    assert_eq!(info.rules[0].id, "base-id");
    assert_eq!(info.rules[0].kind, "detection");
    assert_eq!(info.condition, "gte 3");
    assert_eq!(info.timespan_secs, 300);
    // The engine neither compiles nor counts the correlation document.
    assert_eq!(engine.len(), 1);
}

#[test]
fn ranges_and_operators() {
    let c = Condition {
        gt: Some(100.0),
        lte: Some(200.0),
        ..Default::default()
    };
    assert!(!c.holds(100.0));
    assert!(c.holds(101.0));
    assert!(c.holds(200.0));
    assert!(!c.holds(201.0));
    let n = Condition {
        neq: Some(3.0),
        ..Default::default()
    };
    assert!(n.holds(2.0) && !n.holds(3.0));
    assert_eq!(c.to_string(), "gt 100 and lte 200");
    assert_eq!(parse_timespan("90m"), Ok(5400));
    assert_eq!(parse_timespan("1w"), Ok(604_800));
    assert!(parse_timespan("0s").is_err());
    assert!(parse_timespan("m").is_err());
}
