//! What a playbook reacts to, and the template variables each subject offers.

use onewall_model::bus::ReadyReport;
use onewall_model::supervise::Bulletin;
use onewall_model::{Alert, Grade, Incident, RegionCode, RegionTree, Severity};
use serde::{Deserialize, Serialize};

use crate::report::DailyReport;
use crate::template::Vars;

/// The grade of an alert or an incident that has none of its own ([`Grade::from_severity`]).
pub fn grade_of(severity: Severity) -> Grade {
    Grade::from_severity(severity)
}

/// An incident's grade: the one its grading policy gave it, else from its severity
/// ([`Incident::grade`]).
pub fn incident_grade(incident: &Incident) -> Grade {
    incident.grade()
}

/// What a playbook can be triggered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A rule fired: a new alert.
    AlertCreated,
    /// The correlator opened an incident.
    IncidentCreated,
    /// An open incident changed (alerts joined it).
    IncidentChanged,
    /// The daily (zero) report of a region is due.
    DailyReport,
    /// A report was made on its schedule (weekly, monthly, annual, a 重保 period's 复盘, a
    /// drill's); `when.kind` picks which.
    Report,
    /// A bulletin (安全通报) arrived for this node's region or departments.
    Bulletin,
}

impl Trigger {
    /// The name as written in playbooks.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::AlertCreated => "alert_created",
            Trigger::IncidentCreated => "incident_created",
            Trigger::IncidentChanged => "incident_changed",
            Trigger::DailyReport => "daily_report",
            Trigger::Report => "report",
            Trigger::Bulletin => "bulletin",
        }
    }

    /// Whether subjects of this trigger have a severity, grade, rules and tags (alerts and
    /// incidents) or not (reports and bulletins: only region conditions apply).
    pub fn is_detection(self) -> bool {
        matches!(
            self,
            Trigger::AlertCreated | Trigger::IncidentCreated | Trigger::IncidentChanged
        )
    }

    fn name_zh(self) -> &'static str {
        match self {
            Trigger::AlertCreated => "新告警",
            Trigger::IncidentCreated => "新事件",
            Trigger::IncidentChanged => "事件更新",
            Trigger::DailyReport => "日报",
            Trigger::Report => "报告",
            Trigger::Bulletin => "安全通报",
        }
    }

    /// The variable namespace this trigger offers besides the common names.
    pub fn namespace(self) -> &'static str {
        match self {
            Trigger::AlertCreated => "alert",
            Trigger::IncidentCreated | Trigger::IncidentChanged => "incident",
            Trigger::DailyReport | Trigger::Report => "report",
            Trigger::Bulletin => "bulletin",
        }
    }
}

/// Variable names every subject offers.
pub const COMMON_VARS: &[&str] = &[
    "kind",
    "kind_zh",
    "id",
    "title",
    "level",
    "grade",
    "grade_zh",
    "region",
    "region_name",
    "time",
    "summary",
    "node.name",
    "node.region",
];

/// Names under each namespace (`incident.` + name ...).
pub const INCIDENT_VARS: &[&str] = &[
    "id",
    "title",
    "status",
    "level",
    "grade",
    "grade_zh",
    "region",
    "region_name",
    "assignee",
    "team",
    "rules",
    "entities",
    "alerts",
    "first_seen",
    "last_seen",
];
/// Names under `alert.`.
pub const ALERT_VARS: &[&str] = &[
    "id",
    "rule.id",
    "rule.title",
    "level",
    "grade",
    "grade_zh",
    "region",
    "region_name",
    "time",
    "entities",
    "tags",
];
/// Names under `report.`.
pub const REPORT_VARS: &[&str] = &[
    "date",
    "region",
    "region_name",
    "opened",
    "closed",
    "zero",
    "text",
    "from",
    "to",
];

/// Names under `report.` for scheduled reports ([`Trigger::Report`]).
pub const READY_VARS: &[&str] = &[
    "kind",
    "label",
    "title",
    "region",
    "region_name",
    "department",
    "path",
    "text",
];
/// Names under `bulletin.`.
pub const BULLETIN_VARS: &[&str] = &[
    "id",
    "title",
    "level",
    "level_zh",
    "kind",
    "issuer",
    "issuer_node",
    "by",
    "body",
    "cves",
    "sign_by",
    "answer_by",
    "rectify_by",
    "recipients",
];

