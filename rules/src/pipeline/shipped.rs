//! The pipelines shipped with onewall (`rules/pipelines/*.yml`), embedded at build time.

use super::definition::{Pipeline, PipelineError};

/// `(name, YAML text)` of every shipped pipeline; the name is the file's stem.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "windows-sysmon",
        include_str!("../../pipelines/windows-sysmon.yml"),
    ),
    (
        "windows-audit",
        include_str!("../../pipelines/windows-audit.yml"),
    ),
    (
        "windows-logsource",
        include_str!("../../pipelines/windows-logsource.yml"),
    ),
    (
        "windows-winlogbeat",
        include_str!("../../pipelines/windows-winlogbeat.yml"),
    ),
    (
        "windows-nxlog",
        include_str!("../../pipelines/windows-nxlog.yml"),
    ),
    (
        "windows-evtx",
        include_str!("../../pipelines/windows-evtx.yml"),
    ),
    ("linux", include_str!("../../pipelines/linux.yml")),
    ("webserver", include_str!("../../pipelines/webserver.yml")),
    ("proxy", include_str!("../../pipelines/proxy.yml")),
    ("firewall", include_str!("../../pipelines/firewall.yml")),
    ("dns", include_str!("../../pipelines/dns.yml")),
    ("flow", include_str!("../../pipelines/flow.yml")),
];

/// The names of the shipped pipelines.
pub fn shipped_names() -> Vec<&'static str> {
    SHIPPED.iter().map(|(n, _)| *n).collect()
}

/// The shipped pipeline `name`, parsed.
pub fn shipped(name: &str) -> Result<Pipeline, PipelineError> {
    let (_, text) = SHIPPED
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| PipelineError {
            name: name.to_owned(),
            reason: format!(
                "no shipped pipeline has this name (known: {})",
                shipped_names().join(", ")
            ),
        })?;
    Pipeline::from_yaml(name, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_pipeline_parses_and_is_embedded() {
        for (name, _) in SHIPPED {
            let p = shipped(name).expect(name);
            assert_eq!(p.name, *name);
        }
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("pipelines dir")
            .filter_map(|e| e.ok())
            .map(|e| {
                e.file_name()
                    .to_string_lossy()
                    .trim_end_matches(".yml")
                    .to_owned()
            })
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = shipped_names().iter().map(|s| s.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }
}
