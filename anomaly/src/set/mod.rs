//! The compiled detectors and their running state.
//!
//! One rule engine holds every detector's selection, so each event of a batch is matched once
//! for all of them ([`onewall_rules::Engine::for_each_match`]). A match finds the detector's
//! group (a hash of its `group-by` values; a missing field counts as the empty value), creates
//! it when new (evicting the least recently seen sixteenth of the groups when the detector is
//! at `max-groups`), and hands the observation to the group's kind state. When a detector's
//! watermark (the latest event time it saw) crosses a [`crate::kind::Kind::tick_secs`]
//! boundary, every group advances first.
//!
//! Learning is per detector: for `learning` of event time from its first observation, the
//! kinds learn and report nothing. A finding becomes an alert unless the group fired for the
//! same reason (same value, or same kind of bucket finding) within `suppress`.

mod alert;
mod groups;
mod snapshot;

use std::collections::HashMap;
use std::sync::Arc;

use onewall_model::{Alert, AnomalyKind, Event, FieldId, Severity, Timestamp, Value};
use onewall_rules::{Engine, LoadReport, Placeholders, RuleSource};
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::document::{DetectorDoc, read_documents};
use crate::kind::{Counters, Params};

use groups::DetState;

/// A hash of `bytes` that is the same in every build and on every machine (group keys and
/// value hashes are kept in snapshots): eight bytes a step, each step a multiply.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h: u64 = 0x2545_F491_4F6C_DD1D ^ (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(31);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(31);
    }
    // Final mix (murmur3's), so every input bit reaches every output bit.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Node-wide settings for every detector (`[anomaly]` in the node's configuration).
#[derive(Debug, Clone)]
pub struct AnomalyConfig {
    pub calendar: Calendar,
    /// Groups per detector when the detector does not say (`max-groups`).
    pub max_groups: usize,
    /// Entries per group when the detector does not say (`max-entries`).
    pub max_entries: usize,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            calendar: Calendar::china(),
            max_groups: 100_000,
            max_entries: 1_000,
        }
    }
}

/// What the API shows of a loaded detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorInfo {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub level: Severity,
    pub tags: Vec<String>,
    pub kind: AnomalyKind,
    pub path: String,
    pub group_by: Vec<String>,
    pub field: Vec<String>,
    pub learning_secs: i64,
    pub max_groups: usize,
    pub max_entries: usize,
}

/// A detector's running state as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorStatus {
    pub id: String,
    pub kind: AnomalyKind,
    /// Still learning: baselines grow, nothing is reported.
    pub learning: bool,
    /// When learning ends (event time), once the detector has seen an event.
    pub learning_until: Option<Timestamp>,
    /// The first and latest event time the detector observed.
    pub first_seen: Option<Timestamp>,
    pub watermark: Option<Timestamp>,
    pub groups: usize,
    pub max_groups: usize,
    /// Events its selection matched.
    pub observed: u64,
    /// Alerts it raised.
    pub alerts: u64,
    /// Estimated bytes of state.
    pub state_bytes: usize,
    pub counters: Counters,
}

/// An event field a detector reads: interned once, looked up by id per event.
#[derive(Debug, Clone)]
pub(crate) struct FieldRef {
    name: String,
    id: Option<FieldId>,
}

impl FieldRef {
    fn new(name: &str) -> FieldRef {
        FieldRef {
            name: name.to_owned(),
            id: FieldId::intern(name),
        }
    }

    #[inline]
    pub(crate) fn get<'e>(&self, event: &'e Event) -> Option<&'e Value> {
        match self.id {
            Some(id) => event.fields.get_id(id),
            None => event.get(&self.name),
        }
        .filter(|v| !v.is_null())
    }
}

/// One compiled detector.
#[derive(Debug)]
pub(crate) struct Detector {
    pub(crate) doc: DetectorDoc,
    /// The document's parameters with the node's defaults filled in.
    pub(crate) params: Params,
    pub(crate) group_fields: Vec<FieldRef>,
    pub(crate) value_fields: Vec<FieldRef>,
    pub(crate) number_field: Option<FieldRef>,
    pub(crate) max_groups: usize,
    pub(crate) tick_secs: Option<i64>,
}

/// The detectors of a rule set, compiled: their documents and their selections (one small
/// rule engine). Immutable; a reload builds a new one.
#[derive(Debug)]
pub struct DetectorSet {
    detectors: Vec<Detector>,
    infos: Vec<DetectorInfo>,
    engine: Engine,
    /// Detector index of each of the engine's rules.
    by_rule: Vec<usize>,
}

impl DetectorSet {
    /// Read every detector document of `sources` (documents with an `anomaly:` key; others are
    /// skipped) and compile their selections with `placeholders`. A broken detector is
    /// reported (path, id, reason) and skipped; the others load.
    pub fn compile(
        sources: &[RuleSource],
        placeholders: &Placeholders,
        config: &AnomalyConfig,
    ) -> (DetectorSet, LoadReport) {
        let (docs, mut report) = read_documents(sources);
        let selections = docs
            .iter()
            .map(|d| RuleSource::new(d.path.clone(), d.selection.clone()));
        let (engine, selection_report) = Engine::compile_with(selections, placeholders);
        report.errors.extend(selection_report.errors);
        let mut docs: HashMap<String, DetectorDoc> =
            docs.into_iter().map(|d| (d.id.clone(), d)).collect();
        let mut set = DetectorSet {
            detectors: Vec::new(),
            infos: Vec::new(),
            by_rule: Vec::new(),
            engine: Engine::compile(Vec::new()).0,
        };
        for rule in engine.rules() {
            let Some(doc) = docs.remove(&rule.id) else {
                // Cannot happen: every rule is a detector's selection.
                set.by_rule.push(usize::MAX);
                continue;
            };
            set.by_rule.push(set.detectors.len());
            set.push(doc, config);
        }
        set.engine = engine;
        report.compiled = set.detectors.len();
        (set, report)
    }

