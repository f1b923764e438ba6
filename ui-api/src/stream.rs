//! `GET /api/v1/stream`: the console's live stream (Server-Sent Events) of new alerts and
//! incident changes in the caller's scope, fed by the node event bus.
//!
//! - [`StreamHub`] subscribes to the bus. Its delivery never waits on a client: it appends
//!   the event's messages to a bounded ring (`[stream] buffer`, 10 000 by default) under
//!   node-wide increasing ids and wakes the clients. Ids start at the node's start time in
//!   microseconds, so the ids of a later run are above those of an earlier one and a client
//!   that reconnects after a restart is told it missed something.
//! - A message is turned into JSON when a client first needs it, once for everyone: the
//!   alert as `GET /api/v1/alerts/{id}` answers it, and the same masked for callers without
//!   `pii`; an incident change carries the incident without its growing lists (alert ids,
//!   timeline), with their counts and the newest timeline entry; its department (the one every event behind it shares) is looked up in the store
//!   once, the first time a caller with a department reads it.
//! - Each connection has its own task that reads the ring after its cursor and sends what
//!   the caller may see: records of its region subtree and department, masked as its other
//!   answers. A client that reads too slowly falls behind the ring and gets `event: gap` with
//!   the oldest id still held (it refetches its lists); its memory is a few frames at most.
//!   `Last-Event-ID` (header, or `?last_event_id=`) replays every message held after it.
//! - At most `[stream] alerts_per_sec` alerts a second go to one connection (a second's worth
//!   at once); the rest are counted in `event: skipped` (`{"count","from","to"}`, its id the
//!   last skipped), and the client refetches its lists. Incident changes always go.
//!   A `: keepalive` comment every `[stream] keepalive_secs` (15) of quiet (each stream's
//!   period started up to half a period later, so streams opened together are not checked
//!   together), before which the credential is checked again (a revoked token or an ended
//!   session ends the stream); the stream ends when the node shuts down, so the drain does
//!   not wait on it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use onewall_model::bus::{Delivery, NodeEvent, NodeEventKind, Subscriber};
use onewall_model::config::{ConfigError, require_positive};
use onewall_model::{AlertId, EventId, RegionCode};
use onewall_store::Store;
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, mpsc, watch};

use crate::access::{Caller, credential, department_of, resolve};
use crate::mask::MaskPolicy;
use crate::params::Params;
use crate::{ApiError, ApiState, ErrorCode};

mod allowance;
mod brief;
use allowance::Allowance;
use brief::{Data, IncidentBrief};

/// `[stream]`: the console's live stream.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamConfig {
    /// Messages (alerts, incident changes) the node holds for clients that reconnect with
    /// `Last-Event-ID` or read slowly; a client further behind gets `event: gap`.
    pub buffer: usize,
    /// MiB of prepared messages (their JSON) the node holds at most; past it the oldest
    /// messages go, as past `buffer`.
    pub buffer_mib: usize,
    /// Seconds between keepalive comments on an open stream.
    pub keepalive_secs: u64,
    /// Alert messages one connection gets a second at most (a second's worth at once); past
    /// it, the alerts are counted in an `event: skipped` instead (incident changes always go).
    /// 0: no limit.
    pub alerts_per_sec: u32,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            buffer: 10_000,
            buffer_mib: 64,
            keepalive_secs: 15,
            alerts_per_sec: 100,
        }
    }
}

impl StreamConfig {
    /// Every mistake in `[stream]`, each naming its key.
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        require_positive(
            [
                ("stream.buffer", self.buffer as u64),
                ("stream.buffer_mib", self.buffer_mib as u64),
                ("stream.keepalive_secs", self.keepalive_secs),
            ],
            &mut errors,
        );
        if self.buffer > 1_000_000 {
            errors.push(ConfigError::new(
                "stream.buffer",
                format!("{} is more than 1000000 messages", self.buffer),
            ));
        }
        errors
    }
}

