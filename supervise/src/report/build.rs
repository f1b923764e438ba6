//! The figures of a periodic report, from the data (pure), and the score of a child region.

use std::collections::{BTreeMap, HashMap};

use onewall_model::{
    Alert, EntityKind, Grade, Incident, IncidentStatus, RegionCode, TimelineKind, Timestamp,
};

use super::{ChildScore, Count, PeriodicReport, ReportData, ReportScope, SlaTargets, Span};
use crate::config::ScoreWeights;
use crate::drill::region_within;

/// How many attackers and rules the report lists.
pub const TOP: usize = 10;
/// The most the grave-incident penalty takes off a score.
pub const MAX_PENALTY: f64 = 20.0;

/// GB/T 20986-2023 category names by code.
pub fn category_zh(code: &str) -> &'static str {
    match code {
        "MP" => "恶意程序事件",
        "NA" => "网络攻击事件",
        "DS" => "数据安全事件",
        "IC" => "信息内容安全事件",
        "DE" => "设备设施故障事件",
        "RO" => "违规操作事件",
        "SHE" => "安全隐患事件",
        "AB" => "异常行为事件",
        "FOC" => "不可抗力事件",
        "OTH" => "其他事件",
        _ => "",
    }
}

/// When the incident was first taken up: its first status change to acknowledged,
/// investigating or resolved.
pub(crate) fn acknowledged(i: &Incident) -> Option<Timestamp> {
    first_change(i, |to| {
        matches!(
            to,
            IncidentStatus::Acknowledged | IncidentStatus::Investigating | IncidentStatus::Resolved
        )
    })
}

/// When the incident was first resolved or closed.
pub(crate) fn resolved(i: &Incident) -> Option<Timestamp> {
    first_change(i, |to| {
        matches!(to, IncidentStatus::Resolved | IncidentStatus::Closed)
    })
}

fn first_change(i: &Incident, hit: impl Fn(IncidentStatus) -> bool) -> Option<Timestamp> {
    i.timeline
        .iter()
        .filter_map(|t| match t.change {
            TimelineKind::StatusChanged { to, .. } if hit(to) => Some(t.at),
            _ => None,
        })
        .min()
}

fn secs_between(a: Timestamp, b: Timestamp) -> f64 {
    (b.millis() - a.millis()).max(0) as f64 / 1000.0
}

/// Whether incident `i` was acknowledged within its grade's target: `None` when its grade
/// has none.
fn sla_met(i: &Incident, sla: &SlaTargets) -> Option<bool> {
    let idx = usize::from(4 - i.grade().rank());
    let target = sla.ack_secs.get(idx).copied().flatten()?;
    Some(acknowledged(i).is_some_and(|a| secs_between(i.created, a) <= target as f64))
}

fn in_scope(region: RegionCode, scope: &ReportScope) -> bool {
    if scope.regions.is_empty() {
        region_within(region, scope.region)
    } else {
        scope.regions.contains(&region)
    }
}

fn incident_in_department(i: &Incident, dept: &str) -> bool {
    i.targets.iter().any(|t| t.department == dept)
}

