//! The audit log's copy in ClickHouse.
//!
//! The node's SQLite audit log ([`crate::audit`]) stays the tamper-evident source of truth:
//! it is written first, on the node, inside the API call. [`AuditMirror::sync`] copies every
//! entry the ClickHouse table lacks (with its sequence number, previous hash and hash) into the
//! `audit` table, oldest first, so the copy is the same chain and can be checked the same way
//! ([`AuditMirror::verify`]). A server that is down only delays the copy: the next sync starts
//! after the newest entry the table holds.
//!
//! The table is a plain MergeTree ordered by `(node, seq)` (several nodes may share a
//! database; each keeps its own chain), partitioned by the month of the entry's time. Plain,
//! not Replacing: a row slipped in with the number of an existing entry stays visible, and the
//! check reports the entry as stored twice. Types are those of ClickHouse 18.16.

use std::sync::Arc;

use clickhouse::{Client, Row};
use onewall_model::Timestamp;
use serde::{Deserialize, Serialize};

use super::schema::Layout;
use super::{ClickHouseOptions, Culprit, valid_database};
use crate::audit::{AuditEntry, AuditLog, AuditRecord, ChainCheck, Verdict};
use crate::{Result, StoreError};

/// Entries copied per insert.
const BATCH: usize = 5_000;

/// The copy of one node's audit log in a ClickHouse database.
#[derive(Clone)]
pub struct AuditMirror {
    /// Without a database, for creating it.
    base: Client,
    client: Client,
    culprit: Culprit,
    node: String,
}

impl std::fmt::Debug for AuditMirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditMirror")
            .field("url", &self.culprit.url)
            .field("database", &self.culprit.database)
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Row, Serialize, Deserialize)]
struct AuditRow {
    node: String,
    month: u32,
    seq: u64,
    at: i64,
    actor: String,
    role: String,
    scope: String,
    action: String,
    target: String,
    result: u16,
    prev: String,
    hash: String,
    client: String,
    detail: String,
}

/// The `CREATE TABLE` statements for the audit copy in `database` laid out as `layout`.
pub(super) fn audit_tables(layout: &Layout, database: &str) -> Vec<String> {
    let local = layout.local("audit");
    let on = layout.on_cluster();
    let engine = match &layout.cluster {
        Some(c) if c.replicated => format!(
            "ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{database}/audit', '{{replica}}')"
        ),
        _ => "MergeTree()".to_owned(),
    };
    let mut out = vec![format!(
        "CREATE TABLE IF NOT EXISTS {local}{on} (
            node String,
            month UInt32,
            seq UInt64,
            at Int64,
            actor String,
            role String,
            scope String,
            action String,
            target String,
            result UInt16,
            prev String,
            hash String,
            client String DEFAULT '',
            detail String DEFAULT ''
        ) ENGINE = {engine}
        PARTITION BY month
        ORDER BY (node, seq)"
    )];
    if let Some(c) = &layout.cluster {
        // A node's whole chain on one shard.
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS audit{on} AS {local} \
             ENGINE = Distributed({}, {database}, {local}, cityHash64(node))",
            c.name
        ));
    }
    out
}

/// Columns an audit copy made by an older version lacks, added on open (with their types).
/// Checked in `system.columns` and added one by one: ClickHouse 18.16 knows no
/// `ADD COLUMN IF NOT EXISTS`.
const AUDIT_ADDED_COLUMNS: [(&str, &str); 2] = [
    ("client", "String DEFAULT ''"),
    ("detail", "String DEFAULT ''"),
];

/// The tables holding the audit copy's columns: the local one, then the distributed one.
fn audit_table_names(layout: &Layout) -> Vec<String> {
    let mut out = vec![layout.local("audit")];
    if layout.cluster.is_some() {
        out.push("audit".to_owned());
    }
    out
}

impl AuditMirror {
    /// A mirror of node `node`'s audit log in the database `opts` names. Creates nothing
    /// (see [`AuditMirror::create_table`]).
    pub async fn connect(opts: &ClickHouseOptions, node: &str) -> Result<AuditMirror> {
        let culprit = Culprit {
            url: opts.url.clone(),
            database: opts.database.clone(),
            layout: Layout {
                cluster: opts.cluster.clone(),
            },
        };
        if !valid_database(&opts.database) {
            return Err(StoreError::InvalidQuery(format!(
                "clickhouse at {}: invalid database name {:?}: letters, digits and '_' only",
                opts.url, opts.database
            )));
        }
        let mut base = Client::default()
            .with_url(&opts.url)
            .with_user(&opts.user)
            .with_validation(false);
        if !opts.password.is_empty() {
            base = base.with_password(&opts.password);
        }
        let mut client = base.clone().with_database(&opts.database);
        if culprit.layout.cluster.is_some() {
            client = client.with_setting("insert_distributed_sync", "1");
        }
        Ok(AuditMirror {
            base,
            client,
            culprit,
            node: node.to_owned(),
        })
    }