    fn push(&mut self, doc: DetectorDoc, config: &AnomalyConfig) {
        let params = doc.resolved_params(config.max_entries);
        let max_groups = doc.max_groups.unwrap_or(config.max_groups).max(1);
        self.infos.push(DetectorInfo {
            id: doc.id.clone(),
            title: doc.title.clone(),
            description: doc.description.clone(),
            level: doc.level,
            tags: doc.tags.clone(),
            kind: doc.kind,
            path: doc.path.clone(),
            group_by: doc.group_by.clone(),
            field: doc.field.clone(),
            learning_secs: doc.learning_secs,
            max_groups,
            max_entries: doc.max_entries_or(config.max_entries),
        });
        self.detectors.push(Detector {
            group_fields: doc.group_by.iter().map(|f| FieldRef::new(f)).collect(),
            value_fields: doc.field.iter().map(|f| FieldRef::new(f)).collect(),
            number_field: doc.number_field.as_deref().map(FieldRef::new),
            tick_secs: params.tick_secs().filter(|t| *t > 0),
            max_groups,
            params,
            doc,
        });
    }

    /// An empty set.
    pub fn empty() -> DetectorSet {
        DetectorSet {
            detectors: Vec::new(),
            infos: Vec::new(),
            engine: Engine::compile(Vec::new()).0,
            by_rule: Vec::new(),
        }
    }

    pub fn detectors(&self) -> &[DetectorInfo] {
        &self.infos
    }

    /// The documents of the detectors, in load order.
    pub fn documents(&self) -> impl Iterator<Item = &DetectorDoc> {
        self.detectors.iter().map(|d| &d.doc)
    }

    pub fn len(&self) -> usize {
        self.detectors().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids of the detectors whose selection matches `event` (for `rules test`).
    pub fn matching(&self, event: &Event) -> Vec<&str> {
        let mut out = Vec::new();
        self.engine
            .for_each_match(std::slice::from_ref(event), |_, r| {
                if let Some(d) = self.by_rule.get(r).and_then(|&d| self.infos.get(d)) {
                    out.push(d.id.as_str());
                }
            });
        out
    }
}

/// The running state of a [`DetectorSet`]: groups and baselines per detector. Owned by one
/// thread (the node's detect stage); the API reads [`Anomalies::status`] copies.
#[derive(Debug)]
pub struct Anomalies {
    set: Arc<DetectorSet>,
    config: AnomalyConfig,
    /// One per detector of `set`, in its order.
    states: Vec<DetState>,
    scratch: groups::Scratch,
}

/// What a reload did to the state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadOutcome {
    /// Detectors whose id and definition are unchanged: state kept.
    pub kept: usize,
    /// Detectors changed or removed: state dropped (their groups counted here).
    pub dropped_groups: usize,
    /// New detectors, and changed ones (same id, new definition): they start learning.
    pub added: usize,
}

/// Why a snapshot could not be restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("anomaly snapshot is not valid: {0}")]
    Invalid(String),
}

impl Anomalies {
    pub fn new(set: Arc<DetectorSet>, config: AnomalyConfig) -> Anomalies {
        let states = set.detectors.iter().map(DetState::for_detector).collect();
        Anomalies {
            set,
            config,
            states,
            scratch: groups::Scratch::default(),
        }
    }

    /// The set in use (compared by pointer to notice a reload).
    pub fn set(&self) -> &Arc<DetectorSet> {
        &self.set
    }

    /// The settings in use.
    pub fn config(&self) -> &AnomalyConfig {
        &self.config
    }

    /// Use a new set: keep the state of detectors whose id and definition are unchanged.
    pub fn replace_set(&mut self, set: Arc<DetectorSet>) -> ReloadOutcome {
        let mut old: HashMap<String, DetState> = std::mem::take(&mut self.states)
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        let mut outcome = ReloadOutcome::default();
        for det in &set.detectors {
            match old.remove(&det.doc.id) {
                Some(s) if s.digest == det.doc.digest => {
                    outcome.kept += 1;
                    self.states.push(s);
                }
                other => {
                    outcome.dropped_groups += other.map_or(0, |s| s.groups.len());
                    outcome.added += 1;
                    self.states.push(DetState::for_detector(det));
                }
            }
        }
        outcome.dropped_groups += old.values().map(|s| s.groups.len()).sum::<usize>();
        self.set = set;
        outcome
    }

    /// Feed a batch (after the rules); push an alert per anomaly onto `out`. `now` is the
    /// alerts' creation time.
    pub fn observe_batch(&mut self, events: &[Event], now: Timestamp, out: &mut Vec<Alert>) {
        let set = Arc::clone(&self.set);
        let calendar = &self.config.calendar;
        let states = &mut self.states;
        let scratch = &mut self.scratch;
        set.engine.for_each_match(events, |e, r| {
            let Some(&d) = set.by_rule.get(r) else { return };
            if let (Some(det), Some(state), Some(event)) =
                (set.detectors.get(d), states.get_mut(d), events.get(e))
            {
                state.observe(det, calendar, event, now, scratch, out);
            }
        });
    }

    /// Each detector's state, for the API.
    pub fn status(&self) -> Vec<DetectorStatus> {
        self.set
            .detectors
            .iter()
            .zip(&self.states)
            .map(|(det, s)| s.status(det))
            .collect()
    }
}
