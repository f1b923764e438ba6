//! `onewall serve`: wire the node together and run it until SIGINT or SIGTERM.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use onewall_api::{ApiState, NodeInfo, RulesView};
use onewall_ingest::flow::{FlowListener, FlowProtocol, run_flow};
use onewall_model::{EventBatch, Timestamp};
use onewall_store::Store;
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use crate::config::{self, Resolved};
use crate::pipeline::Pipeline;
use crate::supervise::supervise;

mod http_server;
mod playbooks;

pub fn run(config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    init_tracing();
    http_server::raise_open_files();
    let resolved = match config_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            config::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => config::defaults().map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("onewall")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(resolved))?;
    Ok(ExitCode::SUCCESS)
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("ONEWALL_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn serve(r: Resolved) -> anyhow::Result<()> {
    let prometheus = crate::metrics::install()?;
    // Files an older version (or another umask) left readable to others are taken back.
    for (key, dir) in [
        ("store.path", r.config.store.path.clone()),
        (
            "store.spool.path",
            r.config.store.spool.dir(&r.config.store.path),
        ),
    ] {
        let changed = crate::files::make_private(&dir)
            .with_context(|| format!("{key}: making {} private", dir.display()))?;
        if changed > 0 {
            tracing::warn!(dir = %dir.display(), changed, "node files were readable by others; made private");
        }
    }
    let opened = crate::pipeline::backend::open(&r.config.store).await?;
    let store: Arc<dyn Store> = opened.store.clone();
    // The built-in pack, rule directories, packs and overlays of `[rules]`; reloadable.
    let live_rules = Arc::new(crate::live_rules::LiveRules::load(&r)?);
    let access = crate::access::open_access(&r)?;

    // Bind everything first, so a port in use fails the start before anything runs.
    let udp = match r.syslog_udp {
        Some(a) => Some(
            tokio::net::UdpSocket::bind(a)
                .await
                .with_context(|| format!("syslog.udp: binding {a}"))?,
        ),
        None => None,
    };
    let tcp = match r.syslog_tcp {
        Some(a) => Some(
            tokio::net::TcpListener::bind(a)
                .await
                .with_context(|| format!("syslog.tcp: binding {a}"))?,
        ),
        None => None,
    };
    let tls = match r.syslog_tls {
        Some(a) => Some(
            tokio::net::TcpListener::bind(a)
                .await
                .with_context(|| format!("syslog.tls.listen: binding {a}"))?,
        ),
        None => None,
    };
    let mut flow_sockets = Vec::new();
    for (key, protocol, at) in [
        ("flow.netflow", FlowProtocol::Netflow, r.flow.netflow),
        ("flow.ipfix", FlowProtocol::Netflow, r.flow.ipfix),
        ("flow.sflow", FlowProtocol::Sflow, r.flow.sflow),
    ] {
        if let Some(a) = at {
            let sock = tokio::net::UdpSocket::bind(a)
                .await
                .with_context(|| format!("{key}: binding {a}"))?;
            flow_sockets.push((&key[5..], protocol, sock));
        }
    }
    let http = tokio::net::TcpListener::bind(r.http)
        .await
        .with_context(|| format!("http.listen: binding {}", r.http))?;

    // The playbooks start before the pipeline, so they see every alert and incident change.
    let playbooks = match &r.playbooks {
        Some(p) => Some(playbooks::start(
            p,
            &r.config.store.path,
            &r.config.node.name,
            r.region,
            &r.regions,
            store.clone(),
        )?),
        None => None,
    };
    // Federation: the outbox to a parent, and the parent's side for children; installed
    // before the pipeline, whose store stage takes the children's alerts from it.
    let federation = crate::federation::start(&r, store.clone())?;
    let (shutdown_tx, shutdown) = watch::channel(false);
    let uplink = tokio::spawn(crate::federation::run_uplink(
        federation.clone(),
        shutdown.clone(),
    ));
    // Listeners → spool (durable; replays what was not stored before) → detect → store.
    let (spooled_tx, spooled_rx) = mpsc::channel(r.config.pipeline.queue_batches);
    let spool = crate::pipeline::open_spool(&r.config.store, spooled_tx)?;
    let (events_tx, events_rx) = mpsc::channel::<EventBatch>(r.config.pipeline.queue_batches);
    // Listeners and the detect stage run supervised: a panic is counted, recovered from and
    // shown by /healthz.
    let health = onewall_api::health::TaskHealth::default();
    // The correlation rules come with the rule set (and are reloaded with it).
    let correlation = crate::correlation::CorrelationStage::new(
        live_rules.handle(),
        &r.config.correlate,
        &r.regions,
        Some(&r.config.store.path),
    );
    let pipeline = Pipeline::start(
        live_rules.handle(),
        store.clone(),
        correlation,
        spooled_rx,
        Some(spool.clone()),
        r.config.pipeline.queue_batches,
        opened.batching,
        crate::pipeline::clock::ClockCheck::new(
            r.config.store.retention_days,
            r.config.pipeline.max_future_skew_secs,
        ),
        shutdown.clone(),
        health.clone(),
    )
    .await?;
    let intake = tokio::spawn(crate::pipeline::spool_intake(
        spool.clone(),
        events_rx,
        shutdown.clone(),
    ));

    let mut listeners = Vec::new();
    let listener_config = |collector: &str| onewall_ingest::listen::ListenerConfig {
        timezone: r.syslog_source.timezone,
        max_frame_len: r.config.syslog.max_frame_bytes,
        max_connections: r.config.syslog.max_connections,
        max_connections_per_peer: r.config.syslog.max_connections_per_peer,
        frame_timeout: match r.config.syslog.frame_timeout_secs {
            0 => None,
            secs => Some(Duration::from_secs(secs)),
        },
        batch_size: r.config.pipeline.batch_size,
        batch_linger: Duration::from_millis(r.config.pipeline.batch_linger_ms),
        idle_timeout: match r.config.syslog.idle_timeout_secs {
            0 => None,
            secs => Some(Duration::from_secs(secs)),
        },
        tags: r.syslog_source.tags.clone(),
        recv_buffer_bytes: r.config.syslog.udp_recv_buffer_bytes,
        ..onewall_ingest::listen::ListenerConfig::new(collector, r.syslog_source.region)
    };
    let mut announce = Vec::new();
    if let Some(sock) = udp {
        announce.push(format!("syslog_udp {}", sock.local_addr()?));
        let sock = sock.into_std()?;
        count_udp_drops(&sock, "syslog", &shutdown, &mut listeners);
        let (cfg, tx, stop) = (
            listener_config("syslog_udp"),
            events_tx.clone(),
            shutdown.clone(),
        );
        listeners.push(tokio::spawn(supervise(
            "syslog_udp",
            health.clone(),
            shutdown.clone(),
            move || {
                let sock = udp_clone(&sock)?;
                Ok(onewall_ingest::listen::run_udp(
                    sock,
                    cfg.clone(),
                    tx.clone(),
                    stop.clone(),
                ))
            },
        )));
    }
    if let Some(sock) = tcp {
        announce.push(format!("syslog_tcp {}", sock.local_addr()?));
        let sock = sock.into_std()?;
        let (cfg, tx, stop) = (
            listener_config("syslog_tcp"),
            events_tx.clone(),
            shutdown.clone(),
        );
        listeners.push(tokio::spawn(supervise(
            "syslog_tcp",
            health.clone(),
            shutdown.clone(),
            move || {
                let sock = tcp_clone(&sock)?;
                Ok(onewall_ingest::listen::run_tcp(
                    sock,
                    cfg.clone(),
                    tx.clone(),
                    stop.clone(),
                ))
            },
        )));
    }
    let mut tls_reload = None;
    if let (Some(sock), Some(settings)) = (tls, r.tls.clone()) {
        let certs = onewall_ingest::listen::load_tls(&settings)
            .map_err(|e| anyhow::anyhow!("syslog.tls: {e}"))?;
        let (certs_tx, certs_rx) = watch::channel(certs);
        announce.push(format!("syslog_tls {}", sock.local_addr()?));
        let sock = sock.into_std()?;
        let (cfg, tx, stop) = (
            listener_config("syslog_tls"),
            events_tx.clone(),
            shutdown.clone(),
        );
        listeners.push(tokio::spawn(supervise(
            "syslog_tls",
            health.clone(),
            shutdown.clone(),
            move || {
                let sock = tcp_clone(&sock)?;
                Ok(onewall_ingest::listen::run_tls(
                    sock,
                    cfg.clone(),
                    certs_rx.clone(),
                    tx.clone(),
                    stop.clone(),
                ))
            },
        )));
        tls_reload = Some((settings, certs_tx));
    }
    for (name, protocol, sock) in flow_sockets {
        announce.push(format!("{name} {}", sock.local_addr()?));
        let mut flow = FlowListener::new(protocol, r.flow.region);
        flow.listener.batch_size = r.config.pipeline.batch_size;
        flow.listener.batch_linger = Duration::from_millis(r.config.pipeline.batch_linger_ms);
        flow.listener.tags.department = r.flow.department.clone();
        flow.netflow = r.flow.settings;
        let sock = sock.into_std()?;
        count_udp_drops(&sock, name, &shutdown, &mut listeners);
        let (tx, stop) = (events_tx.clone(), shutdown.clone());
        listeners.push(tokio::spawn(supervise(
            name,
            health.clone(),
            shutdown.clone(),
            move || {
                let sock = udp_clone(&sock)?;
                let (flow, tx, stop) = (flow.clone(), tx.clone(), stop.clone());
                Ok(async move {
                    if let Err(e) = run_flow(sock, flow, tx, stop).await {
                        error!(collector = name, error = %e, "flow listener failed");
                    }
                })
            },
        )));
    }
    let reload = tokio::spawn(reload_on_sighup(
        tls_reload,
        live_rules.clone(),
        shutdown.clone(),
    ));
    let http_addr = http.local_addr()?;
    announce.push(format!("http http://{http_addr}"));

    let api_state = ApiState {
        store: store.clone(),
        metrics: Arc::new(move || prometheus.render()),
        rules: Arc::new(RulesView {
            live: Some(live_rules.clone()),
            ..RulesView::default()
        }),
        regions: Arc::new(r.regions.clone()),
        node: Arc::new(NodeInfo {
            name: r.config.node.name.clone(),
            region: r.region,
            version: env!("CARGO_PKG_VERSION"),
        }),
        access: access.clone(),
    };
    let api = onewall_api::router(api_state.clone());
    let api = crate::federation::wire_api(api, api_state, &federation);
    let api = api.layer(axum::Extension(health.clone()));
    // The delivery log (GET /api/v1/deliveries) reads the playbooks' outbox.
    let api = match &playbooks {
        Some(p) => api.layer(axum::Extension(onewall_api::deliveries::DeliveryLog(
            p.outbox.clone(),
        ))),
        None => api,
    };
    let (api, report_watch) = playbooks::api_layers(api, &r, store.clone(), shutdown.clone())?;
    let ingest = onewall_ingest::listen::http_router(onewall_ingest::listen::HttpIngest {
        timezone: r.http_source.timezone,
        max_body_bytes: r.config.http.max_body_bytes,
        batch_size: r.config.pipeline.batch_size,
        tags: r.http_source.tags.clone(),
        tokens: onewall_ingest::listen::HttpTokens {
            ingest: r.config.http.ingest_tokens.clone(),
            bulk: r.config.http.bulk_tokens.clone(),
            hec: r.config.http.hec_tokens.clone(),
        },
        spool: Some(spool.clone()),
        ..onewall_ingest::listen::HttpIngest::new(events_tx.clone(), r.http_source.region)
    });
    drop(events_tx);
    let gate = onewall_api::collector::CollectorGate {
        auth: access.auth.clone(),
        require_token: r.config.auth.collectors_require_token,
        ingest_tokens: r.config.http.ingest_tokens.clone(),
        bulk_tokens: r.config.http.bulk_tokens.clone(),
        hec_tokens: r.config.http.hec_tokens.clone(),
    };
    // Cross-site and content-type checks on the API's writes (not on the collectors').
    let api = api.layer(axum::middleware::from_fn(onewall_api::edge::writes));
    let app = api
        .merge(ingest.layer(axum::middleware::from_fn_with_state(
            gate,
            onewall_api::collector::gate,
        )))
        .layer(axum::middleware::map_response(
            onewall_api::edge::security_headers,
        ));
    let limits = http_server::HttpLimits {
        header_timeout: Duration::from_secs(r.config.http.header_timeout_secs),
        body_timeout: Duration::from_secs(r.config.http.body_timeout_secs),
        idle_timeout: Duration::from_secs(r.config.http.idle_timeout_secs),
        max_connections: r.config.http.max_connections,
        max_connections_per_peer: r.config.http.max_connections_per_peer,
    };
    let http_task = tokio::spawn(http_server::serve(http, app, limits, shutdown.clone()));
    let retention = tokio::spawn(retention_task(
        store.clone(),
        r.config.store.retention_days,
        r.config.store.alert_retention_days,
        shutdown.clone(),
    ));

    // A breach alert reaches the playbooks like any stored alert (a rule on
    // `onewall-sla-breach` escalates it).
    let tell_breach: Arc<dyn Fn(Vec<onewall_model::Alert>) + Send + Sync> =
        Arc::new(|alerts: Vec<onewall_model::Alert>| {
            tokio::spawn(async move { crate::pipeline::signals::alerts(&alerts).await });
        });
    let sla = tokio::spawn(onewall_api::sla::run(
        store.clone(),
        crate::config::access::sla_policy(&r.config.sla),
        tell_breach,
        shutdown.clone(),
    ));
    // With ClickHouse, the audit log is copied there too; the node's chain stays the source.
    let audit_copy = crate::audit_mirror::start_mirror(&r, access.audit.clone(), shutdown.clone());

    for line in &announce {
        println!("onewall listening {line}");
    }
    println!(
        "onewall ready: node {} region {} store {}",
        r.config.node.name, r.region, opened.describe
    );
    info!(listeners = ?announce, "onewall ready");

    wait_for_signal().await;
    info!("shutting down: flushing listeners and the pipeline");
    let _ = shutdown_tx.send(true);
    for l in listeners {
        let _ = l.await;
    }
    let _ = http_task.await;
    // The API calls answered last are in the audit log: one more round copies them.
    if let Some(copy) = audit_copy {
        let _ = copy.await;
    }
    // The listeners' batches are in the spool; then the spool lets the pipeline end.
    let _ = intake.await;
    spool.close();
    retention.abort();
    sla.abort();
    if let Some(t) = report_watch {
        t.abort();
    }
    uplink.abort();
    reload.abort();
    // Every sender is gone now; the pipeline drains and ends.
    pipeline.join().await;
    // Then the playbooks take what the pipeline signalled last, and stop.
    if let Some(p) = playbooks {
        p.stop().await;
    }
    info!("stopped");
    Ok(())
}

