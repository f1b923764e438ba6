//! `onewall intel import FILE`: import a STIX 2.1 bundle into a running node, as
//! `POST /api/v1/intel/bundles` does (it posts the file there: the node stays the only writer
//! of its `intel.sqlite`, and the import is audited like any API call), and print the receipt.
//!
//! The node's address is `--url`, else the `[http] listen` of `--config` (a wildcard address
//! is reached on loopback); the admin token is `--token`, else `ONEWALL_TOKEN`, else the
//! bootstrap `admin.token` in the node's data directory.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

/// What the command was given.
#[derive(Debug)]
pub struct Import<'a> {
    pub file: &'a Path,
    pub config: Option<&'a Path>,
    pub url: Option<String>,
    pub token: Option<String>,
}

pub fn import(args: Import<'_>) -> anyhow::Result<ExitCode> {
    let body =
        std::fs::read(args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let (base, token) = super::assets::reach(super::assets::NodeArgs {
        config: args.config,
        url: args.url,
        token: args.token,
    })?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into();
    let url = format!("{base}/api/v1/intel/bundles");
    let mut resp = agent
        .post(&url)
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(&body[..])
        .with_context(|| format!("posting to {url}"))?;
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .with_context(|| format!("reading the answer of {url}"))?;
    if !(200..300).contains(&status) {
        let reason = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or(text);
        eprintln!(
            "onewall intel import: {} refused ({status}): {reason}",
            args.file.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    let receipt: serde_json::Value = serde_json::from_str(&text).context("the receipt")?;
    println!("{}", serde_json::to_string_pretty(&receipt)?);
    Ok(ExitCode::SUCCESS)
}

/// The URL of a node listening on `listen` (`0.0.0.0:8080` is reached on 127.0.0.1).
pub(crate) fn node_url(listen: &str) -> anyhow::Result<String> {
    let addr: std::net::SocketAddr = listen
        .parse()
        .with_context(|| format!("http.listen: {listen:?} is not an address; give --url"))?;
    if addr.port() == 0 {
        bail!("http.listen: port 0 is chosen when the node starts; give --url");
    }
    let host = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        ip => ip.to_string(),
    };
    Ok(format!("http://{host}:{}", addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_is_reached_where_it_listens() {
        assert_eq!(
            node_url("0.0.0.0:8080").unwrap_or_default(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            node_url("[::]:9000").unwrap_or_default(),
            "http://[::1]:9000"
        );
        assert_eq!(
            node_url("10.1.2.3:80").unwrap_or_default(),
            "http://10.1.2.3:80"
        );
        assert!(node_url("127.0.0.1:0").is_err());
    }
}
