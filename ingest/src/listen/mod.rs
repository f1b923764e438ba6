//! Listeners: tokio tasks that read sockets, parse what arrives and send
//! [`EventBatch`]es down a bounded channel.
//!
//! The caller binds the sockets (so it can report their real addresses, and tests can bind port
//! 0) and hands them over with a [`ListenerConfig`], the channel's sender and a shutdown flag.
//! A full channel pushes back: a TCP connection stops being read (the peer's window closes),
//! UDP stops receiving (the kernel's receive buffer absorbs the burst, and what overflows it is
//! dropped and counted by the kernel; [`count_kernel_drops`] copies that count into
//! `onewall_ingest_udp_kernel_dropped_total{listener}`). When the shutdown flag turns true each listener sends what
//! it holds and returns.
//!
//! Collectors (`source` label and `source.collector` of their events): `syslog_udp`,
//! `syslog_tcp`, `syslog_tls` (RFC 5425, [`run_tls`]), `http` (`POST /api/v1/ingest`),
//! `http_bulk` (Elasticsearch `_bulk`) and `http_hec` (Splunk HEC); see [`http_router`].
//!
//! Metrics (labels from small fixed sets, never an address):
//! `onewall_ingest_events_total{source}`, `onewall_ingest_bytes_total{source}`,
//! `onewall_ingest_parse_errors_total{format, kind}` (kinds: [`crate::parse::PARSE_ERROR_KINDS`]),
//! `onewall_ingest_dropped_total{reason}`
//! (`frame_too_long`, `too_many_connections`, `tls_handshake`),
//! `onewall_ingest_tcp_connections_refused_total{reason}` (`cap`, `per_peer`, `timeout`),
//! `onewall_ingest_frame_errors_total{reason}` (recovered, nothing dropped: `bad_octet_count`,
//! `truncated`), `onewall_ingest_http_rejected_total{reason}` (`too_large`, `bad_encoding`,
//! `invalid_body`, `unauthorized`, `bulk_item`, `unreadable`) and the gauge
//! `onewall_ingest_connections{source}`.

mod http;
mod tcp;
mod tls;
mod udp;

use std::time::Duration;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use metrics::{Counter, Gauge};
use onewall_model::{Event, EventBatch, RegionCode, Source, Timestamp};
use time::UtcOffset;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::framing::DEFAULT_MAX_FRAME_LEN;
use crate::parse::{
    BodyFormat, Charset, DEFAULT_MAX_FIELDS_PER_EVENT, DEFAULT_TIMEZONE, ParseContext,
};

pub use http::{DEFAULT_MAX_BODY_BYTES, HttpIngest, HttpTokens, http_router};
pub use tcp::run_tcp;
pub use tls::{ClientAuth, TlsError, TlsServerConfig, TlsSettings, load_tls, run_tls};
pub(crate) use udp::receive_datagrams;
pub use udp::{count_kernel_drops, kernel_drops, run_udp, socket_inode};

/// The default number of events per batch.
pub const DEFAULT_BATCH_SIZE: usize = 512;
/// The default longest time an event waits for its batch to fill.
pub const DEFAULT_BATCH_LINGER: Duration = Duration::from_millis(50);
/// The default cap on concurrent TCP connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// The default UDP receive buffer asked of the kernel (it may grant less; see `net.core.rmem_max`).
pub const DEFAULT_RECV_BUFFER_BYTES: usize = 8 * 1024 * 1024;
/// The default time a TCP or TLS connection may go without completing a frame before it is
/// closed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
/// The default cap on concurrent TCP connections from one address.
pub const DEFAULT_MAX_CONNECTIONS_PER_PEER: usize = 256;
/// The default time a begun frame has to complete.
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(30);

/// What a collector's configuration says about the records it receives, beside their region
/// and time zone: carried into every record's [`ParseContext`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceTags {
    /// The department the sending devices belong to, e.g. `public-security`; set on every
    /// event as `organization.name` (a sender's own value there is kept as
    /// `onewall.sent.organization.name`).
    pub department: Option<Box<str>>,
    /// How text that is not ASCII is read. Default: UTF-8, else GB18030.
    pub charset: Charset,
    /// The body format the devices send, when auto-detection should not guess.
    pub format_hint: Option<BodyFormat>,
    /// The most fields one record's parse sets; keys past it stay in the raw bytes only.
    /// Default [`DEFAULT_MAX_FIELDS_PER_EVENT`].
    pub max_fields_per_event: usize,
}

impl Default for SourceTags {
    fn default() -> Self {
        SourceTags {
            department: None,
            charset: Charset::default(),
            format_hint: None,
            max_fields_per_event: DEFAULT_MAX_FIELDS_PER_EVENT,
        }
    }
}

impl SourceTags {
    /// Put the tags on a parse context.
    pub fn apply(&self, ctx: &mut ParseContext) {
        ctx.charset = self.charset;
        ctx.format_hint = self.format_hint;
        ctx.department = self.department.clone();
        ctx.max_fields_per_event = self.max_fields_per_event;
    }
}