/// Messages a client task takes from the ring at once.
const TAKE: usize = 256;
/// How long a woken client waits for what is published with the message that woke it. A
/// batch's incident changes are published one by one while the correlator works through it
/// (tens of milliseconds for a batch of thousands of events): a client that waits this long
/// sends a batch's alerts and its incident changes in one write, and is woken a few times a
/// second at most however fast messages come, far inside the console's 2 s for a new alert.
const LINGER: Duration = Duration::from_millis(100);
/// Chunks queued for one connection's socket.
const QUEUED_FRAMES: usize = 2;
/// Bytes of frames sent as one chunk at most (a frame larger than this goes alone): a
/// second's allowance of alerts (100 of about 1 KB) goes in two writes.
const CHUNK_BYTES: usize = 64 * 1024;

/// What a message is about.
#[derive(Debug)]
enum Subject {
    /// `event.alerts[index]` of an `AlertsStored` event.
    Alert(usize),
    /// The incident of an `IncidentOpened` or `IncidentChanged` event.
    Incident,
}

/// One message of the stream: a stored alert or an incident change.
#[derive(Debug)]
struct Message {
    id: u64,
    region: RegionCode,
    event: Arc<NodeEvent>,
    subject: Subject,
    /// The frame as sent to a caller with `pii`, made when first needed.
    frame: OnceLock<Bytes>,
    /// The frame masked, made when first needed.
    masked: OnceLock<Bytes>,
    /// The department every event behind it belongs to, looked up when first needed.
    department: OnceCell<Option<String>>,
    /// The bytes of frames the hub holds (its budget), which this message's frames count in.
    held: Arc<AtomicUsize>,
}

impl Drop for Message {
    fn drop(&mut self) {
        let mine = [&self.frame, &self.masked]
            .iter()
            .filter_map(|f| f.get())
            .map(Bytes::len)
            .sum::<usize>();
        self.held.fetch_sub(mine, Ordering::Relaxed);
    }
}

impl Message {
    /// The message's data, to serialize.
    fn data(&self) -> Option<Data<'_>> {
        match (&*self.event, &self.subject) {
            (NodeEvent::AlertsStored { alerts, .. }, Subject::Alert(i)) => {
                alerts.get(*i).map(Data::Alert)
            }
            (
                NodeEvent::IncidentOpened {
                    incident, actor, ..
                },
                _,
            ) => Some(Data::Incident {
                change: "opened",
                actor,
                incident: Box::new(IncidentBrief::of(incident)),
            }),
            (
                NodeEvent::IncidentChanged {
                    incident, actor, ..
                },
                _,
            ) => Some(Data::Incident {
                change: "changed",
                actor,
                incident: Box::new(IncidentBrief::of(incident)),
            }),
            _ => None,
        }
    }

    fn name(&self) -> &'static str {
        match self.subject {
            Subject::Alert(_) => "alert",
            Subject::Incident => "incident",
        }
    }

    /// The frame for a caller masked by `mask` (`None`: shown whole).
    fn frame_for(&self, mask: Option<&MaskPolicy>) -> Bytes {
        let make = |mask: Option<&MaskPolicy>| {
            let mut frame = format!("id: {}\nevent: {}\ndata: ", self.id, self.name()).into_bytes();
            let data = self.data();
            // Written straight from the records; through a JSON tree only to mask it.
            let written = match mask {
                None => serde_json::to_writer(&mut frame, &data),
                Some(p) => serde_json::to_value(&data).and_then(|mut v| {
                    p.mask_json(&mut v);
                    serde_json::to_writer(&mut frame, &v)
                }),
            };
            if let Err(e) = written {
                tracing::error!(error = %e, id = self.id, "stream: a message could not be written as JSON");
            }
            frame.extend_from_slice(b"\n\n");
            Bytes::from(frame)
        };
        let cell = if mask.is_some() {
            &self.masked
        } else {
            &self.frame
        };
        cell.get_or_init(|| {
            let frame = make(mask);
            self.held.fetch_add(frame.len(), Ordering::Relaxed);
            frame
        })
        .clone()
    }

    /// The department of the message's record: the one every event behind it shares.
    async fn department(&self, store: &dyn Store) -> Result<Option<String>, ApiError> {
        self.department
            .get_or_try_init(|| async {
                match (&*self.event, &self.subject) {
                    (NodeEvent::AlertsStored { alerts, .. }, Subject::Alert(i)) => {
                        let ids = alerts.get(*i).map(|a| a.event_ids.as_slice());
                        events_department(store, ids.unwrap_or_default()).await
                    }
                    (
                        NodeEvent::IncidentOpened { incident, .. }
                        | NodeEvent::IncidentChanged { incident, .. },
                        _,
                    ) => alerts_department(store, &incident.alert_ids).await,
                    _ => Ok(None),
                }
            })
            .await
            .cloned()
    }
}

