//! The node's task that keeps a copy of the audit log in ClickHouse
//! (`[store] backend = "clickhouse"`).

use std::sync::Arc;
use std::time::Duration;

use metrics::counter;
use onewall_store::audit::AuditLog;
use onewall_store::clickhouse::audit::AuditMirror;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::Resolved;

/// How often the node copies new audit entries to ClickHouse.
pub const MIRROR_EVERY: Duration = Duration::from_secs(2);

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
    let opts = r.config.store.clickhouse_options();
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