/// How a syslog listener runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerConfig {
    /// The collector's name: `syslog_udp`, `syslog_tcp`, `syslog_tls`. It is the events' `source.collector`
    /// and the `source` label of the metrics, so it must come from a small fixed set.
    pub collector: String,
    /// The region the events belong to.
    pub region: RegionCode,
    /// The zone of timestamps that carry none (RFC 3164). Default +08:00.
    pub timezone: UtcOffset,
    /// The largest frame (TCP) or datagram (UDP) accepted, in bytes. Default 64 KiB.
    pub max_frame_len: usize,
    /// The most TCP connections open at once; more are refused and counted. Default 1024.
    pub max_connections: usize,
    /// The most TCP connections open at once from one address; more are refused and counted.
    /// Default 256.
    pub max_connections_per_peer: usize,
    /// Events per batch sent down the channel. Default 512.
    pub batch_size: usize,
    /// The longest an event waits for its batch to fill before the batch goes anyway.
    /// Default 50 ms.
    pub batch_linger: Duration,
    /// `SO_RCVBUF` asked for a UDP socket. Default 8 MiB.
    pub recv_buffer_bytes: usize,
    /// How long a TCP or TLS connection may go without completing a frame before it is
    /// closed (bytes that never make a frame do not count); `None` never closes one. Default
    /// one hour.
    pub idle_timeout: Option<Duration>,
    /// How long a frame may take from its first byte to its last: a connection holding an
    /// incomplete frame for longer (a sender trickling bytes) is closed and counted;
    /// `None` waits for ever. Default 30 s.
    pub frame_timeout: Option<Duration>,
    /// Department, charset and format hint of the records.
    pub tags: SourceTags,
}

impl ListenerConfig {
    /// Defaults for the collector named `collector` in `region`.
    pub fn new(collector: &str, region: RegionCode) -> Self {
        ListenerConfig {
            collector: collector.to_owned(),
            region,
            timezone: DEFAULT_TIMEZONE,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_peer: DEFAULT_MAX_CONNECTIONS_PER_PEER,
            batch_size: DEFAULT_BATCH_SIZE,
            batch_linger: DEFAULT_BATCH_LINGER,
            recv_buffer_bytes: DEFAULT_RECV_BUFFER_BYTES,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            frame_timeout: Some(DEFAULT_FRAME_TIMEOUT),
            tags: SourceTags::default(),
        }
    }

    /// The parse context of a record received now from `peer`.
    pub fn context(&self, peer: Option<SocketAddr>) -> ParseContext {
        let mut ctx = ParseContext::new(
            Timestamp::now(),
            self.region,
            Source::new(&self.collector, peer),
        );
        ctx.timezone = self.timezone;
        self.tags.apply(&mut ctx);
        ctx
    }

    /// Defaults for syslog over UDP.
    pub fn udp(region: RegionCode) -> Self {
        Self::new("syslog_udp", region)
    }

    /// Defaults for syslog over TCP.
    pub fn tcp(region: RegionCode) -> Self {
        Self::new("syslog_tcp", region)
    }

    /// Defaults for syslog over TLS.
    pub fn tls(region: RegionCode) -> Self {
        Self::new("syslog_tls", region)
    }
}

/// Connections open per peer address, under a cap: the TCP and TLS listeners and the HTTP
/// server take a slot per accepted connection.
#[derive(Debug, Clone)]
pub struct PeerSlots {
    cap: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PeerSlots {
    /// At most `cap` connections per address.
    pub fn new(cap: usize) -> Self {
        PeerSlots {
            cap,
            open: Arc::default(),
        }
    }

    /// A slot for one more connection from `ip`, or `None` when it has `cap` open already.
    pub fn take(&self, ip: IpAddr) -> Option<PeerSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(PeerSlot {
            ip,
            open: Arc::clone(&self.open),
        })
    }
}

