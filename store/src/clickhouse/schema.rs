//! Tables, and the server features they may use.

/// What the connected server supports beyond ClickHouse 18.16, from `SELECT version()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// `LowCardinality(String)` without an experimental setting (19.10 and later; 18.16 needs
    /// `allow_experimental_low_cardinality_type` in the server's profile, which newer servers
    /// reject, so onewall never sends it).
    pub low_cardinality: bool,
    /// Table TTL (19.6 and later).
    pub ttl: bool,
    /// `IPv4StringToNumOrDefault` and its IPv6 twin (22.3 and later, where the plain functions
    /// throw on text that is not an address; before, they return zero).
    pub ip_or_default: bool,
}

impl Features {
    /// The features of a server reporting `version` (`18.16.1`, `24.8.4.13`); an unreadable
    /// version gets none.
    pub fn for_version(version: &str) -> Features {
        let mut parts = version.trim().split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next().flatten().unwrap_or(0);
        let minor = parts.next().flatten().unwrap_or(0);
        Features {
            low_cardinality: (major, minor) >= (19, 10),
            ttl: (major, minor) >= (19, 6),
            ip_or_default: (major, minor) >= (22, 3),
        }
    }

    /// A string column with few distinct values.
    fn few_strings(self) -> &'static str {
        if self.low_cardinality {
            "LowCardinality(String)"
        } else {
            "String"
        }
    }
}

/// Where the tables live: one server, or a cluster of them.
#[derive(Debug, Clone, Default)]
pub(super) struct Layout {
    /// The cluster, when there is one.
    pub cluster: Option<super::Cluster>,
}

impl Layout {
    /// ` ON CLUSTER name` for DDL that every server must run (replicated clusters, whose
    /// distributed DDL queue lives in ZooKeeper); empty otherwise.
    pub fn on_cluster(&self) -> String {
        match &self.cluster {
            Some(c) if c.replicated => format!(" ON CLUSTER {}", c.name),
            _ => String::new(),
        }
    }

    /// The table holding the rows on each server: `events_local` under a Distributed
    /// `events` in a cluster, `events` itself on one server.
    pub fn local(&self, table: &str) -> String {
        match &self.cluster {
            Some(_) => format!("{table}_local"),
            None => table.to_owned(),
        }
    }
}

/// The `CREATE TABLE IF NOT EXISTS` statements, in order, for `database` laid out as
/// `layout`. Column order matches the row types in `events.rs` and `records.rs`.
pub(super) fn tables(f: Features, layout: &Layout, database: &str) -> Vec<String> {
    let plain = single_tables(f);
    let Some(cluster) = &layout.cluster else {
        return plain;
    };
    let on = layout.on_cluster();
    let mut out = Vec::new();
    for (ddl, (table, shard_by)) in plain.iter().zip([
        ("events", "id"),
        ("alerts", "id"),
        ("incidents", "id"),
        ("incident_alerts", "incident"),
    ]) {
        let local = layout.local(table);
        let mut ddl = ddl.replacen(
            &format!("CREATE TABLE IF NOT EXISTS {table} "),
            &format!("CREATE TABLE IF NOT EXISTS {local}{on} "),
            1,
        );
        if cluster.replicated {
            // ReplacingMergeTree(v) → ReplicatedReplacingMergeTree('/path', '{replica}', v).
            let path = format!("'/clickhouse/tables/{{shard}}/{database}/{table}', '{{replica}}'");
            ddl = ddl
                .replacen(
                    "ReplacingMergeTree()",
                    &format!("ReplicatedReplacingMergeTree({path})"),
                    1,
                )
                .replacen(
                    "ReplacingMergeTree(version)",
                    &format!("ReplicatedReplacingMergeTree({path}, version)"),
                    1,
                );
        }
        out.push(ddl);
        // Rows are spread by id (an incident's evidence by its incident), so every version
        // of an incident is on one shard.
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {table}{on} AS {local} \
             ENGINE = Distributed({}, {database}, {local}, cityHash64({shard_by}))",
            cluster.name
        ));
    }
    out
}

