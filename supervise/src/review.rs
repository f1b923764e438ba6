//! The 复盘 report at the end of a 重保 period: incidents by grade and category in its regions
//! during it, response times, slot reports late or missing, bulletins issued during it and how
//! their recipients answered, the lessons recorded. A [`crate::doc::Doc`] like every report.
//!
//! Response times come from each incident's timeline: acknowledged when its status first left
//! `new`, resolved when it first became `resolved`, `closed` or `false_positive`; both counted
//! from when the incident was created. Drill incidents are left out.

use std::collections::BTreeMap;

use onewall_model::id::PeriodId;
use onewall_model::incident::{IncidentStatus, TimelineKind};
use onewall_model::{Incident, Timestamp};
use serde::Serialize;

use crate::bulletins::BulletinQuery;
use crate::doc::{Block, Doc, Table};
use crate::{Result, SuperviseError, Supervision};

/// A period's 复盘.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodReview {
    pub period: onewall_model::supervise::ProtectionPeriod,
    /// Incidents (not drills) opened in its regions during it, by grade (`I`..`IV`, `none`).
    pub incidents_by_grade: Vec<(String, u64)>,
    /// ... and by GB/T 20986 category.
    pub incidents_by_category: Vec<(String, u64)>,
    /// Mean seconds from opened to acknowledged, and to resolved, of those that were.
    pub mtta_secs: Option<f64>,
    pub mttr_secs: Option<f64>,
    /// Slot reports late or missing.
    pub slots: Vec<crate::period::SlotStatus>,
    /// Bulletins issued during it, with their recipients' states.
    pub bulletins: Vec<crate::bulletin::BulletinView>,
    pub lessons: Vec<onewall_model::supervise::Lesson>,
    /// Incidents counted (the sum of `incidents_by_grade`).
    pub incidents: u64,
    /// The names of the regions the review speaks of.
    pub region_names: BTreeMap<onewall_model::RegionCode, String>,
    /// When it was made.
    pub generated: Timestamp,
    /// The offset its times are printed in (`[supervise.reports] offset`).
    #[serde(skip)]
    pub offset: time::UtcOffset,
}

/// When `i` was first acknowledged (its status first left `new`) and first resolved.
pub fn response_times(i: &Incident) -> (Option<Timestamp>, Option<Timestamp>) {
    let mut ack = None;
    let mut resolved = None;
    for e in &i.timeline {
        if let TimelineKind::StatusChanged { from, to } = e.change {
            if ack.is_none() && from == IncidentStatus::New {
                ack = Some(e.at);
            }
            if resolved.is_none()
                && matches!(
                    to,
                    IncidentStatus::Resolved
                        | IncidentStatus::Closed
                        | IncidentStatus::FalsePositive
                )
            {
                resolved = Some(e.at);
            }
        }
    }
    (ack, resolved)
}

/// The mean of `xs`, `None` when empty.
fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Counts by key, largest first (then by key).
fn counted(m: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

fn state_zh(s: onewall_model::supervise::RecipientState) -> &'static str {
    use onewall_model::supervise::RecipientState as S;
    match s {
        S::Issued => "待签收",
        S::Signed => "已签收待反馈",
        S::Answered => "已反馈",
        S::Submitted => "整改待复核",
        S::Returned => "整改已退回",
        S::Accepted => "整改已通过",
    }
}

/// Seconds as `1 小时 5 分` (or `—` when unknown).
fn duration_zh(secs: Option<f64>) -> String {
    let Some(s) = secs else { return "—".into() };
    let m = (s / 60.0).round() as i64;
    if m >= 60 {
        format!("{} 小时 {} 分", m / 60, m % 60)
    } else {
        format!("{m} 分")
    }
}

impl PeriodReview {
    fn name(&self, r: onewall_model::RegionCode) -> String {
        match self.region_names.get(&r) {
            Some(n) => format!("{n}({r})"),
            None => r.to_string(),
        }
    }

