//! The core of `onewall replay`: inputs, a rule set and a sink of hits in; a summary out.
//! No terminal or command line here, so an upload endpoint can call it the same way.
//!
//! Threads (std only): reader threads (one per input at a time, up to the worker count) split
//! inputs into units ([`super::input`]); worker threads parse each unit into events exactly as
//! the node's intake does and match them with the node's [`RuleSet`] (overlays applied); this
//! thread puts the results back in input order (so the output is the same on every run) and
//! hands the hits to the sink. Sigma correlations then run over every hit of the run, in event
//! time order, as the node's correlation stage does over its batches.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use onewall_correlate::sigma::{SigmaConfig, SigmaCorrelator};
use onewall_ingest::evtx::{self, EvtxRecord};
use onewall_ingest::parse::parse_json_text;
use onewall_ingest::{ParseContext, parse_syslog};
use onewall_model::{Alert, Event, EventId, RegionCode, Source, Timestamp};
use onewall_rules::pack::RuleSet;

use super::input::{self, Input, Kind, Work};

/// How to read.
#[derive(Debug, Clone)]
pub struct Options {
    /// The region events are taken to come from (it picks the overlays that apply).
    pub region: RegionCode,
    /// The zone of timestamps that carry none.
    pub timezone: time::UtcOffset,
    /// Worker threads.
    pub threads: usize,
}

/// Where in its input a hit's event was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Location {
    /// The line a text or JSON record starts on.
    Line(usize),
    /// An EVTX record id.
    Record(u64),
}

/// One alert and the event that raised it (a correlation alert: its latest event).
#[derive(Debug)]
pub struct Hit {
    pub alert: Alert,
    pub event: Option<Event>,
    /// Index of the input it was read from.
    pub input: usize,
    pub location: Option<Location>,
}

/// Where hits go, in input order (then correlation alerts). `progress` is called about
/// five times a second with the figures so far.
pub trait Sink {
    fn hit(&mut self, hit: &Hit, input_name: &str) -> std::io::Result<()>;
    fn progress(&mut self, _summary: &Summary) {}
}

/// What a run read and found.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Summary {
    pub files: usize,
    /// Inputs that could not be read, and why.
    pub unreadable: Vec<(String, String)>,
    /// Each input's kind as detected (`evtx`, `json`, `lines`).
    pub kinds: Vec<(String, String)>,
    pub events: usize,
    /// Records that became events with a parse error, or could not be read at all.
    pub parse_errors: usize,
    /// The first few damaged or unparsable records: input, where, why.
    pub errors: Vec<String>,
    pub hits: usize,
    /// Rule id → (title, level, hits).
    pub by_rule: BTreeMap<String, (String, String, usize)>,
    /// Level → hits.
    pub by_level: BTreeMap<String, usize>,
    pub elapsed_secs: f64,
    pub events_per_sec: f64,
}

/// Errors listed by name in the summary; past this they are only counted.
const ERRORS_LISTED: usize = 20;

struct Unit {
    input: usize,
    seq: u64,
    work: Work,
}

struct Done {
    events: usize,
    parse_errors: usize,
    errors: Vec<String>,
    hits: Vec<Hit>,
}

enum Msg {
    Done {
        input: usize,
        seq: u64,
        done: Done,
    },
    Finished {
        input: usize,
        units: u64,
        kind: Result<Kind, String>,
    },
}

/// Read `inputs`, match them with `rules`, hand the hits to `sink`.
pub fn hunt(
    inputs: &[Input],
    rules: &RuleSet,
    opts: &Options,
    sink: &mut dyn Sink,
) -> std::io::Result<Summary> {
    let started = Instant::now();
    let names: Vec<String> = inputs.iter().map(Input::name).collect();
    let threads = opts.threads.max(1);
    let mut summary = Summary {
        files: inputs.len(),
        ..Summary::default()
    };
    let mut correlating = Correlating::new(rules);
    let next_input = AtomicUsize::new(0);
    std::thread::scope(|s| -> std::io::Result<()> {
        let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<Unit>(threads * 2);
        let (msg_tx, msg_rx) = std::sync::mpsc::channel::<Msg>();
        for _ in 0..threads.min(inputs.len()) {
            let (work_tx, msg_tx, next_input) = (work_tx.clone(), msg_tx.clone(), &next_input);
            s.spawn(move || read_inputs(inputs, next_input, &work_tx, &msg_tx));
        }
        drop(work_tx);
        let work_rx = Arc::new(Mutex::new(work_rx));
        for _ in 0..threads {
            let (work_rx, msg_tx) = (Arc::clone(&work_rx), msg_tx.clone());
            s.spawn(move || work(&work_rx, &msg_tx, rules, opts));
        }
        drop(msg_tx);
        collect(
            &msg_rx,
            &names,
            &mut summary,
            &mut correlating,
            sink,
            started,
        )
    })?;
    for hit in correlating.finish(rules) {
        count_hit(&mut summary, &hit);
        sink.hit(&hit, hit_name(&names, &hit))?;
    }
    summary.elapsed_secs = started.elapsed().as_secs_f64();
    summary.events_per_sec = summary.events as f64 / summary.elapsed_secs.max(1e-9);
    Ok(summary)
}