/// The department all of `ids` share (`None`: none, a missing event, or several).
async fn events_department(store: &dyn Store, ids: &[EventId]) -> Result<Option<String>, ApiError> {
    let mut shared: Option<String> = None;
    for id in ids {
        let Some(d) = store.get_event(*id).await?.as_ref().and_then(department_of) else {
            return Ok(None);
        };
        match &shared {
            Some(s) if *s != d => return Ok(None),
            Some(_) => {}
            None => shared = Some(d),
        }
    }
    Ok(shared)
}

/// The department all events of all alerts of `ids` share.
async fn alerts_department(store: &dyn Store, ids: &[AlertId]) -> Result<Option<String>, ApiError> {
    let mut shared: Option<String> = None;
    for id in ids {
        let Some(alert) = store.get_alert(*id).await? else {
            return Ok(None);
        };
        let Some(d) = events_department(store, &alert.event_ids).await? else {
            return Ok(None);
        };
        match &shared {
            Some(s) if *s != d => return Ok(None),
            Some(_) => {}
            None => shared = Some(d),
        }
    }
    Ok(shared)
}

/// The messages held, oldest first, with contiguous ids.
#[derive(Debug)]
struct Ring {
    /// The id the next message gets.
    next: u64,
    messages: VecDeque<Arc<Message>>,
    capacity: usize,
    /// The bytes of frames held, and the most that may be.
    held: Arc<AtomicUsize>,
    budget: usize,
}

/// What a client reads after its cursor.
#[derive(Debug)]
enum Read {
    /// The messages after the cursor that the reader kept (none: nothing new, or nothing
    /// kept), and the id of the last one it looked at (its new cursor).
    Messages(Vec<Arc<Message>>, u64),
    /// The cursor is older than what is held (or not an id of this node): the oldest id
    /// still held (or the next one, with nothing held).
    Gap(u64),
}

impl Ring {
    /// The id of the oldest message held (the next one when none is).
    fn first(&self) -> u64 {
        self.messages.front().map_or(self.next, |m| m.id)
    }

    fn push(&mut self, region: RegionCode, event: &Arc<NodeEvent>, subject: Subject) {
        let id = self.next;
        self.next += 1;
        self.messages.push_back(Arc::new(Message {
            id,
            region,
            event: event.clone(),
            subject,
            frame: OnceLock::new(),
            masked: OnceLock::new(),
            department: OnceCell::new(),
            held: self.held.clone(),
        }));
        self.trim();
    }

    /// Let the oldest messages go while more are held than the count or the bytes allow
    /// (the newest stays).
    fn trim(&mut self) {
        while self.messages.len() > self.capacity
            || (self.messages.len() > 1 && self.held.load(Ordering::Relaxed) > self.budget)
        {
            self.messages.pop_front();
        }
    }

    /// Of at most `max` messages after `cursor` (the id last sent), those `keep` keeps.
    /// Those it leaves are not even counted by reference: a client skipping an alert storm
    /// looks at each alert once, under the lock, and takes nothing of it.
    fn after(&self, cursor: u64, max: usize, mut keep: impl FnMut(&Message) -> bool) -> Read {
        let first = self.first();
        if cursor.saturating_add(1) < first || cursor >= self.next {
            return Read::Gap(first);
        }
        let skip = usize::try_from(cursor + 1 - first).unwrap_or(usize::MAX);
        let mut last = cursor;
        let mut kept = Vec::new();
        for m in self.messages.iter().skip(skip).take(max) {
            last = m.id;
            if keep(m) {
                kept.push(m.clone());
            }
        }
        Read::Messages(kept, last)
    }
}

