//! Differential test against `rsigma-eval`: the SigmaHQ Windows rules over the corpus Windows
//! samples and generated Sysmon-shaped events must give the same (rule, event) matches in both
//! engines, except for the rules listed with a reason in `testdata/rules/differential.yml`.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use common::windows;
use onewall_rules::{Engine, RuleSource};
use serde::Deserialize;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/sigmahq");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Known {
    rule: String,
    reason: String,
}

/// Every SigmaHQ rule file whose logsource product is windows.
pub fn windows_rule_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "yml") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    for f in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        walk(&Path::new(CORPUS).join(f), &mut files);
    }
    files.sort();
    files.retain(|p| fs::read_to_string(p).is_ok_and(|t| t.contains("product: windows")));
    files
}

#[test]
fn same_matches_as_rsigma_eval() {
    let files = windows_rule_files();
    if files.is_empty() {
        eprintln!("skipping: {CORPUS} is not present");
        return;
    }
    let mut sources = Vec::new();
    let mut theirs = rsigma_eval::Engine::new();
    let mut their_ids = HashSet::new();
    for p in &files {
        let text = fs::read_to_string(p).expect("read rule");
        sources.push(RuleSource::new(p.display().to_string(), text.as_str()));
        let Ok(coll) = rsigma_parser::parse_sigma_yaml(&text) else {
            continue;
        };
        for rule in &coll.rules {
            if theirs.add_rule(rule).is_ok()
                && let Some(id) = &rule.id
            {
                their_ids.insert(id.clone());
            }
        }
    }
    let (ours, report) = Engine::compile(sources);
    let common_ids: HashSet<String> = ours
        .rules()
        .iter()
        .map(|r| r.id.clone())
        .filter(|id| their_ids.contains(id))
        .collect();
    let mut events = windows::corpus_events();
    events.extend(windows::generated_events(3000));
    let mut diffs: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut total_matches = 0usize;
    for ev in &events {
        let raw = ev.to_string();
        let our_event = common::event(ev, Some(&raw));
        let a: BTreeSet<&str> = ours
            .matching_rules(&our_event)
            .into_iter()
            .filter(|id| common_ids.contains(*id))
            .collect();
        let results = theirs.evaluate(&rsigma_eval::JsonEvent::borrow(ev));
        let b: BTreeSet<&str> = results
            .iter()
            .filter_map(|r| r.header.rule_id.as_deref())
            .filter(|id| common_ids.contains(*id))
            .collect();
        total_matches += a.len();
        for id in a.difference(&b) {
            diffs.entry((*id).to_owned()).or_default().0 += 1;
        }
        for id in b.difference(&a) {
            diffs.entry((*id).to_owned()).or_default().1 += 1;
        }
    }
    let known_text =
        fs::read_to_string(common::testdata().join("differential.yml")).expect("differential.yml");
    let known: Vec<Known> = serde_norway::from_str(&known_text).expect("differential.yml parses");
    let listed: BTreeMap<&str, &str> = known
        .iter()
        .map(|k| (k.rule.as_str(), k.reason.as_str()))
        .collect();
    eprintln!(
        "differential: {} rule files, ours {report}, rsigma {} rules, {} in common; {} events, \
         {total_matches} matches; {} rules differ",
        files.len(),
        their_ids.len(),
        common_ids.len(),
        events.len(),
        diffs.len()
    );
    let mut unexplained = Vec::new();
    for (id, (only_ours, only_theirs)) in &diffs {
        let title = ours.rule(id).map_or("", |r| r.title.as_str());
        let line = format!("{id} ({title}): only ours {only_ours}, only rsigma {only_theirs}");
        match listed.get(id.as_str()) {
            Some(reason) => eprintln!("  listed: {line}: {reason}"),
            None => unexplained.push(line),
        }
    }
    let stale: Vec<&str> = listed
        .keys()
        .filter(|id| !diffs.contains_key(**id))
        .copied()
        .collect();
    assert!(
        unexplained.is_empty(),
        "{} rules match differently and are not listed:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    assert!(
        stale.is_empty(),
        "listed but no longer different: {stale:?}"
    );
    assert!(total_matches > 0, "no rule matched any event");
}
