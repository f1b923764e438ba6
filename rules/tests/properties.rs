//! Invariants over arbitrary input: loading never panics and always accounts for every
//! document; matching never panics.

mod common;

use onewall_rules::{Engine, RuleSource};
use proptest::prelude::*;

fn rule_like() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("title: t".to_string()),
        Just("detection:".to_string()),
        Just("  sel:".to_string()),
        Just("    message|contains: x".to_string()),
        Just("    a|re: x".to_string()),
        Just("  - k".to_string()),
        Just("  condition: sel".to_string()),
        Just("  condition: 1 of s* and not (sel".to_string()),
        Just("---".to_string()),
        "[a-z|:* \\-\\[\\]{}'\"]{0,20}",
    ];
    proptest::collection::vec(line, 0..12).prop_map(|l| l.join("\n"))
}

proptest! {
    #[test]
    fn loading_accounts_for_every_document(text in rule_like()) {
        let (engine, report) = Engine::compile([RuleSource::new("p.yml", text)]);
        prop_assert_eq!(report.total, report.compiled + report.errors.len());
        prop_assert_eq!(engine.len(), report.compiled);
        let ev = common::event(&serde_json::json!({"message": "x k", "a": "x"}), None);
        let mut alerts = Vec::new();
        engine.match_batch(std::slice::from_ref(&ev), onewall_model::Timestamp::now(), &mut alerts);
        prop_assert!(alerts.len() <= engine.len());
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let (_, report) = Engine::compile([RuleSource::new("p.yml", text)]);
        prop_assert_eq!(report.total, report.compiled + report.errors.len());
    }
}
