//! Playbooks as YAML files: triggers, conditions, throttling and actions.
//!
//! ```yaml
//! id: notify-zhengzhou-critical
//! name: 郑州 严重事件通知
//! triggers: [incident_created, incident_changed]
//! when:
//!   grade: [I, II]            # or level: [high, critical], min_level: high
//!   region: ["410100"]        # the region's whole subtree
//!   tags: [attack.credential_access]
//!   rule: [ssh-brute-force]
//!   status: [resolved, closed]  # incidents only: their status after the change
//! throttle: { key: "{{incident.id}}", seconds: 600 }
//! actions:
//!   - email:
//!       to: [soc@example.org]
//!       subject: "【{{incident.grade}}级】{{incident.title}}"
//!       body: "{{summary}}"
//!   - webhook: { url: "https://robot.example.org/send", format: dingtalk, secret: "SEC..." }
//!   - escalate: {}
//!   - assign: { team: 郑州应急组 }
//! ```
//!
//! Reports made on schedule and bulletins received, to whoever is on duty (值班人员):
//!
//! ```yaml
//! id: weekly-report-to-duty
//! triggers: [report]              # or [bulletin]
//! when: { kind: [weekly, annual] }  # reports only: weekly, monthly, annual, period_review, drill
//! actions:
//!   - email: { to: [on_duty, soc@example.org] }   # the HTML as body, the .docx attached
//!   - webhook: { url: "https://oapi.dingtalk.com/robot/send?access_token=…", format: dingtalk, mention: on_duty }
//! ```

use std::collections::HashSet;
use std::path::Path;

use onewall_model::{Grade, IncidentStatus, RegionCode, RegionTree, Severity};
use serde::{Deserialize, Serialize};

use crate::PlaybookError;
use crate::subject::{Subject, Trigger, known_var};
use crate::template::Template;

/// A loaded, checked playbook.
#[derive(Debug, Clone)]
pub struct Playbook {
    /// Unique id (used in the delivery log and the outbox's keys).
    pub id: String,
    /// A name for people.
    pub name: String,
    /// What starts it.
    pub triggers: Vec<Trigger>,
    /// What must hold.
    pub when: Conditions,
    /// At most one run per rendered key within the window.
    pub throttle: Option<Throttle>,
    /// What it does, in order.
    pub actions: Vec<Action>,
    /// The file it came from.
    pub file: String,
}

/// Conditions; each one given must hold (an empty list holds for everything).
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    /// Any of these grades.
    pub grade: Vec<Grade>,
    /// Any of these severities.
    pub level: Vec<Severity>,
    /// At least this severe.
    pub min_level: Option<Severity>,
    /// Within any of these regions' subtrees.
    pub region: Vec<RegionCode>,
    /// Any of these rule tags (case-insensitive).
    pub tags: Vec<String>,
    /// Any of these rule ids.
    pub rule: Vec<String>,
    /// Incidents in any of these statuses (an alert has none, so never matches).
    pub status: Vec<IncidentStatus>,
    /// Scheduled reports of any of these kinds (`weekly`, `monthly`, `annual`,
    /// `period_review`, `drill`); other subjects have none, so never match.
    pub kind: Vec<String>,
}

/// Per-key throttling.
#[derive(Debug, Clone)]
pub struct Throttle {
    /// The key, rendered from the subject (default `{{id}}`).
    pub key: Template,
    /// Seconds during which the same key does not run the playbook again.
    pub seconds: u64,
}

/// One action.
#[derive(Debug, Clone)]
pub enum Action {
    /// Send an email.
    Email(EmailAction),
    /// Post to a webhook.
    Webhook(WebhookAction),
    /// Post the subject to the parent node.
    Escalate,
    /// Assign the incident to a team.
    Assign {
        /// The team.
        team: String,
    },
}

impl Action {
    /// The action's kind as written in playbooks.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Email(_) => "email",
            Action::Webhook(_) => "webhook",
            Action::Escalate => "escalate",
            Action::Assign { .. } => "assign",
        }
    }
}

/// The recipient that stands for whoever is on duty (值班人员) in the subject's region when
/// the playbook runs: `to: [on_duty]`, `mention: on_duty`.
pub const ON_DUTY: &str = "on_duty";

/// Kinds of scheduled report `when.kind` takes.
pub const REPORT_KINDS: &[&str] = &["weekly", "monthly", "annual", "period_review", "drill"];

/// An email action.
#[derive(Debug, Clone)]
pub struct EmailAction {
    /// Recipients (addresses; [`ON_DUTY`] is resolved when the playbook runs).
    pub to: Vec<String>,
    /// Copy recipients.
    pub cc: Vec<String>,
    /// Subject line template (Chinese is fine: it is encoded per RFC 2047).
    pub subject: Template,
    /// Plain-text body template.
    pub body: Template,
}

