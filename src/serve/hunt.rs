//! The API's hunting through uploaded files (`POST /api/v1/hunt`, [`onewall_api::hunt`]):
//! the replay core ([`crate::replay::hunt`]) over the node's live rule set, so a file is
//! read and matched exactly as `onewall replay` and the detect stage would (packs, pipelines,
//! overlays of the caller's region). Nothing reaches the store.

use std::path::Path;
use std::sync::Arc;

use onewall_api::hunt::{ApiConfig, HuntReport, HuntService, Hunter};
use onewall_model::RegionCode;
use onewall_rules::pack::RuleSetHandle;

use crate::replay::hunt::{self as core, Location};
use crate::replay::input::Input;

/// Runs a hunt on the rules the detect stage runs.
#[derive(Debug)]
pub struct NodeHunter {
    rules: RuleSetHandle,
    timezone: time::UtcOffset,
    /// Worker threads of one hunt: half the cores, so detection keeps the rest.
    threads: usize,
}

impl NodeHunter {
    pub fn new(rules: RuleSetHandle, timezone: time::UtcOffset) -> NodeHunter {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        NodeHunter {
            rules,
            timezone,
            threads: (cores / 2).max(1),
        }
    }
}

/// The service the API router gets: this hunter, `[api]`'s bounds, uploads under the data
/// directory's `hunt/`.
pub fn service(rules: RuleSetHandle, r: &crate::config::Resolved) -> HuntService {
    let config: &ApiConfig = &r.config.api;
    HuntService::new(
        Arc::new(NodeHunter::new(rules, r.listen.http_source.timezone)),
        config,
        r.config.store.path.join("hunt"),
    )
}

/// Hits into the report.
struct Collect<'a>(&'a mut HuntReport);

impl core::Sink for Collect<'_> {
    fn hit(&mut self, hit: &core::Hit, _input: &str) -> std::io::Result<()> {
        let position = match hit.location {
            Some(Location::Record(id)) => format!("record {id}"),
            Some(Location::Line(n)) => format!("line {n}"),
            None => String::new(),
        };
        self.0.hit(position, hit.alert.clone(), hit.event.as_ref());
        Ok(())
    }
}

/// `name: where: why` (the core's error text) as where and why.
fn split_error<'a>(name: &str, text: &'a str) -> (String, &'a str) {
    let text = text
        .strip_prefix(name)
        .and_then(|t| t.strip_prefix(": "))
        .unwrap_or(text);
    match text.split_once(": ") {
        Some((at, why))
            if ["record", "chunk", "line"]
                .iter()
                .any(|w| at.starts_with(w)) =>
        {
            (at.to_owned(), why)
        }
        _ => (chunk_named(text).unwrap_or_default(), text),
    }
}

/// `chunk N` of an EVTX reader's message (`... chunk number 6: ...`, `... of chunk 7 ...`).
fn chunk_named(text: &str) -> Option<String> {
    let rest = text
        .split_once("chunk number ")
        .or_else(|| text.split_once("chunk "))?
        .1;
    let n = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    (n > 0).then(|| format!("chunk {}", &rest[..n]))
}

impl Hunter for NodeHunter {
    fn hunt(&self, path: &Path, region: RegionCode, report: &mut HuntReport) -> Result<(), String> {
        let rules = self.rules.current();
        let opts = core::Options {
            region,
            timezone: self.timezone,
            threads: self.threads,
        };
        let inputs = [Input::Path(path.to_owned())];
        let name = inputs[0].name();
        let summary = core::hunt(&inputs, &rules, &opts, &mut Collect(report))
            .map_err(|e| format!("reading the upload: {e}"))?;
        report.format = summary
            .kinds
            .first()
            .map(|(_, k)| k.clone())
            .unwrap_or_default();
        report.events = summary.events as u64;
        report.parse_errors = summary.parse_errors as u64;
        for (_, why) in &summary.unreadable {
            report.read_error("file", why.replace(&name, "the upload"));
        }
        for e in &summary.errors {
            let (at, why) = split_error(&name, e);
            report.read_error(at, why);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_core_errors_are_split_into_where_and_why() {
        assert_eq!(
            split_error("/d/u", "/d/u: chunk 6: bad magic"),
            ("chunk 6".to_owned(), "bad magic")
        );
        assert_eq!(
            split_error("/d/u", "/d/u: record 12: no: data"),
            ("record 12".to_owned(), "no: data")
        );
        assert_eq!(
            split_error("/d/u", "/d/u: Failed to parse chunk header"),
            (String::new(), "Failed to parse chunk header")
        );
        let why = "Failed to parse chunk number 10: Failed to parse chunk header";
        assert_eq!(split_error("/d/u", why).0, "chunk 10");
        let why = "Failed to read the record at offset 0x2060 of chunk 7 (file offset 0x73060)";
        assert_eq!(split_error("/d/u", why), ("chunk 7".to_owned(), why));
    }
}
