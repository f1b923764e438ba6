//! `onewall check-config FILE`: read a configuration and report every mistake in it, one
//! `section.key: reason` line each.

use std::path::Path;
use std::process::ExitCode;

use crate::config;

/// Exit 0 with a summary when the file checks, 1 listing every mistake when it does not.
pub fn run(file: &Path) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
    match config::parse(&text) {
        Ok(r) => {
            // The geo-IP databases are read as the node would read them at startup.
            if let Err(e) = crate::pipeline::geo::open(&r.config.intel.geo) {
                eprintln!("{}: {e:#}", file.display());
                return Ok(ExitCode::FAILURE);
            }
            println!(
                "{}: ok (node {} in region {}, {} regions known)",
                file.display(),
                r.config.node.name,
                r.region,
                r.regions.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            eprint!("{}: {errors}", file.display());
            Ok(ExitCode::FAILURE)
        }
    }
}