/// The live stream's hub: the ring of recent messages and the wake-up of the clients.
/// Cheap to clone; subscribe it to the node event bus and give it to the router as an
/// extension.
#[derive(Clone)]
pub struct StreamHub {
    ring: Arc<Mutex<Ring>>,
    /// The id of the newest message.
    newest: watch::Sender<u64>,
    shutdown: watch::Receiver<bool>,
    keepalive: Duration,
    alerts_per_sec: u32,
    /// Connections opened, which spreads their keepalives (see [`keepalive_phase`]).
    opened: Arc<AtomicU64>,
}

impl std::fmt::Debug for StreamHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamHub")
            .field("newest", &*self.newest.borrow())
            .field("clients", &self.newest.receiver_count())
            .finish_non_exhaustive()
    }
}

impl StreamHub {
    /// A hub holding `config.buffer` messages, whose streams end when `shutdown` turns true.
    pub fn new(config: &StreamConfig, shutdown: watch::Receiver<bool>) -> StreamHub {
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| u64::try_from(d.as_micros()).unwrap_or(1));
        StreamHub::starting_at(config, shutdown, start.max(1))
    }

    fn starting_at(config: &StreamConfig, shutdown: watch::Receiver<bool>, next: u64) -> Self {
        StreamHub {
            ring: Arc::new(Mutex::new(Ring {
                next,
                messages: VecDeque::new(),
                capacity: config.buffer.max(1),
                held: Arc::new(AtomicUsize::new(0)),
                budget: config.buffer_mib.max(1) << 20,
            })),
            newest: watch::Sender::new(next - 1),
            shutdown,
            keepalive: Duration::from_secs(config.keepalive_secs.max(1)),
            alerts_per_sec: config.alerts_per_sec,
            opened: Arc::new(AtomicU64::new(0)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hold the messages of `event` and wake the clients (never waits on them).
    fn take(&self, event: Arc<NodeEvent>) {
        let newest = {
            let mut ring = self.lock();
            match &*event {
                NodeEvent::AlertsStored { alerts, .. } => {
                    for (i, a) in alerts.iter().enumerate() {
                        ring.push(a.region, &event, Subject::Alert(i));
                    }
                }
                NodeEvent::IncidentOpened { incident, .. }
                | NodeEvent::IncidentChanged { incident, .. } => {
                    ring.push(incident.region, &event, Subject::Incident);
                }
                _ => return,
            }
            ring.next - 1
        };
        self.newest.send_replace(newest);
    }

    fn read(&self, cursor: u64, keep: impl FnMut(&Message) -> bool) -> Read {
        self.lock().after(cursor, TAKE, keep)
    }
}

impl Subscriber for StreamHub {
    fn wants(&self, kind: NodeEventKind) -> bool {
        matches!(
            kind,
            NodeEventKind::AlertsStored
                | NodeEventKind::IncidentOpened
                | NodeEventKind::IncidentChanged
        )
    }

    fn deliver(&self, event: Arc<NodeEvent>) -> Delivery<'_> {
        self.take(event);
        Box::pin(std::future::ready(()))
    }
}

/// The id a reconnecting client last got: `Last-Event-ID`, else `?last_event_id=`.
fn last_event_id(headers: &HeaderMap, raw: Option<&str>) -> Result<Option<u64>, ApiError> {
    let p = Params::parse(raw, &["last_event_id"])?;
    let given = match headers.get("last-event-id") {
        Some(v) => Some((
            "Last-Event-ID",
            String::from_utf8_lossy(v.as_bytes()).trim().to_owned(),
        )),
        None => p
            .one("last_event_id")?
            .map(|v| ("last_event_id", v.trim().to_owned())),
    };
    match given {
        None => Ok(None),
        Some((_, v)) if v.is_empty() => Ok(None),
        Some((what, v)) => v.parse().map(Some).map_err(|_| {
            ApiError::invalid(format!(
                "{what}: {v:?} is not a message id (a whole number from `id:`)"
            ))
        }),
    }
}

/// Open the live stream: `text/event-stream` of the alerts and incident changes in the
/// caller's region subtree and department (see the module).
#[utoipa::path(get, path = "/api/v1/stream",
    params(("Last-Event-ID" = Option<u64>, Header, description = "replay what is held after this id"),
           ("last_event_id" = Option<u64>, Query, description = "the same, for clients that cannot set the header")),
    responses((status = 200, description = "text/event-stream: `alert`, `incident`, `skipped` and `gap` events, `: keepalive` comments"),
              (status = 400, description = "malformed Last-Event-ID"),
              (status = 503, description = "this node runs no live stream")))]
