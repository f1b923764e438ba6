//! The scenario replay of drills (演练): once a scenario drill issued by this node is started
//! (`POST /api/v1/drills/{id}/start`), each planned action's events go into the pipeline at
//! `started + at_secs`, the way the listeners send theirs: a text line parsed as a syslog
//! payload, a JSON object as the HTTP JSON intake takes it; each event in the action's region
//! (the drill's first when the action names none) and carrying `onewall.drill.id` and
//! `onewall.drill.action`, so the detect stage marks the alerts they raise.
//!
//! Drills received from a parent are replayed by the node that started them, not again here.
//! The actions replayed are noted in `drill-replay.json` in the data directory, so a restart
//! neither replays an action twice nor forgets one still due.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use onewall_ingest::{ParseContext, parse_json_object, parse_syslog};
use onewall_model::supervise::{
    DRILL_ACTION_FIELD, DRILL_ID_FIELD, Drill, DrillMode, PlannedAction,
};
use onewall_model::{Event, EventBatch, Source, Timestamp};
use onewall_supervise::Supervision;
use onewall_supervise::drill::drill_end;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// The collector name replayed events carry (`source.collector`).
pub const COLLECTOR: &str = "drill";

/// How often the replay looks for actions due.
const TICK: Duration = Duration::from_millis(250);

/// The file the replayed actions are noted in.
const DONE_FILE: &str = "drill-replay.json";

/// Run the replay until `shutdown`, sending batches on `events` (the listeners' channel).
pub fn start(
    sup: Arc<Supervision>,
    events: mpsc::Sender<EventBatch>,
    data_dir: &Path,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let mut replay = Replay::open(data_dir.join(DONE_FILE));
    tokio::spawn(async move {
        loop {
            for (drill, action) in replay.due(&sup, Timestamp::now()) {
                let batch = events_of(&drill, &action, Timestamp::now());
                let n = batch.len();
                if events.send(batch).await.is_err() {
                    warn!("drill replay: the pipeline is gone");
                    return;
                }
                info!(drill = %drill.id, action = %action.id, events = n, "drill action replayed");
                replay.done(&drill, &action);
            }
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    })
}

/// The actions replayed so far, as `DRILL/ACTION`.
struct Replay {
    path: PathBuf,
    done: BTreeSet<String>,
}

impl Replay {
    fn open(path: PathBuf) -> Replay {
        let done = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                warn!(file = %path.display(), error = %e, "drill replay: unreadable record; starting afresh");
                BTreeSet::new()
            }),
            Err(_) => BTreeSet::new(),
        };
        Replay { path, done }
    }

    fn key(drill: &Drill, action: &PlannedAction) -> String {
        format!("{}/{}", drill.id, action.id)
    }

    /// The actions of started scenario drills issued here whose time has come, not replayed
    /// yet, in time order (drills over are left alone).
    fn due(&self, sup: &Supervision, now: Timestamp) -> Vec<(Drill, PlannedAction)> {
        let here = sup.node().region;
        let mut out = Vec::new();
        for d in sup.drills() {
            let Some(started) = d.started else { continue };
            if d.mode != DrillMode::Scenario || d.issuer != here || now > drill_end(&d) {
                continue;
            }
            for a in &d.actions {
                let at = started.add_secs(i64::try_from(a.at_secs).unwrap_or(i64::MAX / 4));
                if at <= now && !self.done.contains(&Self::key(&d, a)) {
                    out.push((at, d.clone(), a.clone()));
                }
            }
        }
        out.sort_by_key(|(at, d, a)| (*at, d.id, a.id.clone()));
        out.into_iter().map(|(_, d, a)| (d, a)).collect()
    }

    fn done(&mut self, drill: &Drill, action: &PlannedAction) {
        self.done.insert(Self::key(drill, action));
        let write = || -> std::io::Result<()> {
            let tmp = self.path.with_extension("json.tmp");
            std::fs::write(&tmp, serde_json::to_vec(&self.done)?)?;
            std::fs::rename(&tmp, &self.path)
        };
        if let Err(e) = write() {
            warn!(file = %self.path.display(), error = %e, "drill replay: cannot note a replayed action; a restart may replay it again");
        }
    }
}

