//! A periodic report as a document (every figure in a table) and as a few lines of text.

use std::collections::HashMap;

use onewall_model::{RegionCode, Timestamp};

use super::{Count, PeriodicReport, ReportKind};
use crate::doc::Doc;
use crate::drill::duration_zh;

/// The formula of the scores, as the report prints it.
const SCORE_METHOD: &str = "评分方法：得分 = Σ(各项权重 × 达标率) × 总权重 ÷ 有数据项的权重之和 − \
min(Ⅰ、Ⅱ级事件数 × 扣分, 20)，不低于 0。各项为：事件确认 SLA 达标率、零报告按时率、\
通报按时签收/反馈/整改率、漏洞按时整改率；无数据的项不计，其权重按比例分给其余各项。";

fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "—".into(), |r| format!("{:.1}%", r * 100.0))
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |s| format!("{s:.1}"))
}

fn when(t: Timestamp) -> String {
    Timestamp::from_secs(t.secs()).to_rfc3339()
}

fn ranked(counts: &[Count], label: bool) -> Vec<Vec<String>> {
    counts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut row = vec![(i + 1).to_string(), c.key.clone()];
            if label {
                row.push(c.label.clone());
            }
            row.push(c.count.to_string());
            row
        })
        .collect()
}

impl PeriodicReport {
    /// The report's title: region (and department), label and kind.
    pub fn title(&self) -> String {
        let what = match self.span.kind {
            ReportKind::Weekly => "网络安全周报",
            ReportKind::Monthly => "网络安全月报",
            ReportKind::Annual => "年度数字政府安全评价报告",
        };
        let dept = self
            .scope
            .department
            .as_deref()
            .map_or_else(String::new, |d| format!(" {d}"));
        let region = if self.region_name.is_empty() {
            self.scope.region.to_string()
        } else {
            self.region_name.clone()
        };
        format!("{region}{dept} {} {what}", self.span.label)
    }

    fn region_label(&self, names: &HashMap<RegionCode, &str>, r: RegionCode) -> String {
        match names.get(&r) {
            Some(n) if !n.is_empty() => format!("{n}（{r}）"),
            _ => r.to_string(),
        }
    }

    /// As a document (HTML and .docx through [`crate::doc`]); its tables hold the figures.
    pub fn to_doc(&self) -> Doc {
        let names: HashMap<RegionCode, &str> = self
            .scores
            .iter()
            .map(|s| (s.region, s.name.as_str()))
            .collect();
        let mut d = Doc::new(
            self.title(),
            format!(
                "统计区间 {} 至 {}（不含），地区 {}，生成于 {}",
                when(self.span.from),
                when(self.span.to),
                self.scope.region,
                when(self.generated)
            ),
        );
        d.heading("一、总体情况").figures(vec![
            ("安全事件".into(), self.incidents.to_string()),
            ("告警".into(), self.alerts.to_string()),
            (
                "平均确认时间".into(),
                self.mtta_secs.map_or_else(|| "—".into(), duration_zh),
            ),
            (
                "平均处置时间".into(),
                self.mttr_secs.map_or_else(|| "—".into(), duration_zh),
            ),
            (
                "SLA 达标".into(),
                format!("{}/{}", self.sla_met, self.sla_total),
            ),
            ("发出通报".into(), self.bulletins_issued.to_string()),
            (
                "排除的演练告警".into(),
                self.drill_alerts_excluded.to_string(),
            ),
            (
                "排除的演练事件".into(),
                self.drill_incidents_excluded.to_string(),
            ),
        ]);
        d.heading("二、事件分级").table(
            "事件分级",
            &["级别", "名称", "数量"],
            self.incidents_by_grade
                .iter()
                .map(|c| vec![c.key.clone(), c.label.clone(), c.count.to_string()])
                .collect(),
        );
        d.heading("三、事件分类").table(
            "事件分类",
            &["类别", "名称", "数量"],
            self.incidents_by_category
                .iter()
                .map(|c| vec![c.key.clone(), c.label.clone(), c.count.to_string()])
                .collect(),
        );
        let sla_rate =
            rate((self.sla_total > 0).then(|| self.sla_met as f64 / self.sla_total as f64));
        d.heading("四、处置时效").table(
            "处置时效",
            &["指标", "数值"],
            vec![
                vec!["平均确认时间（秒）".into(), secs(self.mtta_secs)],
                vec!["平均处置时间（秒）".into(), secs(self.mttr_secs)],
                vec!["SLA 按时确认".into(), self.sla_met.to_string()],
                vec!["SLA 考核事件".into(), self.sla_total.to_string()],
                vec!["SLA 达标率".into(), sla_rate],
            ],
        );
        self.supervision_tables(&mut d, &names);
        d.heading("九、攻击源与规则")
            .table(
                "攻击源 TOP10",
                &["排名", "源地址", "告警数"],
                ranked(&self.top_attackers, false),
            )
            .table(
                "规则 TOP10",
                &["排名", "规则", "名称", "告警数"],
                ranked(&self.top_rules, true),
            );
        d.heading("十、下级单位评分").table(
            "下级单位评分",
            &[
                "地区",
                "名称",
                "得分",
                "SLA 达标率",
                "零报告按时率",
                "通报按时率",
                "整改按时率",
                "Ⅰ、Ⅱ级事件",
            ],
            self.scores
                .iter()
                .map(|s| {
                    vec![
                        s.region.to_string(),
                        s.name.clone(),
                        format!("{:.1}", s.score),
                        rate(s.sla),
                        rate(s.zero_report),
                        rate(s.bulletins),
                        rate(s.findings),
                        s.grave_incidents.to_string(),
                    ]
                })
                .collect(),
        );
        d.paragraph(SCORE_METHOD);
        d
    }