pub async fn stream(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    hub: Option<Extension<StreamHub>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let Some(Extension(hub)) = hub else {
        return Err(ApiError::new(
            ErrorCode::Unavailable,
            "this node runs no live stream",
        ));
    };
    let cursor = match last_event_id(&headers, raw.as_deref())? {
        Some(id) => id,
        None => hub.lock().next - 1,
    };
    // The credential, checked again at each keepalive.
    let mut shown = HeaderMap::new();
    for name in [header::AUTHORIZATION, header::COOKIE] {
        for v in headers.get_all(&name) {
            shown.append(name.clone(), v.clone());
        }
    }
    let (tx, rx) = mpsc::channel(QUEUED_FRAMES);
    tokio::spawn(client(hub, s, c, shown, cursor, tx));
    let mut resp = Body::from_stream(Frames(rx)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

/// The frames of one connection, as its body.
struct Frames(mpsc::Receiver<Bytes>);

impl futures_core::Stream for Frames {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|f| f.map(Ok))
    }
}

/// Which regions a connection's caller sees: all of them (a caller at the top of the tree),
/// or those of its subtree, remembered for the few regions its messages come from.
struct Sight {
    all: bool,
    known: Vec<(RegionCode, bool)>,
}

/// Regions a connection remembers whether it sees (more are looked up each time).
const KNOWN_REGIONS: usize = 64;

impl Sight {
    fn of(s: &ApiState, c: &Caller) -> Sight {
        let root = c.grant.region;
        Sight {
            all: s.regions.contains(root) && s.regions.parent(root).is_none(),
            known: Vec::new(),
        }
    }

    /// Does the caller see `region`? (As [`Caller::sees`].)
    fn sees(&mut self, s: &ApiState, c: &Caller, region: RegionCode) -> bool {
        if self.all {
            return true;
        }
        if let Some((_, seen)) = self.known.iter().find(|(r, _)| *r == region) {
            return *seen;
        }
        let seen = c.sees(&s.regions, region);
        if self.known.len() < KNOWN_REGIONS {
            self.known.push((region, seen));
        }
        seen
    }
}

/// May `c`, with a department, see `m` (of its region subtree)? The department of the record.
async fn department_sees(s: &ApiState, want: &str, m: &Message) -> bool {
    match m.department(&*s.store).await {
        Ok(d) => d.as_deref() == Some(want),
        Err(e) => {
            tracing::warn!(error = %e, id = m.id, "stream: department of a message not known; not sent");
            false
        }
    }
}

/// Does the connection's credential still give the grant it opened with? A revoked token,
/// an ended session or a changed grant ends the stream (the client reconnects, or logs in).
async fn still_valid(s: &ApiState, c: &Caller, shown: &HeaderMap) -> bool {
    let Some(cred) = credential(shown) else {
        return false;
    };
    match resolve(&s.access.auth, cred).await {
        Ok(Some(grant)) => grant == c.grant,
        Ok(None) => false,
        Err(e) => {
            // The auth store's trouble is not the caller's: the stream goes on.
            tracing::warn!(error = %e.message, "stream: credential not checked again");
            true
        }
    }
}

/// How much later than the keepalive period the `n`th connection's first keepalive comes:
/// less than half a period, spread by the golden ratio so that streams opened together (wall
/// screens reconnecting after a restart) or sent the same batch do not all check their
/// credentials at once, each check a call on the blocking pool, which would grow by one
/// thread a stream.
fn keepalive_phase(period: Duration, n: u64) -> Duration {
    let spread = (n as f64 * 0.618_033_988_749_895).fract();
    period.mul_f64(spread / 2.0)
}

