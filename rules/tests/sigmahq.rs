//! The SigmaHQ rule corpus (the `rules`, `rules-emerging-threats` and `rules-threat-hunting`
//! folders) compiles without panicking, and at least 99.5% of it compiles.

use std::collections::BTreeMap;
use std::path::Path;

use onewall_rules::Engine;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/sigmahq");

const FOLDERS: [&str; 3] = ["rules", "rules-emerging-threats", "rules-threat-hunting"];

/// Share of documents that must compile, in tenths of a percent.
const FLOOR_PERMILLE: usize = 995;

#[test]
fn sigmahq_rules_compile() {
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        eprintln!("skipping: {CORPUS} is not present");
        return;
    }
    let dirs: Vec<_> = FOLDERS.iter().map(|f| root.join(f)).collect();
    let (engine, report) = Engine::load(false, &dirs).expect("corpus dirs readable");
    assert_eq!(report.total, report.compiled + report.errors.len());
    assert_eq!(engine.len(), report.compiled);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for e in &report.errors {
        // Group by the last clause of the reason (drop identifier and field names).
        let key = e.reason.rsplit(": ").next().unwrap_or(&e.reason).to_owned();
        *reasons.entry(key).or_default() += 1;
    }
    let mut top: Vec<_> = reasons.into_iter().collect();
    top.sort_by_key(|b| std::cmp::Reverse(b.1));
    eprintln!("sigmahq: {report}");
    for (reason, n) in top.iter().take(15) {
        eprintln!("  {n:5}  {reason}");
    }
    for e in report.errors.iter().take(40) {
        eprintln!("  {e}");
    }
    assert!(report.total > 3000, "corpus looks truncated: {report}");
    assert!(
        report.compiled * 1000 >= report.total * FLOOR_PERMILLE,
        "only {report}"
    );
}