/// The events of `action`, received at `now`: text lines parsed as syslog payloads, JSON
/// objects as the HTTP JSON intake parses them (other JSON values are skipped), each marked
/// with the drill and the action. The drill happens now: an event's own time (a scenario is
/// written once, from a capture, and replayed in many drills) is replaced by `now`, so its
/// alerts fall in the drill's window; the raw record keeps the time it was written with.
pub fn events_of(drill: &Drill, action: &PlannedAction, now: Timestamp) -> Vec<Event> {
    let region = action
        .region
        .or_else(|| drill.regions.first().copied())
        .unwrap_or(drill.issuer);
    let ctx = ParseContext::new(now, region, Source::new(COLLECTOR, None));
    let drill_id = drill.id.to_string();
    let mut out = Vec::with_capacity(action.events.len());
    for (i, v) in action.events.iter().enumerate() {
        let mut e = match v {
            serde_json::Value::String(line) => parse_syslog(line.as_bytes(), &ctx),
            serde_json::Value::Object(obj) => {
                let raw = serde_json::to_vec(obj).unwrap_or_default();
                parse_json_object(obj, &raw, &ctx)
            }
            other => {
                warn!(drill = %drill.id, action = %action.id, event = i, kind = json_kind(other),
                    "drill replay: an event is neither a text line nor a JSON object; skipped");
                continue;
            }
        };
        e.time = now;
        e.fields.insert(DRILL_ID_FIELD, drill_id.as_str());
        e.fields.insert(DRILL_ACTION_FIELD, action.id.as_str());
        out.push(e);
    }
    out
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use onewall_model::id::DrillId;
    use onewall_model::supervise::Expect;
    use onewall_model::{RegionCode, Value};

    use super::*;

    #[test]
    fn a_scenarios_lines_and_objects_become_marked_events_of_the_actions_region() {
        let now = Timestamp::now();
        let zhengzhou: RegionCode = "410100".parse().unwrap();
        let action = PlannedAction {
            id: "brute".into(),
            name: "SSH 暴力破解".into(),
            at_secs: 0,
            technique: None,
            expect: Expect::default(),
            region: Some(zhengzhou),
            events: vec![
                serde_json::json!(
                    "<38>Dec  7 09:00:01 web1 sshd[1]: Failed password for root from 10.9.0.5 port 2222 ssh2"
                ),
                serde_json::json!({"message": "scan", "source": {"ip": "10.9.0.5"}}),
                serde_json::json!(42),
            ],
        };
        let drill = Drill {
            id: DrillId::from_u128(5),
            name: "d".into(),
            regions: vec![RegionCode::HENAN],
            start: now,
            end: now.add_secs(3600),
            mode: DrillMode::Scenario,
            red_team: vec![],
            actions: vec![action.clone()],
            issuer: RegionCode::HENAN,
            by: "admin".into(),
            created: now,
            started: Some(now),
        };
        let events = events_of(&drill, &action, now);
        assert_eq!(events.len(), 2, "the number is skipped");
        for e in &events {
            assert_eq!(e.region, zhengzhou);
            assert_eq!(
                e.time, now,
                "replayed now, not at the capture's Dec 7 09:00:01"
            );
            assert_eq!(e.source.collector.as_ref(), COLLECTOR);
            assert_eq!(
                e.get(DRILL_ID_FIELD).and_then(Value::to_text).as_deref(),
                Some(drill.id.to_string().as_str())
            );
            assert_eq!(
                e.get(DRILL_ACTION_FIELD)
                    .and_then(Value::to_text)
                    .as_deref(),
                Some("brute")
            );
        }
        assert_eq!(
            events[0]
                .get("host.name")
                .and_then(Value::to_text)
                .as_deref(),
            Some("web1")
        );
        assert_eq!(
            events[1]
                .get("source.ip")
                .and_then(Value::to_text)
                .as_deref(),
            Some("10.9.0.5")
        );
    }
}