/// Until the node shuts down.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

/// One connection: send what the caller may see after `cursor`, then wait for more, until
/// the client goes or the node stops.
async fn client(
    hub: StreamHub,
    s: ApiState,
    c: Caller,
    credential: HeaderMap,
    mut cursor: u64,
    tx: mpsc::Sender<Bytes>,
) {
    let mut newest = hub.newest.subscribe();
    let mut shutdown = hub.shutdown.clone();
    let mask = c.masking(&s.access.mask).cloned();
    let phase = keepalive_phase(hub.keepalive, hub.opened.fetch_add(1, Ordering::Relaxed));
    let mut keepalive = tokio::time::interval(hub.keepalive);
    keepalive.reset_after(hub.keepalive + phase);
    let mut allowance = Allowance::new(hub.alerts_per_sec);
    let mut sight = Sight::of(&s, &c);
    let department = c.grant.department.clone();
    loop {
        if *shutdown.borrow() {
            return;
        }
        // Seen before reading: a message held after the read wakes the wait below.
        newest.mark_unchanged();
        allowance.refill();
        // Under the ring's lock, each message is looked at once: out of the caller's regions,
        // or an alert past its allowance (for a caller without a department), it is left
        // there. A caller with a department is checked against the record's department
        // first, outside the lock, and only then against its allowance.
        let read = hub.read(cursor, |m| {
            sight.sees(&s, &c, m.region)
                && (department.is_some()
                    || !matches!(m.subject, Subject::Alert(_))
                    || allowance.take(m.id))
        });
        let batch = match read {
            Read::Gap(from) => {
                let frame = format!(
                    "id: {}\nevent: gap\ndata: {{\"from\":{from}}}\n\n",
                    from - 1
                );
                if tx.send(Bytes::from(frame)).await.is_err() {
                    return;
                }
                cursor = from - 1;
                continue;
            }
            Read::Messages(batch, last) => {
                let moved = last != cursor;
                cursor = last;
                if moved || !batch.is_empty() {
                    batch
                } else {
                    if let Some(said) = allowance.said()
                        && tx.send(Bytes::from(said)).await.is_err()
                    {
                        return;
                    }
                    tokio::select! {
                        _ = newest.changed() => {
                            // What comes with it (a batch's alerts, then its incidents, each
                            // published on its own) goes out in one chunk.
                            tokio::select! {
                                () = tokio::time::sleep(LINGER) => {}
                                () = stopped(&mut shutdown) => return,
                            }
                        }
                        () = stopped(&mut shutdown) => return,
                        () = tx.closed() => return,
                        _ = keepalive.tick() => {
                            if !still_valid(&s, &c, &credential).await {
                                return;
                            }
                            if tx.send(Bytes::from_static(b": keepalive\n\n")).await.is_err() {
                                return;
                            }
                        }
                    }
                    continue;
                }
            }
        };
        // The frames of a batch go out as one chunk (up to CHUNK_BYTES): one write for
        // many messages when they come fast.
        let mut chunk: Vec<u8> = Vec::new();
        for m in batch {
            if let Some(want) = &department {
                if !department_sees(&s, want, &m).await {
                    continue;
                }
                if matches!(m.subject, Subject::Alert(_)) && !allowance.take(m.id) {
                    continue;
                }
            }
            if let Some(said) = allowance.said() {
                chunk.extend_from_slice(&said);
            }
            let frame = m.frame_for(mask.as_ref());
            if chunk.is_empty() && frame.len() >= CHUNK_BYTES {
                chunk = frame.to_vec();
            } else {
                chunk.extend_from_slice(&frame);
            }
            if chunk.len() >= CHUNK_BYTES && !send(&tx, &mut chunk, &mut shutdown).await {
                return;
            }
        }
        if !chunk.is_empty() {
            // The frames just made count against the hub's bytes.
            hub.lock().trim();
            if !send(&tx, &mut chunk, &mut shutdown).await {
                return;
            }
            keepalive.reset_after(hub.keepalive + phase);
        }
    }
}