    /// Zero reports, bulletins, findings and silent sources.
    fn supervision_tables(&self, d: &mut Doc, names: &HashMap<RegionCode, &str>) {
        d.heading("五、零报告").table(
            "零报告",
            &["地区", "应报", "按时", "迟报", "未报"],
            self.zero_reports
                .iter()
                .map(|z| {
                    vec![
                        self.region_label(names, z.region),
                        z.expected.to_string(),
                        z.on_time.to_string(),
                        z.late.to_string(),
                        z.missing.to_string(),
                    ]
                })
                .collect(),
        );
        d.heading("六、通报响应").table(
            "通报响应",
            &[
                "接收单位",
                "通报",
                "签收",
                "按时签收",
                "反馈",
                "按时反馈",
                "应整改",
                "按时整改",
                "通过",
                "退回",
                "逾期",
            ],
            self.bulletin_stats
                .iter()
                .map(|s| {
                    let who = s.recipient.as_ref().map_or_else(String::new, |r| {
                        let base = if s.name.is_empty() {
                            r.region.to_string()
                        } else {
                            s.name.clone()
                        };
                        match &r.department {
                            Some(dep) => format!("{base} {dep}"),
                            None => base,
                        }
                    });
                    [
                        s.bulletins,
                        s.signed,
                        s.signed_on_time,
                        s.answered,
                        s.answered_on_time,
                    ]
                    .iter()
                    .chain(&[
                        s.rectifications,
                        s.rectified_on_time,
                        s.accepted,
                        s.returned,
                        s.overdue,
                    ])
                    .map(ToString::to_string)
                    .fold(vec![who], |mut v, c| {
                        v.push(c);
                        v
                    })
                })
                .collect(),
        );
        d.heading("七、漏洞整改").table(
            "漏洞整改",
            &["地区", "到期", "按时整改", "逾期"],
            self.findings
                .iter()
                .map(|f| {
                    vec![
                        self.region_label(names, f.region),
                        f.due.to_string(),
                        f.fixed_on_time.to_string(),
                        f.overdue.to_string(),
                    ]
                })
                .collect(),
        );
        d.heading("八、静默数据源").table(
            "静默数据源",
            &["数据源", "地区", "最后接收"],
            self.silent_sources
                .iter()
                .map(|s| vec![s.key.clone(), s.region.to_string(), when(s.last_seen)])
                .collect(),
        );
    }

    /// A few lines for a chat robot or a mail's body.
    pub fn summary(&self) -> String {
        let grade = |k: &str| {
            self.incidents_by_grade
                .iter()
                .find(|c| c.key == k)
                .map_or(0, |c| c.count)
        };
        let mut lines = vec![
            self.title(),
            format!(
                "安全事件 {} 起（Ⅰ级 {}，Ⅱ级 {}），告警 {} 条；平均确认 {}，平均处置 {}；SLA 达标 {}/{}。",
                self.incidents,
                grade("I"),
                grade("II"),
                self.alerts,
                self.mtta_secs.map_or_else(|| "—".into(), duration_zh),
                self.mttr_secs.map_or_else(|| "—".into(), duration_zh),
                self.sla_met,
                self.sla_total
            ),
        ];
        let (exp, ok, missing) = self.zero_reports.iter().fold((0, 0, 0), |(e, o, m), z| {
            (e + z.expected, o + z.on_time, m + z.missing)
        });
        if exp > 0 {
            lines.push(format!("零报告按时 {ok}/{exp}，未报 {missing}。"));
        }
        if self.bulletins_issued > 0 {
            let overdue: u32 = self.bulletin_stats.iter().map(|s| s.overdue).sum();
            lines.push(format!(
                "发出通报 {} 份，逾期 {overdue} 次。",
                self.bulletins_issued
            ));
        }
        if let Some(low) = self
            .scores
            .iter()
            .min_by(|a, b| a.score.total_cmp(&b.score))
        {
            lines.push(format!("下级单位最低得分：{} {:.1}。", low.name, low.score));
        }
        if let Some(a) = self.top_attackers.first() {
            lines.push(format!("首要攻击源：{}（{} 条告警）。", a.key, a.count));
        }
        lines.join("\n")
    }
}
