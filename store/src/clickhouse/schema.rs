//! Tables, and the server features they may use.

/// What the connected server supports beyond ClickHouse 18.16, from `SELECT version()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// `LowCardinality(String)` without an experimental setting (19.10 and later; 18.16 needs
    /// `allow_experimental_low_cardinality_type` in the server's profile, which newer servers
    /// reject, so onewall never sends it).
    pub low_cardinality: bool,
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

/// The `CREATE TABLE IF NOT EXISTS` statements, in order. Column order matches the row types
/// in `events.rs` and `records.rs`.
pub(super) fn tables(f: Features) -> Vec<String> {
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
        let ddl = tables(Features::for_version("18.16.1")).join("\n");
        assert!(!ddl.contains("LowCardinality"));
        assert!(!ddl.contains("TTL"));
    }
}