    /// Create the database and the `audit` table when absent.
    pub async fn create_table(&self) -> Result<()> {
        let database = &self.culprit.database;
        self.base
            .query(&format!(
                "CREATE DATABASE IF NOT EXISTS {database}{}",
                self.culprit.layout.on_cluster()
            ))
            .execute()
            .await
            .map_err(|e| self.culprit.error("create database", e))?;
        let tables = audit_tables(&self.culprit.layout, database);
        for ddl in tables {
            self.client
                .query(&ddl)
                .execute()
                .await
                .map_err(|e| self.culprit.error("create the audit table", e))?;
        }
        let on = self.culprit.layout.on_cluster();
        for table in audit_table_names(&self.culprit.layout) {
            let has: Vec<String> = self
                .client
                .query("SELECT name FROM system.columns WHERE database = ? AND table = ?")
                .bind(database.as_str())
                .bind(table.as_str())
                .fetch_all::<String>()
                .await
                .map_err(|e| self.culprit.error("reading the audit table's columns", e))?;
            for (column, ty) in AUDIT_ADDED_COLUMNS {
                if has.iter().any(|c| c == column) {
                    continue;
                }
                self.client
                    .query(&format!("ALTER TABLE {table}{on} ADD COLUMN {column} {ty}"))
                    .execute()
                    .await
                    .map_err(|e| self.culprit.error("adding a column to the audit table", e))?;
            }
        }
        Ok(())
    }

    /// The newest entry the copy holds (0: none).
    pub async fn mirrored_seq(&self) -> Result<u64> {
        self.client
            .query("SELECT max(seq) FROM audit WHERE node = ?")
            .bind(&self.node)
            .fetch_one::<u64>()
            .await
            .map_err(|e| self.culprit.error("reading the newest audit entry", e))
    }

    /// Copy every entry of `log` the table lacks, oldest first. Returns how many were copied.
    pub async fn sync(&self, log: &Arc<AuditLog>) -> Result<usize> {
        let mut after = self.mirrored_seq().await?;
        let mut copied = 0;
        loop {
            let read = log.clone();
            let entries = tokio::task::spawn_blocking(move || read.entries(after, BATCH))
                .await
                .map_err(|e| self.culprit.error("reading the audit log", e))??;
            let Some(last) = entries.last() else {
                return Ok(copied);
            };
            let last_seq = last.seq;
            self.insert(&entries).await?;
            copied += entries.len();
            after = last_seq;
        }
    }

    async fn insert(&self, entries: &[AuditEntry]) -> Result<()> {
        let err = |e| self.culprit.error("inserting audit entries", e);
        let mut insert = self.client.insert::<AuditRow>("audit").await.map_err(err)?;
        for e in entries {
            let r = &e.record;
            insert
                .write(&AuditRow {
                    node: self.node.clone(),
                    month: r.at.yyyymmdd() / 100,
                    seq: e.seq,
                    at: r.at.nanos(),
                    actor: r.actor.clone(),
                    role: r.role.clone(),
                    scope: r.scope.clone(),
                    action: r.action.clone(),
                    target: r.target.clone(),
                    result: r.result,
                    prev: e.prev.clone(),
                    hash: e.hash.clone(),
                    client: r.client.clone(),
                    detail: r.detail.clone(),
                })
                .await
                .map_err(err)?;
        }
        insert.end().await.map_err(err)
    }

    /// Rows of the copy in `(seq, hash)` order, `limit` of them from row `offset` (a number
    /// stored twice comes back twice).
    pub async fn entries(&self, offset: u64, limit: usize) -> Result<Vec<AuditEntry>> {
        let rows: Vec<AuditRow> = self
            .client
            .query(&format!(
                "SELECT node, month, seq, at, actor, role, scope, action, target, result, prev, \
                 hash, client, detail FROM audit WHERE node = ? ORDER BY seq, hash LIMIT {offset}, {limit}"
            ))
            .bind(&self.node)
            .fetch_all()
            .await
            .map_err(|e| self.culprit.error("reading audit entries", e))?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                seq: r.seq,
                record: AuditRecord {
                    at: Timestamp(r.at),
                    actor: r.actor,
                    role: r.role,
                    scope: r.scope,
                    action: r.action,
                    target: r.target,
                    result: r.result,
                    client: r.client,
                    detail: r.detail,
                },
                prev: r.prev,
                hash: r.hash,
            })
            .collect())
    }

    /// Recompute the copy's chain, as [`crate::audit::verify`] does for the node's log, and
    /// check it against `head` (the sequence number and hash the node's own log holds for an
    /// entry the copy should have, and where that was read, for messages).
    pub async fn verify(&self, head: Option<(u64, String, String)>) -> Result<Verdict> {
        let mut check = ChainCheck::new(head);
        let mut offset = 0;
        loop {
            let batch = self.entries(offset, BATCH).await?;
            for e in &batch {
                if let Some(broken) = check.next(e) {
                    return Ok(broken);
                }
            }
            if batch.len() < BATCH {
                return Ok(check.finish());
            }
            offset += batch.len() as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clickhouse::Cluster;

    #[test]
    fn one_server_gets_a_plain_merge_tree_and_a_cluster_a_distributed_table() {
        let one = audit_tables(&Layout::default(), "onewall");
        assert_eq!(one.len(), 1);
        assert!(one[0].starts_with("CREATE TABLE IF NOT EXISTS audit ("));
        assert!(one[0].contains("ENGINE = MergeTree()") && one[0].contains("ORDER BY (node, seq)"));
        let replicated = Layout {
            cluster: Some(Cluster {
                name: "prov".into(),
                replicated: true,
            }),
        };
        let ddl = audit_tables(&replicated, "onewall");
        assert!(ddl[0].starts_with("CREATE TABLE IF NOT EXISTS audit_local ON CLUSTER prov ("));
        assert!(ddl[0].contains("ReplicatedMergeTree('/clickhouse/tables/{shard}/onewall/audit'"));
        assert!(ddl[1].contains("Distributed(prov, onewall, audit_local, cityHash64(node))"));
    }
}
