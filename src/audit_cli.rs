//! `onewall audit verify`: recompute the audit log's SM3 chain and name the first bad entry;
//! with `--clickhouse`, the copy in ClickHouse too. And the node's task that keeps that copy
//! (`[store] backend = "clickhouse"`).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use metrics::counter;
use onewall_store::audit::{self, AuditLog, Verdict};
use onewall_store::clickhouse::audit::AuditMirror;
use onewall_store::clickhouse::{ClickHouseOptions, Cluster};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::{Resolved, StoreConfig};

/// How often the node copies new audit entries to ClickHouse.
pub const MIRROR_EVERY: Duration = Duration::from_secs(2);

/// `onewall audit verify [--config FILE] [--data DIR] [--clickhouse]`: the data directory is
/// `--data`, else the config's `store.path`; `--clickhouse` checks the copy in the config's
/// `[store.clickhouse]` database too (for the config's `node.name`).
pub fn verify_command(
    config_file: Option<&Path>,
    data: Option<std::path::PathBuf>,
    clickhouse: bool,
) -> anyhow::Result<ExitCode> {
    let resolved = match config_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            crate::config::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => crate::config::defaults().map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let dir = data.unwrap_or_else(|| resolved.config.store.path.clone());
    if clickhouse && resolved.config.store.backend != "clickhouse" {
        anyhow::bail!(
            "--clickhouse: the configuration's store.backend is {:?}, not \"clickhouse\" (give the \
             node's config with --config)",
            resolved.config.store.backend
        );
    }
    let copy = clickhouse.then_some((&resolved.config.store, resolved.config.node.name.as_str()));
    verify(&dir, copy)
}

/// Exit 0 when the node's chain (and, when `clickhouse` names a store, the copy's) holds, 1
/// (naming the first bad entry) when one does not.
pub fn verify(dir: &Path, clickhouse: Option<(&StoreConfig, &str)>) -> anyhow::Result<ExitCode> {
    let mut ok = match audit::verify(dir)? {
        Verdict::Intact { entries } => {
            println!("audit log intact: {entries} entries, SM3 chain verified");
            true
        }
        Verdict::Broken { seq, reason } => {
            println!("audit log broken at entry {seq}: {reason}");
            false
        }
    };
    if let Some((store, node)) = clickhouse {
        ok &= verify_copy(dir, store, node)?;
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Check the ClickHouse copy: its own chain, and its newest entry against the node's entry of
/// the same number (entries the node added since are reported as not copied yet; the node
/// copies them, and any cut off the copy's end, at its next sync).
fn verify_copy(dir: &Path, store: &StoreConfig, node: &str) -> anyhow::Result<bool> {
    let opts = clickhouse_options(store);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let where_ = format!("{} database {}", opts.url, opts.database);
    rt.block_on(async {
        let mirror = AuditMirror::connect(&opts, node).await?;
        let copied = mirror
            .mirrored_seq()
            .await
            .with_context(|| format!("store.clickhouse: reading the audit copy at {where_}"))?;
        let local = audit::read_head(dir)?.map_or(0, |(seq, _)| seq);
        let head = match copied {
            0 => None,
            n => audit::read_log(dir, n - 1, 1)?
                .into_iter()
                .next()
                .map(|e| (e.seq, e.hash, "the node's audit log".to_owned())),
        };
        let verdict = mirror.verify(head).await?;
        Ok(match verdict {
            Verdict::Intact { entries } => {
                let behind = local.saturating_sub(entries);
                println!(
                    "audit copy in clickhouse intact: {entries} entries of node {node}, SM3 chain \
                     verified and equal to the node's{}",
                    if behind > 0 {
                        format!(" ({behind} newer entries not copied yet)")
                    } else {
                        String::new()
                    }
                );
                true
            }
            Verdict::Broken { seq, reason } => {
                println!("audit copy in clickhouse broken at entry {seq}: {reason}");
                false
            }
        })
    })
}

/// `[store.clickhouse]` as the store crate takes it.
pub fn clickhouse_options(cfg: &StoreConfig) -> ClickHouseOptions {
    let c = &cfg.clickhouse;
    ClickHouseOptions {
        url: c.url.clone(),
        database: c.database.clone(),
        user: c.user.clone(),
        password: c.password.clone(),
        cluster: (!c.cluster.is_empty()).then(|| Cluster {
            name: c.cluster.clone(),
            replicated: c.cluster_engine == "replicated",
        }),
        retention_days: cfg.retention_days,
    }
}

/// With the ClickHouse backend, copy the audit log there every [`MIRROR_EVERY`] (and once
/// more at shutdown) until `shutdown`. Failures are logged and counted
/// (`onewall_audit_mirror_errors_total`), and the next round starts where the copy ends.
pub fn start_mirror(
    r: &Resolved,
    log: Arc<AuditLog>,
    mut shutdown: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    if r.config.store.backend != "clickhouse" {
        return None;
    }
    let opts = clickhouse_options(&r.config.store);
    let node = r.config.node.name.clone();
    Some(tokio::spawn(async move {
        let mirror = match AuditMirror::connect(&opts, &node).await {
            Ok(m) => m,
            Err(e) => {
                warn!(error = %e, "store.clickhouse: the audit log is not copied to clickhouse");
                return;
            }
        };
        let mut table = false;
        loop {
            let stop = *shutdown.borrow();
            let round = async {
                if !table {
                    mirror.create_table().await?;
                    table = true;
                }
                mirror.sync(&log).await
            };
            match tokio::time::timeout(Duration::from_secs(30), round).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => counter!("onewall_audit_mirrored_entries_total").increment(n as u64),
                Ok(Err(e)) => {
                    counter!("onewall_audit_mirror_errors_total").increment(1);
                    warn!(error = %e, "copying the audit log to clickhouse; will retry");
                }
                Err(_) => {
                    counter!("onewall_audit_mirror_errors_total").increment(1);
                    warn!("copying the audit log to clickhouse took over 30 s; will retry");
                }
            }
            if stop {
                info!("audit copy: last round done");
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(MIRROR_EVERY) => {}
                _ = shutdown.wait_for(|s| *s) => {}
            }
        }
    }))
}
