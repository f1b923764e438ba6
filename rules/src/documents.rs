//! A rule source's YAML documents sorted out: rules compiled, Sigma filters set aside for the
//! engine to apply, correlations left to `correlation::load_correlations`, anomaly detectors
//! (documents with an `anomaly:` key) left to the `onewall-anomaly` crate.

use serde_norway::Value as Yaml;

use crate::error::{LoadReport, RuleError};
use crate::filter::{FilterDoc, compile_filter, is_filter};
use crate::modifier::Placeholders;
use crate::rule::{CompiledRule, RuleInfo, compile_document};
use crate::source::RuleSource;

/// Compile every document of `src`, pushing rules onto `out` and counting into `report`.
pub(crate) fn compile_source(
    src: &RuleSource,
    out: &mut Vec<(RuleInfo, CompiledRule)>,
    filters: &mut Vec<FilterDoc>,
    report: &mut LoadReport,
    ph: &Placeholders,
) {
    let mut index = 0usize;
    let parsed = src.documents();
    for value in &parsed.docs {
        match value {
            // An empty document (an empty file, a trailing `---`) is not a rule.
            Yaml::Null => continue,
            Yaml::Mapping(m) if is_filter(m) => match compile_filter(&src.path, m, ph) {
                // Filters are not rules: counted only when they fail (or apply to nothing).
                Ok(f) => filters.push(f),
                Err(e) => {
                    report.total += 1;
                    report.errors.push(e);
                }
            },
            // Correlation documents are read by `correlation::load_correlations` (and run by
            // the correlator); they keep their place in the count that derived ids use.
            Yaml::Mapping(m) if m.contains_key("correlation") => index += 1,
            // Anomaly detector documents are read by the `onewall-anomaly` crate (which
            // compiles their selections itself); they too keep their place in the count.
            Yaml::Mapping(m) if m.contains_key("anomaly") => index += 1,
            value => {
                index += 1;
                report.total += 1;
                match compile_document(&src.path, index, value, ph) {
                    Ok(rule) => out.push(rule),
                    Err(e) => report.errors.push(e),
                }
            }
        }
    }
    if let Some(e) = &parsed.error {
        // The YAML stream cannot go on past a syntax error: report once, stop the file.
        report.total += 1;
        report
            .errors
            .push(RuleError::new(&src.path, None, format!("bad yaml: {e}")));
    }
}