fn hit_name<'a>(names: &'a [String], hit: &Hit) -> &'a str {
    names.get(hit.input).map_or("-", String::as_str)
}

fn read_inputs(inputs: &[Input], next: &AtomicUsize, work: &SyncSender<Unit>, msgs: &Sender<Msg>) {
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(input) = inputs.get(i) else { return };
        let mut seq = 0;
        let kind = input::read(input, &mut |w| {
            let sent = work.send(Unit {
                input: i,
                seq,
                work: w,
            });
            seq += 1;
            sent.is_ok()
        });
        if msgs
            .send(Msg::Finished {
                input: i,
                units: seq,
                kind,
            })
            .is_err()
        {
            return;
        }
    }
}

fn work(rx: &Mutex<Receiver<Unit>>, tx: &Sender<Msg>, rules: &RuleSet, opts: &Options) {
    let settings = evtx::settings();
    let source = Source::new("replay", None);
    loop {
        let unit = {
            let rx = rx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            rx.recv()
        };
        let Ok(unit) = unit else { return };
        let mut ctx = ParseContext::new(Timestamp::now(), opts.region, source.clone());
        ctx.timezone = opts.timezone;
        let done = process(unit.work, unit.input, &ctx, &settings, rules);
        let msg = Msg::Done {
            input: unit.input,
            seq: unit.seq,
            done,
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
}

/// Parse a unit's records into events and match them.
fn process(
    work: Work,
    input: usize,
    ctx: &ParseContext,
    settings: &Arc<evtx::ParserSettings>,
    rules: &RuleSet,
) -> Done {
    let mut events = Vec::new();
    let mut places = Vec::new();
    let mut errors = Vec::new();
    match work {
        Work::Evtx(chunk) => {
            for record in evtx::chunk_records(*chunk, settings) {
                match record {
                    EvtxRecord::Json { record_id, json } => match evtx::parse_record(&json, ctx) {
                        Ok(e) => {
                            events.push(e);
                            places.push(Location::Record(record_id));
                        }
                        Err(e) => errors.push(format!("record {record_id}: {e}")),
                    },
                    EvtxRecord::Bad(e) => errors.push(e),
                }
            }
        }
        Work::Json(records) => {
            for (line, raw) in records {
                // Flattened as the text is read, as the HTTP intake does: no object built.
                let parsed = std::str::from_utf8(&raw)
                    .map_err(|e| e.to_string())
                    .and_then(|text| parse_json_text(text, ctx).map_err(|e| e.to_string()));
                match parsed {
                    Ok(Ok(event)) => {
                        events.push(event);
                        places.push(Location::Line(line));
                    }
                    Ok(Err(_)) => errors.push(format!("line {line}: not a JSON object")),
                    Err(e) => errors.push(format!("line {line}: {e}")),
                }
            }
        }
        Work::Lines(lines) => {
            for (line, raw) in lines {
                let json = match (raw.first(), std::str::from_utf8(&raw)) {
                    (Some(b'{'), Ok(text)) => parse_json_text(text, ctx).ok().and_then(Result::ok),
                    _ => None,
                };
                let event = json.unwrap_or_else(|| parse_syslog(&raw, ctx));
                events.push(event);
                places.push(Location::Line(line));
            }
        }
    }
    let parse_errors = events.iter().filter(|e| e.parse_error.is_some()).count() + errors.len();
    let mut alerts = Vec::new();
    rules.match_batch(&events, Timestamp::now(), &mut alerts);
    let index: HashMap<EventId, usize> =
        events.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
    let mut hits: Vec<(usize, Alert)> = alerts
        .into_iter()
        .filter_map(|a| Some((*index.get(a.event_ids.first()?)?, a)))
        .collect();
    hits.sort_by(|(a, x), (b, y)| (a, &x.rule.id).cmp(&(b, &y.rule.id)));
    let hits = hits
        .into_iter()
        .map(|(i, alert)| Hit {
            alert,
            event: events.get(i).cloned(),
            input,
            location: places.get(i).copied(),
        })
        .collect::<Vec<_>>();
    Done {
        events: events.len(),
        parse_errors,
        errors,
        hits,
    }
}

/// Put the workers' results back in input order and hand them on.
fn collect(
    rx: &Receiver<Msg>,
    names: &[String],
    summary: &mut Summary,
    correlating: &mut Correlating,
    sink: &mut dyn Sink,
    started: Instant,
) -> std::io::Result<()> {
    let mut pending: BTreeMap<(usize, u64), Done> = BTreeMap::new();
    let mut totals: Vec<Option<u64>> = vec![None; names.len()];
    let (mut file, mut seq) = (0usize, 0u64);
    let mut last_progress = Instant::now();
    while file < names.len() {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Msg::Done { input, seq, done }) => {
                pending.insert((input, seq), done);
            }
            Ok(Msg::Finished { input, units, kind }) => {
                totals[input] = Some(units);
                match kind {
                    Ok(k) => summary
                        .kinds
                        .push((names[input].clone(), format!("{k:?}").to_lowercase())),
                    Err(e) => summary.unreadable.push((names[input].clone(), e)),
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        loop {
            if let Some(done) = pending.remove(&(file, seq)) {
                take(done, file, names, summary, correlating, sink)?;
                seq += 1;
            } else if file < names.len() && totals[file] == Some(seq) {
                file += 1;
                seq = 0;
            } else {
                break;
            }
        }
        if last_progress.elapsed() >= Duration::from_millis(200) {
            summary.elapsed_secs = started.elapsed().as_secs_f64();
            sink.progress(summary);
            last_progress = Instant::now();
        }
    }
    summary.kinds.sort();
    summary.unreadable.sort();
    Ok(())
}

fn take(
    done: Done,
    input: usize,
    names: &[String],
    summary: &mut Summary,
    correlating: &mut Correlating,
    sink: &mut dyn Sink,
) -> std::io::Result<()> {
    summary.events += done.events;
    summary.parse_errors += done.parse_errors;
    for e in done.errors {
        if summary.errors.len() < ERRORS_LISTED {
            summary.errors.push(format!("{}: {e}", names[input]));
        }
    }
    for hit in done.hits {
        count_hit(summary, &hit);
        sink.hit(&hit, &names[input])?;
        correlating.keep(hit);
    }
    Ok(())
}

fn count_hit(summary: &mut Summary, hit: &Hit) {
    summary.hits += 1;
    let level = hit.alert.severity.as_str().to_owned();
    summary
        .by_rule
        .entry(hit.alert.rule.id.clone())
        .or_insert_with(|| (hit.alert.rule.title.clone(), level.clone(), 0))
        .2 += 1;
    *summary.by_level.entry(level).or_default() += 1;
}

/// A century: the correlations see every alert in event time order, so none is late.
const LATENESS_SECS: i64 = 100 * 366 * 86_400;

/// The hits kept for the correlation rules (only when the set has some).
struct Correlating {
    on: bool,
    alerts: Vec<Alert>,
    events: HashMap<EventId, (Event, usize, Option<Location>)>,
}

impl Correlating {
    fn new(rules: &RuleSet) -> Self {
        Correlating {
            on: !rules.correlations().is_empty(),
            alerts: Vec::new(),
            events: HashMap::new(),
        }
    }

    fn keep(&mut self, hit: Hit) {
        if !self.on {
            return;
        }
        if let Some(event) = hit.event {
            self.events
                .entry(event.id)
                .or_insert((event, hit.input, hit.location));
        }
        self.alerts.push(hit.alert);
    }

    /// Run the correlations over every alert kept, in event time order.
    fn finish(self, rules: &RuleSet) -> Vec<Hit> {
        if !self.on || self.alerts.is_empty() {
            return Vec::new();
        }
        let mut sigma = SigmaCorrelator::new(
            rules.correlations().to_vec(),
            SigmaConfig {
                // Everything is fed in event time order: nothing is late.
                allowed_lateness_secs: LATENESS_SECS,
                ..SigmaConfig::default()
            },
        );
        let by_id: HashMap<EventId, &Event> =
            self.events.iter().map(|(id, (e, _, _))| (*id, e)).collect();
        let mut raised = sigma.process(&self.alerts, &by_id, Timestamp::now());
        rules.apply_overlays(&mut raised);
        raised
            .into_iter()
            .map(|alert| {
                let last = alert.event_ids.last().and_then(|id| self.events.get(id));
                Hit {
                    event: last.map(|(e, _, _)| e.clone()),
                    input: last.map_or(usize::MAX, |l| l.1),
                    location: last.and_then(|l| l.2),
                    alert,
                }
            })
            .collect()
    }
}
