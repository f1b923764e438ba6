//! `onewall assets import FILE` and `onewall assets export`: the registry and scan results of
//! a running node, through its API (`POST /api/v1/assets/import`, `GET
//! /api/v1/assets/export`): the node stays the only writer of its `assets.sqlite`, and every
//! import is audited and scoped like any API call.
//!
//! The node's address is `--url`, else the `[http] listen` of `--config`; the token is
//! `--token`, else `ONEWALL_TOKEN`, else the bootstrap `admin.token` in the node's data
//! directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

/// Where the node is and who asks.
#[derive(Debug)]
pub struct NodeArgs<'a> {
    pub config: Option<&'a Path>,
    pub url: Option<String>,
    pub token: Option<String>,
}

/// The node's base URL and the token (also `onewall intel import`'s).
pub(super) fn reach(args: NodeArgs<'_>) -> anyhow::Result<(String, String)> {
    let resolved = crate::config::load(args.config)?;
    let base = match args.url {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => super::intel::node_url(&resolved.config.http.listen)?,
    };
    let token = args
        .token
        .or_else(|| {
            std::env::var("ONEWALL_TOKEN")
                .ok()
                .filter(|t| !t.is_empty())
        })
        .or_else(|| {
            std::fs::read_to_string(resolved.config.store.path.join("admin.token"))
                .ok()
                .map(|t| t.trim().to_owned())
        })
        .context("no token: give --token or ONEWALL_TOKEN")?;
    Ok((base, token))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into()
}

/// The error message of a refusal's body (else the body).
fn reason(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| text.to_owned())
}

/// `onewall assets import FILE [--mode merge|replace]`.
pub fn import(file: &Path, mode: &str, node: NodeArgs<'_>) -> anyhow::Result<ExitCode> {
    if mode != "merge" && mode != "replace" {
        anyhow::bail!("--mode: {mode:?} is not merge or replace");
    }
    let body = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let (base, token) = reach(node)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let url = format!("{base}/api/v1/assets/import");
    let mut resp = agent()
        .post(&url)
        .query("name", &name)
        .query("mode", mode)
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/octet-stream")
        .send(&body[..])
        .with_context(|| format!("posting to {url}"))?;
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(16 << 20)
        .read_to_string()
        .with_context(|| format!("reading the answer of {url}"))?;
    if !(200..300).contains(&status) {
        eprintln!(
            "onewall assets import: {} refused ({status}): {}",
            file.display(),
            reason(&text)
        );
        return Ok(ExitCode::FAILURE);
    }
    let answer: serde_json::Value = serde_json::from_str(&text).context("the answer")?;
    print!("{}", describe(&file.display().to_string(), &answer));
    Ok(ExitCode::SUCCESS)
}

/// The answer of an import in lines: what was imported, then every refused row.
fn describe(file: &str, a: &serde_json::Value) -> String {
    let mut out = String::new();
    let format = a["format"].as_str().unwrap_or("?");
    if let Some(r) = a["registry"].as_object() {
        out.push_str(&format!(
            "{file}: {format}: {} rows; systems added {}, updated {}, unchanged {}, removed {}\n",
            r["rows"], r["added"], r["updated"], r["unchanged"], r["removed"]
        ));
    }
    if let Some(s) = a["scan"].as_object() {
        out.push_str(&format!(
            "{file}: {format}: {} hosts, {} ports; findings new {}, again {}, reopened {}, fixed {}\n",
            s["hosts"], s["ports"], s["new"], s["again"], s["reopened"], s["fixed"]
        ));
    }
    for r in a["refused"].as_array().into_iter().flatten() {
        let p = &r["place"];
        let place = match p["kind"].as_str() {
            Some("row") => match p["column"].as_str() {
                Some(c) => format!("row {}, column {c}", p["row"]),
                None => format!("row {}", p["row"]),
            },
            Some("element") => format!("element {}", p["path"].as_str().unwrap_or("?")),
            Some("line") => format!("line {}", p["line"]),
            _ => "the file".to_owned(),
        };
        out.push_str(&format!(
            "refused: {place}: {}\n",
            r["reason"].as_str().unwrap_or("")
        ));
    }
    out
}

/// `onewall assets export --format csv|xlsx [-o FILE]`.
pub fn export(
    format: &str,
    output: Option<&PathBuf>,
    node: NodeArgs<'_>,
) -> anyhow::Result<ExitCode> {
    if format != "csv" && format != "xlsx" {
        anyhow::bail!("--format: {format:?} is not csv or xlsx");
    }
    let (base, token) = reach(node)?;
    let url = format!("{base}/api/v1/assets/export");
    let mut resp = agent()
        .get(&url)
        .query("format", format)
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .with_context(|| format!("asking {url}"))?;
    let status = resp.status().as_u16();
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(256 << 20)
        .read_to_vec()
        .with_context(|| format!("reading the answer of {url}"))?;
    if !(200..300).contains(&status) {
        eprintln!(
            "onewall assets export: refused ({status}): {}",
            reason(&String::from_utf8_lossy(&bytes))
        );
        return Ok(ExitCode::FAILURE);
    }
    match output {
        Some(path) => {
            std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "onewall assets export: {} bytes to {}",
                bytes.len(),
                path.display()
            );
        }
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_told_with_every_refused_row() {
        let a = serde_json::json!({
            "format": "registry_csv", "kind": "registry",
            "registry": {"rows": 3, "added": 2, "updated": 0, "unchanged": 0, "removed": 0},
            "scan": null,
            "refused": [{"place": {"kind": "row", "row": 3, "column": "等保级别"},
                         "reason": "等保级别 \"6\" is not 1–5"}],
        });
        let text = describe("list.csv", &a);
        assert!(text.contains("3 rows; systems added 2"), "{text}");
        assert!(
            text.contains("refused: row 3, column 等保级别: 等保级别 \"6\" is not 1–5"),
            "{text}"
        );
    }
}
