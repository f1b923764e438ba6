//! Helpers for the storage end-to-end tests: the ClickHouse server the test run started, a
//! scratch database on it, and plain SQL over its HTTP interface.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly
#![allow(dead_code)]

use std::time::Duration;

/// The ClickHouse server's HTTP URL (`ONEWALL_CLICKHOUSE_URL`), or `None` with a message when
/// none is configured outside CI. Under `CI=true` a missing server fails the test.
pub fn clickhouse_url() -> Option<String> {
    match std::env::var("ONEWALL_CLICKHOUSE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "CI=true but ONEWALL_CLICKHOUSE_URL is not set: the ClickHouse tests must run in CI \
             (start a server with `eval \"$(scripts/clickhouse)\"`)"
        ),
        _ => {
            eprintln!(
                "ClickHouse test not run: ONEWALL_CLICKHOUSE_URL is not set \
                 (start a server with `eval \"$(scripts/clickhouse)\"`)"
            );
            None
        }
    }
}

/// A database name no other test or run uses.
pub fn scratch_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}_{nanos:x}_{}", std::process::id())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// Run `sql` on the server at `url`; the body of the answer, or the server's error text.
pub fn try_sql(url: &str, sql: &str) -> Result<String, String> {
    let mut resp = agent()
        .post(url)
        .send(sql.as_bytes())
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    if status == 200 {
        Ok(body)
    } else {
        Err(format!("{status}: {body}"))
    }
}

/// Run `sql`, panicking on an error.
pub fn sql(url: &str, sql: &str) -> String {
    try_sql(url, sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Drops a database when dropped.
pub struct Scratch {
    pub url: String,
    pub database: String,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = try_sql(
            &self.url,
            &format!("DROP DATABASE IF EXISTS {}", self.database),
        );
    }
}

/// `[store]` for a node on ClickHouse at `url`, database `database`, with `extra` lines in
/// `[store.clickhouse]`.
pub fn clickhouse_store(url: &str, database: &str, extra: &str) -> String {
    format!(
        "backend = \"clickhouse\"\n[store.clickhouse]\nurl = \"{url}\"\ndatabase = \"{database}\"\n\
         batch_linger_ms = 200\n{extra}\n"
    )
}

/// A node config on 127.0.0.1 port 0, storing under `data`, with `store` lines in `[store]`
/// (after `path`) and `extra` at the end.
pub fn node_config(data: &std::path::Path, store: &str, extra: &str) -> String {
    format!(
        r#"version = 1
[node]
name = "storage"
region = "410100"
[syslog]
udp = "127.0.0.1:0"
tcp = "127.0.0.1:0"
[http]
listen = "127.0.0.1:0"
[flow]
netflow = "127.0.0.1:0"
sflow = "127.0.0.1:0"
[store]
path = "{}"
{store}
{extra}
"#,
        data.display()
    )
}
