//! Checks of what a user sends (texts, lists, file names) and the words audit records use.

use onewall_model::supervise::{BulletinKind, Step, StepKind, WarningLevel};

use crate::{Result, SuperviseError};

/// The longest title, in characters.
pub(super) const TITLE_MAX: usize = 200;
/// The longest body, answer, rectification or review text, in characters.
pub(super) const TEXT_MAX: usize = 100_000;
/// The most CVEs, indicators, incidents or recipients a bulletin names.
pub(super) const LIST_MAX: usize = 1000;
/// The longest CVE id, indicator, department or file name, in characters.
pub(super) const ITEM_MAX: usize = 512;

pub(super) fn invalid(msg: impl Into<String>) -> SuperviseError {
    SuperviseError::Invalid(msg.into())
}

/// Check a text field: non-empty when `required`, at most `max` characters.
pub(super) fn check_text(field: &str, text: &str, required: bool, max: usize) -> Result<()> {
    if required && text.trim().is_empty() {
        return Err(invalid(format!("{field}: must not be empty")));
    }
    let n = text.chars().count();
    if n > max {
        return Err(invalid(format!(
            "{field}: {n} characters, at most {max} are allowed"
        )));
    }
    Ok(())
}

/// Check a list of short texts (`cves`, `indicators`).
pub(super) fn check_items(
    field: &str,
    items: &[String],
    each: impl Fn(&str) -> bool,
) -> Result<()> {
    if items.len() > LIST_MAX {
        return Err(invalid(format!(
            "{field}: {} entries, at most {LIST_MAX} are allowed",
            items.len()
        )));
    }
    for (i, it) in items.iter().enumerate() {
        check_text(&format!("{field}[{i}]"), it, true, ITEM_MAX)?;
        if !each(it) {
            return Err(invalid(format!("{field}[{i}]: {it:?} is not valid")));
        }
    }
    Ok(())
}

/// `CVE-YYYY-NNNN` (four or more digits).
pub(super) fn is_cve(s: &str) -> bool {
    let mut parts = s.split('-');
    let ok = |p: Option<&str>, min: usize| {
        p.is_some_and(|p| p.len() >= min && p.bytes().all(|b| b.is_ascii_digit()))
    };
    parts.next().is_some_and(|p| p.eq_ignore_ascii_case("CVE"))
        && ok(parts.next(), 4)
        && ok(parts.next(), 4)
        && parts.next().is_none()
}

/// The severity of an overdue alert: the bulletin's warning level.
pub(super) fn severity_of(level: WarningLevel) -> &'static str {
    match level {
        WarningLevel::Red => "critical",
        WarningLevel::Orange => "high",
        WarningLevel::Yellow => "medium",
        WarningLevel::Blue => "low",
    }
}

/// What the audit record of a step says beside its action.
pub(super) fn step_detail(step: &Step) -> String {
    let what = match &step.kind {
        StepKind::Sign => String::new(),
        StepKind::Answer { affected, text } => {
            format!(" affected={affected} text={}", clip(text))
        }
        StepKind::Rectify { text, attachments } => {
            let files: Vec<String> = attachments
                .iter()
                .map(|a| format!("{}:{}", a.name, a.sha256))
                .collect();
            format!(" text={} files=[{}]", clip(text), files.join(", "))
        }
        StepKind::Review { accepted, reason } => {
            format!(" accepted={accepted} reason={}", clip(reason))
        }
    };
    format!("step={} recipient={}{what}", step.id, step.recipient)
}

pub(super) fn clip(s: &str) -> String {
    const MAX: usize = 200;
    let mut out: String = s.chars().take(MAX).collect();
    if s.chars().count() > MAX {
        out.push('…');
    }
    format!("{out:?}")
}

/// A file's name as kept: its last path component, no control characters.
pub(super) fn file_name(i: usize, name: &str) -> Result<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    if base.is_empty() || base == "." || base == ".." {
        return Err(invalid(format!(
            "attachments[{i}].name: {name:?} names no file"
        )));
    }
    if base.chars().any(char::is_control) {
        return Err(invalid(format!(
            "attachments[{i}].name: {name:?} holds control characters"
        )));
    }
    check_text(&format!("attachments[{i}].name"), base, true, ITEM_MAX)?;
    Ok(base.to_owned())
}

pub(super) fn media_type(i: usize, m: &str) -> Result<String> {
    let m = m.trim();
    if m.is_empty() {
        return Ok("application/octet-stream".into());
    }
    let ok =
        m.len() <= 127 && m.contains('/') && m.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    if !ok {
        return Err(invalid(format!(
            "attachments[{i}].media_type: {m:?} is not a media type"
        )));
    }
    Ok(m.to_owned())
}

/// A bulletin kind's wire name.
pub(super) fn kind_name(k: BulletinKind) -> &'static str {
    match k {
        BulletinKind::Notice => "notice",
        BulletinKind::Rectification => "rectification",
    }
}
