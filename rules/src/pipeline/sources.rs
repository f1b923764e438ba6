//! Running a [`PipelineSet`] over rule sources before they are compiled.

use serde_norway::Value as Yaml;

use super::set::PipelineSet;
use crate::{LoadReport, RuleError, RuleSource};

/// Transform every document of every source. A document the pipelines refuse (e.g. no
/// pipeline routes its logsource) is dropped and reported in `report`, counted as one rule.
/// A source that is not valid YAML is passed on unchanged, for the compiler to report.
pub(crate) fn transform_sources(
    set: &PipelineSet,
    sources: impl IntoIterator<Item = RuleSource>,
    report: &mut LoadReport,
) -> Vec<RuleSource> {
    rewrite_sources(sources, report, |_, doc| {
        set.apply(doc).map(DocAction::Keep)
    })
}

/// What to do with one rule document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocAction {
    /// Keep it; `true` when it was changed.
    Keep(bool),
    /// Leave it out without an error (e.g. disabled by a pack).
    Drop,
}

/// Run `f` over every map document of every source; an `Err` drops the document and reports
/// it (counted as one rule). A source that is not valid YAML is passed on unchanged, for the
/// compiler to report; a source nothing changed keeps its text. The sources returned carry
/// their documents, changed or not.
pub(crate) fn rewrite_sources(
    sources: impl IntoIterator<Item = RuleSource>,
    report: &mut LoadReport,
    mut f: impl FnMut(&str, &mut serde_norway::Mapping) -> Result<DocAction, String>,
) -> Vec<RuleSource> {
    let mut out = Vec::new();
    for mut src in sources {
        let parsed = src.take_documents();
        if parsed.error.is_some() {
            out.push(RuleSource::new(src.path, src.text));
            continue;
        }
        let docs = parsed.docs;
        let mut changed = false;
        let mut kept = Vec::with_capacity(docs.len());
        for mut doc in docs {
            if let Yaml::Mapping(m) = &mut doc {
                match f(&src.path, m) {
                    Ok(DocAction::Keep(did)) => changed |= did,
                    Ok(DocAction::Drop) => {
                        changed = true;
                        continue;
                    }
                    Err(reason) => {
                        let id = m.get("id").and_then(Yaml::as_str);
                        report.total += 1;
                        report.errors.push(RuleError::new(&src.path, id, reason));
                        changed = true;
                        continue;
                    }
                }
            }
            kept.push(doc);
        }
        // The compiler takes the documents as they are; the text is written from them only
        // when a reader of the text asks (see `RuleSource::write_text`).
        out.push(RuleSource::with_docs(src.path, src.text, kept, changed));
    }
    out
}

impl crate::Engine {
    /// As [`crate::Engine::compile_with`], with every rule document first transformed by
    /// `pipelines` (field names mapped, routing conditions added, logsources changed). A rule
    /// the pipelines refuse is reported and skipped. An empty set changes nothing.
    pub fn compile_with_pipelines(
        sources: impl IntoIterator<Item = crate::RuleSource>,
        placeholders: &crate::Placeholders,
        pipelines: &PipelineSet,
    ) -> (crate::Engine, crate::LoadReport) {
        if pipelines.is_empty() {
            return Self::compile_with(sources, placeholders);
        }
        let mut refused = crate::LoadReport::default();
        let sources = transform_sources(pipelines, sources, &mut refused);
        let (engine, mut report) = Self::compile_with(sources, placeholders);
        report.merge(refused);
        (engine, report)
    }
}