/// A tokio socket on a duplicate of `sock`'s descriptor: a listener that panicked starts
/// again on the same bound socket.
fn udp_clone(sock: &std::net::UdpSocket) -> std::io::Result<tokio::net::UdpSocket> {
    let dup = sock.try_clone()?;
    dup.set_nonblocking(true)?;
    tokio::net::UdpSocket::from_std(dup)
}

/// Like [`udp_clone`], for a TCP listening socket.
fn tcp_clone(sock: &std::net::TcpListener) -> std::io::Result<tokio::net::TcpListener> {
    let dup = sock.try_clone()?;
    dup.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(dup)
}

/// Count what the kernel drops for the UDP socket `sock` (`listener`: `syslog`, `netflow`,
/// `ipfix`, `sflow`), where `/proc/net/udp` can tell.
fn count_udp_drops(
    sock: &std::net::UdpSocket,
    listener: &'static str,
    shutdown: &watch::Receiver<bool>,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) {
    match onewall_ingest::listen::socket_inode(sock) {
        Ok(inode) => tasks.push(tokio::spawn(onewall_ingest::listen::count_kernel_drops(
            inode,
            listener,
            shutdown.clone(),
        ))),
        Err(e) => warn!(listener, error = %e, "udp socket inode unknown; kernel drops not counted"),
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            warn!(error = %e, "cannot watch SIGTERM; only Ctrl-C stops the node");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Drop event days (and alerts) older than their retention, once at start and then hourly.
async fn retention_task(
    store: Arc<dyn Store>,
    days: u32,
    alert_days: u32,
    mut shutdown: watch::Receiver<bool>,
) {
    if days == 0 && alert_days == 0 {
        return;
    }
    loop {
        if days > 0 {
            let before = Timestamp::now().add_secs(-(days as i64) * 86_400);
            match store.drop_events_before(before).await {
                Ok(0) => {}
                Ok(n) => info!(days = n, "retention dropped old event days"),
                Err(e) => warn!(error = %e, "retention failed; will retry"),
            }
        }
        if alert_days > 0 {
            let before = Timestamp::now().add_secs(-(alert_days as i64) * 86_400);
            if let Err(e) = store.drop_alerts_before(before).await {
                warn!(error = %e, "alert retention failed; will retry");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

/// On SIGHUP, reload the rules (packs, directories, overlays; swapped in between batches) and
/// re-read the syslog TLS certificates: new handshakes use them, open connections keep
/// theirs. A reload that fails keeps the rules or certificates in use.
async fn reload_on_sighup(
    tls: Option<(
        onewall_ingest::listen::TlsSettings,
        watch::Sender<Arc<onewall_ingest::listen::TlsServerConfig>>,
    )>,
    rules: Arc<crate::live_rules::LiveRules>,
    mut shutdown: watch::Receiver<bool>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            warn!(error = %e, "cannot watch SIGHUP; certificates will not be reloaded");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            got = hup.recv() => if got.is_none() { return },
        }
        let live = rules.clone();
        match tokio::task::spawn_blocking(move || live.reload_now()).await {
            Ok(Ok(report)) => info!(
                compiled = report.compiled,
                total = report.total,
                "SIGHUP: rules reloaded"
            ),
            Ok(Err(e)) => error!(error = %e, "SIGHUP: rules reload failed; the rules in use stay"),
            Err(e) => error!(error = %e, "SIGHUP: rules reload task failed"),
        }
        match &tls {
            None => {}
            Some((settings, certs)) => match onewall_ingest::listen::load_tls(settings) {
                Ok(new) => {
                    certs.send_replace(new);
                    info!(cert = %settings.cert.display(), "syslog tls certificates reloaded");
                }
                Err(e) => error!(error = %e,
                    "syslog.tls: reload failed; the certificates in use stay"),
            },
        }
    }
}
