//! `onewall audit verify`: recompute the audit log's SM3 chain and name the first bad entry;
//! with `--clickhouse`, the copy in ClickHouse too.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use onewall_store::audit::{self, Verdict};
use onewall_store::clickhouse::audit::AuditMirror;

use crate::config::StoreConfig;

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
    let opts = store.clickhouse_options();
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