/// `ALTER TABLE events MODIFY TTL` keeping `days` of events, for servers with TTL.
pub(super) fn events_ttl(layout: &Layout, days: u32) -> String {
    format!(
        "ALTER TABLE {}{} MODIFY TTL toDate(intDiv(time, 1000000000)) + toIntervalDay({days})",
        layout.local("events"),
        layout.on_cluster()
    )
}

fn single_tables(f: Features) -> Vec<String> {
    let few = f.few_strings();
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS events (
                day UInt32,
                region UInt32,
                time Int64,
                id FixedString(16),
                received Int64,
                collector {few},
                peer Nullable(String),
                format {few},
                raw String,
                parse_error Nullable(String),
                fields String,
                host_name Nullable(String),
                source_ip Nullable(String),
                destination_ip Nullable(String),
                user_name Nullable(String),
                process_name Nullable(String),
                event_action Nullable(String),
                field_names Array(String),
                field_values Array(String)
            ) ENGINE = ReplacingMergeTree()
            PARTITION BY day
            ORDER BY (region, time, id)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS alerts (
                month UInt32,
                time Int64,
                id FixedString(16),
                created Int64,
                rule_id {few},
                severity UInt8,
                region UInt32,
                body String
            ) ENGINE = ReplacingMergeTree()
            PARTITION BY month
            ORDER BY (time, id)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS incidents (
                id FixedString(16),
                version UInt64,
                status {few},
                severity UInt8,
                region UInt32,
                group_key String,
                first_seen Int64,
                last_seen Int64,
                updated Int64,
                body String
            ) ENGINE = ReplacingMergeTree(version)
            ORDER BY id"
        ),
        "CREATE TABLE IF NOT EXISTS incident_alerts (
                incident FixedString(16),
                seq UInt64,
                alert FixedString(16),
                removed UInt8
            ) ENGINE = ReplacingMergeTree()
            ORDER BY (incident, seq, removed)"
            .to_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(!Features::for_version("18.16.1").low_cardinality);
        assert!(!Features::for_version("19.9.2.4").low_cardinality);
        assert!(Features::for_version("19.10.1").low_cardinality);
        assert!(Features::for_version("26.9.1.1").low_cardinality);
        assert!(!Features::for_version("garbage").low_cardinality);
    }

    #[test]
    fn old_servers_get_plain_strings() {
        let ddl = tables(Features::for_version("18.16.1"), &Layout::default(), "db").join("\n");
        assert!(!ddl.contains("LowCardinality"));
        assert!(!ddl.contains("TTL"));
        assert!(!Features::for_version("18.16.1").ttl);
        assert!(Features::for_version("24.8.4.13").ttl);
    }

    #[test]
    fn clusters_get_local_and_distributed_tables() {
        let replicated = Layout {
            cluster: Some(super::super::Cluster {
                name: "prov".into(),
                replicated: true,
            }),
        };
        let ddl = tables(Features::for_version("24.8"), &replicated, "onewall");
        assert_eq!(ddl.len(), 8);
        assert!(
            ddl[7].contains(
                "Distributed(prov, onewall, incident_alerts_local, cityHash64(incident))"
            ),
            "{}",
            ddl[7]
        );
        assert!(ddl[0].starts_with("CREATE TABLE IF NOT EXISTS events_local ON CLUSTER prov "));
        assert!(ddl[0].contains(
            "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/onewall/events', '{replica}')"
        ));
        assert!(ddl[1].contains("events ON CLUSTER prov AS events_local"));
        assert!(ddl[1].contains("Distributed(prov, onewall, events_local, cityHash64(id))"));
        assert!(ddl[4].contains("'{replica}', version)"), "{}", ddl[4]);
        let plain = Layout {
            cluster: Some(super::super::Cluster {
                name: "one".into(),
                replicated: false,
            }),
        };
        let ddl = tables(Features::for_version("18.16.1"), &plain, "onewall");
        assert!(
            !ddl.iter()
                .any(|d| d.contains("ON CLUSTER") || d.contains("Replicated"))
        );
        assert_eq!(
            events_ttl(&replicated, 186),
            "ALTER TABLE events_local ON CLUSTER prov MODIFY TTL \
             toDate(intDiv(time, 1000000000)) + toIntervalDay(186)"
        );
    }
}