fn alert_in_department(a: &Alert, dept: &str) -> bool {
    a.target.as_ref().is_some_and(|t| t.department == dept)
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn top(counts: HashMap<String, (String, u64)>) -> Vec<Count> {
    let mut v: Vec<Count> = counts
        .into_iter()
        .map(|(key, (label, count))| Count { key, label, count })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    v.truncate(TOP);
    v
}

/// The report of `span` for `scope` from `data` (pure). Drill alerts and incidents are left
/// out and counted; so are incidents not created in the span, alerts not timed in it, and
/// (for a department scope) incidents and alerts whose registered targets are not the
/// department's.
pub fn build(
    span: &Span,
    scope: &ReportScope,
    data: &ReportData,
    weights: &ScoreWeights,
    generated: Timestamp,
) -> PeriodicReport {
    let dept = scope.department.as_deref();
    let mut drill_incidents = 0;
    let incidents: Vec<&Incident> = data
        .incidents
        .iter()
        .filter(|i| span.from <= i.created && i.created < span.to && in_scope(i.region, scope))
        .filter(|i| dept.is_none_or(|d| incident_in_department(i, d)))
        .filter(|i| {
            let drill = i.drill.is_some();
            drill_incidents += u64::from(drill);
            !drill
        })
        .collect();
    let mut drill_alerts = 0;
    let alerts: Vec<&Alert> = data
        .alerts
        .iter()
        .filter(|a| span.from <= a.time && a.time < span.to && in_scope(a.region, scope))
        .filter(|a| dept.is_none_or(|d| alert_in_department(a, d)))
        .filter(|a| {
            let drill = a.drill.is_some();
            drill_alerts += u64::from(drill);
            !drill
        })
        .collect();

    let mut by_grade: BTreeMap<u8, u64> = BTreeMap::new();
    let mut by_category: BTreeMap<String, u64> = BTreeMap::new();
    let (mut tta, mut ttr) = (Vec::new(), Vec::new());
    let (mut met, mut total) = (0, 0);
    for i in &incidents {
        let g = i.classification.grade.map_or(0, Grade::rank);
        *by_grade.entry(g).or_default() += 1;
        let cat = i.classification.category.clone().unwrap_or_default();
        *by_category.entry(cat).or_default() += 1;
        if let Some(a) = acknowledged(i) {
            tta.push(secs_between(i.created, a));
        }
        if let Some(r) = resolved(i) {
            ttr.push(secs_between(i.created, r));
        }
        if let Some(m) = sla_met(i, &data.sla) {
            total += 1;
            met += u64::from(m);
        }
    }
    let incidents_by_grade = Grade::ALL
        .iter()
        .map(|g| Count {
            key: g.as_str().into(),
            label: format!("{}级（{}）", g.numeral(), g.name_zh()),
            count: by_grade.get(&g.rank()).copied().unwrap_or(0),
        })
        .chain(std::iter::once(Count {
            key: "none".into(),
            label: "未定级".into(),
            count: by_grade.get(&0).copied().unwrap_or(0),
        }))
        .collect();
    let mut incidents_by_category: Vec<Count> = by_category
        .into_iter()
        .map(|(k, count)| {
            let label = if k.is_empty() {
                "未分类"
            } else {
                category_zh(&k)
            };
            let key = if k.is_empty() { "none".to_owned() } else { k };
            Count {
                key,
                label: label.into(),
                count,
            }
        })
        .collect();
    incidents_by_category.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));

    let mut attackers: HashMap<String, (String, u64)> = HashMap::new();
    let mut rules: HashMap<String, (String, u64)> = HashMap::new();
    for a in &alerts {
        let mut ips: Vec<&str> = a
            .entities
            .iter()
            .filter(|e| e.kind == EntityKind::SourceIp)
            .map(|e| e.value.as_str())
            .collect();
        ips.sort_unstable();
        ips.dedup();
        for ip in ips {
            attackers.entry(ip.to_owned()).or_default().1 += 1;
        }
        let r = rules
            .entry(a.rule.id.clone())
            .or_insert_with(|| (a.rule.title.clone(), 0));
        r.1 += 1;
    }

    let bulletin_views: Vec<_> = data
        .bulletins
        .iter()
        .filter(|v| span.from <= v.bulletin.issued && v.bulletin.issued < span.to)
        .cloned()
        .collect();
    let names: HashMap<RegionCode, &str> = data
        .children
        .iter()
        .map(|(c, n)| (*c, n.as_str()))
        .collect();
    let bulletin_stats = crate::bulletin::stats(&bulletin_views, &|r| {
        names.get(&r).map(|n| (*n).to_owned()).unwrap_or_default()
    });

    let scores = data
        .children
        .iter()
        .map(|(child, name)| child_score(*child, name, &incidents, &bulletin_stats, data, weights))
        .collect();

    PeriodicReport {
        span: span.clone(),
        scope: scope.clone(),
        region_name: data.region_name.clone(),
        generated,
        incidents: incidents.len() as u64,
        incidents_by_grade,
        incidents_by_category,
        mtta_secs: mean(&tta),
        mttr_secs: mean(&ttr),
        sla_met: met,
        sla_total: total,
        zero_reports: data.zero_reports.clone(),
        bulletins_issued: bulletin_views.len() as u64,
        bulletin_stats,
        findings: data.findings.clone(),
        silent_sources: data.silent_sources.clone(),
        alerts: alerts.len() as u64,
        top_attackers: top(attackers),
        top_rules: top(rules),
        scores,
        drill_alerts_excluded: drill_alerts,
        drill_incidents_excluded: drill_incidents,
    }
}