/// Whether `name` is offered by subjects of `trigger`.
pub fn known_var(trigger: Trigger, name: &str) -> bool {
    if COMMON_VARS.contains(&name) {
        return true;
    }
    let Some((ns, rest)) = name.split_once('.') else {
        return false;
    };
    if ns != trigger.namespace() {
        return false;
    }
    match trigger {
        Trigger::IncidentCreated | Trigger::IncidentChanged => INCIDENT_VARS.contains(&rest),
        Trigger::AlertCreated => ALERT_VARS.contains(&rest),
        Trigger::DailyReport => REPORT_VARS.contains(&rest),
        Trigger::Report => READY_VARS.contains(&rest),
        Trigger::Bulletin => BULLETIN_VARS.contains(&rest),
    }
}

/// One thing that happened, for the playbooks to act on.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A new alert.
    Alert(&'a Alert),
    /// An incident opened (`created`) or changed, with the alerts that did it.
    Incident {
        /// The incident as it now is.
        incident: &'a Incident,
        /// The alerts that opened it or joined it now (their tags are the incident's tags).
        alerts: &'a [Alert],
        /// Opened now, rather than changed.
        created: bool,
    },
    /// A region's daily report.
    Report(&'a DailyReport),
    /// A report made on its schedule, rendered.
    Ready(&'a ReadyReport),
    /// A bulletin that arrived for `region` (this node's region: its team and departments
    /// are the recipients).
    Bulletin {
        /// The bulletin.
        bulletin: &'a Bulletin,
        /// The receiving region.
        region: RegionCode,
    },
}

impl Subject<'_> {
    /// The trigger this subject fires.
    pub fn trigger(&self) -> Trigger {
        match self {
            Subject::Alert(_) => Trigger::AlertCreated,
            Subject::Incident { created: true, .. } => Trigger::IncidentCreated,
            Subject::Incident { created: false, .. } => Trigger::IncidentChanged,
            Subject::Report(_) => Trigger::DailyReport,
            Subject::Ready(_) => Trigger::Report,
            Subject::Bulletin { .. } => Trigger::Bulletin,
        }
    }

    /// The kind of a scheduled report (`weekly` ...), for `when.kind`.
    pub fn report_kind(&self) -> Option<&str> {
        match self {
            Subject::Ready(r) => Some(&r.kind),
            _ => None,
        }
    }

    /// The region the subject belongs to.
    pub fn region(&self) -> RegionCode {
        match self {
            Subject::Alert(a) => a.region,
            Subject::Incident { incident, .. } => incident.region,
            Subject::Report(r) => r.region,
            Subject::Ready(r) => r.region,
            Subject::Bulletin { region, .. } => *region,
        }
    }

    /// A stable id of this occurrence: the same occurrence seen twice gets the same id, so the
    /// outbox sends it once.
    pub fn occurrence(&self) -> String {
        match self {
            Subject::Alert(a) => format!("alert:{}", a.id),
            Subject::Incident {
                incident,
                created: true,
                ..
            } => format!("incident:{}:created", incident.id),
            Subject::Incident { incident, .. } => {
                format!("incident:{}:{}", incident.id, incident.updated.nanos())
            }
            Subject::Report(r) => format!("report:{}:{}", r.region, r.date),
            Subject::Ready(r) => format!(
                "{}:{}:{}:{}",
                r.kind,
                r.region,
                r.department.as_deref().unwrap_or("-"),
                r.label
            ),
            Subject::Bulletin { bulletin, region } => format!("bulletin:{}:{region}", bulletin.id),
        }
    }

    /// The severity, where the subject has one.
    pub fn severity(&self) -> Option<Severity> {
        match self {
            Subject::Alert(a) => Some(a.severity),
            Subject::Incident { incident, .. } => Some(incident.severity),
            Subject::Report(_) | Subject::Ready(_) | Subject::Bulletin { .. } => None,
        }
    }

    /// The grade, where the subject has one.
    pub fn grade(&self) -> Option<Grade> {
        match self {
            Subject::Alert(a) => Some(grade_of(a.severity)),
            Subject::Incident { incident, .. } => Some(incident_grade(incident)),
            Subject::Report(_) | Subject::Ready(_) | Subject::Bulletin { .. } => None,
        }
    }

    /// Rule ids involved.
    pub fn rule_ids(&self) -> Vec<&str> {
        match self {
            Subject::Alert(a) => vec![a.rule.id.as_str()],
            Subject::Incident { incident, .. } => {
                incident.rule_ids.iter().map(String::as_str).collect()
            }
            Subject::Report(_) | Subject::Ready(_) | Subject::Bulletin { .. } => Vec::new(),
        }
    }

    /// Rule tags involved.
    pub fn tags(&self) -> Vec<&str> {
        match self {
            Subject::Alert(a) => a.rule.tags.iter().map(String::as_str).collect(),
            Subject::Incident { alerts, .. } => alerts
                .iter()
                .flat_map(|a| a.rule.tags.iter().map(String::as_str))
                .collect(),
            Subject::Report(_) | Subject::Ready(_) | Subject::Bulletin { .. } => Vec::new(),
        }
    }

    /// The template variables of this subject.
    pub fn vars(&self, node_name: &str, node_region: RegionCode, tree: &RegionTree) -> Vars {
        let mut v = Vars::new();
        let mut put = |k: &str, val: String| {
            v.insert(k.to_owned(), val);
        };
        let region_name = |c: RegionCode| tree.get(c).map(|r| r.name.clone()).unwrap_or_default();
        let trigger = self.trigger();
        put("kind", trigger.as_str().into());
        put("kind_zh", trigger.name_zh().into());
        put("node.name", node_name.into());
        put("node.region", node_region.to_string());
        put("region", self.region().to_string());
        put("region_name", region_name(self.region()));
        match self {
            Subject::Alert(a) => {
                let grade = grade_of(a.severity);
                let entities = join(a.entities.iter().map(|e| e.to_string()));
                put("id", a.id.to_string());
                put("title", a.rule.title.clone());
                put("level", a.severity.to_string());
                put("grade", grade.numeral().into());
                put("grade_zh", grade.name_zh().into());
                put("time", a.time.to_rfc3339());
                put(
                    "summary",
                    format!(
                        "告警 {title}\n级别: {level} ({g}级 {gz})\n地区: {region} {rn}\n规则: {rule}\n实体: {entities}\n时间: {time}",
                        title = a.rule.title,
                        level = a.severity,
                        g = grade.numeral(),
                        gz = grade.name_zh(),
                        region = a.region,
                        rn = region_name(a.region),
                        rule = a.rule.id,
                        time = a.time.to_rfc3339(),
                    ),
                );
                put("alert.id", a.id.to_string());
                put("alert.rule.id", a.rule.id.clone());
                put("alert.rule.title", a.rule.title.clone());
                put("alert.level", a.severity.to_string());
                put("alert.grade", grade.numeral().into());
                put("alert.grade_zh", grade.name_zh().into());
                put("alert.region", a.region.to_string());
                put("alert.region_name", region_name(a.region));
                put("alert.time", a.time.to_rfc3339());
                put("alert.entities", entities);
                put("alert.tags", a.rule.tags.join(", "));
            }
            Subject::Incident { incident: i, .. } => {
                let grade = incident_grade(i);
                let entities = join(i.entities.iter().map(|e| e.to_string()));
                let rules = i.rule_ids.join(", ");
                put("id", i.id.to_string());
                put("title", i.title.clone());
                put("level", i.severity.to_string());
                put("grade", grade.numeral().into());
                put("grade_zh", grade.name_zh().into());
                put("time", i.updated.to_rfc3339());
                put(
                    "summary",
                    format!(
                        "事件 {title}\n编号: {id}\n状态: {status}\n级别: {level} ({g}级 {gz})\n地区: {region} {rn}\n规则: {rules}\n实体: {entities}\n告警数: {n}\n首次: {first}\n最近: {last}",
                        title = i.title,
                        id = i.id,
                        status = i.status,
                        level = i.severity,
                        g = grade.numeral(),
                        gz = grade.name_zh(),
                        region = i.region,
                        rn = region_name(i.region),
                        n = i.alert_ids.len(),
                        first = i.first_seen.to_rfc3339(),
                        last = i.last_seen.to_rfc3339(),
                    ),
                );
                put("incident.id", i.id.to_string());
                put("incident.title", i.title.clone());
                put("incident.status", i.status.to_string());
                put("incident.level", i.severity.to_string());
                put("incident.grade", grade.numeral().into());
                put("incident.grade_zh", grade.name_zh().into());
                put("incident.region", i.region.to_string());
                put("incident.region_name", region_name(i.region));
                put("incident.assignee", i.assignee.clone().unwrap_or_default());
                put("incident.team", i.team.clone().unwrap_or_default());
                put("incident.rules", rules);
                put("incident.entities", entities);
                put("incident.alerts", i.alert_ids.len().to_string());
                put("incident.first_seen", i.first_seen.to_rfc3339());
                put("incident.last_seen", i.last_seen.to_rfc3339());
            }
            Subject::Report(r) => {
                let text = r.text();
                put("id", format!("{}:{}", r.region, r.date));
                put("title", r.title());
                put("level", String::new());
                put("grade", String::new());
                put("grade_zh", String::new());
                put("time", r.to.to_rfc3339());
                put("summary", text.clone());
                put("report.date", r.date.clone());
                put("report.region", r.region.to_string());
                put("report.region_name", r.region_name.clone());
                put("report.opened", r.opened_total().to_string());
                put("report.closed", r.closed_total().to_string());
                put("report.zero", r.is_zero().to_string());
                put("report.text", text);
                put("report.from", r.from.to_rfc3339());
                put("report.to", r.to.to_rfc3339());
            }
            Subject::Ready(r) => ready_vars(r, &region_name(r.region), &mut put),
            Subject::Bulletin { bulletin, .. } => bulletin_vars(bulletin, &mut put),
        }
        v
    }
}

/// A scheduled report's variables: the summary and where the API serves it.
fn ready_vars(r: &ReadyReport, region_name: &str, put: &mut impl FnMut(&str, String)) {
    let text = format!("{}\n{}", r.summary, r.path);
    put("id", format!("{}:{}:{}", r.kind, r.region, r.label));
    put("title", r.title.clone());
    put("level", String::new());
    put("grade", String::new());
    put("grade_zh", String::new());
    put("time", onewall_model::Timestamp::now().to_rfc3339());
    put("summary", text.clone());
    put("report.kind", r.kind.clone());
    put("report.label", r.label.clone());
    put("report.title", r.title.clone());
    put("report.region", r.region.to_string());
    put("report.region_name", region_name.to_owned());
    put(
        "report.department",
        r.department.clone().unwrap_or_default(),
    );
    put("report.path", r.path.clone());
    put("report.text", text);
}

/// A bulletin's variables: what it asks and by when.
fn bulletin_vars(b: &Bulletin, put: &mut impl FnMut(&str, String)) {
    let level_zh = b.level.zh();
    let level = b.level.as_str().to_owned();
    let kind = serde_json::to_value(b.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let rectify_by = b
        .deadlines
        .rectify
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    let recipients = join(b.recipients.iter().map(|r| r.to_string()));
    put("id", b.id.to_string());
    put("title", b.title.clone());
    put("level", level.clone());
    put("grade", String::new());
    put("grade_zh", String::new());
    put("time", b.issued.to_rfc3339());
    put(
        "summary",
        format!(
            "安全通报【{level_zh}】{title}\n发布: {issuer} {node} ({by})\n签收期限: {sign}\n反馈期限: {answer}{rectify}\n{body}",
            title = b.title,
            issuer = b.issuer,
            node = b.issuer_node,
            by = b.by,
            sign = b.deadlines.sign.to_rfc3339(),
            answer = b.deadlines.answer.to_rfc3339(),
            rectify = if rectify_by.is_empty() {
                String::new()
            } else {
                format!("\n整改期限: {rectify_by}")
            },
            body = b.body,
        ),
    );
    put("bulletin.id", b.id.to_string());
    put("bulletin.title", b.title.clone());
    put("bulletin.level", level);
    put("bulletin.level_zh", level_zh.into());
    put("bulletin.kind", kind);
    put("bulletin.issuer", b.issuer.to_string());
    put("bulletin.issuer_node", b.issuer_node.clone());
    put("bulletin.by", b.by.clone());
    put("bulletin.body", b.body.clone());
    put("bulletin.cves", b.cves.join(", "));
    put("bulletin.sign_by", b.deadlines.sign.to_rfc3339());
    put("bulletin.answer_by", b.deadlines.answer.to_rfc3339());
    put("bulletin.rectify_by", rectify_by);
    put("bulletin.recipients", recipients);
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}