/// One connection's place in [`PeerSlots`]; given back when dropped.
#[derive(Debug)]
pub struct PeerSlot {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// The channel is closed: nothing downstream will take events any more.
#[derive(Debug)]
pub(crate) struct Closed;

/// Counters of one collector.
#[derive(Debug, Clone)]
pub(crate) struct Meters {
    events: Counter,
    pub bytes: Counter,
    pub connections: Gauge,
}

impl Meters {
    pub fn new(source: &str) -> Self {
        Meters {
            events: metrics::counter!("onewall_ingest_events_total", "source" => source.to_owned()),
            bytes: metrics::counter!("onewall_ingest_bytes_total", "source" => source.to_owned()),
            connections: metrics::gauge!("onewall_ingest_connections", "source" => source.to_owned()),
        }
    }
}

/// Count something thrown away.
pub(crate) fn count_dropped(reason: &'static str) {
    metrics::counter!("onewall_ingest_dropped_total", "reason" => reason).increment(1);
}

/// A connection's task ended abnormally; a panic (one connection's, the listener goes on) is
/// counted as `onewall_task_panics_total{task="syslog_connection"}`.
pub(crate) fn connection_failed(collector: &str, e: &tokio::task::JoinError) {
    if e.is_panic() {
        metrics::counter!("onewall_task_panics_total", "task" => "syslog_connection").increment(1);
    }
    tracing::warn!(collector, error = %e, "syslog connection task failed");
}

/// Count a TCP or TLS connection refused or closed by the listener: `cap` (the listener's
/// cap), `per_peer` (the cap per address), `timeout` (no frame completed in time).
pub(crate) fn count_tcp_refused(reason: &'static str) {
    metrics::counter!("onewall_ingest_tcp_connections_refused_total", "reason" => reason)
        .increment(1);
}

/// Count trouble the framing recovered from without dropping anything.
pub(crate) fn count_frame_error(reason: &'static str) {
    metrics::counter!("onewall_ingest_frame_errors_total", "reason" => reason).increment(1);
}

/// Count an event that kept a parse error, by its format and the error's kind
/// ([`crate::parse::parse_error_kind`]), and the keys a record had past its listener's
/// `max_fields_per_event` (`onewall_ingest_fields_truncated_total`).
pub(crate) fn count_parse_error(event: &Event) {
    static TRUNCATED: std::sync::OnceLock<Option<onewall_model::FieldId>> =
        std::sync::OnceLock::new();
    if let Some(id) =
        TRUNCATED.get_or_init(|| onewall_model::FieldId::intern(crate::parse::FIELDS_TRUNCATED))
        && let Some(onewall_model::Value::Int(n)) = event.fields.get_id(*id)
    {
        metrics::counter!("onewall_ingest_fields_truncated_total").increment((*n).max(0) as u64);
    }
    if let Some(error) = &event.parse_error {
        metrics::counter!(
            "onewall_ingest_parse_errors_total",
            "format" => event.format.as_str(),
            "kind" => crate::parse::parse_error_kind(error),
        )
        .increment(1);
    }
}

/// Events gathered until the batch is full or has waited its linger.
#[derive(Debug)]
pub(crate) struct Batcher {
    batch: Vec<Event>,
    size: usize,
    linger: Duration,
    deadline: Option<Instant>,
    tx: mpsc::Sender<EventBatch>,
    meters: Meters,
}

impl Batcher {
    pub fn new(cfg: &ListenerConfig, tx: mpsc::Sender<EventBatch>, meters: Meters) -> Self {
        let size = cfg.batch_size.max(1);
        Batcher {
            batch: Vec::with_capacity(size),
            size,
            linger: cfg.batch_linger,
            deadline: None,
            tx,
            meters,
        }
    }

    /// Add an event; sends the batch when it is full.
    pub async fn push(&mut self, event: Event) -> Result<(), Closed> {
        count_parse_error(&event);
        if self.batch.is_empty() {
            self.deadline = Some(Instant::now() + self.linger);
        }
        self.batch.push(event);
        if self.batch.len() >= self.size {
            self.flush().await?;
        }
        Ok(())
    }

    /// Send what is gathered, waiting while the channel is full.
    pub async fn flush(&mut self) -> Result<(), Closed> {
        self.deadline = None;
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.size));
        let n = batch.len() as u64;
        self.tx.send(batch).await.map_err(|_| Closed)?;
        self.meters.events.increment(n);
        Ok(())
    }

    /// Resolves when the gathered events have waited their linger; never while there are none.
    pub async fn linger_expired(&self) {
        match self.deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    }
}

/// Resolves once the shutdown flag is true, or its sender is gone.
pub(crate) async fn shutdown_requested(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// [`Throttle`] for a warning that many tasks give (every refused HTTP request): one line per
/// interval at most, saying how many it held back since the last.
#[derive(Debug)]
pub(crate) struct SharedThrottle {
    last: std::sync::Mutex<Option<Instant>>,
    held_back: std::sync::atomic::AtomicU64,
}

impl SharedThrottle {
    pub const fn new() -> SharedThrottle {
        SharedThrottle {
            last: std::sync::Mutex::new(None),
            held_back: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// `Some(lines held back since the last one)` when a line may be written now.
    pub fn ready(&self) -> Option<u64> {
        use std::sync::atomic::Ordering;
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match *last {
            Some(at) if now.duration_since(at) < Throttle::INTERVAL => {
                self.held_back.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                *last = Some(now);
                Some(self.held_back.swap(0, Ordering::Relaxed))
            }
        }
    }
}

/// Refused HTTP requests (a full spool or disk), logged at most once per interval.
pub(crate) static REFUSALS: SharedThrottle = SharedThrottle::new();

/// Lets a warning through at most once per interval, so a flood of bad input cannot flood the
/// log; what it holds back is still counted by the metrics.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    last: Option<Instant>,
}

impl Throttle {
    const INTERVAL: Duration = Duration::from_secs(10);

    pub fn ready(&mut self) -> bool {
        let now = Instant::now();
        match self.last {
            Some(at) if now.duration_since(at) < Self::INTERVAL => false,
            _ => {
                self.last = Some(now);
                true
            }
        }
    }
}