/// A child region's parts and score, over the incidents, bulletin copies, zero reports and
/// findings of its subtree.
fn child_score(
    child: RegionCode,
    name: &str,
    incidents: &[&Incident],
    bulletin_stats: &[crate::bulletin::RecipientStats],
    data: &ReportData,
    weights: &ScoreWeights,
) -> ChildScore {
    let within = |r: RegionCode| region_within(r, child);
    let (mut met, mut total, mut grave) = (0, 0, 0);
    for i in incidents.iter().filter(|i| within(i.region)) {
        if let Some(m) = sla_met(i, &data.sla) {
            total += 1;
            met += u64::from(m);
        }
        grave += u64::from(i.grade().rank() >= Grade::II.rank());
    }
    let (mut zr_ok, mut zr_all) = (0, 0);
    for z in data.zero_reports.iter().filter(|z| within(z.region)) {
        zr_ok += u64::from(z.on_time);
        zr_all += u64::from(z.expected);
    }
    let (mut b_ok, mut b_all) = (0, 0);
    for s in bulletin_stats
        .iter()
        .filter(|s| s.recipient.as_ref().is_some_and(|r| within(r.region)))
    {
        b_ok += u64::from(s.signed_on_time + s.answered_on_time + s.rectified_on_time);
        b_all += u64::from(2 * s.bulletins + s.rectifications);
    }
    let (mut f_ok, mut f_all) = (0, 0);
    for f in data.findings.iter().filter(|f| within(f.region)) {
        f_ok += u64::from(f.fixed_on_time);
        f_all += u64::from(f.due);
    }
    let (sla, zero_report, bulletins, findings) = (
        ratio(met, total),
        ratio(zr_ok, zr_all),
        ratio(b_ok, b_all),
        ratio(f_ok, f_all),
    );
    ChildScore {
        region: child,
        name: name.to_owned(),
        score: score(weights, sla, zero_report, bulletins, findings, grave),
        sla,
        zero_report,
        bulletins,
        findings,
        grave_incidents: grave,
    }
}

/// The score of one child region (0–100) from its parts: each present part's rate times its
/// weight, the weights of absent parts spread over the present ones in proportion, minus
/// `incident_penalty` per grade Ⅰ/Ⅱ incident (at most 20), never below 0.
///
/// With W = the sum of the four weights and P the parts present (a rate in [0, 1] each):
/// `score = Σ_P(w·rate) × W / Σ_P(w) − min(penalty × grave, 20)`, clamped to [0, W] and
/// rounded to one decimal. With no part present the first term is W (nothing to hold against
/// the region). The default weights (SLA 30, zero reports 20, bulletins 30, findings 20,
/// penalty 2) make W = 100.
pub fn score(
    weights: &ScoreWeights,
    sla: Option<f64>,
    zero_report: Option<f64>,
    bulletins: Option<f64>,
    findings: Option<f64>,
    grave_incidents: u64,
) -> f64 {
    let parts = [
        (weights.sla, sla),
        (weights.zero_report, zero_report),
        (weights.bulletins, bulletins),
        (weights.findings, findings),
    ];
    let all: f64 = parts.iter().map(|(w, _)| w.max(0.0)).sum();
    let present: f64 = parts
        .iter()
        .filter(|(_, r)| r.is_some())
        .map(|(w, _)| w.max(0.0))
        .sum();
    let earned: f64 = parts
        .iter()
        .filter_map(|(w, r)| r.map(|r| w.max(0.0) * r.clamp(0.0, 1.0)))
        .sum();
    let base = if present > 0.0 {
        earned * all / present
    } else {
        all
    };
    let penalty = (weights.incident_penalty.max(0.0) * grave_incidents as f64).min(MAX_PENALTY);
    let s = (base - penalty).clamp(0.0, all.max(0.0));
    (s * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_score_spreads_absent_weights_and_caps_the_penalty() {
        let w = ScoreWeights::default();
        assert_eq!(
            score(&w, Some(1.0), Some(1.0), Some(1.0), Some(1.0), 0),
            100.0
        );
        // SLA 0.5 × 30 + zero reports 1 × 20 + bulletins 0.8 × 30 = 59 of 80 present → 73.75.
        assert_eq!(score(&w, Some(0.5), Some(1.0), Some(0.8), None, 0), 73.8);
        // Two grave incidents take 4.
        assert_eq!(score(&w, Some(0.5), Some(1.0), Some(0.8), None, 2), 69.8);
        // The penalty stops at 20.
        assert_eq!(score(&w, Some(1.0), None, None, None, 50), 80.0);
        assert_eq!(score(&w, None, None, None, None, 0), 100.0);
        assert_eq!(score(&w, Some(0.0), Some(0.0), None, None, 3), 0.0);
    }
}