    fn at(&self, t: Timestamp) -> String {
        let d = t.to_offset_date_time().to_offset(self.offset);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute()
        )
    }

    /// The bulletins issued during the period, a row per recipient's copy.
    fn bulletins_table(&self) -> Table {
        Table {
            caption: "保障期间发布的通报".into(),
            header: vec![
                "通报".into(),
                "级别".into(),
                "接收单位".into(),
                "状态".into(),
                "退回次数".into(),
                "逾期".into(),
            ],
            rows: self
                .bulletins
                .iter()
                .flat_map(|v| {
                    v.copies.iter().map(move |c| {
                        vec![
                            v.bulletin.title.clone(),
                            v.bulletin.level.zh().into(),
                            match &c.recipient.department {
                                Some(d) => format!("{} {d}", self.name(c.recipient.region)),
                                None => self.name(c.recipient.region),
                            },
                            state_zh(c.state).into(),
                            c.returned.to_string(),
                            c.overdue.len().to_string(),
                        ]
                    })
                })
                .collect(),
        }
    }

    /// The lessons recorded.
    fn lessons_table(&self) -> Table {
        Table {
            caption: "经验教训".into(),
            header: vec!["地区".into(), "记录人".into(), "时间".into(), "内容".into()],
            rows: self
                .lessons
                .iter()
                .map(|l| {
                    vec![
                        self.name(l.region),
                        l.by.clone(),
                        self.at(l.at),
                        l.text.clone(),
                    ]
                })
                .collect(),
        }
    }

    /// As a document (HTML and .docx through [`crate::doc`]).
    pub fn to_doc(&self) -> Doc {
        let p = &self.period;
        let regions: Vec<String> = p.regions.iter().map(|&r| self.name(r)).collect();
        let missing = self.slots.iter().filter(|s| s.missing).count();
        let late = self.slots.iter().filter(|s| s.late).count();
        let mut blocks = vec![
            Block::Heading {
                text: "一、总体情况".into(),
            },
            Block::Figures {
                items: vec![
                    ("保障范围".into(), regions.join("、")),
                    (
                        "保障时间".into(),
                        format!("{} 至 {}", self.at(p.start), self.at(p.ends())),
                    ),
                    ("零报告间隔".into(), format!("{} 分钟", p.report_every_mins)),
                    ("SLA 收紧系数".into(), format!("{}", p.sla_factor)),
                    ("事件总数".into(), self.incidents.to_string()),
                    ("平均响应时间 (MTTA)".into(), duration_zh(self.mtta_secs)),
                    ("平均处置时间 (MTTR)".into(), duration_zh(self.mttr_secs)),
                    ("漏报时段".into(), missing.to_string()),
                    ("迟报时段".into(), late.to_string()),
                    ("发布通报".into(), self.bulletins.len().to_string()),
                    ("经验教训".into(), self.lessons.len().to_string()),
                ],
            },
            Block::Heading {
                text: "二、事件分级统计".into(),
            },
            Block::Table(Table {
                caption: "事件分级统计".into(),
                header: vec!["级别".into(), "事件数".into()],
                rows: self
                    .incidents_by_grade
                    .iter()
                    .map(|(g, n)| vec![g.clone(), n.to_string()])
                    .collect(),
            }),
            Block::Table(Table {
                caption: "事件分类统计".into(),
                header: vec!["类别 (GB/T 20986)".into(), "事件数".into()],
                rows: self
                    .incidents_by_category
                    .iter()
                    .map(|(c, n)| vec![c.clone(), n.to_string()])
                    .collect(),
            }),
            Block::Heading {
                text: "三、报送情况".into(),
            },
        ];
        if self.slots.is_empty() {
            blocks.push(Block::Paragraph {
                text: "各地均按时报送。".into(),
            });
        }
        blocks.push(Block::Table(Table {
            caption: "迟报、漏报时段".into(),
            header: vec![
                "地区".into(),
                "时段".into(),
                "情况".into(),
                "到达时间".into(),
            ],
            rows: self
                .slots
                .iter()
                .map(|s| {
                    vec![
                        self.name(s.region),
                        self.at(s.slot),
                        if s.missing { "漏报" } else { "迟报" }.into(),
                        s.received.map_or_else(|| "—".into(), |t| self.at(t)),
                    ]
                })
                .collect(),
        }));
        blocks.push(Block::Heading {
            text: "四、通报情况".into(),
        });
        blocks.push(Block::Table(self.bulletins_table()));
        blocks.push(Block::Heading {
            text: "五、经验教训".into(),
        });
        blocks.push(Block::Table(self.lessons_table()));
        Doc {
            title: format!("{} 重保复盘报告", p.name),
            subtitle: format!(
                "{} · {} 至 {} · 生成于 {}",
                regions.join("、"),
                self.at(p.start),
                self.at(p.ends()),
                self.at(self.generated)
            ),
            blocks,
        }
    }
}

