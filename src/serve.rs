//! `onewall serve`: wire the node together and run it until SIGINT or SIGTERM.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use onewall_api::Access;
use onewall_api::health::TaskHealth;
use onewall_ingest::spool::Spool;
use onewall_model::EventBatch;
use onewall_model::bus::NodeEvents;
use onewall_store::Store;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::config::{self, Resolved};
use crate::live_rules::LiveRules;
use crate::pipeline::Pipeline;

mod app;
mod http_server;
mod hunt;
mod listeners;
mod playbooks;

pub fn run(config_file: Option<&Path>) -> anyhow::Result<ExitCode> {
    init_tracing();
    http_server::raise_open_files();
    let resolved = config::load(config_file)?;
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

/// What the steps of [`serve`] share: the store, the rules, access, the node event bus, task
/// health and the shutdown signal.
#[derive(Debug)]
struct Node {
    store: Arc<dyn Store>,
    /// The store, in words, for the ready line.
    describe: String,
    batching: crate::pipeline::Batching,
    /// The built-in pack, rule directories, packs and overlays of `[rules]`; reloadable.
    rules: Arc<LiveRules>,
    access: Access,
    bus: NodeEvents,
    /// Listeners and pipeline stages run supervised: a panic is counted, recovered from and
    /// shown by /healthz.
    health: TaskHealth,
    shutdown: watch::Receiver<bool>,
    /// The anomaly detectors' status, copied by the detect thread for the API.
    anomaly_board: crate::anomaly::SharedBoard,
}

async fn serve(r: Resolved) -> anyhow::Result<()> {
    let stop = StopSignals::watch();
    let prometheus = crate::metrics::install()?;
    let (shutdown_tx, shutdown) = watch::channel(false);
    let node = open_store(&r, shutdown).await?;
    // Threat intelligence: the indicators kept in intel.sqlite are in use from the first batch.
    let intel = crate::intel::Intel::open(
        &r.config.intel,
        &r.config.store.path,
        node.store.clone(),
        node.bus.clone(),
    )?;
    // Bind everything first, so a port in use fails the start before anything runs.
    let bound = listeners::bind(&r).await?;
    // Playbooks and federation subscribe before the pipeline publishes anything.
    let assets_slot = playbooks::AssetsSlot::default();
    let supervision_slot = playbooks::SupervisionSlot::default();
    let playbooks = start_playbooks(&r, &node, assets_slot.clone(), supervision_slot.clone())?;
    let Federated {
        federation,
        remote,
        uplink,
        supervision,
    } = start_federation(&r, &node, &supervision_slot)?;
    // Assets: the book kept in assets.sqlite, in use from the first batch.
    let assets = open_assets(&r, &federation, &assets_slot)?;
    // Indicators go down to children and sightings up to the parent with the pushes.
    federation.set_intel(crate::intel::share::Share::new(intel.clone()));
    let sightings_up = federation.has_parent().then(|| {
        crate::intel::share::start_reports(intel.clone(), federation.clone(), node.shutdown.clone())
    });
    // The console's live stream hears alerts and incident changes from the first batch on.
    let stream = onewall_api::stream::StreamHub::new(&r.config.stream, node.shutdown.clone());
    node.bus.subscribe(Arc::new(stream.clone()));
    // Retro-hunt alerts reach the correlator beside the federation's released ones.
    let (retro_alerts, remote) = crate::intel::retro::correlator_feed(remote);
    intel.set_correlator(retro_alerts);
    let pipeline = start_pipeline(
        &r,
        &node,
        remote,
        &intel,
        assets.as_ref(),
        supervision.as_ref(),
    )
    .await?;
    let intel_tasks = crate::intel::start(&intel, &node.health, &node.shutdown);
    let desk = playbooks::report_desk(&r)?;
    let jobs = crate::jobs::start(
        &r,
        &node.store,
        desk.as_ref(),
        supervision.as_ref(),
        &node.bus,
        &node.shutdown,
    );
    let sup_tasks = start_supervision(
        &r,
        &node,
        &supervision,
        &desk,
        &playbooks,
        &assets,
        &pipeline,
    );
    let asset_jobs = assets.as_ref().map_or_else(Vec::new, |a| {
        crate::assets::jobs::start(a, &node.store, &node.bus, &node.shutdown)
    });
    let (listeners, http) =
        listeners::start(&r, bound, &pipeline.events, &node.health, &node.shutdown)?;
    let reload = tokio::spawn(reload_on_sighup(
        listeners.tls_reload,
        node.rules.clone(),
        node.shutdown.clone(),
    ));
    let app = app::build(
        &r,
        &node,
        app::Parts {
            prometheus,
            federation: &federation,
            outbox: playbooks.as_ref().map(|p| p.outbox.clone()),
            desk: desk.as_ref(),
            events: pipeline.events.clone(),
            spool: pipeline.spool.clone(),
            stream,
            intel: intel.clone(),
            assets: assets.clone(),
            supervision: supervision.clone(),
        },
    );
    let mut announce = listeners.announce;
    announce.push(format!("http http://{}", http.local_addr()?));
    let http_task = serve_http(&r, http, app, &node.shutdown);
    // With ClickHouse, the audit log is copied there too; the node's chain stays the source.
    let audit_copy =
        crate::audit_mirror::start_mirror(&r, node.access.audit.clone(), node.shutdown.clone());
    announce_ready(&r, &node, &announce);

    stop.wait().await;
    info!("shutting down: flushing listeners and the pipeline");
    let _ = shutdown_tx.send(true);
    for l in listeners.tasks {
        let _ = l.await;
    }
    let _ = http_task.await;
    // The API calls answered last are in the audit log: one more round copies them.
    if let Some(copy) = audit_copy {
        let _ = copy.await;
    }
    jobs.abort();
    uplink.abort();
    reload.abort();
    for t in intel_tasks
        .into_iter()
        .chain(sightings_up)
        .chain(asset_jobs)
        .chain(sup_tasks)
    {
        t.abort();
    }
    drain(pipeline, playbooks).await;
    // The hosts seen up to the last batch, for the next start.
    if let Some(a) = assets {
        let _ = tokio::task::spawn_blocking(move || a.save_seen()).await;
    }
    // The sightings of the last batches too.
    intel.save_sightings().await;
    info!("stopped");
    Ok(())
}

/// Supervision's tasks: its checks, drills replayed into the pipeline, periodic reports made
/// on schedule.
fn start_supervision(
    r: &Resolved,
    node: &Node,
    sup: &Option<Arc<onewall_supervise::Supervision>>,
    desk: &Option<onewall_api::reports::ReportDesk>,
    playbooks: &Option<playbooks::Running>,
    assets: &Option<Arc<crate::assets::Assets>>,
    pipeline: &Running,
) -> Vec<JoinHandle<()>> {
    let Some(sup) = sup else {
        return Vec::new();
    };
    let sources = crate::supervision::sources::NodeSources::new(
        r,
        desk.as_ref(),
        playbooks.as_ref().map(|p| p.outbox.clone()),
        assets.clone(),
    );
    vec![
        crate::supervision::jobs::start(sup, &node.store, &node.bus, &node.health, &node.shutdown),
        crate::supervision::replay::start(
            sup.clone(),
            pipeline.events.clone(),
            &r.config.store.path,
            node.shutdown.clone(),
        ),
        crate::supervision::reports::start(
            sup.clone(),
            Arc::new(sources),
            node.bus.clone(),
            &r.config.store.path,
            node.shutdown.clone(),
        ),
    ]
}

/// Make the data directories private, open the store, load the rules and open access.
async fn open_store(r: &Resolved, shutdown: watch::Receiver<bool>) -> anyhow::Result<Node> {
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
    Ok(Node {
        store: opened.store,
        describe: opened.describe,
        batching: opened.batching,
        rules: Arc::new(LiveRules::load(r)?),
        access: crate::access::open_access(r)?,
        bus: NodeEvents::new(),
        health: TaskHealth::default(),
        shutdown,
        anomaly_board: crate::anomaly::SharedBoard::default(),
    })
}

/// The playbooks, subscribed to the node event bus, when `[playbooks]` is configured.
fn start_playbooks(
    r: &Resolved,
    node: &Node,
    assets: playbooks::AssetsSlot,
    supervision: playbooks::SupervisionSlot,
) -> anyhow::Result<Option<playbooks::Running>> {
    let Some(p) = &r.playbooks else {
        return Ok(None);
    };
    Ok(Some(playbooks::start(
        p,
        &r.config.store.path,
        &r.config.node.name,
        r.region,
        &r.regions,
        playbooks::NodeParts {
            store: node.store.clone(),
            assets,
            supervision,
        },
        &node.bus,
    )?))
}

/// The running federation.
struct Federated {
    federation: Arc<crate::federation::Federation>,
    /// Alerts pushed by children and released by the gate, for the pipeline's correlator.
    remote: mpsc::Receiver<Vec<onewall_model::Alert>>,
    /// Pushes the outbox to the parent.
    uplink: JoinHandle<()>,
    /// Bulletins, 重保 periods, duty, drills, reports, when `[supervise] enabled`.
    supervision: Option<Arc<onewall_supervise::Supervision>>,
}

/// The federation: the outbox to a parent (its uplink subscribed to the node event bus) and
/// its uplink task, and the parent's side for children; and the node's supervision, which
/// applies what other levels send through it and so is opened before the uplink runs.
/// The federation and the supervision that travels on it (handed to the playbooks through
/// `slot`, for who is on duty).
fn start_federation(
    r: &Resolved,
    node: &Node,
    slot: &playbooks::SupervisionSlot,
) -> anyhow::Result<Federated> {
    let (federation, remote) = crate::federation::start(r, node.store.clone(), &node.bus)?;
    let supervision =
        crate::supervision::open(r, &federation, &node.store, &node.access.audit, &node.bus)?;
    if let Some(s) = &supervision {
        let _ = slot.set(s.clone());
    }
    let uplink = tokio::spawn(crate::federation::run_uplink(
        federation.clone(),
        node.shutdown.clone(),
    ));
    Ok(Federated {
        federation,
        remote,
        uplink,
        supervision,
    })
}

/// The node's assets, when `[assets] enabled` (handed to the playbooks through `slot`).
fn open_assets(
    r: &Resolved,
    federation: &Arc<crate::federation::Federation>,
    slot: &playbooks::AssetsSlot,
) -> anyhow::Result<Option<Arc<crate::assets::Assets>>> {
    let settings = r
        .config
        .assets
        .resolve()
        .map_err(|e| anyhow::anyhow!("{}", e.join("; ")))?;
    if !settings.enabled {
        return Ok(None);
    }
    crate::assets::Assets::open(
        settings,
        r.region,
        Arc::new(r.regions.clone()),
        &r.config.store.path,
        Some(federation.clone()),
    )
    .context("opening assets.sqlite")
    .map(|a| {
        let _ = slot.set(a.clone());
        Some(a)
    })
}

/// The running pipeline and what feeds it.
struct Running {
    pipeline: Pipeline,
    spool: Arc<Spool>,
    /// Takes the listeners' batches into the spool.
    intake: JoinHandle<()>,
    /// Where listeners and HTTP ingest send batches.
    events: mpsc::Sender<EventBatch>,
}

/// Listeners → spool (durable; replays what was not stored before) → detect → store.
async fn start_pipeline(
    r: &Resolved,
    node: &Node,
    remote: mpsc::Receiver<Vec<onewall_model::Alert>>,
    intel: &Arc<crate::intel::Intel>,
    assets: Option<&Arc<crate::assets::Assets>>,
    supervision: Option<&Arc<onewall_supervise::Supervision>>,
) -> anyhow::Result<Running> {
    let (spooled_tx, spooled_rx) = mpsc::channel(r.config.pipeline.queue_batches);
    let spool = crate::pipeline::open_spool(&r.config.store, spooled_tx)?;
    let (events, events_rx) = mpsc::channel::<EventBatch>(r.config.pipeline.queue_batches);
    // The correlation rules come with the rule set (and are reloaded with it).
    let correlation = crate::pipeline::CorrelationStage::new(
        node.rules.handle(),
        &r.config.correlate,
        &r.regions,
        Some(&r.config.store.path),
    );
    let pipeline = Pipeline::start(
        node.rules.handle(),
        node.store.clone(),
        correlation,
        spooled_rx,
        node.batching,
        crate::pipeline::clock::ClockCheck::new(
            r.config.store.retention_days,
            r.config.pipeline.max_future_skew_secs,
        ),
        crate::pipeline::Wiring {
            spool: Some(spool.clone()),
            queue_batches: r.config.pipeline.queue_batches,
            bus: node.bus.clone(),
            remote: Some(remote),
            shutdown: node.shutdown.clone(),
            health: node.health.clone(),
            intel: Some(crate::intel::IntelStage::new(intel.clone())),
            anomaly: node.rules.anomaly_settings().enabled.then(|| {
                crate::anomaly::AnomalyStage::start(
                    node.rules.detectors(),
                    node.rules.anomaly_settings(),
                    node.anomaly_board.clone(),
                )
            }),
            geo: crate::pipeline::geo::open(&r.config.intel.geo)?.map(Arc::new),
            assets: assets.map(|a| crate::assets::AssetStage::new(a)),
            drills: supervision.map(|s| crate::supervision::stage::DrillStage::new(s.clone())),
        },
    )
    .await?;
    let intake = tokio::spawn(crate::pipeline::spool_intake(
        spool.clone(),
        events_rx,
        node.shutdown.clone(),
    ));
    Ok(Running {
        pipeline,
        spool,
        intake,
        events,
    })
}

/// Serve `app` on `http` until shutdown.
fn serve_http(
    r: &Resolved,
    http: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: &watch::Receiver<bool>,
) -> JoinHandle<()> {
    let limits = http_server::HttpLimits {
        header_timeout: Duration::from_secs(r.config.http.header_timeout_secs),
        body_timeout: Duration::from_secs(r.config.http.body_timeout_secs),
        idle_timeout: Duration::from_secs(r.config.http.idle_timeout_secs),
        max_connections: r.config.http.max_connections,
        max_connections_per_peer: r.config.http.max_connections_per_peer,
    };
    tokio::spawn(http_server::serve(http, app, limits, shutdown.clone()))
}

/// Print what listens where, and that the node is ready.
fn announce_ready(r: &Resolved, node: &Node, announce: &[String]) {
    for line in announce {
        println!("onewall listening {line}");
    }
    println!(
        "onewall ready: node {} region {} store {}",
        r.config.node.name, r.region, node.describe
    );
    info!(listeners = ?announce, "onewall ready");
}

/// After the listeners and HTTP have stopped: the spool takes the last batches and lets the
/// pipeline drain and end; then the playbooks take what was published last, and stop.
async fn drain(running: Running, playbooks: Option<playbooks::Running>) {
    let Running {
        pipeline,
        spool,
        intake,
        events,
    } = running;
    drop(events);
    // The listeners' batches are in the spool; then the spool lets the pipeline end.
    let _ = intake.await;
    spool.close();
    // Every sender is gone now; the pipeline drains and ends.
    pipeline.join().await;
    if let Some(p) = playbooks {
        p.stop().await;
    }
}

/// SIGTERM and SIGINT, watched from the start of `serve` so that a signal sent while the
/// node is still starting (its HTTP port may already answer) stops it cleanly once it has
/// started, instead of killing it with the default action.
struct StopSignals {
    term: Option<tokio::signal::unix::Signal>,
    int: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn watch() -> StopSignals {
        use tokio::signal::unix::{SignalKind, signal};
        let open = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(s) => Some(s),
            Err(e) => {
                warn!(error = %e, "cannot watch {name}");
                None
            }
        };
        StopSignals {
            term: open(SignalKind::terminate(), "SIGTERM"),
            int: open(SignalKind::interrupt(), "SIGINT"),
        }
    }

    /// Until SIGTERM or SIGINT arrives (or arrived since [`StopSignals::watch`]).
    async fn wait(mut self) {
        async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = recv(&mut self.term) => {}
            _ = recv(&mut self.int) => {}
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