/// Send `chunk` (emptied) on the connection; false when the client is gone or the node stops.
async fn send(
    tx: &mpsc::Sender<Bytes>,
    chunk: &mut Vec<u8>,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    let bytes = Bytes::from(std::mem::take(chunk));
    tokio::select! {
        sent = tx.send(bytes) => sent.is_ok(),
        () = stopped(shutdown) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onewall_model::Timestamp;

    fn alerts(n: usize) -> Arc<NodeEvent> {
        let alert = |i: usize| onewall_model::Alert {
            target: None,
            intel: None,
            anomaly: None,
            id: AlertId::new(Timestamp::now()),
            time: Timestamp::now(),
            created: Timestamp::now(),
            rule: onewall_model::RuleRef {
                id: format!("r{i}"),
                title: "t".into(),
                level: onewall_model::Severity::High,
                status: None,
                tags: Vec::new(),
            },
            severity: onewall_model::Severity::High,
            event_ids: Vec::new(),
            entities: Vec::new(),
            region: RegionCode::HENAN,
            matched: Vec::new(),
            drill: None,
        };
        Arc::new(NodeEvent::AlertsStored {
            alerts: (0..n).map(alert).collect(),
            origin: onewall_model::bus::AlertOrigin::Detection,
        })
    }

    fn ids(r: Read) -> Vec<u64> {
        match r {
            Read::Messages(m, _) => m.iter().map(|m| m.id).collect(),
            Read::Gap(from) => vec![0, from],
        }
    }

    #[test]
    fn the_ring_replays_what_it_holds_and_names_the_gap() {
        let (_tx, rx) = watch::channel(false);
        let config = StreamConfig {
            buffer: 3,
            ..StreamConfig::default()
        };
        let hub = StreamHub::starting_at(&config, rx, 100);
        // Nothing held: a fresh client (cursor 99) waits; an id of another run is a gap.
        assert_eq!(ids(hub.read(99, |_| true)), Vec::<u64>::new());
        assert_eq!(ids(hub.read(5, |_| true)), [0, 100]);
        hub.take(alerts(2));
        assert_eq!(*hub.newest.borrow(), 101);
        assert_eq!(ids(hub.read(99, |_| true)), [100, 101]);
        assert_eq!(ids(hub.read(100, |_| true)), [101]);
        assert_eq!(ids(hub.read(101, |_| true)), Vec::<u64>::new());
        // Past the buffer, the oldest go: a client behind them gets a gap from the oldest
        // held, then what is held.
        hub.take(alerts(3));
        assert_eq!(ids(hub.read(101, |_| true)), [102, 103, 104]);
        assert_eq!(ids(hub.read(100, |_| true)), [0, 102]);
        assert_eq!(ids(hub.read(99, |_| true)), [0, 102]);
        // An id above any given is not of this run.
        assert_eq!(ids(hub.read(200, |_| true)), [0, 102]);
        // What the reader leaves is passed over: its cursor moves past it all the same.
        let Read::Messages(kept, last) = hub.read(101, |m| m.id != 103) else {
            panic!("no messages");
        };
        assert_eq!(kept.iter().map(|m| m.id).collect::<Vec<_>>(), [102, 104]);
        assert_eq!(last, 104);
        let Read::Messages(kept, last) = hub.read(101, |_| false) else {
            panic!("no messages");
        };
        assert!(kept.is_empty());
        assert_eq!(last, 104);
        let Read::Messages(kept, last) = hub.read(104, |_| true) else {
            panic!("no messages");
        };
        assert!(kept.is_empty());
        assert_eq!(last, 104, "nothing new: the cursor stays");
        // Other kinds are not held.
        hub.take(Arc::new(NodeEvent::SourcesSeen(Vec::new())));
        assert_eq!(*hub.newest.borrow(), 104);
    }

    #[test]
    fn frames_are_made_once_and_masked_for_callers_without_pii() {
        let (_tx, rx) = watch::channel(false);
        let hub = StreamHub::starting_at(&StreamConfig::default(), rx, 7);
        let event = alerts(1);
        if let NodeEvent::AlertsStored { alerts, .. } = &*event {
            let mut a = alerts[0].clone();
            a.matched.push(onewall_model::MatchedField {
                field: "user.phone".into(),
                value: "13812345678".into(),
                selection: None,
            });
            hub.take(Arc::new(NodeEvent::AlertsStored {
                alerts: vec![a],
                origin: onewall_model::bus::AlertOrigin::Detection,
            }));
        }
        let Read::Messages(m, _) = hub.read(6, |_| true) else {
            panic!("no messages");
        };
        let whole = m[0].frame_for(None);
        let text = String::from_utf8_lossy(&whole).into_owned();
        assert!(text.starts_with("id: 7\nevent: alert\ndata: {"), "{text}");
        assert!(
            text.ends_with("}\n\n") && text.contains("13812345678"),
            "{text}"
        );
        assert_eq!(text.matches('\n').count(), 4, "{text}");
        let policy = MaskPolicy::default();
        let masked = String::from_utf8_lossy(&m[0].frame_for(Some(&policy))).into_owned();
        assert!(!masked.contains("13812345678"), "{masked}");
        assert!(masked.contains("138****5678"), "{masked}");
        // The same bytes for the next caller.
        assert_eq!(m[0].frame_for(None).as_ptr(), whole.as_ptr());
    }

    #[test]
    fn the_bytes_of_prepared_messages_are_bounded() {
        let (_tx, rx) = watch::channel(false);
        let config = StreamConfig {
            buffer_mib: 1,
            ..StreamConfig::default()
        };
        let hub = StreamHub::starting_at(&config, rx, 1);
        let big = |n: usize| {
            let NodeEvent::AlertsStored { alerts, .. } = &*alerts(n) else {
                unreachable!()
            };
            let alerts = alerts
                .iter()
                .cloned()
                .map(|mut a| {
                    a.rule.title = "x".repeat(300 << 10);
                    a
                })
                .collect();
            Arc::new(NodeEvent::AlertsStored {
                alerts,
                origin: onewall_model::bus::AlertOrigin::Detection,
            })
        };
        hub.take(big(8));
        let Read::Messages(m, _) = hub.read(0, |_| true) else {
            panic!("no messages");
        };
        assert_eq!(m.len(), 8);
        for x in &m {
            x.frame_for(None);
        }
        drop(m);
        hub.lock().trim();
        // 1 MiB holds three frames of 300 KiB.
        let held = hub.lock().messages.len();
        assert_eq!(held, 3);
        assert!(hub.lock().held.load(Ordering::Relaxed) <= 1 << 20);
        assert_eq!(ids(hub.read(0, |_| true)), [0, 6]);
    }

    #[test]
    fn keepalives_of_streams_opened_together_are_spread() {
        let period = Duration::from_secs(15);
        let phases: Vec<Duration> = (0..20).map(|n| keepalive_phase(period, n)).collect();
        assert!(phases.iter().all(|p| *p < period / 2), "{phases:?}");
        // Every tenth of the half period holds one of twenty streams' keepalives.
        for tenth in 0..10u32 {
            let (lo, hi) = (period / 20 * tenth, period / 20 * (tenth + 1));
            assert!(
                phases.iter().any(|p| *p >= lo && *p < hi),
                "none in {lo:?}..{hi:?}: {phases:?}"
            );
        }
        assert_eq!(keepalive_phase(period, 0), Duration::ZERO);
    }

    #[test]
    fn last_event_id_from_the_header_or_the_query() {
        let mut h = HeaderMap::new();
        assert_eq!(last_event_id(&h, None).ok(), Some(None));
        assert_eq!(
            last_event_id(&h, Some("last_event_id=42")).ok(),
            Some(Some(42))
        );
        h.insert("last-event-id", HeaderValue::from_static("43"));
        assert_eq!(
            last_event_id(&h, Some("last_event_id=42")).ok(),
            Some(Some(43))
        );
        h.insert("last-event-id", HeaderValue::from_static("x1"));
        let e = last_event_id(&h, None).err().map(|e| e.message);
        assert!(e.is_some_and(|m| m.contains("Last-Event-ID")));
        assert!(last_event_id(&HeaderMap::new(), Some("other=1")).is_err());
    }
}