impl Supervision {
    /// The 复盘 of `period` from the store and this node's book (ended or not: figures up to
    /// now).
    pub async fn period_review(&self, period: PeriodId) -> Result<PeriodReview> {
        self.period_review_at(period, Timestamp::now()).await
    }

    /// The 复盘 of `period` as it stands at `now` (slots due by then).
    pub async fn period_review_at(&self, period: PeriodId, now: Timestamp) -> Result<PeriodReview> {
        let p = self
            .period(period)
            .ok_or_else(|| SuperviseError::NotFound(format!("no period {period}")))?;
        let (from, to) = (p.start, p.ends().min(now.max(p.start)));
        let mut regions: Vec<_> = p.regions.iter().flat_map(|&r| self.subtree(r)).collect();
        regions.sort();
        regions.dedup();
        let incidents: Vec<Incident> = self
            .incidents_of(regions, Some(from), false)
            .await?
            .into_iter()
            .filter(|i| i.drill.is_none() && i.created >= from && i.created < p.ends())
            .collect();
        let mut by_grade = BTreeMap::new();
        let mut by_category = BTreeMap::new();
        let (mut acks, mut fixes) = (Vec::new(), Vec::new());
        for i in &incidents {
            *by_grade.entry(i.grade().as_str().to_owned()).or_insert(0) += 1;
            let cat = i
                .classification
                .category
                .clone()
                .unwrap_or_else(|| "none".into());
            *by_category.entry(cat).or_insert(0) += 1;
            let (ack, fixed) = response_times(i);
            let since = |t: Timestamp| (t.nanos() - i.created.nanos()).max(0) as f64 / 1e9;
            acks.extend(ack.map(since));
            fixes.extend(fixed.map(since));
        }
        let slots: Vec<_> = self
            .slot_statuses(period, now)
            .await?
            .into_iter()
            .filter(|s| s.late || s.missing)
            .collect();
        let bulletins: Vec<_> = self
            .bulletins(&BulletinQuery {
                issued_here: Some(true),
                limit: 1000,
                ..BulletinQuery::default()
            })
            .await?
            .into_iter()
            .filter(|v| {
                v.bulletin.period == Some(period)
                    || (v.bulletin.issued >= from && v.bulletin.issued < to)
            })
            .collect();
        let lessons = self.lessons(period).await?;
        let mut named: Vec<_> = p.regions.clone();
        named.extend(slots.iter().map(|s| s.region));
        named.extend(lessons.iter().map(|l| l.region));
        named.extend(
            bulletins
                .iter()
                .flat_map(|v| v.copies.iter().map(|c| c.recipient.region)),
        );
        let region_names = named
            .into_iter()
            .map(|r| (r, self.region_name(r)))
            .collect();
        Ok(PeriodReview {
            period: p,
            incidents: incidents.len() as u64,
            incidents_by_grade: counted(by_grade),
            incidents_by_category: counted(by_category),
            mtta_secs: mean(&acks),
            mttr_secs: mean(&fixes),
            slots,
            bulletins,
            lessons,
            region_names,
            generated: now,
            offset: self.cfg.offset,
        })
    }
}