/// A webhook action.
#[derive(Debug, Clone)]
pub struct WebhookAction {
    /// Where to post.
    pub url: String,
    /// The message format.
    pub format: WebhookFormat,
    /// The signing secret, if any (generic: HMAC header; DingTalk, Feishu: their schemes).
    pub secret: String,
    /// Text of robot messages (generic webhooks send the subject as JSON instead).
    pub text: Template,
    /// Mention whoever is on duty in the subject's region (their phones: DingTalk's
    /// `at.atMobiles`, WeCom's `mentioned_mobile_list`).
    pub mention_on_duty: bool,
}

/// Webhook message formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// Our JSON, signed with `X-Onewall-Signature: sha256=HEX`.
    #[default]
    Generic,
    /// A DingTalk group robot (钉钉).
    Dingtalk,
    /// A WeCom group robot (企业微信); the key is in the URL.
    Wecom,
    /// A Feishu group robot (飞书).
    Feishu,
}

impl WebhookFormat {
    /// The name as written in playbooks.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Generic => "generic",
            WebhookFormat::Dingtalk => "dingtalk",
            WebhookFormat::Wecom => "wecom",
            WebhookFormat::Feishu => "feishu",
        }
    }
}

// ---- the file format ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaybookFile {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default = "yes")]
    enabled: bool,
    triggers: Vec<Trigger>,
    #[serde(default)]
    when: ConditionsFile,
    #[serde(default)]
    throttle: Option<ThrottleFile>,
    #[serde(with = "serde_norway::with::singleton_map_recursive")]
    actions: Vec<ActionFile>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionsFile {
    #[serde(default)]
    grade: Vec<String>,
    #[serde(default)]
    level: Vec<Severity>,
    #[serde(default)]
    min_level: Option<Severity>,
    #[serde(default)]
    region: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    rule: Vec<String>,
    #[serde(default)]
    status: Vec<String>,
    #[serde(default)]
    kind: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThrottleFile {
    #[serde(default)]
    key: Option<String>,
    seconds: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ActionFile {
    Email(EmailFile),
    Webhook(WebhookFile),
    Escalate(EscalateFile),
    Assign(AssignFile),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailFile {
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    body: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookFile {
    url: String,
    #[serde(default)]
    format: WebhookFormat,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    text: Option<String>,
    /// `on_duty`: mention whoever is on duty.
    #[serde(default)]
    mention: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalateFile {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignFile {
    team: String,
}

/// The default email subject.
pub const DEFAULT_SUBJECT: &str = "【onewall {{kind_zh}}】{{title}}";
/// The default email body and robot text.
pub const DEFAULT_TEXT: &str = "{{summary}}";

/// What loading a directory gave: the playbooks that are valid and an error for each file
/// that is not (those files are skipped).
#[derive(Debug, Default)]
pub struct Loaded {
    /// Valid, enabled playbooks, ordered by file name.
    pub playbooks: Vec<Playbook>,
    /// One error per skipped file.
    pub errors: Vec<PlaybookError>,
    /// Files that were valid but disabled.
    pub disabled: usize,
}

/// Load every `*.yml` / `*.yaml` file of `dir` (not recursive). A file that does not read or
/// check is skipped and reported; the others load.
pub fn load_dir(dir: &Path, tree: &RegionTree) -> Result<Loaded, PlaybookError> {
    let entries = std::fs::read_dir(dir).map_err(|e| PlaybookError::Load {
        file: dir.display().to_string(),
        reason: format!("cannot read the directory: {e}"),
    })?;
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
        })
        .collect();
    files.sort();
    let mut out = Loaded::default();
    let mut ids = HashSet::new();
    for path in files {
        let file = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                out.errors.push(PlaybookError::Load {
                    file,
                    reason: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        match parse(&text, &file, tree) {
            Ok(None) => out.disabled += 1,
            Ok(Some(p)) => {
                if ids.insert(p.id.clone()) {
                    out.playbooks.push(p);
                } else {
                    out.errors.push(PlaybookError::Load {
                        file,
                        reason: format!("id: {:?} is already used by another playbook", p.id),
                    });
                }
            }
            Err(e) => out.errors.push(e),
        }
    }
    Ok(out)
}

/// Parse and check one playbook; `None` when it is disabled. Every mistake in the file is
/// reported, joined with `; `.
pub fn parse(text: &str, file: &str, tree: &RegionTree) -> Result<Option<Playbook>, PlaybookError> {
    let err = |reason: String| PlaybookError::Load {
        file: file.to_owned(),
        reason,
    };
    let f: PlaybookFile = serde_norway::from_str(text).map_err(|e| err(e.to_string()))?;
    if !f.enabled {
        return Ok(None);
    }
    let mut errors = Vec::new();
    if f.id.trim().is_empty()
        || !f
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        errors.push(format!(
            "id: {:?} must be non-empty letters, digits, '-', '_' or '.'",
            f.id
        ));
    }
    if f.triggers.is_empty() {
        errors.push("triggers: at least one is needed".into());
    }
    if f.actions.is_empty() {
        errors.push("actions: at least one is needed".into());
    }
    let when = parse_conditions(f.when, &f.triggers, tree, &mut errors);
    let throttle = match f.throttle {
        Some(t) => {
            let key = check_template(
                &mut errors,
                &f.triggers,
                "throttle.key".into(),
                t.key.as_deref().unwrap_or("{{id}}"),
            );
            key.map(|key| Throttle {
                key,
                seconds: t.seconds,
            })
        }
        None => None,
    };
    let actions: Vec<Action> = f
        .actions
        .into_iter()
        .enumerate()
        .filter_map(|(i, a)| parse_action(i, a, &f.triggers, &mut errors))
        .collect();
    if !errors.is_empty() {
        return Err(err(errors.join("; ")));
    }
    Ok(Some(Playbook {
        id: f.id,
        name: f.name,
        triggers: f.triggers,
        when,
        throttle,
        actions,
        file: file.to_owned(),
    }))
}

/// The `when:` conditions, checked; mistakes are added to `errors`.
fn parse_conditions(
    when_file: ConditionsFile,
    triggers: &[Trigger],
    tree: &RegionTree,
    errors: &mut Vec<String>,
) -> Conditions {
    let mut when = Conditions {
        level: when_file.level,
        min_level: when_file.min_level,
        tags: when_file.tags.iter().map(|t| t.to_lowercase()).collect(),
        rule: when_file.rule,
        ..Conditions::default()
    };
    for g in &when_file.grade {
        match Grade::parse(g) {
            Some(g) => when.grade.push(g),
            None => errors.push(format!("when.grade: {g:?} is not one of I, II, III, IV")),
        }
    }
    for st in &when_file.status {
        match st.parse::<IncidentStatus>() {
            Ok(st) => when.status.push(st),
            Err(e) => errors.push(format!("when.status: {e}")),
        }
    }
    for r in &when_file.region {
        match r.parse::<RegionCode>() {
            Ok(c) if tree.contains(c) => when.region.push(c),
            Ok(c) => errors.push(format!("when.region: {c} is not a known region")),
            Err(e) => errors.push(format!("when.region: {e}")),
        }
    }
    if let Some(t) = triggers.iter().find(|t| !t.is_detection())
        && (!when.grade.is_empty()
            || !when.level.is_empty()
            || when.min_level.is_some()
            || !when.tags.is_empty()
            || !when.rule.is_empty()
            || !when.status.is_empty())
    {
        errors.push(format!(
            "when: {} playbooks take only region (and, for reports, kind) conditions (it has no grade, level, tags, rule or status)",
            t.as_str()
        ));
    }
    for k in &when_file.kind {
        if !REPORT_KINDS.contains(&k.as_str()) {
            errors.push(format!(
                "when.kind: {k:?} is not one of {}",
                REPORT_KINDS.join(", ")
            ));
        }
    }
    if !when_file.kind.is_empty() && triggers.iter().any(|t| *t != Trigger::Report) {
        errors.push("when.kind: only report playbooks (triggers: [report]) take a kind".into());
    }
    when.kind = when_file.kind;
    when
}

/// One entry of `actions:`, checked; `None` (with the mistakes added to `errors`) when it
/// cannot run.
fn parse_action(
    i: usize,
    a: ActionFile,
    triggers: &[Trigger],
    errors: &mut Vec<String>,
) -> Option<Action> {
    match a {
        ActionFile::Email(e) => {
            if e.to.is_empty() {
                errors.push(format!("actions[{i}].email.to: at least one recipient"));
            }
            for addr in e.to.iter().filter(|a| *a != ON_DUTY).chain(&e.cc) {
                if addr.parse::<lettre::message::Mailbox>().is_err() {
                    errors.push(format!(
                        "actions[{i}].email: {addr:?} is not an email address"
                    ));
                }
            }
            let subject = check_template(
                errors,
                triggers,
                format!("actions[{i}].email.subject"),
                e.subject.as_deref().unwrap_or(DEFAULT_SUBJECT),
            );
            let body = check_template(
                errors,
                triggers,
                format!("actions[{i}].email.body"),
                e.body.as_deref().unwrap_or(DEFAULT_TEXT),
            );
            if let (Some(subject), Some(body)) = (subject, body) {
                return Some(Action::Email(EmailAction {
                    to: e.to,
                    cc: e.cc,
                    subject,
                    body,
                }));
            }
        }
        ActionFile::Webhook(w) => {
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                errors.push(format!(
                    "actions[{i}].webhook.url: {:?} is not an http(s) URL",
                    w.url
                ));
            }
            if w.format == WebhookFormat::Wecom && !w.url.contains("key=") {
                errors.push(format!(
                    "actions[{i}].webhook.url: a wecom robot URL carries its key (…/send?key=…)"
                ));
            }
            let text = check_template(
                errors,
                triggers,
                format!("actions[{i}].webhook.text"),
                w.text.as_deref().unwrap_or(DEFAULT_TEXT),
            );
            let mention_on_duty = match w.mention.as_deref() {
                None => false,
                Some(ON_DUTY)
                    if matches!(w.format, WebhookFormat::Dingtalk | WebhookFormat::Wecom) =>
                {
                    true
                }
                Some(ON_DUTY) => {
                    errors.push(format!(
                        "actions[{i}].webhook.mention: only dingtalk and wecom robots mention people by phone"
                    ));
                    false
                }
                Some(m) => {
                    errors.push(format!(
                        "actions[{i}].webhook.mention: {m:?} is not {ON_DUTY:?}"
                    ));
                    false
                }
            };
            if let Some(text) = text {
                return Some(Action::Webhook(WebhookAction {
                    url: w.url,
                    format: w.format,
                    secret: w.secret,
                    text,
                    mention_on_duty,
                }));
            }
        }
        ActionFile::Escalate(EscalateFile {}) => return Some(Action::Escalate),
        ActionFile::Assign(a) => {
            if a.team.trim().is_empty() {
                errors.push(format!("actions[{i}].assign.team: must not be empty"));
            } else if triggers
                .iter()
                .any(|t| !matches!(t, Trigger::IncidentCreated | Trigger::IncidentChanged))
            {
                errors.push(format!(
                    "actions[{i}].assign: only incident triggers can assign a team"
                ));
            }
            return Some(Action::Assign { team: a.team });
        }
    }
    None
}

fn check_template(
    errors: &mut Vec<String>,
    triggers: &[Trigger],
    key: String,
    text: &str,
) -> Option<Template> {
    match Template::parse(text) {
        Ok(t) => {
            for name in t.names() {
                if let Some(trig) = triggers.iter().find(|tr| !known_var(**tr, name)) {
                    errors.push(format!(
                        "{key}: {{{{{name}}}}} is not a variable of {} subjects",
                        trig.as_str()
                    ));
                }
            }
            Some(t)
        }
        Err(e) => {
            errors.push(format!("{key}: {e}"));
            None
        }
    }
}

impl Playbook {
    /// Whether an action addresses whoever is on duty (the node is asked who, once a run).
    pub fn wants_on_duty(&self) -> bool {
        self.actions.iter().any(|a| match a {
            Action::Email(e) => e.to.iter().any(|t| t == ON_DUTY),
            Action::Webhook(w) => w.mention_on_duty,
            _ => false,
        })
    }

    /// Whether this playbook runs for `subject`.
    pub fn matches(&self, subject: &Subject<'_>, tree: &RegionTree) -> bool {
        if !self.triggers.contains(&subject.trigger()) {
            return false;
        }
        let w = &self.when;
        if !w.region.is_empty() {
            let r = subject.region();
            if !w.region.iter().any(|c| *c == r || tree.is_within(r, *c)) {
                return false;
            }
        }
        if !w.kind.is_empty()
            && !subject
                .report_kind()
                .is_some_and(|k| w.kind.iter().any(|x| x == k))
        {
            return false;
        }
        if !subject.trigger().is_detection() {
            return true;
        }
        let Some(sev) = subject.severity() else {
            return false;
        };
        if !w.grade.is_empty() && !subject.grade().is_some_and(|g| w.grade.contains(&g)) {
            return false;
        }
        if !w.level.is_empty() && !w.level.contains(&sev) {
            return false;
        }
        if w.min_level.is_some_and(|m| sev < m) {
            return false;
        }
        if !w.tags.is_empty() {
            let tags = subject.tags();
            if !tags
                .iter()
                .any(|t| w.tags.iter().any(|want| want.eq_ignore_ascii_case(t)))
            {
                return false;
            }
        }
        if !w.status.is_empty() {
            match subject {
                Subject::Incident { incident, .. } if w.status.contains(&incident.status) => {}
                _ => return false,
            }
        }
        if !w.rule.is_empty() {
            let rules = subject.rule_ids();
            if !rules.iter().any(|r| w.rule.iter().any(|want| want == r)) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests;
